"""Outcome events: what they are called, how they are keyed, and which bucket they count in.

Kinds (docs/outcomes.md has the full table):
- per contact attempt: `sent` (amount: its charge), `talk` (amount: a call's minutes at the channel's
  per-minute rate), `reached`, `responded`, the provider's final `result`
  (answered, voicemail, no-answer, busy, failed, canceled, delivered, undelivered, bounced), `replied`;
- attributed from visits: `reactivated` (a visit within the window after the contact) and `revenue` (each
  visit line over the following months, amount: its amount);
- the hold-out (eligible, never contacted): `holdout`, `holdout_reactivated`, `holdout_revenue`;
- from calls (inbound, or the attempt's own call): `booked`, `rescheduled`, `cancelled`, `message`, `callback`,
  `opted_out`, `transfer_accepted`, `transfer_declined`, `transfer_no-answer`, `transfer_busy`, and the
  call's final status as `call_<status>`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from receptionist.clock import utc

CHANNELS = ("staff_call", "ai_call", "sms", "email", "general")
TIERS = ("high", "mid", "low")
# the bucket of recall reminders (healthcare, exempt) in place of a value tier: counted apart from reactivation,
# never learnt from by the reactivation plan (`learning.py` reads TIERS only)
RECALL_TIER = "recall"
RESULTS = (
    "answered",
    "voicemail",
    "no-answer",
    "busy",
    "failed",
    "canceled",
    "delivered",
    "undelivered",
    "bounced",
)
REACHED_BY = {"answered", "delivered"}  # a person picked up; the text reached the phone
RESPONSE_KINDS = {"booked", "rescheduled", "callback"}  # what counts as a response to a contact


@dataclass(frozen=True)
class Event:
    key: str
    kind: str
    tier: str
    channel: str
    month: str
    at: dt.datetime
    amount_cents: int = 0
    patient_id: str | None = None
    attempt_id: str | None = None
    campaign_id: str | None = None

    def row(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "kind": self.kind,
            "tier": self.tier or "none",
            "channel": self.channel,
            "month": self.month,
            "at": self.at,
            "amount_cents": int(self.amount_cents),
            "patient_id": self.patient_id,
            "attempt_id": self.attempt_id,
            "campaign_id": self.campaign_id,
        }


def local_day(when: dt.datetime, zone: ZoneInfo) -> dt.date:
    """The practice's calendar day of an instant (visits are dated in local days)."""
    return utc(when).astimezone(zone).date()


def month_of(when: dt.datetime, zone: ZoneInfo) -> str:
    return local_day(when, zone).strftime("%Y-%m")


def cents(dollars: float) -> int:
    return int(round(dollars * 100))


def field(tier: str, channel: str, kind: str) -> str:
    """A counter's field in its month's hash."""
    return f"{tier}|{channel}|{kind}"
