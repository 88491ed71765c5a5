"""Recall (hygiene and periodic visits): who is due, which reminder of the sequence is next, and when it stops.

A patient's recall is due on the date the PMS stores (`patients.recall_due_on`, from the CSV importer's
`recall_due` column or Open Dental's `recall` table) when there is one, else on the last visit of a recall
type plus its interval: a visit type's `recall_months` (its `recall_lines`, else `[recall] lines`, are the
service lines of its visits, `scoring/service_lines.py`), or `[recall] default_months` of the preventive
lines when no visit type sets one. A patient of several types (by age) is due at the earliest.

The sequence (`[[recall.steps]]`, days from the due date) is made one step at a time: each `recall run`
(daily) makes, per due patient, the latest step whose day has come that is after every step already made for
this due date, so a missed day sends one reminder, never a burst. Each step is an attempt
`<campaign>:<patient>:<step>` of a recall campaign (kind "recall", purpose "exempt", no hold-out), sent by
the same workers, gates and locks as reactivation (`dispatch.py`): the exemption's limits (1 a day, 3 a
week, across every campaign; a text of 160 characters naming the practice and its number first; a call of a
minute) hold at send time.

Never, or no more: deceased or inactive, opted out (or a number that revoked by text, at send time), no
consent for the channel, a booked appointment ahead, a visit since the sequence began, any response since
it began (a booking, a callback, a reply), an attempt of any campaign still in hand, or a due date more than
`max_overdue_days` ago (reactivation's patient then). A recall contact's statistics bucket is the tier
"recall" (`outcomes.events.RECALL_TIER`), so it is counted apart from reactivation and never learnt from.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from receptionist.clock import utc
from receptionist.config.practice import Practice
from receptionist.config.recall import RecallRules, RecallStep
from receptionist.config.visit_types import VisitType
from receptionist.outcomes.events import RECALL_TIER, RESPONSE_KINDS
from receptionist.outreach.gates import consent_for
from receptionist.outreach.planner import Plan, PlannedContact
from receptionist.store import (
    Campaign,
    OutcomeEvent,
    OutreachAttempt,
    Patient,
    PatientPhone,
    Store,
    VisitLine,
)
from receptionist.store.schedule import Appointment
from receptionist.wording.recall import stage_of
from scoring import service_lines

RECALL_KIND = "recall"
# what a patient did that ends a recall sequence (the outcome log's kinds)
RESPONSES = tuple(sorted(RESPONSE_KINDS | {"responded", "replied"}))
_PREFERENCE = {"sms": "text", "ai_call": "call"}
IN_HAND = ("listed", "queued", "deferred", "sending")
LEFT_OUT = {
    "opted_out": "opted out",
    "booked": "already booked",
    "visited": "visited since the reminders began",
    "responded": "responded since the reminders began",
    "in_hand": "already being contacted",
    "overdue": "overdue for longer than the recall sequence (reactivation's patients)",
    "no_phone": "no phone number",
    "no_consent": "no consent for recall texts or calls",
    "finished": "every reminder of the sequence made",
}


@dataclass(frozen=True)
class RecallType:
    """One kind of recall visit: its interval and the service lines its visits have."""

    id: str
    months: int
    lines: frozenset[str]
    visit_type: VisitType | None = None  # None: the practice's default hygiene recall

    def fits(self, age: int | None) -> bool:
        return self.visit_type is None or self.visit_type.fits(new_patient=False, age=age)


@dataclass(frozen=True)
class Due:
    """A patient due for a recall reminder now, and the step to make."""

    patient_id: str
    due_on: dt.date
    source: str  # pms | visits
    step: int
    stage: str  # before | due | after
    channel: str

    def as_json(self) -> dict[str, Any]:
        return {
            "patient_id": self.patient_id,
            "due_on": self.due_on.isoformat(),
            "source": self.source,
            "step": self.step,
            "stage": self.stage,
            "channel": self.channel,
        }


@dataclass(frozen=True)
class RecallPlan:
    today: dt.date
    due: tuple[Due, ...]
    plan: Plan  # what `Campaigns.start(plan, now, kind="recall")` takes

    def as_json(self) -> dict[str, Any]:
        """Patient ids, due dates and steps; no names or numbers."""
        return {
            "today": self.today.isoformat(),
            "reminders": len(self.due),
            "by_step": _count(d.step for d in self.due),
            "by_channel": _count(d.channel for d in self.due),
            "due": [d.as_json() for d in self.due],
            "left_out": self.plan.left_out,
            "expected_cost": round(self.plan.expected_cost, 2),
        }


def _count(values: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[str(v)] = out.get(str(v), 0) + 1
    return out


# -- pure decisions ------------------------------------------------------------------------------------------
def recall_types(visit_types: tuple[VisitType, ...], rules: RecallRules) -> tuple[RecallType, ...]:
    """The practice's recall types: every visit type with `recall_months`, else the default hygiene recall."""
    typed = tuple(
        RecallType(v.id, v.recall_months, frozenset(v.recall_lines or rules.lines), v)
        for v in visit_types
        if v.recall_months
    )
    if typed:
        return typed
    if rules.default_months:
        return (RecallType("hygiene", rules.default_months, frozenset(rules.lines)),)
    return ()


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later, or the month's last day when it has no such day (31 Aug + 6 = 28 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def age_on(birth: dt.date | None, day: dt.date) -> int | None:
    if birth is None:
        return None
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def due_from_visits(
    last_by_line: Mapping[str, dt.date], age: int | None, types: tuple[RecallType, ...]
) -> dt.date | None:
    """The earliest due date over the recall types that fit the patient, from each type's last visit."""
    dues = []
    for t in types:
        if not t.fits(age):
            continue
        last = max((d for line, d in last_by_line.items() if line in t.lines), default=None)
        if last is not None:
            dues.append(add_months(last, t.months))
    return min(dues, default=None)


