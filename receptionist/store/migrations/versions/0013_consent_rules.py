"""the 2025 consent rules: a purpose tag (exempt | marketing) on campaigns and attempts, the consent ledger
(every revocation, per purpose) and the one confirmation text per revoking number

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 20:00:00.000000

Campaigns and attempts made before this were reactivation contacts, gated as marketing: they are tagged so.
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("purpose", sa.String(length=10), nullable=False, server_default="marketing")
        )
    with op.batch_alter_table("outreach_attempts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("purpose", sa.String(length=10), nullable=False, server_default="marketing")
        )
    op.create_table(
        "consent_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("purposes", sa.String(length=40), nullable=False),
        sa.Column("how", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_events")),
    )
    with op.batch_alter_table("consent_events", schema=None) as batch_op:
        batch_op.create_index("ix_consent_events_phone", ["phone"], unique=False)
        batch_op.create_index("ix_consent_events_patient", ["patient_id"], unique=False)
    op.create_table(
        "consent_confirmations",
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("phone", name=op.f("pk_consent_confirmations")),
    )


def downgrade() -> None:
    op.drop_table("consent_confirmations")
    with op.batch_alter_table("consent_events", schema=None) as batch_op:
        batch_op.drop_index("ix_consent_events_patient")
        batch_op.drop_index("ix_consent_events_phone")
    op.drop_table("consent_events")
    with op.batch_alter_table("outreach_attempts", schema=None) as batch_op:
        batch_op.drop_column("purpose")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("purpose")
