"""The outbound side of the phone: reactivation calls the dialler placed, and staff "call now" bridges.

- `/voice/outbound` (the call's `url`): the person or machine that answered hears the practice's outbound
  re-engagement conversation (the same engines and Gather loop as inbound calls, `direction="outbound"`).
- `/voice/outbound/amd` (asynchronous answering-machine detection): a machine, once its greeting has ended,
  gets the voicemail instead (the live call's TwiML replaced through the REST API); a person carries on.
- `/voice/bridge`: the staff member's leg of "call now": who they are about to call and the talking points,
  press 1; then `<Dial>` the patient from the practice's number.
Every one is tied to its attempt by `?attempt=`; an unknown attempt gets a polite goodbye.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from receptionist.store import OutreachAttempt
from receptionist.telephony import twiml
from receptionist.wording import contacts

log = logging.getLogger(__name__)
MACHINE = {"machine_start", "machine_end_beep", "machine_end_silence", "machine_end_other", "fax"}


class OutboundVoice:
    def __init__(self, services: Any) -> None:
        self.s = services

    def _url(self, path: str) -> str:
        return self.s.settings.base_url + path

    def _voicemail(self) -> str:
        main = self.s.practice.main
        return twiml.say_and_hangup(contacts.voicemail_text(self.s.practice.name, main.phone))

    def answer(self, p: dict[str, str], attempt_id: str) -> str:
        contact = self.s.outreach.contact(attempt_id)
        if contact is None or contact.channel != "ai_call":
            return twiml.say_and_hangup(
                f"Sorry, this is {self.s.practice.name}. Please disregard this call. Goodbye."
            )
        sid = p.get("CallSid", "")
        self.s.outreach.adopt(attempt_id, sid)
        if (p.get("AnsweredBy") or "") in MACHINE:  # synchronous detection already knows
            self.s.outreach.mark_voicemail(attempt_id, sid)
            return self._voicemail()
        return self.s.callflow.outbound(
            p, patient_id=contact.patient_id, tier=contact.tier, attempt_id=attempt_id
        )

    def amd(self, p: dict[str, str], attempt_id: str) -> None:
        answered_by = (p.get("AnsweredBy") or "").strip()
        sid = p.get("CallSid", "")
        log.info("attempt %s: answered by %s", attempt_id, answered_by or "unknown")
        if answered_by not in MACHINE:
            return  # a person (or unknown): the conversation already under way goes on
        self.s.outreach.mark_voicemail(attempt_id, sid)
        self.s.callflow.end_state(sid)
        self.s.twilio.replace_twiml(sid, self._voicemail())

    # -- "call now": the staff member's leg first ------------------------------------------------------------
    def bridge(self, p: dict[str, str], attempt_id: str) -> str:
        row = self._attempt(attempt_id)
        contact = self.s.outreach.contact(attempt_id)
        if row is None or contact is None or not contact.phone or contact.channel != "staff_call":
            return twiml.say_and_hangup("This call list entry is no longer available. Goodbye.")
        text = contacts.staff_bridge_text(contact.first_name, tuple(row.notes or ()))
        return twiml.bridge_prompt(text, action=self._url(f"/voice/bridge/answer?attempt={attempt_id}"))

    def bridge_answer(self, p: dict[str, str], attempt_id: str) -> str:
        contact = self.s.outreach.contact(attempt_id)
        if (p.get("Digits") or "").strip() != "1" or contact is None or not contact.phone:
            self._result(attempt_id, "canceled")
            return twiml.say_and_hangup("All right, not calling. Goodbye.")
        q = f"?attempt={attempt_id}"
        return twiml.dial(
            contact.phone, caller_id=self.s.practice.main.phone, action=self._url("/voice/bridge/result" + q)
        )

    def bridge_result(self, p: dict[str, str], attempt_id: str) -> str:
        status = (p.get("DialCallStatus") or "").strip()
        self._result(
            attempt_id, "answered" if status in ("completed", "answered") else (status or "no-answer")
        )
        return twiml.hangup()

    def _attempt(self, attempt_id: str) -> OutreachAttempt | None:
        try:
            with self.s.store.sessions() as s:
                return s.get(OutreachAttempt, attempt_id)
        except SQLAlchemyError:
            return None

    def _result(self, attempt_id: str, result: str) -> None:
        with self.s.store.session() as s:
            a = s.get(OutreachAttempt, attempt_id)
            if a is None or a.result is not None:
                return
            a.result = result
        self.s.outcomes.settled(attempt_id)
