"""The offline engine's test bench: an in-memory `Tools` that keeps the protocol's rules and records every call,
the demo practice as the call's context, and a `Call` that carries the state through JSON between turns.

`FakeTools` behaves as the store's tools do (`conversation/store_tools.py`), over lists instead of tables:
the schedule is the demo practice's 30-minute units, searched with the schedule's own `pick_openings`; a
visit is booked only on the caller's record or a family member's, never over another visit of the same
patient; appointments are read, moved or cancelled only for a patient whose date of birth the caller
confirmed in this call (or for a visit booked in this very call). Pure: no database, no Redis.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, replace
from typing import Any
from zoneinfo import ZoneInfo

from receptionist.config.practice import Practice, load_practice
from receptionist.config.visit_types import VisitType
from receptionist.conversation.offline import OfflineEngine
from receptionist.conversation.policy.visits import age_on, choose_visit_type
from receptionist.conversation.types import (
    AppointmentView,
    CallContext,
    CallerView,
    LateNotice,
    Member,
    PracticeFacts,
    Reply,
    SlotView,
    ToolError,
    Utterance,
)
from receptionist.scheduling.schedule import UNIT, Wanted, pick_openings

TZ = ZoneInfo("America/New_York")
NOW = dt.datetime(2026, 11, 30, 10, 0, tzinfo=TZ)  # a Monday, mid-morning
PRACTICE: Practice = load_practice()  # the demo practice: Brightsmile Dental, Dupont Circle
LOCATION = PRACTICE.main
FACTS = PracticeFacts(
    practice_name=PRACTICE.name,
    location_name=LOCATION.name,
    address=LOCATION.address,
    hours_text=LOCATION.hours.describe(),
    phone=LOCATION.phone,
    timezone=LOCATION.timezone,
)
HOURS = "Monday to Friday, 8 AM to 5 PM"
CALLER_PHONE = "+12025550143"
FORBIDDEN = re.compile(r"\b(tier|score|scores|spend|spending|lifetime|worth|value)\b|[*#_`<>\[\]{}]", re.I)
BIRTHDAY = dt.date(1958, 1, 21)  # Margaret's date of birth on file


@dataclass
class Record:
    """A patient on file: name, date of birth (None: not on file), visits had, and the account holder."""

    first: str
    last: str
    dob: dt.date | None
    visits: int = 1
    holder: str | None = None  # the family's account holder (None: their own)


def family(*, emma_dob: dt.date | None = dt.date(2019, 4, 2)) -> dict[str, Record]:
    """Margaret (P1, the caller), her husband Robert (P2) and her daughter Emma (P3, 7), one account."""
    return {
        "P1": Record("Margaret", "Ellison", BIRTHDAY),
        "P2": Record("Robert", "Ellison", dt.date(1956, 6, 3), holder="P1"),
        "P3": Record("Emma", "Ellison", emma_dob, holder="P1"),
        "P9": Record("Stranger", "Danger", dt.date(1970, 1, 1)),  # another family: never reachable
    }


def units(days: int = 21) -> list[tuple[int, str, dt.datetime]]:
    """The demo location's schedule from NOW: every provider's 30-minute units in opening hours, numbered."""
    out = []
    uid = 1000
    for offset in range(days):
        day = NOW.date() + dt.timedelta(days=offset)
        span = LOCATION.hours.by_weekday.get(day.weekday())
        if span is None:
            continue
        start = dt.datetime.combine(day, span[0], TZ)
        end = dt.datetime.combine(day, span[1], TZ)
        while start < end:
            for provider in LOCATION.providers:
                uid += 1
                out.append((uid, provider, start))
            start += UNIT
    return out


class FakeTools:
    """The `Tools` protocol in memory; every call is recorded as (name, arguments), before it may fail."""

    def __init__(
        self,
        *,
        patient_id: str | None = "P1",
        patients: dict[str, Record] | None = None,
        schedule: list[tuple[int, str, dt.datetime]] | None = None,
        appointments: list[AppointmentView] | None = None,
        fail: dict[str, Exception] | None = None,
        now: dt.datetime = NOW,
        verified: tuple[str, ...] = (),
    ) -> None:
        self._patient_id = patient_id
        self.patients = family() if patients is None else dict(patients)
        self.units = units() if schedule is None else list(schedule)
        self.appointments = list(appointments or [])
        self.fail = dict(fail or {})
        self.now = now
        self._verified = set(verified)
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.taken: dict[int, int] = {}  # unit id -> appointment id
        self.booked_here: set[int] = set()  # appointments booked in this call
        self.messages: list[dict[str, Any]] = []
        self.callbacks: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.opted_out = False
        self.preferences: dict[str, Any] = {}
        for a in self.appointments:
            self._hold(a)

    # -- recording ----------------------------------------------------------------------------------------
    def _record(self, name: str, **args: Any) -> None:
        self.calls.append((name, args))
        if name in self.fail:
            raise self.fail[name]

    def called(self, name: str) -> list[dict[str, Any]]:
        return [args for call, args in self.calls if call == name]

    def names(self) -> list[str]:
        return [call for call, _ in self.calls]

    # -- who is calling -------------------------------------------------------------------------------------
    @property
    def patient_id(self) -> str | None:
        return self._patient_id

    @property
    def verified(self) -> frozenset[str]:
        return frozenset(self._verified)

    def caller(self) -> CallerView:
        self._record("caller")
        return self._caller_view()

    def _caller_view(self) -> CallerView:
        pid = self._patient_id
        record = self.patients.get(pid) if pid else None
        if pid is None or record is None:
            return CallerView(None, None, True, None, False, ())
        today = self.now.date()
        holder = record.holder or pid
        members = tuple(
            Member(mid, m.first, age_on(m.dob, today), m.dob is not None)
            for mid, m in sorted(self.patients.items())
            if mid != pid and (m.holder == holder or mid == holder)
        )
        return CallerView(
            pid, record.first, record.visits == 0, age_on(record.dob, today), record.dob is not None, members
        )

    def _in_family(self, pid: str) -> bool:
        return pid == self._patient_id or any(m.patient_id == pid for m in self._caller_view().family)

    def _allowed(self, for_patient: str | None) -> str:
        pid = self._require_patient()
        if for_patient is None or for_patient == pid:
            return pid
        if self._in_family(for_patient):
            return for_patient
        raise ToolError("I can only book for you or a member of your family on file.")

    def _require_patient(self) -> str:
        if self._patient_id is None:
            raise ToolError("I need your name before I can book.")
        return self._patient_id

    # -- schedule -----------------------------------------------------------------------------------------
    def _visit(self, kind: str, for_patient: str | None) -> VisitType:
        found = PRACTICE.visit_type(kind)
        who = self._who(for_patient)
        if found is not None and (found.urgent or found.fits(new_patient=who.new_patient, age=who.age)):
            return found
        chosen = choose_visit_type(
            PRACTICE.visit_types,
            kind=kind,
            new_patient=who.new_patient,
            age=who.age,
            urgent=kind == "emergency",
        )
        if chosen is None:
            raise ToolError("I'm sorry, we don't book that kind of visit by phone.")
        return chosen

    def _who(self, for_patient: str | None) -> CallerView:
        caller = self._caller_view()
        if for_patient and for_patient != caller.patient_id:
            member = next((m for m in caller.family if m.patient_id == for_patient), None)
            if member is not None:
                return CallerView(member.patient_id, member.first_name, False, member.age, member.has_dob)
        return caller

    def _free(self) -> list[tuple[int, str, dt.datetime]]:
        return [u for u in self.units if u[0] not in self.taken]

    def _overlaps(self, pid: str, start: dt.datetime, minutes: int, *, ignore: int | None = None) -> bool:
        end = start + dt.timedelta(minutes=minutes)
        return any(
            a.patient_id == pid
            and a.status == "booked"
            and a.id != ignore
            and a.start < end
            and start < a.start + dt.timedelta(minutes=a.minutes)
            for a in self.appointments
        )

    def _find(self, visit: VisitType, wanted: Wanted, limit: int) -> list[SlotView]:
        earliest = max(wanted.after or self.now, self.now + dt.timedelta(minutes=30))
        providers = [p for p in visit.providers if p in LOCATION.providers]
        if wanted.providers:
            providers = [p for p in providers if p in wanted.providers]
        providers = [p for p in providers if p not in wanted.excluded_providers]
        free = [u for u in self._free() if u[1] in providers and u[2] >= earliest]
        found = pick_openings(free, LOCATION, visit, wanted, limit=limit)
        return [SlotView(o.unit_id, o.start, o.provider, o.minutes) for o in found]

    def openings(
        self, visit_type: str, wanted: Wanted | None = None, *, for_patient: str | None = None, limit: int = 3
    ) -> list[SlotView]:
        self._record("openings", visit_type=visit_type, wanted=wanted, for_patient=for_patient, limit=limit)
        visit = self._visit(visit_type, for_patient)
        limit = max(1, min(int(limit), 10))
        pid = for_patient or self._patient_id
        found = self._find(visit, wanted or Wanted(), limit + 6)
        return [s for s in found if not (pid and self._overlaps(pid, s.start, s.minutes))][:limit]

    def open_slots(
        self,
        *,
        kind: str = "cleaning",
        after: dt.datetime | None = None,
        part_of_day: str | None = None,
        weekday: int | None = None,
        limit: int = 3,
    ) -> list[SlotView]:
        self._record(
            "open_slots", kind=kind, after=after, part_of_day=part_of_day, weekday=weekday, limit=limit
        )
        if part_of_day not in (None, "morning", "afternoon"):
            raise ToolError("I can look for morning or afternoon times.")
        wanted = Wanted(
            after=after,
            weekdays=frozenset({int(weekday)}) if weekday is not None else frozenset(),
            latest_minute=720 if part_of_day == "morning" else None,
            earliest_minute=720 if part_of_day == "afternoon" else None,
        )
        visit = self._visit(kind, None)
        return self._find(visit, wanted, max(1, min(int(limit), 10)))

    def _run(self, unit_id: int, visit: VisitType) -> tuple[dt.datetime, str, list[int]]:
        """The units a visit starting at `unit_id` takes, if they are (still) free and in the future."""
        try:
            uid = int(unit_id)
        except (TypeError, ValueError):
            raise ToolError("I couldn't find that time in our schedule.") from None
        first = next((u for u in self.units if u[0] == uid), None)
        if first is None or first[1] not in visit.providers:
            raise ToolError("I'm sorry, that time is no longer available.")
        by_start = {u[2]: u[0] for u in self.units if u[1] == first[1]}
        run = [by_start.get(first[2] + UNIT * k) for k in range(visit.units)]
        if any(u is None or u in self.taken for u in run) or first[2] <= self.now:
            raise ToolError("I'm sorry, that time is no longer available.")
        return first[2], first[1], [u for u in run if u is not None]

    def _hold(self, appointment: AppointmentView) -> None:
        end = appointment.start + dt.timedelta(minutes=appointment.minutes)
        for uid, provider, start in self.units:
            if provider == appointment.provider and appointment.start <= start < end:
                self.taken[uid] = appointment.id

    def _release(self, appointment_id: int) -> None:
        self.taken = {u: a for u, a in self.taken.items() if a != appointment_id}

    def _new_id(self) -> int:
        return 900 + len(self.appointments)

    def book(
        self, slot_id: int, kind: str = "cleaning", *, for_patient: str | None = None
    ) -> AppointmentView:
        self._record("book", slot_id=slot_id, kind=kind, for_patient=for_patient)
        pid = self._allowed(for_patient)
        visit = self._visit(kind, pid)
        start, provider, _ = self._run(slot_id, visit)
        if self._overlaps(pid, start, visit.minutes):
            raise ToolError("There's already a visit booked at that time.")
        appointment = AppointmentView(self._new_id(), start, provider, visit.id, "booked", visit.minutes, pid)
        self.appointments.append(appointment)
        self._hold(appointment)
        self.booked_here.add(appointment.id)
        return appointment

    def upcoming(self, *, for_patient: str | None = None) -> list[AppointmentView]:
        self._record("upcoming", for_patient=for_patient)
        pid = for_patient or self._patient_id
        if pid is None:
            return []
        if pid not in self._verified:
            raise ToolError("For your security I need to confirm the date of birth first.")
        return sorted(
            (
                a
                for a in self.appointments
                if a.patient_id == pid and a.status == "booked" and a.start >= self.now
            ),
            key=lambda a: a.start,
        )

    def _own(self, appointment_id: int) -> AppointmentView:
        found = next((a for a in self.appointments if a.id == appointment_id and a.status == "booked"), None)
        if (
            found is None
            or found.patient_id not in self._verified
            and not (found.id in self.booked_here and self._in_family(found.patient_id))
        ):
            raise ToolError("I couldn't find that appointment under your name.")
        return found

    def reschedule(self, appointment_id: int, slot_id: int) -> AppointmentView:
        self._record("reschedule", appointment_id=appointment_id, slot_id=slot_id)
        old = self._own(appointment_id)
        visit = PRACTICE.visit_type(old.kind) or self._visit(old.kind, old.patient_id)
        start, provider, _ = self._run(slot_id, visit)
        if self._overlaps(old.patient_id, start, visit.minutes, ignore=old.id):
            raise ToolError("There's already another visit booked at that time.")
        self._release(old.id)
        self.appointments[self.appointments.index(old)] = replace(old, status="cancelled")
        new = AppointmentView(
            self._new_id(), start, provider, old.kind, "booked", visit.minutes, old.patient_id
        )
        self.appointments.append(new)
        self._hold(new)
        return new

    def cancel(self, appointment_id: int) -> AppointmentView:
        self._record("cancel", appointment_id=appointment_id)
        old = self._own(appointment_id)
        self._release(old.id)
        new = replace(old, status="cancelled")
        self.appointments[self.appointments.index(old)] = new
        return new

    # -- identity -----------------------------------------------------------------------------------------
    def verify_identity(self, date_of_birth: dt.date, *, for_patient: str | None = None) -> bool:
        self._record("verify_identity", date_of_birth=date_of_birth, for_patient=for_patient)
        pid = for_patient or self._patient_id
        if pid is None:
            raise ToolError("I can't find your record from this number.")
        if not self._in_family(pid):
            raise ToolError("I can only look up your own appointments or your family's.")
        record = self.patients.get(pid)
        if record is None or record.dob is None:
            raise ToolError(
                "I can't confirm identity by phone for that record; our front desk can help with that."
            )
        ok = record.dob == date_of_birth
        if ok:
            self._verified.add(pid)
        return ok

    def identify(self, first_name: str, last_name: str, date_of_birth: dt.date) -> str | None:
        self._record("identify", first_name=first_name, last_name=last_name, date_of_birth=date_of_birth)
        ids = [
            pid
            for pid, r in self.patients.items()
            if r.first.lower() == first_name.lower()
            and r.last.lower() == last_name.lower()
            and r.dob == date_of_birth
        ]
        if len(ids) != 1:
            return None
        self._patient_id = ids[0]
        self._verified.add(ids[0])
        return ids[0]

    # -- new records --------------------------------------------------------------------------------------
    def register_caller(self, first_name: str, last_name: str, date_of_birth: dt.date | None = None) -> str:
        self._record(
            "register_caller", first_name=first_name, last_name=last_name, date_of_birth=date_of_birth
        )
        if self._patient_id is not None:
            return self._patient_id
        if not first_name.strip():
            raise ToolError("I didn't catch your first name.")
        self.patients["N1"] = Record(first_name.title(), last_name.title(), date_of_birth, visits=0)
        self._patient_id = "N1"
        return "N1"

    def register_dependent(
        self, first_name: str, last_name: str | None, date_of_birth: dt.date | None, relation: str
    ) -> str:
        self._record(
            "register_dependent",
            first_name=first_name,
            last_name=last_name,
            date_of_birth=date_of_birth,
            relation=relation,
        )
        holder = self._require_patient()
        if not first_name.strip():
            raise ToolError("I didn't catch their first name.")
        existing = next(
            (m for m in self._caller_view().family if m.first_name.lower() == first_name.lower()), None
        )
        if existing is not None:
            return existing.patient_id
        me = self.patients[holder]
        pid = f"D{len(self.patients)}"
        self.patients[pid] = Record(
            first_name.title(), last_name or me.last, date_of_birth, visits=0, holder=me.holder or holder
        )
        return pid

    # -- messages, callbacks, preferences ---------------------------------------------------------------------
    def take_message(self, text: str, *, about: str = "message", priority: str = "normal") -> None:
        self._record("take_message", text=text, about=about, priority=priority)
        body = " ".join((text or "").split())
        if not body:
            raise ToolError("I didn't get a message to pass on.")
        self.messages.append({"text": body, "about": about, "priority": priority})
        self.callbacks.append({"reason": f"{about}: {body}"[:200], "priority": priority, "kind": about})

    def queue_callback(
        self, reason: str, priority: str = "normal", *, kind: str = "callback", detail: str = ""
    ) -> None:
        self._record("queue_callback", reason=reason, priority=priority, kind=kind, detail=detail)
        if priority not in ("urgent", "high", "normal"):
            raise ToolError("Unknown callback priority.")
        if all(c["reason"] != reason for c in self.callbacks):  # one per call and reason, as the store keeps
            self.callbacks.append({"reason": reason, "priority": priority, "kind": kind})

    def running_late(self, minutes: int | None) -> LateNotice:
        self._record("running_late", minutes=minutes)
        pid = self._patient_id
        today = [
            a
            for a in self.appointments
            if pid is not None
            and a.patient_id == pid
            and a.status == "booked"
            and a.start.date() == self.now.date()
            and a.start >= self.now - dt.timedelta(hours=2)
        ]
        self.callbacks.append({"reason": f"running late ({minutes})", "priority": "high", "kind": "late"})
        if not today:
            return LateNotice(False, False)
        return LateNotice(True, minutes is not None and minutes <= PRACTICE.front_desk.late_grace_minutes)

    def set_contact_preference(self, channel: str, allowed: bool, note: str = "") -> dict[str, Any]:
        self._record("set_contact_preference", channel=channel, allowed=allowed, note=note)
        if channel not in ("call", "text", "email"):
            raise ToolError("I can note a preference for calls, texts or emails.")
        if self._patient_id is None:
            raise ToolError("I can't find your record from this number, so I'll pass that on to our team.")
        self.preferences[channel] = bool(allowed)
        return dict(self.preferences)

    def opt_out(self) -> None:
        self._record("opt_out")
        self.opted_out = True

    def flag_emergency(self, summary: str) -> None:
        self._record("flag_emergency", summary=summary)

    def asap_request(
        self, kind: str, appointment_id: int | None = None, *, for_patient: str | None = None
    ) -> bool:
        self._record("asap_request", kind=kind, appointment_id=appointment_id, for_patient=for_patient)
        return self._patient_id is not None

    def note(self, event: dict[str, Any]) -> None:
        self._record("note", event=dict(event))
        self.events.append(dict(event))


def context(
    *,
    is_open: bool = True,
    first_name: str | None = "Margaret",
    patient_id: str | None = "P1",
    reason: str = "routine",
    direction: str = "inbound",
    now: dt.datetime = NOW,
) -> CallContext:
    return CallContext(
        call_sid="CA0123456789abcdef0123456789abcdef",
        facts=FACTS,
        now=now,
        is_open=is_open,
        caller_phone=CALLER_PHONE,
        patient_id=patient_id,
        first_name=first_name,
        direction=direction,  # type: ignore[arg-type]
        reason=reason,
        practice=PRACTICE,
        location=LOCATION,
    )


def appointment(
    aid: int,
    day: int,
    hour: int,
    kind: str = "cleaning",
    provider: str = "Hygienist Patel",
    *,
    patient_id: str = "P1",
    month: int = 12,
) -> AppointmentView:
    """A booked appointment in 2026 (local time), of the demo practice's visit type `kind`."""
    visit = PRACTICE.visit_type(kind)
    minutes = visit.minutes if visit is not None else 60
    start = dt.datetime(2026, month, day, hour, tzinfo=TZ)
    return AppointmentView(aid, start, provider, kind, "booked", minutes, patient_id)


