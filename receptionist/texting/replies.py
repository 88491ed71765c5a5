"""Staff replies from the inbox, sent through Twilio within the gates.

The rule (`reply_problem`, pure; COMPLIANCE.md):
- never to a number that revoked consent or a patient who opted out, whenever the patient last wrote
  (an opt-out binds every channel, staff texts included);
- within `REPLY_WINDOW` (24 hours) of the patient's own last text, a reply answers the patient's request:
  no calling-hours or consent gate beyond the opt-out;
- later than that it is a new text from the practice: it needs the patient's consent to texts on file and
  the calling hours (8:00 to 21:00 by default, the practice's `[outreach] calling_hours`) in every time zone
  the patient may be in (`outreach.gates.patient_zones`); a number not on file is not texted at all then.
A staff text is typed by a person, one at a time, so the automated caps do not count it. Each message is one
SMS segment (`sms.split`, at most `MAX_PARTS` of them); each is recorded on the thread as written, with its
MessageSid and, once Twilio reports it, its delivery status.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import select

from receptionist.config.practice import Practice
from receptionist.outreach import optout
from receptionist.outreach.gates import patient_zones
from receptionist.store import Patient, Store, TextThread
from receptionist.telephony.rest import Refused
from receptionist.texting import sms
from receptionist.texting.threads import Threads

log = logging.getLogger(__name__)

REPLY_WINDOW = dt.timedelta(hours=24)
MAX_PARTS = 4  # a staff reply of at most four texts


class Sender(Protocol):
    def send_sms(self, *, to: str, from_: str, body: str, status_callback: str) -> str: ...


@dataclass(frozen=True)
class Sent:
    ok: bool
    why: str  # what the staff member is told
    parts: int = 0


def reply_problem(
    *,
    now: dt.datetime,
    last_inbound_at: dt.datetime | None,
    opted_out: bool,
    revoked: bool,
    known: bool,
    consent_sms: bool,
    zones: tuple[ZoneInfo, ...],
    calling_hours: tuple[dt.time, dt.time],
) -> str | None:
    """Why a staff text may not go now (None: it may)."""
    if revoked or opted_out:
        return "Not sent: this patient opted out of texts. Call them only if they asked you to."
    if last_inbound_at is not None and now - last_inbound_at <= REPLY_WINDOW:
        return None
    if not known:
        return "Not sent: the sender is not on file and last wrote more than 24 hours ago."
    if not consent_sms:
        return "Not sent: the patient last wrote more than 24 hours ago and has no consent to texts on file."
    start, end = calling_hours
    for zone in zones:
        if not start <= now.astimezone(zone).time() < end:
            return (
                "Not sent: the patient last wrote more than 24 hours ago, and it is outside the calling "
                f"hours ({start:%H:%M} to {end:%H:%M} their time). Try again then."
            )
    return None


class StaffReplies:
    def __init__(
        self,
        *,
        practice: Practice,
        store: Store,
        threads: Threads,
        twilio: Callable[[], Sender],
        now: Callable[[], dt.datetime],
        base_url: str,
    ) -> None:
        self.practice = practice
        self.store = store
        self.threads = threads
        self.twilio = twilio  # built on first use: a page that never replies never makes a client
        self.now = now
        self.base_url = base_url

    def send(self, thread_id: int, staff_user: str, body: str) -> Sent:
        parts = sms.split(body)
        if not parts:
            return Sent(False, "Write a reply first.")
        if len(parts) > MAX_PARTS:
            return Sent(False, f"Too long: a reply is at most {MAX_PARTS} texts. Shorten it.")
        now = self.now()
        with self.store.sessions() as s:
            thread = s.get(TextThread, thread_id)
            if thread is None:
                return Sent(False, "No such conversation.")
            to, from_, pid = thread.phone, thread.practice_phone, thread.patient_id
            last_in = thread.last_inbound_at
            patient = s.get(Patient, pid) if pid else None
            opted = bool(patient is not None and patient.opted_out)
            consent = bool(patient is not None and patient.consent_sms)
            zip_code = patient.zip if patient is not None else None
        if last_in is not None and last_in.tzinfo is None:
            last_in = last_in.replace(tzinfo=dt.UTC)
        problem = reply_problem(
            now=now,
            last_inbound_at=last_in,
            opted_out=opted or self._opted_patients(to),
            revoked=optout.number_revoked(self.store, to),
            known=pid is not None,
            consent_sms=consent,
            zones=patient_zones(to, zip_code, self.practice.main.zone),
            calling_hours=self.practice.outreach.calling_hours,
        )
        if problem is not None:
            log.info("text thread %s: staff reply refused", thread_id)
            return Sent(False, problem)
        sent = 0
        for part in parts:
            try:
                sid: str | None = self.twilio().send_sms(
                    to=to, from_=from_, body=part, status_callback=f"{self.base_url}/sms/status"
                )
                status = "sent"
            except Refused:
                sid, status = None, "failed"
            except Exception:  # the provider is unreachable: the staff member is told, nothing is lost
                log.exception("text thread %s: staff reply could not reach the provider", thread_id)
                sid, status = None, "failed"
            with self.store.session() as s:
                thread = s.get(TextThread, thread_id)
                if thread is not None:
                    self.threads.add(
                        s, thread, "out", "staff", part, staff_user=staff_user, provider_id=sid, status=status
                    )
                    if thread.inbox_state in ("", "new"):
                        thread.inbox_state = "in_progress"
                    thread.owner = thread.owner or staff_user
            if status != "sent":
                return Sent(
                    False, "Not sent: Twilio did not take the text. Try again, or call the patient.", sent
                )
            sent += 1
        return Sent(True, "Reply sent." if sent == 1 else f"Reply sent as {sent} texts.", sent)

    def _opted_patients(self, phone: str) -> bool:
        """Whether any patient on this number opted out (a shared line: one opt-out binds the number)."""
        ids = optout.patients_with_phone(self.store, phone)
        if not ids:
            return False
        with self.store.sessions() as s:
            return any(s.scalars(select(Patient.opted_out).where(Patient.id.in_(ids))).all())
