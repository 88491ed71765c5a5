"""a callback's owner: the staff member who took it (new: no owner; in progress: an owner; done: status)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 02:40:00.000000

Every existing callback is new (no owner).
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("callbacks") as batch:
        batch.add_column(sa.Column("owner", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("callbacks") as batch:
        batch.drop_column("owner")
