"""The offline receptionist: a dialogue over the understanding (`conversation/nlu`) and the shared policies
(`conversation/policy`), acting only through `Tools`, saying only lines from the language's wording file.

Each turn, in this order: silence; a language the conversation does not speak; a medical emergency (911); an
opt-out; the answer to the question just asked (a time offered, a date of birth, a name, a message); an
urgent dental problem; then everything the caller asked, several requests in one turn included (questions
are answered first, then the task). The frame (`frame.py`) listens to every turn, so a correction made while
a time is on offer starts a new search. Nothing escapes: a tool's refusal is read to the caller.

Cost: one `understand` (about half a millisecond), at most one schedule search and one write per turn.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import tomllib
from typing import Any

from receptionist.conversation import guardrails
from receptionist.conversation.nlu import Heard, understand
from receptionist.conversation.nlu.dob import parse_dob
from receptionist.conversation.nlu.lexicon import data_file, lexicon
from receptionist.conversation.nlu.text import tokens
from receptionist.conversation.offline import answers, appointments, contact, messages
from receptionist.conversation.offline import frame as frames
from receptionist.conversation.offline.offers import pick, when_words
from receptionist.conversation.offline.state import DialogueState, Frame, Offer
from receptionist.conversation.policy.family import (
    FAMILY,
    match_member,
    members_like,
    real_name,
    relation_words,
)
from receptionist.conversation.policy.triage import DENTAL, Triage, triage
from receptionist.conversation.policy.visits import choose_visit_type
from receptionist.conversation.types import (
    Action,
    AppointmentView,
    CallContext,
    CallerView,
    Reply,
    SlotView,
    ToolError,
    Tools,
    Utterance,
)
from receptionist.wording import calls, contacts, spoken
from receptionist.wording.lines import lines
from receptionist.wording.written import numbered, written_when

log = logging.getLogger(__name__)

TASKS = (
    "reschedule",
    "cancel",
    "confirm_appointment",
    "running_late",
    "refill",
    "callback_request",
    "billing",
    "message",
    "book",
    "new_patient",
)
MAX_MISSES = 2
LOW_CONFIDENCE = 0.3  # speech recognised with less confidence than this is not acted on (safety turns aside)
# what an opt-out said in the same breath may go on to (the opt-out itself can look like a message)
AFTER_OPT_OUT = ("book", "new_patient", "reschedule", "cancel", "confirm_appointment", "running_late")
MEDICAL_AT = 0.6
MEDICAL_TOP_AT = 0.4
MEDICAL_DENTAL_AT = 0.85
URGENT_AT = 0.6  # the same for an urgent dental problem with no symptom named  # a guess of a medical emergency under this, with no medical symptom named, is not one
# requests that carry a problem to staff rather than ask for care now: a mild problem mentioned in one stays
# with the request (its message reaches staff, marked high); a tooth knocked out or broken does not wait
MESSAGE_TASKS = frozenset({"refill", "message", "callback_request", "billing"})
# requests that set a time on offer aside
OTHER_TASKS = MESSAGE_TASKS | {"cancel", "confirm_appointment", "running_late"}
CANNOT_WAIT = frozenset({"knocked_out", "broken_tooth", "swelling", "infection"})


class Turn:
    def __init__(self, ctx: CallContext, tools: Tools, st: DialogueState, heard: Utterance) -> None:
        self.ctx = ctx
        self.tools = tools
        self.st = st
        self.utterance = heard
        self.L = lines(st.language if st.language in ("en", "es") else "en")
        self.en = lines("en")
        self.practice = ctx.practice
        self.location = ctx.location
        self.said: list[str] = []  # what this turn has said so far (answers before the question)
        self.h: Heard | None = None

    # -- wording ------------------------------------------------------------------------------------------
    @property
    def texting(self) -> bool:
        """A text conversation: lines are written (`Lines.write`), times short, offers numbered."""
        return self.ctx.channel == "text"

    def line(self, key: str, **values: Any) -> str:
        return self.L.write(key, **values) if self.texting else self.L.say(key, **values)

    def reply(self, text: str, action: Action = "listen") -> Reply:
        say = " ".join([*self.said, text]).strip()
        if action == "listen":
            self.st.question = text
        self.st.last_said = say
        return Reply(say, self.st.to_json(), action)

    def ask(self, text: str, stage: str, expecting: str | None = None) -> Reply:
        self.st.stage = stage
        self.st.expecting = expecting
        return self.reply(text)

    def done(self, text: str) -> Reply:
        self.st.stage = "anything_else"
        self.st.expecting = "yes_no"
        self.st.task = None
        return self.reply(f"{text} {self.line('anything_else')}")

    def goodbye(self, text: str | None = None) -> Reply:
        self.st.stage = "done"
        bye = self.line("goodbye", practice=spoken.clean(self.ctx.facts.practice_name))
        return self.reply(f"{text} {bye}" if text else bye, "hangup")

    # -- the turn -----------------------------------------------------------------------------------------
    def run(self) -> Reply:
        st = self.st
        if self.utterance.is_silence:
            return self.on_silence()
        st.silences = 0
        keys = (self.utterance.digits or "").strip()
        if keys and not (self.utterance.speech or "").strip():
            return self.on_keys(keys)
        h = self.h = self.understand()
        if h.language != "en" and st.language == "en":
            return self.other_language(h.language, self.triage(h))
        tri = self.triage(h)
        if tri.level == "emergency_911":
            return self.emergency()
        if broken_up(self.utterance.speech or ""):
            return self.not_understood()  # "I need to ... the ... tooth ...": asked again, nothing acted on
        if (h.has("opt_out") or h.has("contact_preference")) and contact.heard_preferences(h):
            return contact.start(self, h)  # a channel asked for: a preference, not an opt-out
        if h.has("opt_out"):
            return self.opt_out(h)
        confidence = self.utterance.confidence
        if confidence is not None and confidence < LOW_CONFIDENCE:
            return self.not_understood(take_question=False)  # never act on words the recogniser doubts
        if h.top == "contact_preference" and st.stage in ("menu", "anything_else"):
            return contact.start(self, h)  # "can you change how you contact me?": which channel
        answered = self.answer_stage(h)
        if answered is not None:
            return answered
        if tri.level == "urgent_dental":
            if not (self._leading(h) in MESSAGE_TASKS and tri.problem not in CANNOT_WAIT):
                return self.urgent(tri)
            st.message_priority = "high"  # the message reaches staff marked high
        return self.requests(h)

    def understand(self) -> Heard:
        text = (self.utterance.speech or "").strip()
        digits = (self.utterance.digits or "").strip()
        if not text and digits:
            text = " ".join(digits)
        providers = self.location.providers if self.location is not None else ()
        language = None if self.st.language == "en" else self.st.language
        return understand(
            text[:600], now=self.ctx.now, language=language, providers=providers, expecting=self.st.expecting
        )

    def triage(self, h: Heard) -> Triage:
        first_aid = self.practice.front_desk.first_aid if self.practice is not None else {}
        return triage(
            [(s.kind, s.negated) for s in h.entities.symptoms] + reassured(h.text, h.language),
            medical_intent=self._medical_guess(h),
            urgent_intent=h.score("urgent_dental") >= URGENT_AT,
            first_aid=first_aid,
        )

    def _medical_guess(self, h: Heard) -> bool:
        """The intent model's guess of a medical emergency, where no medical symptom was named: over
        MEDICAL_AT (or the top guess over MEDICAL_TOP_AT); with a dental problem named ("hurting my jaw",
        "should I go to the ER for my toothache?") only over MEDICAL_DENTAL_AT; never for a turn that reads
        out a number or a date of birth and names no symptom (medical symptoms decide on their own)."""
        p = h.score("medical_emergency")
        named = [s.kind for s in h.entities.symptoms if not s.negated]
        if any(kind in DENTAL for kind in named):
            guess = p >= MEDICAL_DENTAL_AT
        else:
            guess = p >= MEDICAL_AT or (h.top == "medical_emergency" and p >= MEDICAL_TOP_AT)
        if not named and (h.entities.dob is not None or _reading_digits(h.text)):
            return False
        return guess

    # -- silence, languages, safety -------------------------------------------------------------------------
    def on_silence(self) -> Reply:
        self.st.silences += 1
        if self.st.silences >= 3:
            return self.reply(self.line("silence_end"), "hangup")
        question = self.st.question or self.line("how_can_i_help")
        return self.reply(question if self.st.silences == 1 else self.line("silence"))

    def other_language(self, code: str, tri: Triage) -> Reply:
        """A caller in a language the conversation does not speak: one sentence in it, then a person or a
        message; a problem the language's symptom words name is triaged first (911, or urgent to staff)."""
        self.st.language = code
        self.tools.note({"action": "language", "language": code})
        other = lines(code)
        say = other.write if self.texting else other.say
        practice = spoken.clean(self.ctx.facts.practice_name)
        staffed = self.ctx.is_open and self.location is not None and bool(self.location.staff_numbers)
        if tri.level == "emergency_911":
            self.st.stage = "done"
            try:
                self.tools.note({"action": "triage", "level": "emergency_911"})
                self.tools.flag_emergency(f"caller described a medical emergency (speaks {code})")
            except Exception:
                log.exception("call %s: could not flag an emergency", self.ctx.call_sid)
            return Reply(say("other_language_emergency"), self.st.to_json(), "hangup")
        if tri.level == "urgent_dental":
            self.tools.note({"action": "triage", "level": "urgent_dental", "problem": tri.problem})
            self.tools.queue_callback(
                f"urgent dental problem ({tri.problem}), speaks {code}", "urgent", kind="urgent"
            )
            if staffed:
                self.tools.note(
                    {"action": "transfer_reason", "reason": f"urgent dental problem, speaks {code}"}
                )
                return Reply(
                    say("other_language_urgent_transfer", practice=practice),
                    self.st.to_json(),
                    "transfer",
                )
            self.st.message_about = "message"
            self.st.stage, self.st.expecting = "message", "message"
            return Reply(say("other_language_urgent_message", practice=practice), self.st.to_json(), "listen")
        if staffed:
            self.tools.note({"action": "transfer_reason", "reason": f"speaks {code}"})
            return Reply(say("other_language_transfer", practice=practice), self.st.to_json(), "transfer")
        self.st.message_about = "message"
        self.st.stage, self.st.expecting = "message", "message"
        return Reply(say("other_language_message", practice=practice), self.st.to_json(), "listen")

    def emergency(self) -> Reply:
        say = self.line("emergency_911")
        try:  # the caller hears the instruction whatever the tools do
            self.tools.note({"action": "triage", "level": "emergency_911"})
            said = " ".join((self.utterance.speech or "").split())[:150]  # staff see what the caller said
            self.tools.flag_emergency(f"caller said: {said}" if said else "caller keyed 9 1 1")
            say += " " + self.line("emergency_alerted")
        except Exception:
            log.exception("call %s: could not flag an emergency", self.ctx.call_sid)
        self.st.stage = "done"
        return self.reply(say, "hangup")

    def opt_out(self, h: Heard) -> Reply:
        """Once per call, at once: the opt-out, else a message, else a callback asking staff to do it; only
        when one of them was recorded is it not asked for again. A request said with it is then taken up."""
        st = self.st
        if st.opted_out:
            text: str | None = self.line("opted_out_already")  # true whether it was recorded or relayed
        else:
            text = self._record_opt_out()
            st.opted_out = text is not None
        if text is None:
            text = self.line("opt_out_failed")
        others = [t for t in self._tasks(h) if t in AFTER_OPT_OUT]
        if others and self.ctx.direction == "inbound":
            self.said.append(text)
            return self.task(others[0], h)
        if st.stage in ("offer", "message") or self.ctx.direction == "outbound":
            return self.goodbye(text)
        return self.done(text)

    def _record_opt_out(self) -> str | None:
        try:
            self.tools.opt_out()
            return self.line(
                "opted_out_sorry"
            )  # whoever asks to be left alone hears an apology for the calls
        except ToolError:
            log.info("call %s: opt-out refused by the tools; passing it on to staff", self.ctx.call_sid)
        try:
            self.tools.take_message(
                "The caller asked us to stop all calls, texts and emails.", about="message", priority="high"
            )
            return self.line("opt_out_relayed")
        except ToolError:
            pass
        try:
            self.tools.queue_callback("caller asked to stop all calls, texts and emails", "high")
            return self.line("opt_out_relayed")
        except ToolError:
            return None

    def on_keys(self, keys: str) -> Reply:
        """Keys pressed instead of speech: 0 is a person, 911 an emergency, a number a choice among the times
        just offered; any other key is not understood (a key is never read as a time or a date)."""
        st = self.st
        if keys == "911":
            return self.emergency()
        if keys == "0":
            return self.transfer_or_callback("caller pressed 0 for a person")
        if st.stage in ("offer", "confirm_move") and keys.isdigit() and 1 <= int(keys) <= len(st.offers):
            return self.accept(st.offers[int(keys) - 1])
        return self.not_understood(take_question=False)

    def _shouting(self) -> bool:
        text = self.utterance.speech or ""
        words = set(tokens(text, lexicon("en")).words)
        return "!" in text or bool(words & lexicon("en").words("profanity")) or "told you" in text.lower()

    def urgent(self, tri: Triage) -> Reply:
        st = self.st
        self.tools.note({"action": "triage", "level": "urgent_dental", "problem": tri.problem})
        self.said.append(self.line("urgent_sorry"))
        if tri.first_aid:
            self.said.append(tri.first_aid)
        st.task = "book"
        st.frame = Frame(urgent=True, kind="emergency", for_patient=st.frame.for_patient)
        self._for_whom(self.h, st.frame)
        practice = self.practice
        visit = practice.visit_type("emergency_exam") if practice else None
        visit = next((v for v in practice.visit_types if v.urgent), visit) if practice else None
        if not self.ctx.is_open:
            on_call = practice.front_desk.on_call if practice else None
            self.said.append(
                self.line("urgent_closed", on_call=contacts.spoken_phone(on_call))
                if on_call
                else self.line("urgent_closed_no_line")
            )
            self.tools.queue_callback(
                f"urgent dental problem ({tri.problem}) after hours", "urgent", kind="urgent"
            )
            if visit is not None and self.tools.patient_id:
                found = self._search(visit.id, frames.wanted(Frame()))
                if found:
                    st.offers = [self._offer(found[0])]
                    st.stage, st.expecting = "offer", "yes_no"
                    return self.reply(self.line("urgent_next", **self._when(found[0])))
            return self.done(self.line("urgent_callback"))
        today = self.ctx.now.date()
        if visit is not None and self.tools.patient_id:
            found = self._search(visit.id, frames.wanted(Frame(days=[today.isoformat()])))
            if found:
                st.offers = [self._offer(found[0])]
                st.stage, st.expecting = "offer", "yes_no"
                return self.reply(self.line("urgent_offer", **self._when(found[0])))
        if self.location is not None and self.location.staff_numbers:
            self.tools.queue_callback(f"urgent dental problem ({tri.problem})", "urgent", kind="urgent")
            return self.reply(self.line("urgent_transfer"), "transfer")
        self.tools.queue_callback(f"urgent dental problem ({tri.problem})", "urgent", kind="urgent")
        return self.done(self.line("urgent_callback"))

    # -- the answer to the last question ------------------------------------------------------------------
    def answer_stage(self, h: Heard) -> Reply | None:
        stage = self.st.stage
        handler = {
            "offer": self.on_offer,
            "ask_when": self.on_ask_when,
            "ask_name": self.on_name,
            "ask_for_whom": self.on_for_whom,
            "ask_dependent_name": self.on_dependent_name,
            "ask_dependent_dob": self.on_dependent_dob,
            "ask_dob": self.on_dob,
            "ask_identity": self.on_identity,
            "choose_appt": self.on_choose_appt,
            "confirm_cancel": self.on_confirm_cancel,
            "confirm_move": self.on_offer,
            "ask_late": self.on_late_minutes,
            "message": self.on_message,
            "offer_transfer": self.on_offer_transfer,
            "anything_else": self.on_anything_else,
            "offer_book": self.on_offer_book,
            "ask_channel": lambda h: contact.on_channel(self, h),
        }.get(stage)
        return handler(h) if handler is not None else None

    def on_anything_else(self, h: Heard) -> Reply | None:
        st = self.st
        if (
            st.just_booked
            and (h.has("back_out") or h.has("cancel") and not st.appts)
            and not self._when_given(h)
        ):
            appointment = st.just_booked
            st.just_booked = None
            try:
                self.tools.cancel(appointment)
            except ToolError:
                return None
            return self.done(self.line("unbooked"))
        if st.just_booked and asks_earlier(h.text, h.language, "waitlist"):
            booked, st.just_booked = st.just_booked, None  # "put me on the waiting list": for that visit
            try:
                listed = self.tools.asap_request("", booked)
            except ToolError:
                return None
            return self.done(self.line("asap_listed_only" if listed else "asap_no_texts"))
        st.just_booked = None
        tasks = self._tasks(h)
        if (h.has("no") or h.has("goodbye") or h.has("thanks")) and not tasks and not self._faq(h):
            if not frames.update(Frame(), h.entities, providers=()) or h.has("no"):
                return self.goodbye()
        if h.has("yes") and not tasks and not self._faq(h) and len(h.text.split()) <= 4:
            return self.ask(self.line("how_can_i_help"), "menu")
        return None

    def on_offer_book(self, h: Heard) -> Reply | None:
        if h.has("yes") and not h.has("no"):
            return self.start_booking(h)
        if h.has("no") and not any(h.has(t) for t in TASKS):
            return self.done(self.line("outbound_no"))
        return None

    def on_offer_transfer(self, h: Heard) -> Reply | None:
        if h.has("yes"):
            return self.transfer_or_callback("caller asked for a person")
        if h.has("no"):
            return self.ask(self.line("how_can_i_help"), "menu")
        return None

    # -- requests -----------------------------------------------------------------------------------------
    def requests(self, h: Heard) -> Reply:
        st = self.st
        faq = self._faq(h)
        tasks = self._tasks(h)
        for answer in faq:
            self.said.append(answer)
        if steering(h.text):
            log.info("call %s: steering attempt refused", self.ctx.call_sid)
            return self.done(self.line("steering"))
        lead = self._leading(h)
        if lead == "vendor":
            return self.vendor()
        if lead == "wrong_number" and not tasks:
            self.said.append(self.line("wrong_number", practice=spoken.clean(self.ctx.facts.practice_name)))
            return self.done("")
        if (h.has("complaint") or self._shouting() and h.has("human")) and not tasks:
            return self.complaint()
        if tasks:
            return self.task(tasks[0], h)
        if h.has("human"):
            if st.vendor:
                return self.done(self.line("vendor_no_transfer"))
            if h.has("complaint") or self._shouting():
                self.said.append(self.line("angry_sorry"))
            return self.transfer_or_callback("caller asked for a person")
        if h.has("robot"):
            self.said.append(self.line("robot", practice=spoken.clean(self.ctx.facts.practice_name)))
            return self.ask(self.line("how_can_i_help"), "menu")
        if h.has("advice"):
            self.said.append(self.line("advice"))
            st.task, st.frame = "book", Frame(kind="exam")
            return self.ask(self.line("book_yes_no"), "offer_book", "yes_no")
        if faq:
            if h.entities.visit_kind and self._wants(h) and st.stage in ("menu", "anything_else"):
                return self.start_booking(h)
            return self.resume_or_anything_else()
        if self._booking_signals(h):
            return self.start_booking(h)
        if h.has("goodbye") or h.has("thanks") and st.stage in ("menu", "anything_else"):
            return self.goodbye()
        if h.has("repeat"):
            if st.last_said:
                return Reply(st.last_said, st.to_json(), "listen")
            return self.reply(st.question or self.line("how_can_i_help"))
        if h.has("wait") or h.has("unsure"):
            return self.reply(self.line("take_your_time"))
        if h.has("greeting") or h.has("yes"):
            return self.ask(self.line("hello"), "menu")
        if h.has("no") and st.stage in ("menu", "anything_else"):
            return self.goodbye()
        return self.not_understood()

    @staticmethod
    def _leading(h: Heard) -> str | None:
        """Of the requests that change how the call goes on, the most probable one."""
        for name, _ in h.intents:
            if name in ("vendor", "wrong_number", *TASKS):
                return name
        return None

    @staticmethod
    def _tasks(h: Heard) -> list[str]:
        """The tasks heard, most probable first (a second guess under half the first's weight is dropped)."""
        found = [(p, name) for name, p in h.intents if name in TASKS]
        if not found:
            return []
        best = max(p for p, _ in found)
        return [name for p, name in sorted(found, reverse=True) if p >= best / 2]

    def _faq(self, h: Heard) -> list[str]:
        return answers.answers(self, h)

    def _holiday_today(self) -> str | None:
        if self.location is None:
            return None
        return self.location.holidays.name_of(self.ctx.now.date())

    def resume_or_anything_else(self) -> Reply:
        st = self.st
        if st.stage in ("offer", "ask_when", "ask_name", "ask_dob", "ask_identity", "choose_appt",
                        "confirm_cancel", "ask_dependent_name", "ask_dependent_dob", "ask_for_whom") and st.question:  # fmt: skip
            return self.reply(st.question)
        return self.done("")

    @staticmethod
    def _wants(h: Heard) -> bool:
        lex = lexicon("en")
        return bool(set(tokens(h.text, lex).words) & lex.words("want_words"))

    def _booking_signals(self, h: Heard) -> bool:
        e = h.entities
        return bool(
            e.visit_kind or (e.days or e.weekdays or e.window) and self.st.stage in ("menu", "anything_else")
        )

    def not_understood(self, *, take_question: bool = True) -> Reply:
        st = self.st
        if (
            take_question
            and self.h is not None
            and st.stage in ("menu", "anything_else")
            and answers.open_question(self, self.h)
        ):
            self.tools.take_message(self.h.text, about="question")
            return self.done(self.line("faq_unknown"))
        st.misses += 1
        if st.misses > MAX_MISSES:
            st.misses = 0
            if self.ctx.is_open and self.location is not None and self.location.staff_numbers:
                self.said.append(self.line("not_understood_again"))
                return self.reply(self.line("human_transfer"), "transfer")
            self.st.message_about = "message"
            self.said.append(self.line("not_understood_again"))
            return self.ask(self.line("ask_message"), "message", "message")
        if st.stage not in ("menu", "anything_else") and st.question:
            return self.reply(f"{self.line('sorry_again')} {st.question}")
        return self.ask(self.line("not_understood"), "menu")

    def vendor(self) -> Reply:
        self.st.message_about = "vendor"
        self.st.vendor = True
        text = self.h.text if self.h else ""
        if len(text.split()) > 8:
            self.tools.take_message(text, about="message")
            return self.done(self.line("vendor_taken"))
        return self.ask(self.line("vendor"), "message", "message")

    def complaint(self) -> Reply:
        self.tools.note({"action": "tone", "tone": "complaint"})
        if self.st.vendor:
            return self.done(self.line("vendor_no_transfer"))
        if self.ctx.is_open and self.location is not None and self.location.staff_numbers:
            self.tools.queue_callback("caller upset: asked for a person", "high", kind="callback")
            return self.reply(self.line("complaint_transfer"), "transfer")
        self.tools.queue_callback("caller upset: please call back", "high", kind="callback")
        return self.done(self.line("complaint_closed"))

    def transfer_or_callback(self, reason: str) -> Reply:
        if self.ctx.is_open and self.location is not None and self.location.staff_numbers:
            return self.reply(self.line("human_transfer"), "transfer")
        self.tools.queue_callback(reason, "normal")
        return self.done(self.line("human_closed", hours=spoken.clean(self.ctx.facts.hours_text)))

    def task(self, name: str, h: Heard) -> Reply:
        st = self.st
        st.misses = 0
        if name in ("book", "new_patient"):
            return self.start_booking(h)
        if name in ("reschedule", "cancel", "confirm_appointment"):
            return appointments.start(self, {"confirm_appointment": "confirm"}.get(name, name), h)
        if name == "running_late":
            follow = next((t for t in self._tasks(h)[1:] if t in ("reschedule", "cancel")), None)
            if follow is not None:
                return appointments.late_then(self, h, follow)
            return appointments.late(self, h)
        return messages.start(self, name, h)

    # -- booking ------------------------------------------------------------------------------------------
    def start_booking(self, h: Heard | None) -> Reply:
        st = self.st
        if st.task != "book":
            keep_for = st.frame.for_patient
            st.task, st.frame, st.offers, st.shown = "book", Frame(kind=st.frame.kind), [], []
            st.frame.for_patient = keep_for if st.stage == "offer_book" else None
        if h is not None:
            frames.update(st.frame, h.entities, providers=self._providers())
            if h.has("new_patient"):
                st.frame.kind = st.frame.kind or "new_patient"
            self._register_if_named(h)
            need = self._for_whom(h, st.frame)
            if need is not None:
                return need
        return self.next_booking_step()

    def dob(self, h: Heard) -> dt.date | None:
        """The date of birth the turn gives: the understanding's, or (when one was asked for) read as callers
        say them ("oh-three oh-four eighty-two")."""
        if h.entities.dob is not None:
            return h.entities.dob
        if self.st.expecting != "dob":
            return None
        return parse_dob(self.utterance.speech or h.text, lexicon(h.language), self.ctx.now.date())

    def _register_if_named(self, h: Heard) -> None:
        """An unknown caller who gave their name in the same breath ("I'm Jessica Moreno") is registered."""
        name = h.entities.caller_name
        if self.tools.patient_id is None and name is not None and name.first and name.last:
            try:
                self.tools.register_caller(name.first, name.last, h.entities.dob)
            except ToolError:
                pass

    def _providers(self) -> tuple[str, ...]:
        return self.location.providers if self.location is not None else ()

    def _for_whom(self, h: Heard | None, frame: Frame) -> Reply | None:
        """Whose visit it is: a family member named ("for Emma", "my daughter Emma") or described ("my husband",
        "my son, he's 12") is found on file; one not on file is registered; several who fit are asked about."""
        if h is None:
            return None
        people = [real_name(p) for p in h.entities.for_whom if p.relation in FAMILY]
        named = self._family_named(h)
        if self.tools.patient_id is None:
            if people:
                frame.for_relation, frame.for_name = people[-1].relation, people[-1].name
                frame.age = people[-1].age if people[-1].age is not None else frame.age
            return None  # the caller's own name first (next_booking_step asks)
        if named:
            member = named[-1] if h.entities.correction or len(named) > 1 else named[0]
            frame.for_patient, frame.for_name, frame.age = member.patient_id, member.first_name, member.age
            return None
        if not people:
            return None
        person = people[-1] if h.entities.correction else people[0]
        frame.for_relation = person.relation
        frame.age = person.age if person.age is not None else frame.age
        caller = self.tools.caller()
        if person.name is not None:
            member = match_member(caller, person.name)
            if member is not None:
                frame.for_patient, frame.for_name, frame.age = (
                    member.patient_id,
                    member.first_name,
                    member.age,
                )
                return None
            frame.dependent_first = frame.for_name = person.name
            return self.ask(
                self.line("ask_dependent_dob", name=spoken.clean(person.name)), "ask_dependent_dob", "dob"
            )
        fits = members_like(caller, person)
        if len(fits) == 1:
            frame.for_patient, frame.for_name, frame.age = fits[0].patient_id, fits[0].first_name, fits[0].age
            return None
        if len(fits) > 1:
            self.st.choices = [m.patient_id for m in fits]
            names = spoken.spoken_list([spoken.clean(m.first_name) for m in fits])
            return self.ask(self.line("which_member", names=names), "ask_for_whom", "name")
        return self.ask(self.line("ask_dependent_name", relation=relation_words(person.relation)),
                        "ask_dependent_name", "name")  # fmt: skip

    def _family_named(self, h: Heard) -> list[Any]:
        """Family members on file whose first name the caller said, in the order said."""
        if self.tools.patient_id is None:
            return []
        family = self.tools.caller().family
        words = [w.strip(".,!?'s").lower() for w in h.text.replace("'", " ").split()]
        found = []
        for w in words:
            for m in family:
                if m.first_name and m.first_name.lower() == w and m not in found:
                    found.append(m)
        return found

    def next_booking_step(self) -> Reply:
        frame = self.st.frame
        if self.tools.patient_id is None:
            return self.ask(self.line("ask_name"), "ask_name", "name")
        if frame.for_name and not frame.for_patient and not frame.dependent_first:
            caller = self.tools.caller()
            member = match_member(caller, frame.for_name)
            if member is not None:
                frame.for_patient, frame.for_name = member.patient_id, member.first_name
            else:
                frame.dependent_first = frame.for_name
                return self.ask(self.line("ask_dependent_dob", name=spoken.clean(frame.for_name)),
                                "ask_dependent_dob", "dob")  # fmt: skip
        visit = self._visit_type()
        if visit is None:
            self.tools.queue_callback("caller wants a visit the receptionist cannot book", "normal")
            return self.done(self.line("callback_taken"))
        frame.visit_type = visit.id
        return self.offer()

    def _visit_type(self) -> Any:
        frame = self.st.frame
        if self.practice is None:
            return None
        if frame.visit_type:
            found = self.practice.visit_type(frame.visit_type)
            if found is not None:
                return found
        who = self._patient_view()
        new = who.new_patient or frame.kind == "new_patient"
        types = self.practice.visit_types
        if frame.provider:  # "a checkup with Dr. Chen": the types Dr. Chen sees
            with_provider = tuple(v for v in types if frame.provider in v.providers)
            types = with_provider or types
        return choose_visit_type(
            types,
            kind=frame.kind,
            new_patient=new,
            age=frame.age if frame.age is not None else who.age,
            urgent=frame.urgent,
        ) or choose_visit_type(self.practice.visit_types, kind=frame.kind, new_patient=new, age=who.age)

    def _patient_view(self) -> CallerView:
        caller = self.tools.caller()
        frame = self.st.frame
        if frame.for_patient and frame.for_patient != caller.patient_id:
            member = next((m for m in caller.family if m.patient_id == frame.for_patient), None)
            if member is not None:
                return CallerView(member.patient_id, member.first_name, False, member.age, member.has_dob)
            return CallerView(frame.for_patient, frame.for_name, True, frame.age, False)
        return caller

    def _search(self, visit_type: str, wanted: Any, limit: int = 3) -> list[SlotView]:
        return self.tools.openings(visit_type, wanted, for_patient=self.st.frame.for_patient, limit=limit)

    def offer(self, *, more: bool = False) -> Reply:
        st, frame = self.st, self.st.frame
        visit = self._visit_type()
        if visit is None:
            return self.done(self.line("callback_taken"))
        after = None
        if more and st.offers:
            after = max(o.when for o in st.offers) + dt.timedelta(minutes=1)
        asked = frame.day_dates()
        near_day = None
        if asked:
            near_day = dt.datetime.combine(min(asked), dt.time(0), self.ctx.now.tzinfo)
        if not more:
            self._closed_days(frame)
            if asked and not frame.days and near_day is not None:
                after = max(near_day, self.ctx.now)  # near the day they asked for, not today
        found = [
            s
            for s in self._search(visit.id, frames.wanted(frame, after=after), limit=4)
            if s.id not in st.shown
        ]
        relaxed = False
        if not found and (frames.has_constraints(frame) or asked):
            relax_after = max(x for x in (after, near_day, self.ctx.now) if x is not None)
            found = self._search(visit.id, frames.wanted(frame, after=relax_after, relax=True), limit=3)
            relaxed = True
        if not found:
            if more:
                return self.ask(self.line("offer_no_more"), "ask_when")
            self.tools.queue_callback(f"no opening found for a {visit.id}", "normal")
            return self.done(self.line("no_openings", visit=spoken.kind_phrase(visit.name)))
        st.offers = [self._offer(s) for s in found[:3]]
        st.pick = 0 if more and not relaxed else None  # which of them the caller has heard (see on_offer)
        if self.texting:
            st.pick = 0  # a text lists every offer, numbered: the texter has read them all
        st.shown.extend(o.unit_id for o in st.offers)
        st.stage, st.expecting = "offer", "offer_choice"
        if frame.visit_type != visit.id:
            frame.visit_type = visit.id
        best = found[0]
        notes = self._visit_note(visit)
        if notes:
            self.said.append(notes)
        if relaxed:
            return self.reply(self.line("offer_none_match", **self._when(best)))
        if more:
            return self.reply(self.line("offer_others", options=self._options(found[:3])))
        if frames.has_constraints(frame):
            return self.reply(self.line("offer_match", visit_for=self._visit_for(visit), **self._when(best)))
        return self.reply(self.line("offer_best", visit=visit.name, **self._when(best)))

    def _closed_days(self, frame: Frame) -> None:
        """Days asked for that the practice is closed: said so, and taken out of the search."""
        if self.location is None:
            return
        loc = self.location
        closed = [d for d in frame.day_dates() if not loc.is_working_day(d)]
        for day in closed[:2]:
            holiday = loc.holidays.name_of(day)
            when = spoken.spoken_date(day, self.ctx.now.date())
            if holiday and holiday != "closed":
                self.said.append(self.line("closed_holiday", when=when, holiday=holiday))
            else:
                self.said.append(
                    self.line("closed_day", when=when, hours=spoken.clean(self.ctx.facts.hours_text))
                )
        if closed:
            frame.days = [d for d in frame.days if dt.date.fromisoformat(d) not in closed]
        shut = [w for w in frame.weekdays if w not in loc.hours.by_weekday]
        if shut:
            self.said.append(self.line("closed_weekday", hours=spoken.clean(self.ctx.facts.hours_text)))
            frame.weekdays = [w for w in frame.weekdays if w in loc.hours.by_weekday]

    def _visit_note(self, visit: Any) -> str | None:
        frame = self.st.frame
        if (
            visit.id == "new_patient_exam"
            and frame.kind not in ("new_patient",)
            and "note_new" not in self.st.message_about
        ):
            return (
                self.line("new_patient_note") if frame.for_patient in (None, self.tools.patient_id) else None
            )
        return None

    def _visit_for(self, visit: Any) -> str:
        name = self.st.frame.for_name
        what = spoken.kind_phrase(visit.name)
        return f"{spoken.clean(name)}'s {visit.name}" if name else what

    def _offer(self, slot: SlotView) -> Offer:
        return Offer(slot.id, slot.start.isoformat(), slot.provider, slot.minutes)

    def _when(self, slot: SlotView | Offer | AppointmentView) -> dict[str, str]:
        start = slot.when if isinstance(slot, Offer) else slot.start
        words = when_words(start, slot.provider, self.ctx.now, written=self.texting)
        if self.texting and self.st.offers:
            words["options"] = self._numbered()  # a text's offer lines list every time on offer
        return words

    def _options(self, slots: list[SlotView]) -> str:
        if self.texting:
            return self._numbered()
        return spoken.spoken_list([spoken.slot_phrase(s.start, s.provider, self.ctx.now) for s in slots])

    def _numbered(self) -> str:
        """The offers on the table as a text lists them, numbered as a reply picks them (`on_keys`): the day
        and time only (a provider is more than a text may carry before the identity check)."""
        return numbered([written_when(o.when, self.ctx.now) for o in self.st.offers])

    def on_ask_when(self, h: Heard) -> Reply | None:
        if self._when_given(h) or h.entities.soonest or h.has("soonest"):
            frames.update(self.st.frame, h.entities, providers=self._providers())
            return self._continue_task()
        if h.has("back_out") or h.has("no"):
            return self.back_out()
        return None

    def _when_given(self, h: Heard) -> bool:
        e = h.entities
        return bool(e.days or e.weekdays or e.span or e.window or e.excluded_days or e.excluded_weekdays
                    or e.excluded_parts or e.provider or e.excluded_provider
                    or e.weekday_after is not None)  # fmt: skip

    def _continue_task(self) -> Reply:
        if self.st.task == "reschedule":
            return appointments.offer_move(self)
        return self.offer()

    def on_offer(self, h: Heard) -> Reply | None:
        st = self.st
        e = h.entities
        if st.offers and st.wanted_before is None and asks_earlier(h.text, h.language):
            st.wanted_before = st.offers[0].start  # booking no earlier than this puts them on the ASAP list
        chosen = None
        if e.offer_ref is not None:
            # "the second one" counts in the list the caller heard last (the alternatives, once read)
            first = st.pick if st.pick and e.offer_ref.index is not None else 0
            found = pick(e.offer_ref, st.offers[first:])
            chosen = None if found is None else found + first
        if chosen is not None and not (e.correction and self._when_given(h)):
            return self.accept(st.offers[chosen])
        if h.top == "back_out" and not self._when_given(h):
            return self.back_out()  # "never mind, I'll check my schedule": no new search, whatever it names
        lead = self._leading(h)
        if lead in OTHER_TASKS and h.score(lead) > h.score("yes"):
            st.offers, st.shown = [], []  # "yes, take a message": the other request, not the time on offer
            return None
        changed = (
            frames.update(st.frame, e, providers=self._providers())
            if self._when_given(h) or e.visit_kind
            else False
        )
        if changed:
            st.shown = []
            return self._continue_task()
        if e.offer_ref is not None and (e.offer_ref.weekday is not None or e.offer_ref.minute is not None):
            # "the Friday one" when none offered is on a Friday: a wish for a Friday
            if e.offer_ref.weekday is not None:
                st.frame.weekdays, st.frame.days = [e.offer_ref.weekday], []
            if e.offer_ref.minute is not None:
                st.frame.near_minute = e.offer_ref.minute
            st.shown = []
            return self._continue_task()
        if self._relative_to_offer(h):
            st.shown = []
            return self._continue_task()
        if h.has("back_out") and h.score("back_out") > h.score("yes"):
            return self.back_out()
        if h.has("other_times"):
            if len(st.offers) > 1 and st.stage == "offer" and st.pick is None:
                st.pick = 1
                return self.reply(self.line("offer_others", options=self._options_of(st.offers[1:])))
            return self._more()
        if (h.has("yes") or h.has("soonest") or e.soonest) and not h.has("no"):
            return self.accept(st.offers[0]) if st.offers else self.offer()
        if h.has("no"):
            if len(st.offers) > 1 and st.pick is None:
                st.pick = 1
                return self.reply(self.line("offer_others", options=self._options_of(st.offers[1:])))
            return self.ask(self.line("ask_better"), "ask_when")
        if h.has("unsure") or h.has("wait"):
            return self.reply(self.line("ask_morning_afternoon"))
        if (h.has("thanks") or h.has("goodbye")) and not h.has("yes"):
            st.offers, st.shown, st.task = [], [], None
            return self.done(self.line("backed_out"))
        return None

    def _relative_to_offer(self, h: Heard) -> bool:
        """ "Anything later in the day?", "something earlier": relative to the time on offer."""
        st = self.st
        if not st.offers:
            return False
        rel = appointments.relative_words(h.text)
        first = st.offers[0].when
        minute = first.hour * 60 + first.minute
        if (
            "later_day" in rel
        ):  # "anything later in the day?": that day's afternoon (after lunch), not half an hour on
            st.frame.earliest_minute, st.frame.latest_minute = max(minute + 30, 13 * 60), None
            st.frame.days = [first.date().isoformat()]
            return True
        if "later" in rel:
            st.frame.earliest_minute, st.frame.latest_minute = minute + 30, None
            st.frame.days = (
                [first.date().isoformat()] if "same_day" in rel or "day" in h.text.lower() else st.frame.days
            )
            return True
        if "earlier" in rel:
            st.frame.latest_minute, st.frame.earliest_minute = minute, None
            return True
        return False

    def _more(self) -> Reply:
        if self.st.task == "reschedule":
            return appointments.offer_move(self, more=True)
        return self.offer(more=True)

    def _options_of(self, offers: list[Offer]) -> str:
        if self.texting:
            return self._numbered()
        return spoken.spoken_list([spoken.slot_phrase(o.when, o.provider, self.ctx.now) for o in offers])

    def accept(self, offer: Offer) -> Reply:
        if self.st.task == "reschedule":
            return appointments.move_to(self, offer)
        return self.book(offer)

    def book(self, offer: Offer) -> Reply:
        st, frame = self.st, self.st.frame
        visit = self._visit_type()
        if visit is None:
            return self.done(self.line("callback_taken"))
        try:
            booked = self.tools.book(offer.unit_id, visit.id, for_patient=frame.for_patient)
        except ToolError as error:
            self.said.append(str(error))
            st.shown = [o.unit_id for o in st.offers]
            return self.offer()
        st.booked.append(booked.id)
        st.just_booked = booked.id
        st.offers, st.shown, st.task = [], [], None
        what = spoken.kind_phrase(visit.name)
        when = self._when(booked)
        if frame.urgent:
            return self.done(self.line("urgent_booked", **when))
        listed = self._asap_list(booked, visit.id, frame.for_patient)
        if frame.for_patient and frame.for_patient != self.tools.patient_id and frame.for_name:
            return self.done(
                self.line("booked_for", name=spoken.clean(frame.for_name), what=visit.name, **when) + listed
            )
        return self.done(self.line("booked", what=what, **when) + listed)

    def _asap_list(self, booked: AppointmentView, visit_type: str, for_patient: str | None) -> str:
        """The caller asked for an earlier time and took one no earlier: on the ASAP list, and told so when a
        text can reach them ("" otherwise)."""
        wanted, self.st.wanted_before = self.st.wanted_before, None
        if wanted is None or booked.start < dt.datetime.fromisoformat(wanted):
            return ""
        try:
            textable = self.tools.asap_request(visit_type, booked.id, for_patient=for_patient)
        except ToolError:
            return ""
        return " " + self.line("asap_listed") if textable else ""

    def back_out(self) -> Reply:
        st = self.st
        st.offers, st.shown, st.task = [], [], None
        return self.done(self.line("backed_out"))

    # -- names ----------------------------------------------------------------------------------------------
    def on_name(self, h: Heard) -> Reply | None:
        name = h.entities.caller_name
        if name is None or not name.first:
            words = [w for w in (self.utterance.speech or "").replace(",", " ").split() if w.isalpha()]
            if 1 <= len(words) <= 3 and not h.intents:
                first, last = words[0], " ".join(words[1:])
            else:
                if self._when_given(h) or h.entities.visit_kind:
                    frames.update(self.st.frame, h.entities, providers=self._providers())
                    return self.reply(self.line("ask_name_again"))
                # another request, a question or a goodbye is taken up; "yes", "um" ask for the name again
                other = (
                    self._tasks(h) or self._faq(h) or any(h.has(i) for i in ("human", "goodbye", "back_out"))
                )
                return None if other else self.reply(self.line("ask_name_again"))
        else:
            first, last = name.first, name.last or ""
        try:
            self.tools.register_caller(first, last, h.entities.dob)
        except ToolError as error:
            return self.reply(f"{error} {self.line('ask_name')}")
        return self.next_booking_step()

    def on_for_whom(self, h: Heard) -> Reply | None:
        st, frame = self.st, self.st.frame
        family = {m.patient_id: m for m in self.tools.caller().family}
        options = [family[c] for c in st.choices if c in family]
        chosen = None
        named = self._family_named(h)
        if named:
            chosen = named[-1]
        elif h.entities.offer_ref is not None and h.entities.offer_ref.index is not None and options:
            i = h.entities.offer_ref.index
            chosen = options[i] if -len(options) <= i < len(options) else None
        if chosen is None:
            need = self._for_whom(h, frame)
            if need is not None:
                return need
            if frame.for_patient is None and (h.has("yes") or not h.intents):
                return self.reply(st.question)
        else:
            frame.for_patient, frame.for_name, frame.age = chosen.patient_id, chosen.first_name, chosen.age
        st.choices = []
        return self.next_booking_step()

    def on_dependent_name(self, h: Heard) -> Reply | None:
        name = h.entities.caller_name
        words = [w for w in (self.utterance.speech or "").replace(",", " ").split() if w.isalpha()]
        first = (
            name.first
            if name is not None and name.first
            else (words[0] if len(words) <= 3 and words else None)
        )
        if not first:
            return None
        frame = self.st.frame
        member = match_member(self.tools.caller(), first)
        if member is not None:
            frame.for_patient, frame.for_name = member.patient_id, member.first_name
            return self.next_booking_step()
        frame.dependent_first, frame.for_name = first.title(), first.title()
        if name is not None and name.last:
            frame.dependent_last = name.last
        if h.entities.dob is not None:
            return self._register_dependent(h.entities.dob)
        return self.ask(
            self.line("ask_dependent_dob", name=spoken.clean(frame.for_name)), "ask_dependent_dob", "dob"
        )

    def on_dependent_dob(self, h: Heard) -> Reply | None:
        dob = self.dob(h)
        if dob is None:
            if h.intents and not h.has("unsure"):
                return None
            return self.reply(
                self.line("ask_dependent_dob_again", name=spoken.clean(self.st.frame.for_name or ""))
            )
        return self._register_dependent(dob)

    def _register_dependent(self, dob: dt.date) -> Reply:
        frame = self.st.frame
        try:
            pid = self.tools.register_dependent(
                frame.dependent_first or frame.for_name or "",
                frame.dependent_last,
                dob,
                frame.for_relation or "family",
            )
        except ToolError as error:
            return self.done(str(error))
        frame.for_patient = pid
        today = self.ctx.now.date()
        frame.age = today.year - dob.year - ((today.month, today.day) < (dob.month, dob.day))
        frame.dependent_first = None
        return self.next_booking_step()

    # -- identity (appointments.py uses these) --------------------------------------------------------------
    def on_dob(self, h: Heard) -> Reply | None:
        return appointments.on_dob(self, h)

    def on_identity(self, h: Heard) -> Reply | None:
        return appointments.on_identity(self, h)

    def on_choose_appt(self, h: Heard) -> Reply | None:
        return appointments.on_choose(self, h)

    def on_confirm_cancel(self, h: Heard) -> Reply | None:
        return appointments.on_confirm_cancel(self, h)

    def on_late_minutes(self, h: Heard) -> Reply | None:
        return appointments.on_late_minutes(self, h)

    def on_message(self, h: Heard) -> Reply | None:
        return messages.on_message(self, h)


