"""the schedule in 30-minute units, family links between patients, callbacks that carry the caller's words

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 16:00:00.000000

Slots of 60 minutes become two 30-minute units (the second starting half an hour later, held by the same
appointment, if any), so visits of 30, 60 or 90 minutes fit the same schedule.
"""

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("guarantor_id", sa.String(length=64), nullable=True))
        batch_op.create_index("ix_patients_guarantor_id", ["guarantor_id"], unique=False)
    with op.batch_alter_table("callbacks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("detail", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("kind", sa.String(length=12), nullable=False, server_default="callback")
        )
    slots = sa.table(
        "slots",
        sa.column("id", sa.Integer),
        sa.column("location_id", sa.String),
        sa.column("provider", sa.String),
        sa.column("start", sa.DateTime(timezone=True)),
        sa.column("minutes", sa.Integer),
        sa.column("kind", sa.String),
        sa.column("appointment_id", sa.Integer),
    )
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(
            slots.c.location_id, slots.c.provider, slots.c.start, slots.c.kind, slots.c.appointment_id
        ).where(slots.c.minutes == 60)
    ).all()
    existing = {
        (r.location_id, r.provider, _utc(r.start))
        for r in conn.execute(sa.select(slots.c.location_id, slots.c.provider, slots.c.start))
    }
    halves = []
    for r in rows:
        second = _utc(r.start) + dt.timedelta(minutes=30)
        if (r.location_id, r.provider, second) in existing:
            continue
        halves.append(
            {
                "location_id": r.location_id,
                "provider": r.provider,
                "start": second,
                "minutes": 30,
                "kind": r.kind,
                "appointment_id": r.appointment_id,
            }
        )
    if halves:
        conn.execute(slots.insert(), halves)
    conn.execute(slots.update().where(slots.c.minutes == 60).values(minutes=30))


def downgrade() -> None:
    with op.batch_alter_table("callbacks", schema=None) as batch_op:
        batch_op.drop_column("kind")
        batch_op.drop_column("detail")
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.drop_index("ix_patients_guarantor_id")
        batch_op.drop_column("guarantor_id")


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
