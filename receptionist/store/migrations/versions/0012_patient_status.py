"""patient status: active, inactive or deceased, and the day of death when known

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 20:00:00.000000

Every existing patient becomes "active": nothing known so far said otherwise.
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("status", sa.String(length=12), nullable=False, server_default="active")
        )
        batch_op.add_column(sa.Column("deceased_on", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.drop_column("deceased_on")
        batch_op.drop_column("status")
