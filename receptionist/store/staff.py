"""Staff accounts for the dashboard, their sign-in sessions, and the audit log of their access to patient data.

An account has a random `uid` besides its row id: sessions and audit entries name the uid, so a removed
account's sessions can never match a new account that SQLite gives the same row id. A session row is the
server side of a sign-in (the cookie carries only its random token, the store keeps the token's SHA-256):
deleting it signs that browser out, whatever the cookie says.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, DateTime, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from receptionist.store.models import Base, _now

FRONT_DESK = "front_desk"
MANAGER = "manager"
ROLES = (FRONT_DESK, MANAGER)


class StaffUser(Base):
    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    failed_count: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    last_sign_in_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # random, never reused: what sessions and the audit log name (row ids are reused by SQLite)
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    role: Mapped[str] = mapped_column(String(16), default=FRONT_DESK)  # front_desk | manager
    password_changed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class StaffSession(Base):
    """One signed-in browser: ends at sign-out, at the account's removal or password change, after the
    absolute lifetime, or after the inactivity timeout."""

    __tablename__ = "staff_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_uid: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_staff_sessions_user", "user_uid"),)


class AuditEvent(Base):
    """Who did what with patient data, and when: append-only (the store refuses updates and deletes)."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    user_uid: Mapped[str] = mapped_column(String(32))
    username: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(40))  # patient.view, call.view, export, search, ...
    patient_id: Mapped[str | None] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(200), default="")  # a call sid, an export's name
    detail: Mapped[str] = mapped_column(String(200), default="")

    __table_args__ = (
        Index("ix_audit_events_at", "at"),
        Index("ix_audit_events_patient", "patient_id", "at"),
    )


# The store refuses to change or delete an audit entry (the migration creates these triggers).
APPEND_ONLY = {
    "sqlite": [
        "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
        "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END",
        "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events "
        "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END",
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'audit_events is append-only'; END $$",
        "CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events "
        "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()",
    ],
}
