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

from sqlalchemy.exc import SQLAlchemyError

from receptionist.config.practice import Practice
from receptionist.outcomes.record import Outcomes
from receptionist.outreach.dispatch import Dispatcher
from receptionist.store import OutreachAttempt, Store
from receptionist.telephony import twiml
from receptionist.telephony.params import CallParams
from receptionist.telephony.rest import TwilioApi
from receptionist.voice.callflow import CallFlow
from receptionist.wording import contacts

log = logging.getLogger(__name__)
MACHINE = {"machine_start", "machine_end_beep", "machine_end_silence", "machine_end_other", "fax"}


class OutboundVoice:
    """The webhooks of calls the practice places: an AI call once answered (person or machine) and "call
    now"'s staff leg, then the patient."""

    def __init__(
        self,
        *,
        practice: Practice,
        store: Store,
        dispatcher: Dispatcher,
        callflow: CallFlow,
        twilio: TwilioApi,
        outcomes: Outcomes,
        base_url: str,
    ) -> None:
        self.practice = practice
        self.store = store
        self.dispatcher = dispatcher
        self.callflow = callflow
        self.twilio = twilio
        self.outcomes = outcomes
        self.base_url = base_url

    def _url(self, path: str) -> str:
        return self.base_url + path

    def _voicemail(self, purpose: str = "marketing") -> str:
        """The voicemail left by an AI call: the recall wording for an exempt call (no marketing, well under a
        minute), the reactivation one otherwise; both say they are automated and name the practice first."""
        main = self.practice.main
        if purpose == "exempt":
            return twiml.say_and_hangup(contacts.reminder_voicemail_text(self.practice.name, main.phone))
        return twiml.say_and_hangup(contacts.voicemail_text(self.practice.name, main.phone))

    def answer(self, p: CallParams, attempt_id: str) -> str:
        contact = self.dispatcher.contact(attempt_id)
        if contact is None or contact.channel != "ai_call":
            return twiml.say_and_hangup(
                f"Sorry, this is {self.practice.name}. Please disregard this call. Goodbye."
            )
        sid = p.call_sid
        self.dispatcher.adopt(attempt_id, sid)
        if p.answered_by in MACHINE:  # synchronous detection already knows
            self.dispatcher.mark_voicemail(attempt_id, sid)
            return self._voicemail(contact.purpose)
        opening = (
            contacts.exempt_call_opening(self.practice.name, self.practice.main.phone)
            if contact.purpose == "exempt"
            else ""
        )
        return self.callflow.outbound(
            p, patient_id=contact.patient_id, tier=contact.tier, attempt_id=attempt_id, opening=opening
        )

    def amd(self, p: CallParams, attempt_id: str) -> None:
        answered_by, sid = p.answered_by, p.call_sid
        log.info("attempt %s: answered by %s", attempt_id, answered_by or "unknown")
        if answered_by not in MACHINE:
            return  # a person (or unknown): the conversation already under way goes on
        self.dispatcher.mark_voicemail(attempt_id, sid)
        self.callflow.end_state(sid)
        contact = self.dispatcher.contact(attempt_id)
        self.twilio.replace_twiml(sid, self._voicemail(contact.purpose if contact else "marketing"))

    # -- "call now": the staff member's leg first ------------------------------------------------------------
    def bridge(self, p: CallParams, attempt_id: str) -> str:
        row = self._attempt(attempt_id)
        contact = self.dispatcher.contact(attempt_id)
        if row is None or contact is None or not contact.phone or contact.channel != "staff_call":
            return twiml.say_and_hangup("This call list entry is no longer available. Goodbye.")
        text = contacts.staff_bridge_text(contact.first_name, tuple(row.notes or ()))
        return twiml.bridge_prompt(text, action=self._url(f"/voice/bridge/answer?attempt={attempt_id}"))

    def bridge_answer(self, p: CallParams, attempt_id: str) -> str:
        contact = self.dispatcher.contact(attempt_id)
        if p.digits != "1" or contact is None or not contact.phone:
            self._result(attempt_id, "canceled")
            return twiml.say_and_hangup("All right, not calling. Goodbye.")
        q = f"?attempt={attempt_id}"
        return twiml.dial(
            contact.phone, caller_id=self.practice.main.phone, action=self._url("/voice/bridge/result" + q)
        )

    def bridge_result(self, p: CallParams, attempt_id: str) -> str:
        status = p.dial_call_status
        self._result(
            attempt_id, "answered" if status in ("completed", "answered") else (status or "no-answer")
        )
        return twiml.hangup()

    def _attempt(self, attempt_id: str) -> OutreachAttempt | None:
        try:
            with self.store.sessions() as s:
                return s.get(OutreachAttempt, attempt_id)
        except SQLAlchemyError:
            return None

    def _result(self, attempt_id: str, result: str) -> None:
        with self.store.session() as s:
            a = s.get(OutreachAttempt, attempt_id)
            if a is None or a.result is not None:
                return
            a.result = result
        self.outcomes.settled(attempt_id)