def broken_up(text: str) -> bool:
    """A turn heard in fragments (the recogniser's gaps, "..." between a few words): too little to act on."""
    gaps = text.count("...") + text.count("\u2026")
    return gaps >= 2 and len(text.replace(".", " ").replace("\u2026", " ").split()) <= 3 * gaps


def _reading_digits(text: str) -> bool:
    """A turn that reads out a number (a phone number, a date of birth): a guess of an emergency from it is noise."""
    digits = sum(c.isdigit() for c in text)
    return digits >= 6 and digits >= len([c for c in text if c.isalpha()]) / 3


def reassured(text: str, language: str) -> list[tuple[str, bool]]:
    """Symptoms the caller says in so many words they do not have ("I can breathe fine"), as denied."""
    lex = lexicon(language)
    table = lex.grouped("reassurances")
    words = tokens(text, lex).words
    out = []
    for i in range(len(words)):
        hit = table.match(words, i)
        if hit is not None:
            out.append((str(hit[1]), True))
    return out


def greeting(ctx: CallContext) -> tuple[str, DialogueState]:
    """The first thing the caller hears (with the automated-assistant disclosure), and the state after it."""
    st = DialogueState()
    practice, first = ctx.facts.practice_name, ctx.first_name
    if ctx.direction == "outbound":
        q = "Would you like to book a cleaning?"
        st.stage, st.expecting, st.question = "offer_book", "yes_no", q
        st.task, st.frame = None, Frame(kind="cleaning")
        return calls.outbound_opener(practice, first, q), st
    if ctx.reason == "transfer_failed":
        st.question = calls.HOW_CAN_I_HELP
        return calls.transfer_failed_greeting(practice, first), st
    hours = ctx.facts.hours_text
    holiday = ctx.location.holidays.name_of(ctx.now.date()) if ctx.location is not None else None
    text = calls.inbound_greeting(practice, first, is_open=ctx.is_open, hours=hours)
    if holiday and not ctx.is_open:
        text = text.replace("Our office is closed right now.", f"Our office is closed today for {holiday}.")
    st.question = calls.HOW_CAN_I_HELP
    return text, st


def steering(text: str) -> bool:
    """An attempt to steer the assistant or reach other patients' records (the guardrails' patterns)."""
    plain = guardrails.plain(text)
    return bool(guardrails.INJECTION.search(plain) or guardrails.OTHER_RECORDS.search(plain))


@functools.lru_cache(maxsize=8)
def _earlier_phrases(language: str, key: str) -> tuple[tuple[str, ...], ...]:
    text = data_file(language, "asap.toml") or data_file("en", "asap.toml") or ""
    lex = lexicon(language)
    return tuple(tuple(tokens(p, lex).words) for p in tomllib.loads(text).get(key, []))


def asks_earlier(text: str, language: str, key: str = "earlier") -> bool:
    """Whether the caller wants a time earlier than the one on offer ("anything sooner?"; `key` "waitlist":
    "put me on the waiting list"): the phrases of `languages/<code>/asap.toml`, as consecutive words."""
    words = tuple(tokens(text, lexicon(language)).words)
    phrases = [p for p in _earlier_phrases(language, key) if p]
    return any(words[i : i + len(p)] == p for p in phrases for i in range(len(words) - len(p) + 1))
