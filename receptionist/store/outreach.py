"""The durable outreach log: campaigns and every contact attempt, one row each, keyed for idempotency.

An attempt's id is its idempotency key: `<campaign id>:<patient id>:<step>` for a step of a sequence (a
reactivation sequence's step, a recall reminder; rows from before sequences, and patients with the plan's one
contact: `<campaign id>:<patient id>`, step 0). A patient is at one step of a campaign once, through one
channel, so a retried, doubled or re-enqueued job finds the same row and its status says whether it already
went out. Attempts with `sent_at` set are the contacts that count towards the daily and weekly
limits and the cool-down, whatever campaign or channel made them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, DateTime, Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from receptionist.store.models import Base, _now

# listed: on the staff call list, waiting for a person to call; holdout: kept out on purpose (true lift);
# queued / deferred: waiting for a worker (deferred: a gate said later, `not_before` says when);
# sending: a worker claimed it and may be talking to the provider; sent: it went out (see `result`);
# skipped: a gate said never (opt-out, no consent); failed: the provider refused it or it could not be sent.
ATTEMPT_STATUSES = ("listed", "holdout", "queued", "deferred", "sending", "sent", "skipped", "failed")
PENDING = ("queued", "deferred")
# What a campaign or one of its steps is, for the law (COMPLIANCE.md): "exempt" is a healthcare message
# (recall, appointment reminders) kept to the exemption's limits; "marketing" (reactivation, any offer) needs
# prior express written consent and the stricter state rules.
PURPOSES = ("exempt", "marketing")
KINDS = ("reactivation", "recall")


class Campaign(Base):
    __tablename__ = "campaigns"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    run_id: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(12), default="running")  # running | paused | done
    holdout_share: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    paused_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    summary: Mapped[dict[str, Any]] = mapped_column(
        JSON, default=dict
    )  # the plan's counts and totals, no patient data
    purpose: Mapped[str] = mapped_column(String(10), default="marketing")  # exempt | marketing (PURPOSES)
    # what the campaign is for (KINDS): reactivation (the plan from a score run) or recall (`outreach/recall.py`)
    kind: Mapped[str] = mapped_column(String(16), default="reactivation", server_default="reactivation")


class OutreachAttempt(Base):
    __tablename__ = "outreach_attempts"

    id: Mapped[str] = mapped_column(String(120), primary_key=True)  # "<campaign id>:<patient id>"
    campaign_id: Mapped[str] = mapped_column(String(40))
    patient_id: Mapped[str] = mapped_column(String(64))
    # high | mid | low; "recall" for a recall reminder (its statistics bucket)
    tier: Mapped[str] = mapped_column(String(8))
    channel: Mapped[str] = mapped_column(String(12))  # staff_call | ai_call | sms | email | general
    # the step's tag: exempt | marketing (PURPOSES); the gates apply its rules
    purpose: Mapped[str] = mapped_column(String(10), default="marketing")
    rank: Mapped[int] = mapped_column(Integer)
    reactivation_score: Mapped[float] = mapped_column(Float, default=0.0)
    expected_value: Mapped[float] = mapped_column(Float, default=0.0)
    status: Mapped[str] = mapped_column(String(10), default="queued")
    reason: Mapped[str] = mapped_column(String(200), default="")
    not_before: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    tries: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # the provider's id for what went out: a Twilio CallSid or MessageSid, an email Message-ID
    provider_id: Mapped[str | None] = mapped_column(String(200))
    # what came of it: answered | voicemail | no-answer | busy | failed | canceled | delivered | undelivered
    result: Mapped[str | None] = mapped_column(String(20))
    staff_number: Mapped[str | None] = mapped_column(
        String(20)
    )  # a "call now" bridge: whose phone rang first
    cost: Mapped[float] = mapped_column(Float, default=0.0)
    notes: Mapped[list[Any] | None] = mapped_column(JSON)  # a staff call's talking points (no dollar figures)
    # what the staff member recorded after a staff call: reached | booked | call_back | not_interested | wrong_number
    staff_outcome: Mapped[str | None] = mapped_column(String(16))
    staff_outcome_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # a reactivation sequence's step (outreach/sequences.py): the id is then "<campaign>:<patient>:<step>";
    # rows from before sequences are step 0 of no sequence. `offer`: the step's offer id (marketing)
    step: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    sequence: Mapped[str | None] = mapped_column(String(40))
    offer: Mapped[str | None] = mapped_column(String(40))

    __table_args__ = (
        Index("ix_outreach_attempts_campaign", "campaign_id", "status"),
        Index("ix_outreach_attempts_sequence", "campaign_id", "sequence"),
        Index("ix_outreach_attempts_patient_sent", "patient_id", "sent_at"),
        Index("ix_outreach_attempts_provider", "provider_id"),
    )


class UnsubscribeLink(Base):
    """An email's unsubscribe link: the URL carries a random token (no patient id), the store only its
    SHA-256, the patient it stands for, and when it stops working."""

    __tablename__ = "unsubscribe_links"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    patient_id: Mapped[str] = mapped_column(String(64))
    attempt_id: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class ConsentEvent(Base):
    """The consent ledger: one row per revocation, however it came (a text, a call, an email link, staff, the
    API), append-only. `purposes` says what it revokes ("exempt marketing": everything, the product's rule);
    kept per purpose so the delayed "revoke-all" rule can go either way. `phone` is the number a text
    revocation came from: a revoked number is never texted or called again, even for a patient linked to it
    later. No words of the message are kept."""

    __tablename__ = "consent_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    patient_id: Mapped[str | None] = mapped_column(String(64))
    phone: Mapped[str] = mapped_column(String(20), default="")
    kind: Mapped[str] = mapped_column(String(12), default="revoked")
    purposes: Mapped[str] = mapped_column(String(40), default="exempt marketing")
    how: Mapped[str] = mapped_column(
        String(40), default=""
    )  # text | text STOP | call | email unsubscribe | ...

    __table_args__ = (
        Index("ix_consent_events_phone", "phone"),
        Index("ix_consent_events_patient", "patient_id"),
    )


class ConsentConfirmation(Base):
    """The one confirmation text a number gets after revoking (FCC 24-18: at most one, within 5 minutes, no
    marketing). The number is the key, so a second confirmation cannot be recorded: whoever inserts first
    sends it."""

    __tablename__ = "consent_confirmations"

    phone: Mapped[str] = mapped_column(String(20), primary_key=True)
    sent_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
