"""security: staff roles, uids and server-side sessions, the append-only audit log, API key scopes, encrypted
signing secrets (a wider column), opaque unsubscribe links

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 14:00:00.000000
"""

import secrets

import sqlalchemy as sa
from alembic import op

from receptionist.store.staff import APPEND_ONLY

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# Keys made before scopes keep what they could do; `receptionist keys add --scope` makes narrower ones.
LEGACY_SCOPES = "booking intake pms fhir lookup"


def upgrade() -> None:
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("uid", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("role", sa.String(length=16), nullable=False, server_default="manager"))
        batch_op.add_column(sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=True))
    conn = op.get_bind()
    users = sa.table("staff_users", sa.column("id", sa.Integer), sa.column("uid", sa.String))
    for (user_id,) in conn.execute(sa.select(users.c.id)).all():
        conn.execute(users.update().where(users.c.id == user_id).values(uid=secrets.token_hex(16)))
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.alter_column("uid", existing_type=sa.String(length=32), nullable=False)
        batch_op.alter_column("role", existing_type=sa.String(length=16), server_default=None)
        batch_op.create_unique_constraint(op.f("uq_staff_users_uid"), ["uid"])
    op.create_table(
        "staff_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_uid", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_staff_sessions")),
    )
    op.create_index("ix_staff_sessions_user", "staff_sessions", ["user_uid"], unique=False)
    op.create_table(
        "audit_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_uid", sa.String(length=32), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=True),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("detail", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index("ix_audit_events_at", "audit_events", ["at"], unique=False)
    op.create_index("ix_audit_events_patient", "audit_events", ["patient_id", "at"], unique=False)
    for statement in APPEND_ONLY.get(conn.dialect.name, []):
        op.execute(statement)
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("scopes", sa.String(length=200), nullable=False, server_default=LEGACY_SCOPES)
        )
        batch_op.alter_column(
            "signing_secret", existing_type=sa.String(length=80), type_=sa.String(length=400)
        )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.alter_column("scopes", existing_type=sa.String(length=200), server_default=None)
    op.create_table(
        "unsubscribe_links",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("attempt_id", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_unsubscribe_links")),
    )


def downgrade() -> None:
    op.drop_table("unsubscribe_links")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.alter_column(
            "signing_secret", existing_type=sa.String(length=400), type_=sa.String(length=80)
        )
        batch_op.drop_column("scopes")
    op.drop_index("ix_audit_events_patient", table_name="audit_events")
    op.drop_index("ix_audit_events_at", table_name="audit_events")
    op.drop_table("audit_events")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS audit_events_append_only()")
    op.drop_index("ix_staff_sessions_user", table_name="staff_sessions")
    op.drop_table("staff_sessions")
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("uq_staff_users_uid"), type_="unique")
        batch_op.drop_column("password_changed_at")
        batch_op.drop_column("role")
        batch_op.drop_column("uid")
