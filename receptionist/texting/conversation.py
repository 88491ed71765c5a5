"""One incoming text, answered as a turn of the same conversation a call has.

`Texting.answer` binds the conversation tools to the sender (the patient on file for the number, the
records whose date of birth this conversation confirmed), runs the offline engine with a text context
(`CallContext.channel = "text"`: written lines, short times, offers numbered so "1" books), and turns what it
decided into texts:

- a hand-over (a person asked for, a message or question for the team, a request it could not book, an
  emergency) puts the thread into the staff inbox instead of a transfer or a callback on Today;
- a number not on file that asks for something needing a record is told so and how to reach the practice,
  and the thread goes to the inbox (no patient is created and no record is matched by text);
- a text not understood says how else to reach the practice and how to opt out;
- every message fits one SMS segment (`sms.split`); the first reply of a conversation names the practice.

Identity: the tools disclose appointments only for records whose date of birth was confirmed in this
conversation (`conversation/policy/identity.py`, enforced in `StoreTools`), and the written offer and booking
lines carry the day and time only (what a reminder may carry), never the provider or the kind of visit.

A patient who opted out (or a number that revoked) gets no conversation: one line on how to reach the practice.
Cost: one `understand` and at most one schedule search per text, one Redis read and write, one SQL write.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis
from sqlalchemy import select

from receptionist.config.practice import Location, Practice
from receptionist.conversation.offline import OfflineEngine
from receptionist.conversation.offline.state import DialogueState, Frame
from receptionist.conversation.store_tools import StoreTools
from receptionist.conversation.types import CallContext, PracticeFacts, Reply, ToolError, Utterance
from receptionist.outreach import optout
from receptionist.store import OutreachAttempt, Patient, PatientPhone, Store
from receptionist.texting import sms
from receptionist.texting.threads import TextState, Threads
from receptionist.wording import contacts, spoken
from receptionist.wording.lines import lines

log = logging.getLogger(__name__)

REACTIVATION_WINDOW = dt.timedelta(days=14)  # a reply this soon after a practice text answers its offer
# stages that need a record the sender does not have (a name to book under, an identity to match)
NEEDS_RECORD = frozenset({"ask_name", "ask_identity"})


@dataclass(frozen=True)
class IncomingText:
    message_sid: str
    sender: str  # E.164
    to: str | None  # the practice number texted, E.164
    body: str


class TextTools(StoreTools):
    """The conversation tools for a text: the store's, except that what would reach staff as a callback or a
    message on Today reaches them as a hand-over of the thread (`handovers`), and no record is created or
    matched for a number not on file."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.handovers: list[tuple[str, str]] = []  # (reason, priority)

    def take_message(self, text: str, *, about: str = "message", priority: str = "normal") -> None:
        body = " ".join((text or "").split())
        if not body:
            raise ToolError("I didn't get a message to pass on.")
        self.handovers.append((f"{about}: {body}"[:200], priority))
        self.events.append({"action": "message", "about": about})

    def queue_callback(
        self, reason: str, priority: str = "normal", *, kind: str = "callback", detail: str = ""
    ) -> None:
        if priority not in ("urgent", "high", "normal"):
            raise ToolError("Unknown callback priority.")
        self.handovers.append((reason[:200], priority))
        self.events.append({"action": "callback", "priority": priority})

    def flag_emergency(self, summary: str) -> None:
        super().flag_emergency(summary)  # Today's urgent list too: an emergency is never only in an inbox
        self.handovers.append(("emergency: " + (summary or "")[:150], "urgent"))

    def register_caller(self, first_name: str, last_name: str, date_of_birth: dt.date | None = None) -> str:
        if self.patient_id is not None:
            return self.patient_id
        raise ToolError("I can't set up a new record by text.")

    def identify(self, first_name: str, last_name: str, date_of_birth: dt.date) -> str | None:
        return None  # a number not on file never unlocks a record by text


