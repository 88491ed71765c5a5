"""sequence steps: which step of which reactivation sequence an attempt is, and the offer it carries

Rows written before sequences are step 0 of no sequence (their ids, `<campaign>:<patient>`, carry no step).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 01:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outreach_attempts") as batch:
        batch.add_column(sa.Column("step", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("sequence", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("offer", sa.String(length=40), nullable=True))
    op.create_index("ix_outreach_attempts_sequence", "outreach_attempts", ["campaign_id", "sequence"])


def downgrade() -> None:
    op.drop_index("ix_outreach_attempts_sequence", table_name="outreach_attempts")
    with op.batch_alter_table("outreach_attempts") as batch:
        batch.drop_column("offer")
        batch.drop_column("sequence")
        batch.drop_column("step")
