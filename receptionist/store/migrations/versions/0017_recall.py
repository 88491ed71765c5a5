"""recall: a campaign's kind (reactivation | recall), a patient's recall due date from the PMS, and room for
the "recall" statistics bucket in an attempt's tier

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 01:30:00.000000

Every existing campaign is a reactivation campaign; no patient has a PMS recall due date yet.
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=16), nullable=False, server_default="reactivation")
        )
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recall_due_on", sa.Date(), nullable=True))
    with op.batch_alter_table("outreach_attempts", schema=None) as batch_op:
        batch_op.alter_column(
            "tier", existing_type=sa.String(length=4), type_=sa.String(length=8), existing_nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("outreach_attempts", schema=None) as batch_op:
        batch_op.alter_column(
            "tier", existing_type=sa.String(length=8), type_=sa.String(length=4), existing_nullable=False
        )
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.drop_column("recall_due_on")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("kind")
