"""Reactivation sequences: the pure decisions (no I/O). Which step comes next, when it is due, why it stops.

A patient of a sequence campaign starts at the step whose channel the plan gave them (`Sequence.entry`: the
plan's staff-list and AI-slot limits still decide the first contact) and goes on through the later steps:
- a step is settled when it went out (a call once its final status is in, a text or an email when sent), when
  a staff member recorded what came of a staff call, or when it ended without going out (skipped, failed);
  a staff call nobody made counts as done once the next step's days have passed (it leaves the staff list);
- the next step is the first later one whose channel is lawful for the patient (consents, preferences, a
  phone or an address, written consent for an offer): a refused channel moves on, it does not end the
  sequence. It is due its days after the step before it went out (the days of steps passed over add up), at
  once when that step never went out;
- a sequence stops at once, whatever step it is at, on a response (a booking, a callback asked for, a reply,
  "not interested" told to staff), a booking in the calendar, an online-booking attempt, an opt-out, a
  death or inactive status, or a visit since the campaign started (`stop_reason`).
The send-time gates (hours, daily and weekly caps across all campaigns, consent with the patient's state
rules, the per-patient lock) still decide each send in `dispatch.py`; this module only decides what is next.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from receptionist.config.sequences import Sequence
from receptionist.outreach.gates import consent_for

SETTLED = ("sent", "skipped", "failed")
STOPPED_PREFIX = "sequence stopped: "
UNWORKED = "not called within the sequence's days"
_PREFERENCE_KEY = {"staff_call": "call", "ai_call": "call", "sms": "text", "email": "email"}


@dataclass(frozen=True)
class Reach:
    """What decides, before any send, whether a channel is open to a patient."""

    has_phone: bool
    email: str
    consent_voice: bool
    consent_sms: bool
    consent_written: bool
    preferences: dict[str, Any]
    email_on: bool = True


def offer_consent(offer: str, written: bool) -> tuple[bool, str]:
    """An offer makes the contact marketing: prior express written consent, whatever the channel."""
    if offer and not written:
        return False, "an offer is marketing: no prior express written consent"
    return True, "allowed"


def lawful(channel: str, r: Reach, purpose: str, offer: str = "") -> bool:
    """Whether the channel may carry this step to the patient (the send-time gates still check again)."""
    if channel == "general":
        return True
    key = _PREFERENCE_KEY.get(channel)
    if key and r.preferences.get(key) is False:
        return False
    if channel in ("staff_call", "ai_call", "sms") and not r.has_phone:
        return False
    if channel == "email" and not (r.email and r.email_on):
        return False
    if not offer_consent(offer, r.consent_written)[0]:
        return False
    return consent_for(purpose, channel, voice=r.consent_voice, sms=r.consent_sms, written=r.consent_written)[
        0
    ]


def step_purpose(offer: str, campaign_purpose: str) -> str:
    """A step with an offer is marketing; one without keeps its campaign's tag."""
    return "marketing" if offer else campaign_purpose


@dataclass(frozen=True)
class Last:
    """A patient's latest step row in a sequence campaign."""

    step: int
    channel: str
    status: str
    sent_at: dt.datetime | None
    finished_at: dt.datetime | None
    not_before: dt.datetime | None  # when it was due (its start, for a staff call on the list)
    staff_outcome: str | None = None
    staff_outcome_at: dt.datetime | None = None
    reason: str = ""


@dataclass(frozen=True)
class Next:
    step: int
    channel: str
    due: dt.datetime
    offer: str
    purpose: str
    replaces_unworked: bool = False  # the last step is a staff call nobody made: it leaves the list


def stopped(last: Last) -> str | None:
    """Why the sequence already ended at this row (a stop written by the sequencer), else None."""
    return last.reason[len(STOPPED_PREFIX) :] if last.reason.startswith(STOPPED_PREFIX) else None


def _went_out(last: Last) -> dt.datetime | None:
    """When the step counts as done and went out; None when it is not settled yet or never went out."""
    if last.channel == "staff_call" and last.staff_outcome:
        return last.staff_outcome_at or last.sent_at
    if last.status != "sent" or last.sent_at is None:
        return None
    if last.channel == "ai_call":
        return last.finished_at  # the final status callback settles a call
    return last.sent_at


def next_step(
    seq: Sequence, last: Last, reach: Reach, campaign_purpose: str, started: dt.datetime
) -> Next | None:
    """The step after `last` and when it is due; None when the sequence has ended or `last` is not settled."""
    if stopped(last) is not None:
        return None
    later = [
        (j, s)
        for j, s in enumerate(seq.steps)
        if j > last.step and lawful(s.channel, reach, step_purpose(s.offer, campaign_purpose), s.offer)
    ]
    if not later:
        return None
    j, step = later[0]
    days = dt.timedelta(days=sum(s.days for s in seq.steps[last.step + 1 : j + 1]))
    purpose = step_purpose(step.offer, campaign_purpose)
    out = _went_out(last)
    if out is not None:
        return Next(j, step.channel, out + days, step.offer, purpose)
    if last.channel == "staff_call" and last.status == "listed":
        # a staff call nobody made: done once the next step's days have passed since it was listed
        base = last.not_before or started
        return Next(j, step.channel, base + days, step.offer, purpose, replaces_unworked=True)
    if last.status in ("skipped", "failed"):
        return Next(j, step.channel, last.finished_at or last.not_before or started, step.offer, purpose)
    return None  # queued, deferred, sending, or a call still in progress


@dataclass(frozen=True)
class StopFacts:
    """What the store says about a patient since their campaign started (`stops.py` reads it in bulk)."""

    opted_out: bool = False
    inactive: bool = False  # deceased, inactive, archived, not a patient
    booked: bool = False  # a booked appointment still to come
    booking_attempt: bool = False  # `booking_attempt_at` since the campaign started
    visited: bool = False  # a visit since the campaign started
    responded: str = (
        ""  # the first response kind in the outcome log since then (booked, callback, replied...)
    )


def stop_reason(f: StopFacts) -> str | None:
    """Why the patient's sequence stops now, or None."""
    if f.opted_out:
        return "opted out"
    if f.inactive:
        return "no longer an active patient"
    if f.responded:
        return f"responded ({f.responded.replace('_', ' ')})"
    if f.booked:
        return "booked"
    if f.booking_attempt:
        return "trying to book online"
    if f.visited:
        return "visited"
    return None