def due_date(
    pms_due: dt.date | None,
    last_by_line: Mapping[str, dt.date],
    age: int | None,
    types: tuple[RecallType, ...],
) -> tuple[dt.date, str] | None:
    """(due date, source): the PMS's own date wins over the one computed from the visits."""
    if pms_due is not None:
        return pms_due, "pms"
    computed = due_from_visits(last_by_line, age, types)
    return (computed, "visits") if computed is not None else None


def sequence_start(due: dt.date, rules: RecallRules) -> dt.date:
    """The day the sequence for this due date begins: its first step's day (the due date at the latest)."""
    return due - dt.timedelta(days=rules.lead_days)


def next_step(due: dt.date, today: dt.date, rules: RecallRules, done: int) -> int | None:
    """The step (1-based) to make today: the latest one whose day has come, after every step made (`done`:
    the highest made for this due date, 0 for none); None when none is, or the due date is too long ago."""
    if today > due + dt.timedelta(days=rules.max_overdue_days):
        return None
    ready = [i for i, s in enumerate(rules.steps, 1) if i > done and due + dt.timedelta(days=s.days) <= today]
    return max(ready, default=None)


def channel_for(
    step: RecallStep, *, has_phone: bool, voice: bool, sms: bool, preferences: Mapping[str, Any]
) -> str | None:
    """The first of the step's channels the patient may get as a healthcare message (prior express consent
    for the channel, no preference against it); None when none may be used."""
    if not has_phone:
        return None
    for channel in step.channels:
        if preferences.get(_PREFERENCE[channel]) is False:
            continue
        lawful, _ = consent_for("exempt", channel, voice=voice, sms=sms, written=False)
        if lawful:
            return channel
    return None


def step_of(attempt_id: str) -> int | None:
    """The step of a sequence's attempt id (`<campaign>:<patient>:<step>`); None for a single attempt."""
    parts = attempt_id.split(":")
    return int(parts[2]) if len(parts) == 3 and parts[2].isdigit() else None


