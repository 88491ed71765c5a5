"""The outcome log: everything that came of contacting (or holding out) a patient, one row per event, once.

`key` is the event's idempotency key, built from the source's own id and the kind of event
(`result:<attempt id>`, `call:<CallSid>:booked`, `revenue:<attempt id>:<visit line id>`): a repeated Twilio
callback, a retried job or a second attribution pass finds the key taken and writes nothing. `tier`, `channel`
and `month` are the bucket the event counts in: for anything attributed to a contact, the contact's tier and
channel and the month it went out (a cohort), so every rate's numerator is a subset of its denominator.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, DateTime, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from receptionist.store.models import Base


class OutcomeEvent(Base):
    __tablename__ = "outcome_events"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(24))
    tier: Mapped[str] = mapped_column(String(8))  # high | mid | low | none (not known)
    channel: Mapped[str] = mapped_column(String(12))  # staff_call | ai_call | sms | email | general | inbound
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM, the practice's local month of the contact
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))  # when it happened
    amount_cents: Mapped[int] = mapped_column(BigInteger, default=0)  # cost (sent) or revenue, else 0
    patient_id: Mapped[str | None] = mapped_column(String(64))
    attempt_id: Mapped[str | None] = mapped_column(String(120))
    campaign_id: Mapped[str | None] = mapped_column(String(40))

    __table_args__ = (
        Index("ix_outcome_events_bucket", "month", "tier", "channel", "kind"),
        Index("ix_outcome_events_attempt", "attempt_id"),
    )