def check(reply: Reply) -> None:
    """What every reply must be: spoken text, a valid action, a JSON-able state, nothing it must not say."""
    assert isinstance(reply.say, str) and reply.say.strip()
    assert reply.action in ("listen", "transfer", "hangup")
    assert json.loads(json.dumps(reply.state)) == reply.state
    assert not FORBIDDEN.search(reply.say), reply.say


class Call:
    """One phone call: the engine's state goes through JSON between turns, as it does through Redis."""

    def __init__(
        self,
        tools: FakeTools | None = None,
        ctx: CallContext | None = None,
        engine: OfflineEngine | None = None,
    ) -> None:
        self.tools = tools or FakeTools()
        self.ctx = ctx or context(patient_id=self.tools.patient_id)
        self.engine = engine or OfflineEngine(raise_errors=True)
        self.reply = self.engine.start(self.ctx, self.tools)
        check(self.reply)
        self.state: dict[str, Any] = json.loads(json.dumps(self.reply.state))
        self.heard: list[str] = [self.reply.say]

    def say(
        self, speech: str | None = None, digits: str | None = None, confidence: float | None = 0.92
    ) -> Reply:
        heard = Utterance(speech=speech, digits=digits, confidence=confidence if speech else None)
        self.reply = self.engine.respond(self.ctx, self.tools, self.state, heard)
        check(self.reply)
        self.state = json.loads(json.dumps(self.reply.state))
        self.heard.append(self.reply.say)
        return self.reply

    @property
    def stage(self) -> str:
        return str(self.state["stage"])