def stage_for(attempt_id: str, rules: RecallRules) -> str:
    """The stage (before | due | after) of a recall attempt's step, for its wording."""
    step = step_of(attempt_id)
    if step is None or not 1 <= step <= len(rules.steps):
        return "due"
    return stage_of(rules.steps[step - 1].days)


# -- reading the store ---------------------------------------------------------------------------------------
def stopped(
    store: Store, patient_id: str, since: dt.datetime, since_day: dt.date, now: dt.datetime
) -> str | None:
    """Why a recall reminder should no longer go to this patient (booked ahead, visited on or after
    `since_day`, responded since `since`), or None. The dispatcher asks this at send time."""
    with store.sessions() as s:
        starts = s.scalars(
            select(Appointment.start).where(
                Appointment.patient_id == patient_id, Appointment.status == "booked"
            )
        ).all()
        if any(utc(start) > now for start in starts):
            return LEFT_OUT["booked"]
        visited = s.scalar(
            select(VisitLine.id)
            .where(VisitLine.patient_id == patient_id, VisitLine.day >= since_day)
            .limit(1)
        )
        if visited is not None:
            return LEFT_OUT["visited"]
        responded = s.scalar(
            select(OutcomeEvent.id)
            .where(
                OutcomeEvent.patient_id == patient_id,
                OutcomeEvent.kind.in_(RESPONSES),
                OutcomeEvent.at >= since,
            )
            .limit(1)
        )
    return LEFT_OUT["responded"] if responded is not None else None


def _last_visits(store: Store, lines: frozenset[str]) -> dict[str, dict[str, dt.date]]:
    """patient -> service line -> the last visit day, for the recall lines (one GROUP BY, classified once per
    distinct department text)."""
    table = service_lines.default_table()
    line_of: dict[str, str] = {}
    out: dict[str, dict[str, dt.date]] = {}
    with store.engine.connect() as conn:
        for pid, department, last in conn.execute(
            select(VisitLine.patient_id, VisitLine.department, func.max(VisitLine.day)).group_by(
                VisitLine.patient_id, VisitLine.department
            )
        ):
            line = line_of.get(department)
            if line is None:
                line = line_of[department] = service_lines.classify(department, table)
            if line not in lines:
                continue
            by_line = out.setdefault(pid, {})
            if line not in by_line or by_line[line] < last:
                by_line[line] = last
    return out


