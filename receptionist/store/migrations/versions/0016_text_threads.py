"""two-way texting: text threads (the conversation state's durable copy, the staff inbox) and their messages

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 01:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "text_threads",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("practice_phone", sa.String(length=20), nullable=False),
        sa.Column("location_id", sa.String(length=40), nullable=True),
        sa.Column("inbox_state", sa.String(length=12), nullable=False),
        sa.Column("priority", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("handovers", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_message_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_inbound_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("handed_over_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("state", sa.JSON(), nullable=True),
        sa.Column("state_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_text_threads")),
    )
    with op.batch_alter_table("text_threads", schema=None) as batch_op:
        batch_op.create_index("ix_text_threads_patient", ["patient_id"], unique=False)
        batch_op.create_index("ix_text_threads_phone", ["phone"], unique=False)
        batch_op.create_index("ix_text_threads_inbox", ["inbox_state", "last_message_at"], unique=False)
    op.create_table(
        "text_messages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("thread_id", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("author", sa.String(length=8), nullable=False),
        sa.Column("staff_user", sa.String(length=64), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("provider_id", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=True),
        sa.ForeignKeyConstraint(
            ["thread_id"],
            ["text_threads.id"],
            name=op.f("fk_text_messages_thread_id_text_threads"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_text_messages")),
    )
    with op.batch_alter_table("text_messages", schema=None) as batch_op:
        batch_op.create_index("ix_text_messages_thread", ["thread_id", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("text_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_text_messages_thread")
    op.drop_table("text_messages")
    with op.batch_alter_table("text_threads", schema=None) as batch_op:
        batch_op.drop_index("ix_text_threads_inbox")
        batch_op.drop_index("ix_text_threads_phone")
        batch_op.drop_index("ix_text_threads_patient")
    op.drop_table("text_threads")
