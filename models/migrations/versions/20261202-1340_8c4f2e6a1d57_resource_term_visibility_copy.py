"""resource term visibility copy

Revision ID: 8c4f2e6a1d57
Revises: 5b1e0c7d9a24
Create Date: 2026-12-02 13:40:00.000000

Each index row gets its resource's all_alliances and valid_until, so a search checks what a
member may see from the covering index alone instead of reading one resource row per match.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base


revision: str = '8c4f2e6a1d57'
down_revision: str | Sequence[str] | None = '5b1e0c7d9a24'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COPY = """
UPDATE resource_term SET
    all_alliances = (SELECT r.all_alliances FROM resource r WHERE r.id = resource_term.resource_id),
    valid_until = (SELECT r.valid_until FROM resource r WHERE r.id = resource_term.resource_id)
"""


def upgrade() -> None:
    with op.batch_alter_table('resource_term', schema=None) as batch_op:
        batch_op.add_column(sa.Column('all_alliances', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.add_column(sa.Column('valid_until', models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.drop_index('ix_resource_term_lookup')
    op.execute(COPY)
    with op.batch_alter_table('resource_term', schema=None) as batch_op:
        batch_op.create_index('ix_resource_term_search', ['term', 'kind', 'resource_id', 'weight', 'all_alliances', 'valid_until'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('resource_term', schema=None) as batch_op:
        batch_op.drop_index('ix_resource_term_search')
        batch_op.create_index('ix_resource_term_lookup', ['term', 'kind', 'resource_id', 'weight'], unique=False)
        batch_op.drop_column('valid_until')
        batch_op.drop_column('all_alliances')