class Texting:
    def __init__(
        self,
        *,
        practice: Practice,
        store: Store,
        redis_client: redis.Redis,
        now: Callable[[], dt.datetime],
        on_opt_out: Callable[[str], None] | None = None,
        on_slot_opened: Callable[[int], None] | None = None,
    ) -> None:
        self.practice = practice
        self.store = store
        self.now = now
        self.on_slot_opened = on_slot_opened  # a visit cancelled or moved by text: its time to the ASAP list
        self.threads = Threads(store, redis_client, now)
        self.engine = OfflineEngine(raise_errors=True)
        self.on_opt_out = on_opt_out

    # -- one text in, texts out ---------------------------------------------------------------------------
    def answer(self, text: IncomingText, patients: list[str]) -> list[str]:
        """The replies to one incoming text (each one SMS segment), with both sides kept on the thread."""
        location = self.practice.location_for(text.to) or self.practice.main
        practice_phone = location.phone
        patient_id = self._patient(text.sender, patients)
        paused = self._paused(text.sender, patients)
        state = None if paused else self.threads.load_state(practice_phone, text.sender)
        fresh = state is None
        if paused:
            replies = [contacts.texts_paused(self.practice.name, location.phone)]
            handovers: list[tuple[str, str]] = []
            state = None
        else:
            state = state or TextState(engine=self._opening(patient_id, location))
            reply, handovers, state = self._turn(text, location, patient_id, state)
            say = reply.say if not fresh else f"{spoken.clean(self.practice.name)}: {reply.say}"
            replies = sms.split(say)
            if reply.action == "hangup":
                state = None  # the conversation is over: the next text starts a new one
        with self.store.session() as s:
            thread = self.threads.thread_for(
                s,
                patient_id=patient_id,
                phone=text.sender,
                practice_phone=practice_phone,
                location_id=location.id,
            )
            self.threads.add(s, thread, "in", "patient", text.body, provider_id=text.message_sid or None)
            for body in replies:
                self.threads.add(s, thread, "out", "ai", body)
            for reason, priority in handovers:
                self.threads.hand_over(thread, reason, priority)
            if state is not None:
                thread.language = str(state.engine.get("language") or "en")[:8]
            thread.state = state.to_json() if state is not None else None
            thread.state_at = self.now()
            thread_id = thread.id
        if not paused:
            self.threads.save_state(practice_phone, text.sender, state)
        log.info(
            "text thread %s: %d reply message(s), %d hand-over(s)", thread_id, len(replies), len(handovers)
        )
        return replies

    def _turn(
        self, text: IncomingText, location: Location, patient_id: str | None, state: TextState
    ) -> tuple[Reply, list[tuple[str, str]], TextState]:
        before = DialogueState.from_json(state.engine)
        tools = TextTools(
            self.store,
            location,
            call_sid=text.message_sid or "SMtext",
            caller_phone=text.sender,
            patient_id=patient_id,
            now=self.now,
            practice=self.practice,
            verified=state.verified,
            on_opt_out=self.on_opt_out,
            via="text",
            on_slot_opened=self.on_slot_opened,
        )
        ctx = self._context(text, location, patient_id, state, before.language)
        L = lines(before.language)
        phone = contacts.spoken_phone(location.phone)
        body = text.body.strip()
        # a bare number answers a numbered list of offers, as a key pressed on a call does
        heard = Utterance(digits=body) if body.isdigit() and len(body) <= 3 else Utterance(speech=body[:600])
        try:
            reply = self.engine.respond(ctx, tools, state.engine, heard)
        except ToolError as error:
            after = DialogueState.from_json(state.engine)
            after.stage = "anything_else"
            reply = Reply(f"{error} {L.write('anything_else')}", after.to_json(), "listen")
        except Exception:  # the texter always gets an answer, and a person sees the thread
            log.exception("text %s: the conversation failed on a text", text.message_sid)
            return (
                Reply(L.write("trouble", phone=phone), DialogueState().to_json(), "listen"),
                [("the assistant could not answer this text", "normal")],
                TextState(verified=list(tools.verified), first_name=state.first_name),
            )
        after = DialogueState.from_json(reply.state)
        handovers = list(tools.handovers)
        say = reply.say
        if reply.action == "transfer":
            reason = next(
                (str(e.get("reason")) for e in tools.events if e.get("action") == "transfer_reason"),
                "asked for a person",
            )
            handovers.append((reason, "high" if "urgent" in reason else "normal"))
            after.stage, after.expecting = "anything_else", "yes_no"
            reply = Reply(say, after.to_json(), "listen")
        if patient_id is None and after.stage in NEEDS_RECORD:
            handovers.append(
                ("a number not on file asked for something that needs a patient record", "normal")
            )
            after.stage, after.task, after.expecting = "menu", None, None
            reply = Reply(L.write("no_record", phone=phone), after.to_json(), "listen")
        elif after.misses > before.misses:
            reply = Reply(f"{reply.say} {L.write('reach_us', phone=phone)}", reply.state, reply.action)
        kept = TextState(engine=reply.state, verified=sorted(tools.verified), first_name=state.first_name)
        return reply, handovers, kept

    # -- who, and where the conversation starts -----------------------------------------------------------
    def _patient(self, sender: str, patients: list[str]) -> str | None:
        """The record the sender's number is on (the first one listed for it, for a shared family line)."""
        if not patients:
            return None
        with self.store.sessions() as s:
            row = s.execute(
                select(PatientPhone.patient_id)
                .join(Patient, Patient.id == PatientPhone.patient_id)
                .where(PatientPhone.phone == sender, Patient.status == "active")
                .order_by(PatientPhone.position, PatientPhone.patient_id)
                .limit(1)
            ).first()
        return str(row[0]) if row is not None else None

    def _paused(self, sender: str, patients: list[str]) -> bool:
        """A number that revoked, or whose every patient opted out: no conversation by text."""
        if optout.number_revoked(self.store, sender):
            return True
        if not patients:
            return False
        with self.store.sessions() as s:
            flags = s.scalars(select(Patient.opted_out).where(Patient.id.in_(patients))).all()
        return bool(flags) and all(flags)

    def _opening(self, patient_id: str | None, location: Location) -> dict[str, Any]:
        """A new conversation's state: answering a practice text's invitation to book when one went to this
        patient lately (so "yes, can I come Tuesday?" starts the booking), else the menu."""
        st = DialogueState()
        if patient_id is not None and self._invited(patient_id):
            st.stage, st.expecting = "offer_book", "yes_no"
            st.frame = Frame(kind="cleaning")
            st.question = lines("en").write("offer_book")
        else:
            st.question = lines("en").write("how_can_i_help")
        return st.to_json()

    def _invited(self, patient_id: str) -> bool:
        since = self.now() - REACTIVATION_WINDOW
        with self.store.sessions() as s:
            found = s.scalar(
                select(OutreachAttempt.id)
                .where(
                    OutreachAttempt.patient_id == patient_id,
                    OutreachAttempt.channel == "sms",
                    OutreachAttempt.sent_at.is_not(None),
                    OutreachAttempt.sent_at >= since,
                )
                .limit(1)
            )
        return found is not None

    def _context(
        self, text: IncomingText, location: Location, patient_id: str | None, state: TextState, language: str
    ) -> CallContext:
        now = self.now()
        first = state.first_name
        if first is None and patient_id is not None:
            with self.store.sessions() as s:
                first = s.scalar(select(Patient.first_name).where(Patient.id == patient_id)) or ""
            state.first_name = first
        return CallContext(
            call_sid=text.message_sid or "SMtext",
            facts=PracticeFacts.of(self.practice, location),
            now=location.local_time(now),
            is_open=location.is_open(now),
            caller_phone=text.sender,
            patient_id=patient_id,
            first_name=first or None,
            reason="text",
            practice=self.practice,
            location=location,
            language=language,
            channel="text",
        )
