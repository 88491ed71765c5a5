"""`Tools` over the store: bound to one call, acting only on the caller's own record."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from receptionist.config.practice import Location
from receptionist.conversation.types import AppointmentView, SlotView, ToolError
from receptionist.scheduling.schedule import SlotTaken, book, release, slot_kind_for
from receptionist.store import Appointment, Callback, Message, Patient, PatientPhone, Slot, Store

log = logging.getLogger(__name__)

KINDS = ("cleaning", "exam", "filling", "consultation", "checkup")
CHANNELS = ("call", "text", "email")
MAX_MESSAGE = 2000


class StoreTools:
    """Every change is one transaction; `events` lists what happened, for the call record and the outcome."""

    def __init__(
        self,
        store: Store,
        location: Location,
        *,
        call_sid: str,
        caller_phone: str | None,
        patient_id: str | None,
        now: Callable[[], dt.datetime],
        on_opt_out: Callable[[str], None] | None = None,
        on_phones_change: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self.location = location
        self.call_sid = call_sid
        self.caller_phone = caller_phone
        self._patient_id = patient_id
        self.now = now
        self.on_opt_out = on_opt_out
        # told before and after a new patient's phone is committed (the tier cache stops treating misses as final)
        self.on_phones_change = on_phones_change
        self.events: list[dict[str, Any]] = []

    @property
    def patient_id(self) -> str | None:
        return self._patient_id

    # -- schedule ---------------------------------------------------------------------------------------
    def open_slots(
        self,
        *,
        kind: str = "cleaning",
        after: dt.datetime | None = None,
        part_of_day: str | None = None,
        weekday: int | None = None,
        limit: int = 3,
    ) -> list[SlotView]:
        kind = self._kind(kind)
        limit = max(1, min(int(limit), 10))
        earliest = max(after or self.now(), self.now() + dt.timedelta(hours=1))
        if part_of_day not in (None, "morning", "afternoon"):
            raise ToolError("I can look for morning or afternoon times.")
        if weekday is not None and not 0 <= int(weekday) <= 6:
            raise ToolError("That is not a day of the week.")
        zone = self.location.zone
        out: list[SlotView] = []
        with self.store.engine.connect() as conn:
            rows = conn.execute(
                select(Slot.id, Slot.start, Slot.provider, Slot.minutes)
                .where(
                    Slot.location_id == self.location.id,
                    Slot.kind == slot_kind_for(kind),
                    Slot.appointment_id.is_(None),
                    Slot.start >= earliest.astimezone(dt.UTC),
                )
                .order_by(Slot.start, Slot.provider)
                .limit(400)
            ).all()
        seen_starts: set[dt.datetime] = set()
        for sid, start, provider, minutes in rows:
            local = _aware(start).astimezone(zone)
            if (
                part_of_day == "morning"
                and local.hour >= 12
                or part_of_day == "afternoon"
                and local.hour < 12
            ):
                continue
            if weekday is not None and local.weekday() != int(weekday):
                continue
            if local in seen_starts:  # one offer per time; the provider is the first free one
                continue
            seen_starts.add(local)
            out.append(SlotView(sid, local, provider, minutes))
            if len(out) >= limit:
                break
        return out

    def book(self, slot_id: int, kind: str = "cleaning") -> AppointmentView:
        kind = self._kind(kind)
        pid = self._require_patient()
        with self.store.session() as session:
            slot = self._open_slot(session, slot_id, kind)
            try:
                appointment = book(session, slot, pid, kind, call_sid=self.call_sid)
            except SlotTaken:
                raise ToolError("I'm sorry, that time was just taken.") from None
            view = self._view(appointment)
        self.events.append({"action": "booked", "appointment_id": view.id, "start": view.start.isoformat()})
        return view

    def upcoming(self) -> list[AppointmentView]:
        pid = self._patient_id
        if pid is None:
            return []
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
        pid = self._require_patient()
        with self.store.session() as session:
            old = self._own_appointment(session, appointment_id, pid)
            slot = self._open_slot(session, slot_id, old.kind)
            release(session, old)
            old.status = "cancelled"
            try:
                new = book(session, slot, pid, old.kind, call_sid=self.call_sid)
            except SlotTaken:
                raise ToolError("I'm sorry, that time was just taken.") from None
            view = self._view(new)
        self.events.append(
            {"action": "rescheduled", "appointment_id": view.id, "start": view.start.isoformat()}
        )
        return view

    def cancel(self, appointment_id: int) -> AppointmentView:
        pid = self._require_patient()
        with self.store.session() as session:
            appointment = self._own_appointment(session, appointment_id, pid)
            release(session, appointment)
            appointment.status = "cancelled"
            view = self._view(appointment)
        self.events.append(
            {"action": "cancelled", "appointment_id": view.id, "start": view.start.isoformat()}
        )
        return view

    # -- the caller ---------------------------------------------------------------------------------------
    def register_caller(self, first_name: str, last_name: str) -> str:
        if self._patient_id is not None:
            return self._patient_id
        first, last = _name(first_name), _name(last_name)
        if not first:
            raise ToolError("I didn't catch your first name.")
        pid = "N" + self.call_sid[2:18].upper()
        if self.caller_phone and self.on_phones_change:
            self.on_phones_change()
        with self.store.session() as session:
            if session.get(Patient, pid) is None:
                session.add(
                    Patient(id=pid, first_name=first, last_name=last, has_contact=bool(self.caller_phone))
                )
                session.flush()
                if self.caller_phone:
                    session.add(PatientPhone(patient_id=pid, phone=self.caller_phone, position=0))
        if self.caller_phone and self.on_phones_change:
            self.on_phones_change()
        self._patient_id = pid
        self.events.append({"action": "registered", "patient_id": pid})
        return pid

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

    def verify_identity(self, date_of_birth: dt.date) -> bool:
        """True when `date_of_birth` is the caller's own on file; the date itself is never read back."""
        pid = self._patient_id
        if pid is None:
            raise ToolError("I can't find your record from this number.")
        with self.store.sessions() as session:
            patient = session.get(Patient, pid)
            on_file = patient.date_of_birth if patient is not None else None
        if on_file is None:
            raise ToolError("I can't confirm your identity by phone; our front desk can help with that.")
        ok = on_file == date_of_birth
        self.events.append({"action": "identity_checked", "ok": ok})
        log.info("call %s: identity check %s", self.call_sid, "passed" if ok else "failed")
        return ok

    def take_message(self, text: str) -> None:
        body = (text or "").strip()
        if not body:
            raise ToolError("I didn't get a message to pass on.")
        with self.store.session() as session:
            session.add(
                Message(
                    call_sid=self.call_sid,
                    patient_id=self._patient_id,
                    phone=self.caller_phone,
                    location_id=self.location.id,
                    text=body[:MAX_MESSAGE],
                )
            )
        self.events.append({"action": "message"})

    def queue_callback(self, reason: str, priority: str = "normal") -> None:
        if priority not in ("urgent", "high", "normal"):
            raise ToolError("Unknown callback priority.")
        queue_callback(
            self.store,
            call_sid=self.call_sid,
            patient_id=self._patient_id,
            phone=self.caller_phone,
            location_id=self.location.id,
            reason=reason,
            priority=priority,
        )
        self.events.append({"action": "callback", "priority": priority})

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

    def flag_emergency(self, summary: str) -> None:
        queue_callback(
            self.store,
            call_sid=self.call_sid,
            patient_id=self._patient_id,
            phone=self.caller_phone,
            location_id=self.location.id,
            reason="emergency: " + (summary or "")[:150],
            priority="urgent",
        )
        self.events.append({"action": "emergency"})
        log.warning("call %s: emergency flagged for staff", self.call_sid)

    # -- helpers ------------------------------------------------------------------------------------------
    def _kind(self, kind: str) -> str:
        kind = (kind or "cleaning").strip().lower()
        if kind not in KINDS:
            raise ToolError("I can book a cleaning, a checkup, an exam, a filling or a consultation.")
        return kind

    def _require_patient(self) -> str:
        if self._patient_id is None:
            raise ToolError("I need your name before I can book.")
        return self._patient_id

    def _open_slot(self, session, slot_id: int, kind: str) -> Slot:
        try:
            slot = session.get(Slot, int(slot_id))
        except (TypeError, ValueError):
            slot = None
        if slot is None or slot.location_id != self.location.id or slot.kind != slot_kind_for(kind):
            raise ToolError("I couldn't find that time in our schedule.")
        if slot.appointment_id is not None or _aware(slot.start) <= self.now():
            raise ToolError("I'm sorry, that time is no longer available.")
        return slot

    def _own_appointment(self, session, appointment_id: int, pid: str) -> Appointment:
        try:
            appointment = session.get(Appointment, int(appointment_id))
        except (TypeError, ValueError):
            appointment = None
        # Another patient's appointment looks exactly like a missing one: nothing leaks.
        if appointment is None or appointment.patient_id != pid or appointment.status != "booked":
            raise ToolError("I couldn't find that appointment under your name.")
        return appointment

    def _view(self, a: Appointment) -> AppointmentView:
        return AppointmentView(
            a.id, _aware(a.start).astimezone(self.location.zone), a.provider, a.kind, a.status
        )


def queue_callback(
    store: Store,
    *,
    call_sid: str | None,
    patient_id: str | None,
    phone: str | None,
    location_id: str | None,
    reason: str,
    priority: str,
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
