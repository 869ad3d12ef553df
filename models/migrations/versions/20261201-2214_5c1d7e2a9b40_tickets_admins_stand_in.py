"""tickets: admins stand in for a department without an officer using the bot

Revision ID: 5c1d7e2a9b40
Revises: 0b2339f51c33
Create Date: 2026-12-01 22:14:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '5c1d7e2a9b40'
down_revision: str | Sequence[str] | None = '0b2339f51c33'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('admins_stand_in', sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.drop_column('admins_stand_in')