def build_recall_plan(store: Store, practice: Practice, now: dt.datetime) -> RecallPlan:
    """Who gets which recall reminder today (one step each at most), and who is left out, per reason."""
    rules = practice.recall
    today = practice.today(now)
    types = recall_types(practice.visit_types, rules)
    lines = frozenset().union(*(t.lines for t in types)) if types else frozenset()
    last_visits = _last_visits(store, lines)
    oldest = today - dt.timedelta(days=rules.max_overdue_days + rules.lead_days + 1)
    with store.engine.connect() as conn:
        patients = conn.execute(
            select(
                Patient.id,
                Patient.first_name,
                Patient.last_name,
                Patient.date_of_birth,
                Patient.recall_due_on,
                Patient.opted_out,
                Patient.consent_voice,
                Patient.consent_sms,
                Patient.contact_preferences,
            )
            .where(Patient.status == "active")  # deceased, inactive, archived, non-patient: never
            .order_by(Patient.id)
        ).all()
        phones = set(conn.scalars(select(PatientPhone.patient_id)))
        booked = {
            pid
            for pid, start in conn.execute(
                select(Appointment.patient_id, Appointment.start).where(Appointment.status == "booked")
            )
            if utc(start) > now
        }
        in_hand = set(
            conn.scalars(
                select(OutreachAttempt.patient_id)
                .join(Campaign, Campaign.id == OutreachAttempt.campaign_id)
                .where(Campaign.status.in_(("running", "paused")), OutreachAttempt.status.in_(IN_HAND))
            )
        )
        made: dict[str, list[tuple[int, dt.date]]] = {}
        for aid, pid, created in conn.execute(
            select(OutreachAttempt.id, OutreachAttempt.patient_id, Campaign.created_at)
            .join(Campaign, Campaign.id == OutreachAttempt.campaign_id)
            .where(Campaign.kind == RECALL_KIND)
        ):
            step = step_of(aid)
            if step is not None:
                made.setdefault(pid, []).append((step, practice.today(utc(created))))
        responded: dict[str, dt.datetime] = {}
        for pid, at in conn.execute(
            select(OutcomeEvent.patient_id, func.max(OutcomeEvent.at))
            .where(
                OutcomeEvent.kind.in_(RESPONSES),
                OutcomeEvent.patient_id.is_not(None),
                OutcomeEvent.at >= dt.datetime.combine(oldest, dt.time(), tzinfo=dt.UTC),
            )
            .group_by(OutcomeEvent.patient_id)
        ):
            responded[pid] = utc(at)
    left_out: dict[str, int] = {}
    due: list[Due] = []
    contacts: list[PlannedContact] = []

    def leave(key: str) -> None:
        left_out[LEFT_OUT[key]] = left_out.get(LEFT_OUT[key], 0) + 1

    for pid, first, last, birth, pms_due, opted_out, voice, sms, prefs in patients:
        found = due_date(pms_due, last_visits.get(pid, {}), age_on(birth, today), types)
        if found is None:
            continue  # no recall visit and no due date: not a recall patient
        due_on, source = found
        start = sequence_start(due_on, rules)
        if start > today:
            continue  # not due yet
        if today > due_on + dt.timedelta(days=rules.max_overdue_days):
            leave("overdue")
            continue
        last_recall_visit = max(last_visits.get(pid, {}).values(), default=None)
        reply = responded.get(pid)
        done = max((step for step, day in made.get(pid, []) if day >= start), default=0)
        step = next_step(due_on, today, rules, done)
        key = (
            "opted_out"
            if opted_out
            else "booked"
            if pid in booked
            else "visited"
            if last_recall_visit is not None and last_recall_visit >= start
            else "responded"
            if reply is not None and practice.today(reply) >= start
            else "in_hand"
            if pid in in_hand
            else "finished"
            if done >= len(rules.steps)
            else None
        )
        if key is not None:
            leave(key)
            continue
        if step is None:
            continue  # the next step's day has not come yet
        if pid not in phones:
            leave("no_phone")
            continue
        channel = channel_for(
            rules.steps[step - 1], has_phone=True, voice=bool(voice), sms=bool(sms), preferences=prefs or {}
        )
        if channel is None:
            leave("no_consent")
            continue
        stage = stage_of(rules.steps[step - 1].days)
        due.append(Due(pid, due_on, source, step, stage, channel))
        contacts.append(
            PlannedContact(
                patient_id=pid,
                tier=RECALL_TIER,
                channel=channel,
                reactivation_score=0.0,
                expected_value=0.0,
                reasons=f"recall due {due_on.isoformat()} ({source}), reminder {step} ({stage})",
                talking_points=(),
                name=f"{first} {last}".strip(),
                purpose="exempt",
                step=step,
            )
        )
    counts: dict[str, dict[str, int]] = {RECALL_TIER: _count(c.channel for c in contacts)}
    cost = sum(practice.outreach.expected_cost(c.channel) for c in contacts)
    plan = Plan(
        run_id=f"recall:{today.isoformat()}",
        contacts=tuple(contacts),
        counts=counts,
        expected_cost=cost,
        expected_recovered_value=0.0,
        response_rates={},
        mix={},
        left_out=left_out,
    )
    return RecallPlan(today, tuple(due), plan)
