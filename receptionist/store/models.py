"""Tables of the durable store. Money is kept in integer cents; days are calendar dates."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
)
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from receptionist.clock import system_clock

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


CLOCK_OPTION = "receptionist_clock"  # the engine's execution option that carries the store's clock


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _now(context: DefaultExecutionContext) -> dt.datetime:
    """Column default "now": the store's clock (`Store.clock`, carried by the engine's execution options).
    SQLAlchemy hands the execution context to a default that takes one positional argument."""
    clock = context.execution_options.get(CLOCK_OPTION)
    return clock() if clock is not None else system_clock()


class Patient(Base):
    """A patient of the practice, keyed by the practice-management system's own id."""

    __tablename__ = "patients"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    first_name: Mapped[str] = mapped_column(String(100), default="")
    last_name: Mapped[str] = mapped_column(String(100), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    zip: Mapped[str] = mapped_column(String(10), default="")
    previous_zip: Mapped[str] = mapped_column(String(10), default="")
    zip_changed_on: Mapped[dt.date | None] = mapped_column(Date)
    # Only for confirming a caller's identity on the phone; never shown to a model.
    date_of_birth: Mapped[dt.date | None] = mapped_column(Date)
    moved_away: Mapped[bool] = mapped_column(Boolean, default=False)
    # "active", "inactive" or "deceased" (the PMS's patient status, FHIR's deceased[x], an intake life event).
    # A deceased patient is never contacted, left out of every plan and list, and never greeted as the caller.
    status: Mapped[str] = mapped_column(String(12), default="active", server_default="active")
    deceased_on: Mapped[dt.date | None] = mapped_column(Date)
    # when the PMS says the next recall (hygiene, check-up) is due; None: computed from the visits instead
    recall_due_on: Mapped[dt.date | None] = mapped_column(Date)
    consent_voice: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_sms: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_written: Mapped[bool] = mapped_column(Boolean, default=False)
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    opted_out_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    booking_attempt_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # what the patient asked for, per channel: {"call": false, "text": true, "email": true, "note": "after 5 PM"};
    # None: nothing asked. Outreach uses a channel only where this does not say false.
    contact_preferences: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # False for patients first seen in a visits file: no contact data yet.
    has_contact: Mapped[bool] = mapped_column(Boolean, default=False)
    # the family's account holder (the PMS's guarantor): family members share it, the holder's is their own
    # id or None. A caller may book for the members of their family, on each member's own record.
    guarantor_id: Mapped[str | None] = mapped_column(String(64), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now, onupdate=_now)

    # the dashboard's "trying to return" list reads the recent ones
    __table_args__ = (Index("ix_patients_booking_attempt_at", "booking_attempt_at"),)


class PatientPhone(Base):
    """A patient's phone numbers (E.164); a household may share one, so a number can name several patients."""

    __tablename__ = "patient_phones"

    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (Index("ix_patient_phones_phone", "phone"),)


class VisitLine(Base):
    """One line of a visits export. A patient's lines of one calendar day make one visit (summed)."""

    __tablename__ = "visit_lines"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    # visit_id from the export when given, else a hash of the line's content: re-imports add nothing twice.
    line_key: Mapped[str] = mapped_column(String(80), unique=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    day: Mapped[dt.date] = mapped_column(Date)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    paid_cents: Mapped[int] = mapped_column(BigInteger)
    department: Mapped[str] = mapped_column(String(60), default="")
    provider: Mapped[str] = mapped_column(String(100), default="")

    __table_args__ = (Index("ix_visit_lines_patient_day", "patient_id", "day"),)


class ScoreRun(Base):
    """One scoring of every patient; runs are kept, never overwritten."""

    __tablename__ = "score_runs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    as_of: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    patients: Mapped[int] = mapped_column(Integer)
    lapsed: Mapped[int] = mapped_column(Integer)
    tiers: Mapped[dict[str, Any]] = mapped_column(JSON)
    model: Mapped[dict[str, Any]] = mapped_column(JSON)
    seconds: Mapped[float] = mapped_column(Float)
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class PatientScore(Base):
    """A patient's value, tier and likelihood to return in one run."""

    __tablename__ = "patient_scores"

    run_id: Mapped[str] = mapped_column(ForeignKey("score_runs.id", ondelete="CASCADE"), primary_key=True)
    patient_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tier: Mapped[str] = mapped_column(String(4))
    plv: Mapped[float] = mapped_column(Float)
    annual_value: Mapped[float] = mapped_column(Float)
    years_active: Mapped[float] = mapped_column(Float)
    departments: Mapped[int] = mapped_column(Integer)
    p_alive: Mapped[float] = mapped_column(Float)
    expected_visits_12m: Mapped[float] = mapped_column(Float)
    expected_value_12m: Mapped[float] = mapped_column(Float)
    lapsed: Mapped[bool] = mapped_column(Boolean)
    reactivation_score: Mapped[float] = mapped_column(Float)
    reasons: Mapped[str] = mapped_column(Text)
    last_visit: Mapped[dt.date | None] = mapped_column(Date)

    __table_args__ = (
        Index("ix_patient_scores_patient", "patient_id", "run_id"),
        Index("ix_patient_scores_run_reactivation", "run_id", "reactivation_score"),
    )


__all__ = ["Base", "Patient", "PatientPhone", "VisitLine", "ScoreRun", "PatientScore"]


class SyncMark(Base):
    """How far a sync from a practice-management system has read one of its tables: the latest change stamp
    seen. The next incremental sync reads the rows stamped after it (and before the PMS's current second, so a
    row stamped in the second a sync runs in waits for the next one rather than being missed)."""

    __tablename__ = "sync_marks"

    source: Mapped[str] = mapped_column(String(40), primary_key=True)  # "opendental"
    table_name: Mapped[str] = mapped_column(String(60), primary_key=True)  # the PMS's table
    mark: Mapped[dt.datetime] = mapped_column(DateTime(timezone=False))  # the PMS's own (naive) clock
    synced_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now, onupdate=_now)
