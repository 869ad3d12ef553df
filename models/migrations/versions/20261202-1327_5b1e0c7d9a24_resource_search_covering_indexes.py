"""resource search covering indexes

Revision ID: 5b1e0c7d9a24
Revises: 219f3fdb9bcb
Create Date: 2026-12-02 13:27:00.000000
"""

from collections.abc import Sequence

from alembic import op


revision: str = '5b1e0c7d9a24'
down_revision: str | Sequence[str] | None = '219f3fdb9bcb'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('resource', schema=None) as batch_op:
        batch_op.drop_index('ix_resource_kind_valid')
        batch_op.create_index('ix_resource_kind_visible', ['kind', 'valid_until', 'all_alliances'], unique=False)
        batch_op.create_index('ix_resource_visible', ['id', 'kind', 'valid_until', 'all_alliances'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('resource', schema=None) as batch_op:
        batch_op.drop_index('ix_resource_visible')
        batch_op.drop_index('ix_resource_kind_visible')
        batch_op.create_index('ix_resource_kind_valid', ['kind', 'valid_until'], unique=False)
