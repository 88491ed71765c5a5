"""staff users, staff call outcomes, and an index for the patients trying to return

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27 22:05:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("failed_count", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_sign_in_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_users")),
        sa.UniqueConstraint("username", name=op.f("uq_staff_users_username")),
    )
    with op.batch_alter_table("outreach_attempts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("staff_outcome", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("staff_outcome_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.create_index("ix_patients_booking_attempt_at", ["booking_attempt_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.drop_index("ix_patients_booking_attempt_at")
    with op.batch_alter_table("outreach_attempts", schema=None) as batch_op:
        batch_op.drop_column("staff_outcome_at")
        batch_op.drop_column("staff_outcome")
    op.drop_table("staff_users")
