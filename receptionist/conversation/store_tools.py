"""`Tools` over the store: bound to one call, acting only on the caller's own record and their family's.

What the engines may do is enforced here, whatever an engine (or a model) asks: a visit is booked on the
caller's record or a family member's, appointments are read, moved and cancelled only for a patient whose
date of birth the caller confirmed in this call, and nothing of any other patient is reachable. Every change
is one transaction; `events` lists what happened, for the call record and the outcome.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from receptionist.config.practice import Location, Practice
from receptionist.config.visit_types import VisitType
from receptionist.conversation.policy.visits import age_on, choose_visit_type
from receptionist.conversation.types import (
    AppointmentView,
    CallerView,
    LateNotice,
    Member,
    SlotView,
    ToolError,
)
from receptionist.scheduling.schedule import (
    Opening,
    Overlaps,
    SlotTaken,
    Wanted,
    book,
    find_openings,
    opening_at,
    overlapping,
    release,
)
from receptionist.store import (
    Appointment,
    AsapRequest,
    Callback,
    Message,
    Patient,
    PatientPhone,
    Store,
    VisitLine,
)

log = logging.getLogger(__name__)

CHANNELS = ("call", "text", "email")
MAX_MESSAGE = 2000
PRIORITIES = ("urgent", "high", "normal")
CALLBACK_KINDS = ("message", "emergency", "urgent", "transfer", "late", "callback", "refill", "question")


class StoreTools:
    def __init__(
        self,
        store: Store,
        location: Location,
        *,
        call_sid: str,
        caller_phone: str | None,
        patient_id: str | None,
        now: Callable[[], dt.datetime],
        practice: Practice | None = None,
        verified: Iterable[str] = (),
        on_opt_out: Callable[[str], None] | None = None,
        on_phones_change: Callable[[], None] | None = None,
        via: str = "ai",
        on_slot_opened: Callable[[int], None] | None = None,
    ) -> None:
        self.store = store
        self.location = location
        self.practice = practice
        self.call_sid = call_sid
        self.via = (
            via  # what bookings record as their source: "ai" on a call ("text" for a text conversation)
        )
        self.caller_phone = caller_phone
        self._patient_id = patient_id
        self.now = now
        self._verified: set[str] = set(verified)
        self.on_opt_out = on_opt_out
        # told before and after a new patient's phone is committed (the tier cache stops treating misses as final)
        self.on_phones_change = on_phones_change
        # told of an appointment whose time a cancel or a move freed (after the commit): the ASAP list
        self.on_slot_opened = on_slot_opened
        self.events: list[dict[str, Any]] = []
        self._caller: CallerView | None = None

    @property
    def patient_id(self) -> str | None:
        return self._patient_id

    @property
    def verified(self) -> frozenset[str]:
        return frozenset(self._verified)

    # -- who is calling ---------------------------------------------------------------------------------
    def caller(self) -> CallerView:
        if self._caller is not None:
            return self._caller
        pid = self._patient_id
        today = self.now().astimezone(self.location.zone).date()
        with self.store.sessions() as s:
            patient = s.get(Patient, pid) if pid else None
            if patient is None:
                self._caller = CallerView(None, None, True, None, False, ())
                return self._caller
            visits = s.scalar(select(func.count()).select_from(VisitLine).where(VisitLine.patient_id == pid))
            members = [
                Member(m.id, m.first_name, age_on(m.date_of_birth, today), m.date_of_birth is not None)
                for m in self._family(s, patient)
                if m.id != pid
            ]
            self._caller = CallerView(
                patient_id=pid,
                first_name=patient.first_name or None,
                new_patient=not visits,
                age=age_on(patient.date_of_birth, today),
                has_dob=patient.date_of_birth is not None,
                family=tuple(members),
            )
        return self._caller

    def _family(self, s: Session, patient: Patient) -> list[Patient]:
        """The caller's family: patients with the same account holder, and patients sharing the caller's own
        number on file (a household's shared line)."""
        holder = patient.guarantor_id or patient.id
        phones = select(PatientPhone.phone).where(PatientPhone.patient_id == patient.id)
        sharing = select(PatientPhone.patient_id).where(PatientPhone.phone.in_(phones))
        rows = s.scalars(
            select(Patient)
            .where(
                or_(
                    Patient.guarantor_id == holder,
                    Patient.id == holder,
                    Patient.id.in_(sharing),
                )
            )
            .order_by(Patient.id)
            .limit(30)
        ).all()
        return list(rows)

    def _allowed(self, for_patient: str | None) -> str:
        """The patient a visit is for: the caller, or a member of the caller's family."""
        pid = self._require_patient()
        if for_patient is None or for_patient == pid:
            return pid
        if any(m.patient_id == for_patient for m in self.caller().family):
            return for_patient
        raise ToolError("I can only book for you or a member of your family on file.")

    # -- schedule ---------------------------------------------------------------------------------------
    def _visit(self, kind: str, for_patient: str | None = None) -> VisitType:
        """A visit type by id when it fits this patient, else the practice's type for the kind callers ask for
        ("cleaning" for an 8-year-old is the child's visit)."""
        practice = self._practice()
        found = practice.visit_type(kind)
        who = self._who(for_patient)
        if found is not None and (found.urgent or found.fits(new_patient=who.new_patient, age=who.age)):
            return found
        chosen = choose_visit_type(
            practice.visit_types,
            kind=kind,
            new_patient=who.new_patient,
            age=who.age,
            urgent=kind == "emergency",
        )
        if chosen is None:
            raise ToolError("I'm sorry, we don't book that kind of visit by phone.")
        return chosen

    def _who(self, for_patient: str | None) -> Member | CallerView:
        caller = self.caller()
        if for_patient and for_patient != caller.patient_id:
            member = next((m for m in caller.family if m.patient_id == for_patient), None)
            if member is not None:
                return CallerView(member.patient_id, member.first_name, False, member.age, member.has_dob)
        return caller

    def openings(
        self, visit_type: str, wanted: Wanted | None = None, *, for_patient: str | None = None, limit: int = 3
    ) -> list[SlotView]:
        visit = self._visit(visit_type, for_patient)
        limit = max(1, min(int(limit), 10))
        found = find_openings(
            self.store, self.location, visit, self.now(), wanted or Wanted(), limit=limit + 6
        )
        pid = for_patient or self._patient_id
        out: list[SlotView] = []
        with self.store.sessions() as s:
            for o in found:
                if pid and _overlap(s, pid, o) is not None:
                    continue  # the patient has a visit then: never offered
                out.append(SlotView(o.unit_id, o.start, o.provider, o.minutes))
                if len(out) >= limit:
                    break
        return out

    def open_slots(
        self,
        *,
        kind: str = "cleaning",
        after: dt.datetime | None = None,
        part_of_day: str | None = None,
        weekday: int | None = None,
        limit: int = 3,
    ) -> list[SlotView]:
        if part_of_day not in (None, "morning", "afternoon"):
            raise ToolError("I can look for morning or afternoon times.")
        if weekday is not None and not 0 <= int(weekday) <= 6:
            raise ToolError("That is not a day of the week.")
        wanted = Wanted(
            after=after,
            weekdays=frozenset({int(weekday)}) if weekday is not None else frozenset(),
            latest_minute=720 if part_of_day == "morning" else None,
            earliest_minute=720 if part_of_day == "afternoon" else None,
        )
        return self.openings(kind, wanted, limit=limit)

    def book(
        self, slot_id: int, kind: str = "cleaning", *, for_patient: str | None = None
    ) -> AppointmentView:
        pid = self._allowed(for_patient)
        visit = self._visit(kind, pid)
        with self.store.session() as session:
            opening = self._opening(session, slot_id, visit)
            try:
                appointment = book(
                    session,
                    opening,
                    pid,
                    visit.id,
                    location_id=self.location.id,
                    via=self.via,
                    call_sid=self.call_sid,
                )
            except SlotTaken:
                raise ToolError("I'm sorry, that time was just taken.") from None
            except Overlaps:
                raise ToolError("There's already a visit booked at that time.") from None
            view = self._view(appointment)
        self._event("booked", view)
        return view

    def upcoming(self, *, for_patient: str | None = None) -> list[AppointmentView]:
        pid = for_patient or self._patient_id
        if pid is None:
            return []
        self._require_verified(pid)
        with self.store.sessions() as session:
            rows = session.scalars(
                select(Appointment)
                .where(
                    Appointment.patient_id == pid,
                    Appointment.status == "booked",
                    Appointment.start >= self.now().astimezone(dt.UTC),
                )
                .order_by(Appointment.start)
            ).all()
            return [self._view(a) for a in rows]

    def reschedule(self, appointment_id: int, slot_id: int) -> AppointmentView:
        with self.store.session() as session:
            old = self._own_appointment(session, appointment_id)
            visit = self._practice().visit_type(old.kind) or self._visit(old.kind, old.patient_id)
            opening = self._opening(session, slot_id, visit)
            release(session, old)
            old.status = "cancelled"
            try:
                new = book(
                    session,
                    opening,
                    old.patient_id,
                    old.kind,
                    location_id=self.location.id,
                    via=self.via,
                    call_sid=self.call_sid,
                    replacing=old.id,
                )
            except SlotTaken:
                raise ToolError("I'm sorry, that time was just taken.") from None
            except Overlaps:
                raise ToolError("There's already another visit booked at that time.") from None
            view = self._view(new)
            freed = old.id
        self._event("rescheduled", view)
        self._opened(freed)
        return view

    def cancel(self, appointment_id: int) -> AppointmentView:
        with self.store.session() as session:
            appointment = self._own_appointment(session, appointment_id)
            release(session, appointment)
            appointment.status = "cancelled"
            view = self._view(appointment)
        self._event("cancelled", view)
        self._opened(appointment.id)
        return view

    def _opened(self, appointment_id: int) -> None:
        if self.on_slot_opened is not None:
            try:
                self.on_slot_opened(appointment_id)
            except Exception:  # the caller's change is made; offering the time is a bonus
                log.exception("appointment %s: freed time not offered", appointment_id)

    # -- identity -----------------------------------------------------------------------------------------
    def verify_identity(self, date_of_birth: dt.date, *, for_patient: str | None = None) -> bool:
        """True when `date_of_birth` is the one on file; the date itself is never read back."""
        pid = for_patient or self._patient_id
        if pid is None:
            raise ToolError("I can't find your record from this number.")
        if pid != self._patient_id and not any(m.patient_id == pid for m in self.caller().family):
            raise ToolError("I can only look up your own appointments or your family's.")
        with self.store.sessions() as session:
            patient = session.get(Patient, pid)
            on_file = patient.date_of_birth if patient is not None else None
        if on_file is None:
            self.events.append({"action": "identity", "result": "not_on_file"})
            raise ToolError(
                "I can't confirm identity by phone for that record; our front desk can help with that."
            )
        ok = on_file == date_of_birth
        if ok:
            self._verified.add(pid)
        self.events.append({"action": "identity", "result": "verified" if ok else "failed"})
        log.info("call %s: identity check %s", self.call_sid, "passed" if ok else "failed")
        return ok

    def identify(self, first_name: str, last_name: str, date_of_birth: dt.date) -> str | None:
        first, last = _name(first_name).lower(), _name(last_name).lower()
        if not first or not last:
            return None
        with self.store.sessions() as session:
            ids = session.scalars(
                select(Patient.id).where(
                    func.lower(Patient.first_name) == first,
                    func.lower(Patient.last_name) == last,
                    Patient.date_of_birth == date_of_birth,
                )
            ).all()
        if len(ids) != 1:
            self.events.append({"action": "identity", "result": "failed"})
            return None
        self._patient_id = ids[0]
        self._verified.add(ids[0])
        self._caller = None
        self.events.append({"action": "identity", "result": "verified", "patient_id": ids[0]})
        return ids[0]

    # -- new records --------------------------------------------------------------------------------------
    def register_caller(self, first_name: str, last_name: str, date_of_birth: dt.date | None = None) -> str:
        if self._patient_id is not None:
            return self._patient_id
        first, last = _name(first_name), _name(last_name)
        if not first:
            raise ToolError("I didn't catch your first name.")
        pid = "N" + self.call_sid[2:18].upper()
        self._create(pid, first, last, date_of_birth, phone=self.caller_phone, guarantor=None)
        self._patient_id = pid
        self._caller = None
        self.events.append({"action": "registered", "patient_id": pid})
        return pid

    def register_dependent(
        self, first_name: str, last_name: str | None, date_of_birth: dt.date | None, relation: str
    ) -> str:
        holder = self._require_patient()
        first = _name(first_name)
        if not first:
            raise ToolError("I didn't catch their first name.")
        with self.store.sessions() as s:
            me = s.get(Patient, holder)
            family_name = me.last_name if me is not None else ""
            guarantor = (me.guarantor_id or me.id) if me is not None else holder
        existing = next((m for m in self.caller().family if m.first_name.lower() == first.lower()), None)
        if existing is not None:
            return existing.patient_id
        pid = "D" + self.call_sid[2:14].upper() + f"{len(self.caller().family):02d}"
        self._create(
            pid, first, _name(last_name or "") or family_name, date_of_birth, phone=None, guarantor=guarantor
        )
        self._caller = None
        self.events.append({"action": "registered", "patient_id": pid, "relation": relation[:20]})
        return pid

    def _create(
        self,
        pid: str,
        first: str,
        last: str,
        dob: dt.date | None,
        *,
        phone: str | None,
        guarantor: str | None,
    ) -> None:
        if phone and self.on_phones_change:
            self.on_phones_change()
        with self.store.session() as session:
            if session.get(Patient, pid) is None:
                session.add(
                    Patient(
                        id=pid,
                        first_name=first,
                        last_name=last,
                        date_of_birth=dob,
                        has_contact=bool(phone),
                        guarantor_id=guarantor,
                    )
                )
                session.flush()
                if phone:
                    session.add(PatientPhone(patient_id=pid, phone=phone, position=0))
        if phone and self.on_phones_change:
            self.on_phones_change()

    def set_contact_preference(self, channel: str, allowed: bool, note: str = "") -> dict[str, Any]:
        """Record how the caller wants to be contacted on one channel (their own record only)."""
        if channel not in CHANNELS:
            raise ToolError("I can note a preference for calls, texts or emails.")
        pid = self._patient_id
        if pid is None:
            raise ToolError("I can't find your record from this number, so I'll pass that on to our team.")
        with self.store.session() as session:
            patient = session.get(Patient, pid)
            if patient is None:
                raise ToolError(
                    "I can't find your record from this number, so I'll pass that on to our team."
                )
            prefs = dict(patient.contact_preferences or {})
            prefs[channel] = bool(allowed)
            if note.strip():
                prefs["note"] = note.strip()[:200]
            patient.contact_preferences = prefs
        self.events.append({"action": "preferences", "channel": channel, "allowed": bool(allowed)})
        return prefs

    # -- messages and callbacks -----------------------------------------------------------------------------
    def take_message(self, text: str, *, about: str = "message", priority: str = "normal") -> None:
        body = " ".join((text or "").split())[:MAX_MESSAGE]
        if not body:
            raise ToolError("I didn't get a message to pass on.")
        if about not in CALLBACK_KINDS:
            about = "message"
        with self.store.session() as session:
            session.add(
                Message(
                    call_sid=self.call_sid,
                    patient_id=self._patient_id,
                    phone=self.caller_phone,
                    location_id=self.location.id,
                    text=body,
                )
            )
        queue_callback(
            self.store,
            call_sid=self.call_sid,
            patient_id=self._patient_id,
            phone=self.caller_phone,
            location_id=self.location.id,
            reason=f"{about}: {body}"[:200],
            priority=priority if priority in PRIORITIES else "normal",
            kind=about,
            detail=body,
        )
        self.events.append({"action": "message", "text": body, "about": about})
        self.events.append({"action": "callback", "priority": priority, "reason": f"{about}: {body}"[:200]})

    def queue_callback(
        self, reason: str, priority: str = "normal", *, kind: str = "callback", detail: str = ""
    ) -> None:
        if priority not in PRIORITIES:
            raise ToolError("Unknown callback priority.")
        queue_callback(
            self.store,
            call_sid=self.call_sid,
            patient_id=self._patient_id,
            phone=self.caller_phone,
            location_id=self.location.id,
            reason=reason,
            priority=priority,
            kind=kind if kind in CALLBACK_KINDS else "callback",
            detail=detail or None,
        )
        self.events.append({"action": "callback", "priority": priority, "reason": reason[:200]})

    def running_late(self, minutes: int | None) -> LateNotice:
        pid = self._patient_id
        grace = self._practice().front_desk.late_grace_minutes
        local_now = self.now().astimezone(self.location.zone)
        today_end = dt.datetime.combine(
            local_now.date() + dt.timedelta(days=1), dt.time(0), self.location.zone
        )
        appt = None
        if pid is not None:
            with self.store.sessions() as s:
                appt = s.scalars(
                    select(Appointment)
                    .where(
                        Appointment.patient_id == pid,
                        Appointment.status == "booked",
                        Appointment.start >= (local_now - dt.timedelta(hours=2)).astimezone(dt.UTC),
                        Appointment.start < today_end.astimezone(dt.UTC),
                    )
                    .order_by(Appointment.start)
                    .limit(1)
                ).first()
        late = f"about {minutes} minutes" if minutes else "an unknown time"
        if appt is None:
            self.queue_callback(
                f"running late ({late}): no visit found today for this number", "high", kind="late"
            )
            return LateNotice(False, False)
        start = _aware(appt.start).astimezone(self.location.zone)
        within = minutes is not None and minutes <= grace
        self.queue_callback(
            f"running late ({late}) for the {start:%H:%M} {appt.kind} with {appt.provider}",
            "high",
            kind="late",
        )
        self.events.append({"action": "late", "minutes": minutes, "within_grace": within})
        return LateNotice(True, within)

    # -- the rest ---------------------------------------------------------------------------------------
    def opt_out(self) -> None:
        with self.store.session() as session:
            patients = []
            if self._patient_id:
                patients.append(self._patient_id)
            if self.caller_phone:
                patients += session.scalars(
                    select(PatientPhone.patient_id).where(PatientPhone.phone == self.caller_phone)
                ).all()
            for pid in dict.fromkeys(patients):
                patient = session.get(Patient, pid)
                if patient is not None and not patient.opted_out:
                    patient.opted_out = True
                    patient.opted_out_at = self.now()
        for pid in dict.fromkeys(patients):
            if self.on_opt_out:
                self.on_opt_out(pid)
        self.events.append({"action": "opted_out"})
        log.info("call %s: caller opted out of outreach", self.call_sid)

    def asap_request(
        self, kind: str, appointment_id: int | None = None, *, for_patient: str | None = None
    ) -> bool:
        pid = self._allowed(for_patient)
        practice = self._practice()
        with self.store.session() as session:
            appt = session.get(Appointment, appointment_id) if appointment_id is not None else None
            if appt is not None and (
                appt.patient_id not in (pid, *self._family_ids()) or appt.status != "booked"
            ):
                appt = None
            if appt is not None:
                pid = appt.patient_id  # the visit's own patient (a family member's booking)
            chosen = kind or (appt.kind if appt is not None else "")
            visit_type = chosen if practice.visit_type(chosen) else ""
            row = session.scalar(
                select(AsapRequest).where(
                    AsapRequest.patient_id == pid,
                    AsapRequest.status == "open",
                    AsapRequest.visit_type == visit_type,
                )
            )
            if row is None:
                row = AsapRequest(patient_id=pid, visit_type=visit_type, status="open", via="call")
                session.add(row)
            row.location_id = self.location.id
            row.appointment_id = appt.id if appt is not None else None
            row.until = appt.start if appt is not None else None
            patient = session.get(Patient, pid)
            textable = bool(patient and patient.consent_sms and not patient.opted_out)
        self.events.append({"action": "asap_request", "result": "listed"})
        return textable

    def _family_ids(self) -> tuple[str, ...]:
        return tuple(m.patient_id for m in self.caller().family)

    def flag_emergency(self, summary: str) -> None:
        queue_callback(
            self.store,
            call_sid=self.call_sid,
            patient_id=self._patient_id,
            phone=self.caller_phone,
            location_id=self.location.id,
            reason="emergency: " + (summary or "")[:150],
            priority="urgent",
            kind="emergency",
        )
        self.events.append({"action": "emergency"})
        log.warning("call %s: emergency flagged for staff", self.call_sid)

    def note(self, event: dict[str, Any]) -> None:
        self.events.append(dict(event))

    # -- helpers ------------------------------------------------------------------------------------------
    def _practice(self) -> Practice:
        if self.practice is None:
            from receptionist.config.practice import load_practice

            self.practice = load_practice()
        return self.practice

    def _require_patient(self) -> str:
        if self._patient_id is None:
            raise ToolError("I need your name before I can book.")
        return self._patient_id

    def _require_verified(self, pid: str) -> None:
        if pid not in self._verified:
            raise ToolError("For your security I need to confirm the date of birth first.")

    def _opening(self, session: Session, slot_id: int, visit: VisitType) -> Opening:
        try:
            unit = int(slot_id)
        except (TypeError, ValueError):
            raise ToolError("I couldn't find that time in our schedule.") from None
        opening = opening_at(session, unit, visit, self.location)
        if opening is None:
            raise ToolError("I'm sorry, that time is no longer available.")
        if opening.start <= self.now():
            raise ToolError("I'm sorry, that time is no longer available.")
        return opening

    def _own_appointment(self, session: Session, appointment_id: int) -> Appointment:
        try:
            appointment = session.get(Appointment, int(appointment_id))
        except (TypeError, ValueError):
            appointment = None
        # Another patient's appointment looks exactly like a missing one: nothing leaks. A visit booked in
        # this very call may be changed without a date of birth: it tells the caller nothing new.
        if (
            appointment is None
            or appointment.status != "booked"
            or appointment.patient_id not in self._verified
            and not (appointment.call_sid == self.call_sid and self._may_book_for(appointment.patient_id))
        ):
            raise ToolError("I couldn't find that appointment under your name.")
        return appointment

    def _may_book_for(self, pid: str) -> bool:
        return pid == self._patient_id or any(m.patient_id == pid for m in self.caller().family)

    def _event(self, action: str, view: AppointmentView) -> None:
        self.events.append(
            {
                "action": action,
                "appointment_id": view.id,
                "start": view.start.isoformat(),
                "kind": view.kind,
                "provider": view.provider,
                "minutes": view.minutes,
                "patient_id": view.patient_id,
            }
        )

    def _view(self, a: Appointment) -> AppointmentView:
        return AppointmentView(
            a.id,
            _aware(a.start).astimezone(self.location.zone),
            a.provider,
            a.kind,
            a.status,
            a.minutes or 30,
            a.patient_id,
        )


def _overlap(s: Session, pid: str, o: Opening) -> Appointment | None:
    return overlapping(s, pid, o.start, o.minutes)


def queue_callback(
    store: Store,
    *,
    call_sid: str | None,
    patient_id: str | None,
    phone: str | None,
    location_id: str | None,
    reason: str,
    priority: str,
    kind: str = "callback",
    detail: str | None = None,
) -> bool:
    """Queue one callback per call and reason (a retried webhook adds nothing); True when new."""
    with store.session() as session:
        if (
            call_sid is not None
            and session.scalar(
                select(Callback.id).where(Callback.call_sid == call_sid, Callback.reason == reason[:200])
            )
            is not None
        ):
            return False
        session.add(
            Callback(
                patient_id=patient_id,
                phone=phone,
                call_sid=call_sid,
                location_id=location_id,
                reason=reason[:200],
                priority=priority,
                kind=kind,
                detail=detail,
            )
        )
    return True


def _aware(value: dt.datetime) -> dt.datetime:
    """SQLite hands datetimes back naive (they were stored in UTC)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def _name(text: str) -> str:
    cleaned = " ".join(
        part for part in (text or "").replace(".", " ").split() if part.isalpha() or "-" in part
    )
    return cleaned[:100].title()
