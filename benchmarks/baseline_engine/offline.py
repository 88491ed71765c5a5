"""The offline conversation engine: a dialogue state machine over `understand`, acting only through `Tools`.

`OfflineEngine` keeps nothing between turns itself; everything it needs travels in `Reply.state`, a small
JSON-able dict (datetimes as ISO strings) that the webhook keeps per call and hands back on the next turn.

Stages (`state["stage"]`):

    menu           open question: "How can I help you today?"
    anything_else  after a finished task: "Is there anything else I can help with?" (no -> goodbye)
    offer          open slots offered (`offers`); the caller picks one, asks for others or names a day
    confirm_slot   "Shall I book ...?" for the picked slot (`pick`)
    ask_name       an unknown caller's first and last name, before booking
    choose_appt    several of the caller's appointments listed (`appts`) to move or cancel (`flow`)
    confirm_appt   "I see your cleaning on ... Would you like to move that one?" / "Shall I cancel it?"
    offer_book     "Would you like to book ...?" (after a cancel, when there is nothing to move, ...)
    no_slots       nothing open: a message or a callback instead
    message        the caller's next words are the message
    offer_transfer after an internal error: "Shall I put you through to our front desk?"
    done           the call is over (goodbye, emergency, nobody there)

Emergencies and opt-outs are handled first in every stage; everything else the caller may ask at any
point ("what are your hours?" in the middle of booking is answered, then the pending question is asked
again). Tool refusals (`ToolError`) are read to the caller with alternatives; no exception escapes.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Callable
from typing import Any

from benchmarks.baseline_engine.understand import (
    ACTIONS,
    Understanding,
    extract_name,
    hour_from_number,
    understand,
)
from receptionist.conversation.types import (
    Action,
    AppointmentView,
    CallContext,
    Reply,
    SlotView,
    ToolError,
    Tools,
    Utterance,
)
from receptionist.wording import calls, spoken
from receptionist.wording.calls import HOW_CAN_I_HELP
from receptionist.wording.spoken import appointment_phrase, kind_phrase, slot_phrase, spoken_list, spoken_time

log = logging.getLogger(__name__)

STATE_VERSION = 1
STAGES = (
    "menu",
    "anything_else",
    "offer",
    "confirm_slot",
    "ask_name",
    "choose_appt",
    "confirm_appt",
    "offer_book",
    "no_slots",
    "message",
    "offer_transfer",
    "done",
)
FLOW_STAGES = (
    "offer",
    "confirm_slot",
    "ask_name",
    "choose_appt",
    "confirm_appt",
    "offer_book",
    "no_slots",
    "offer_transfer",
)
MAX_SILENCES = 2  # consecutive silent turns before a callback and goodbye
MAX_MISSES = 3  # consecutive misunderstood turns before a transfer (open) or a message (closed)
OFFER_COUNT = 3
SEARCH_PAGES = 6
MAX_LISTED = 4

ANYTHING_ELSE = "Is there anything else I can help with?"
WHAT_MESSAGE = "What message would you like me to pass on?"
NAME_QUESTION = "May I have your first and last name?"
ADVICE = (
    "I can't give medical advice, but I can book you in with the dentist or take a message for the "
    "clinical team. Which would you prefer?"
)


def menu_text(ctx: CallContext) -> str:
    """What the receptionist can do, for reprompts."""
    if ctx.is_open and ctx.reason != "transfer_failed":
        return (
            "I can book, move or cancel an appointment, tell you our hours or address, take a message, or put "
            "you through to the front desk."
        )
    return (
        "I can book, move or cancel an appointment, tell you our hours or address, take a message, or have "
        "someone call you back."
    )


class OfflineEngine:
    """The rule-based receptionist. Stateless: all call state is in `Reply.state`.

    `raise_errors=True` (tests only) lets unexpected exceptions through instead of apologising.
    """

    def __init__(self, *, raise_errors: bool = False) -> None:
        self.raise_errors = raise_errors

    def start(self, ctx: CallContext, tools: Tools) -> Reply:
        """The greeting (it says it is an automated assistant) and the first question."""
        try:
            return _greeting(ctx, tools)
        except Exception:
            if self.raise_errors:
                raise
            log.exception("call %s: offline engine failed to greet", ctx.call_sid)
            greeting = calls.inbound_greeting(ctx.facts.practice_name, None, is_open=True, hours="")
            return Reply(greeting, _load({}), "listen")

    slow = False  # every turn is answered in a few milliseconds

    def fallback_turn(self, ctx: CallContext, tools: Tools, state: dict[str, Any], heard: Utterance) -> Reply:
        return self.respond(ctx, tools, state, heard)

    def interrupted(self, state: dict[str, Any], heard_of_reply: str) -> dict[str, Any]:
        return state  # nothing of the reply is kept in the state

    def respond(
        self,
        ctx: CallContext,
        tools: Tools,
        state: dict[str, Any],
        heard: Utterance,
        on_text: Callable[[str], None] | None = None,
    ) -> Reply:
        """One caller turn: what they said (or pressed, or nothing) -> what to say and do next."""
        turn: _Turn | None = None
        try:
            turn = _Turn(ctx, tools, _load(state), heard)
            try:
                return turn.run()
            except ToolError as error:
                return turn.tool_failed(error)
        except Exception:
            if self.raise_errors:
                raise
            log.exception("call %s: offline engine failed", ctx.call_sid)
            return _crash_reply(ctx, state)


# The greeting depends on these fields of the call only (`_Turn.greet`), so each one is worked out once per
# process: text cleaning and the state copy cost more than the rest of routing a call.
_GREETINGS: dict[tuple[Any, ...], tuple[str, dict[str, Any], Action]] = {}
_GREETINGS_MAX = 4096


def _greeting(ctx: CallContext, tools: Tools) -> Reply:
    key = (
        ctx.facts.practice_name,
        ctx.facts.hours_text,
        ctx.first_name,
        ctx.direction,
        ctx.reason,
        ctx.is_open,
    )
    known = _GREETINGS.get(key)
    if known is None:
        reply = _Turn(ctx, tools, _load({}), Utterance()).greet()
        if len(_GREETINGS) >= _GREETINGS_MAX:
            _GREETINGS.clear()
        known = _GREETINGS[key] = (reply.say, reply.state, reply.action)
    say, state, action = known
    return Reply(say, dict(state), action)  # the state holds plain values only: a shallow copy is a copy


# ------------------------------------------------------------------------------------------------------------
# One turn
# ------------------------------------------------------------------------------------------------------------


class _Turn:
    def __init__(self, ctx: CallContext, tools: Tools, st: dict[str, Any], heard: Utterance) -> None:
        self.ctx = ctx
        self.tools = tools
        self.st = st
        self.heard = heard if isinstance(heard, Utterance) else Utterance()
        self.u: Understanding = understand(None)
        self.missed = False
        self.keep_misses = False
        self.prefix = ""
        self.now = ctx.now

    # -- replies --------------------------------------------------------------------------------------------
    def reply(
        self, say: str, stage: str | None = None, *, q: str | None = None, action: str = "listen"
    ) -> Reply:
        st = self.st
        if stage is not None:
            st["stage"] = stage
        if q is not None:
            st["q"] = q[:600]
        if not self.missed and not self.keep_misses:
            st["misses"] = 0
        text = spoken.clean(f"{self.prefix} {say}")
        if not text:
            text = "Sorry, could you say that again?"
        st["said"] = text[:600]
        state = json.loads(json.dumps(st))  # a JSON-able copy, or an error here rather than in Redis
        return Reply(text, state, action if action in ("listen", "transfer", "hangup") else "listen")

    def ask(self, say: str, q: str, stage: str) -> Reply:
        """Say `say` (which ends with the question `q`) and remember `q` for reprompts."""
        return self.reply(say, stage, q=q)

    @property
    def question(self) -> str:
        return self.st.get("q") or HOW_CAN_I_HELP

    def done_then_anything_else(self, say: str) -> Reply:
        self.reset_flow()
        return self.ask(f"{say} {ANYTHING_ELSE}", ANYTHING_ELSE, "anything_else")

    def reset_flow(self) -> None:
        for key in ("flow", "offers", "pick", "appts", "appt", "pref", "name_part"):
            self.st.pop(key, None)

    # -- greeting -------------------------------------------------------------------------------------------
    def greet(self) -> Reply:
        ctx = self.ctx
        practice, first = ctx.facts.practice_name, ctx.first_name
        if ctx.direction == "outbound":
            self.st["kind"] = "cleaning"
            q = "Would you like to book a cleaning?"
            return self.ask(calls.outbound_opener(practice, first, q), q, "offer_book")
        if ctx.reason == "transfer_failed":
            return self.ask(calls.transfer_failed_greeting(practice, first), HOW_CAN_I_HELP, "menu")
        greeting = calls.inbound_greeting(practice, first, is_open=ctx.is_open, hours=ctx.facts.hours_text)
        return self.ask(greeting, HOW_CAN_I_HELP, "menu")

    # -- the turn -------------------------------------------------------------------------------------------
    def run(self) -> Reply:
        st = self.st
        st["turns"] = st.get("turns", 0) + 1
        if st["stage"] == "done":
            return self.goodbye()
        if self.heard.is_silence:
            return self.silence()
        st["silences"] = 0
        u = self.u = understand(self.heard, self.now)
        if u.intent == "emergency":
            return self.emergency()
        if st["stage"] == "message":
            return self.take_message()
        if u.intent == "opt_out":
            return self.opt_out()
        if u.low_confidence:
            return self.miss()
        if (
            st["stage"] != "ask_name"
            and u.slots.first_name
            and u.slots.last_name
            and self.tools.patient_id is None
        ):
            st["first"], st["last"] = u.slots.first_name[:60], u.slots.last_name[:60]
        handler = self.STAGE_HANDLERS.get(st["stage"])
        reply = handler(self) if handler is not None else None
        return reply if reply is not None else self.route(u.intent)

    def route(self, intent: str) -> Reply:
        """Answer a request whatever the stage."""
        st, u = self.st, self.u
        in_flow = st["stage"] in FLOW_STAGES
        if intent == "book":
            return self.start_booking()
        if intent == "reschedule":
            return self.start_appointment_flow("reschedule")
        if intent == "cancel":
            return self.start_appointment_flow("cancel")
        if intent == "my_appointments":
            return self.my_appointments()
        if intent in ("hours", "address"):
            info = self.hours_text() if intent == "hours" else self.address_text()
            if in_flow:
                self.keep_misses = True
                return self.reply(f"{info} {self.question}")
            return self.done_then_anything_else(info)
        if intent == "human":
            return self.human()
        if intent == "front_desk":
            return self.front_desk()
        if intent == "who":
            practice = spoken.clean(self.ctx.facts.practice_name)
            self.keep_misses = True
            return self.reply(f"{calls.who_am_i(practice)} {self.question}")
        if intent == "message":
            return self.ask_message()
        if intent == "callback":
            return self.callback()
        if intent == "advice":
            self.reset_flow()
            st["kind"] = "exam"
            return self.ask(ADVICE, ADVICE, "offer_book")
        if intent == "goodbye":
            return self.goodbye()
        if intent == "repeat":
            self.keep_misses = True
            return self.reply(st.get("said") or self.question)
        if intent == "thanks":
            if st["stage"] == "anything_else":
                return self.goodbye()
            self.keep_misses = True
            return self.reply(f"You're welcome. {self.question}")
        if (
            intent in ("unknown", "unsure", "more", "yes", "thanks")
            and (u.slots.kind or u.slots.has_when)
            and st["stage"] in ("menu", "anything_else")
        ):
            return self.start_booking()  # "a cleaning please", "tomorrow morning?"
        if intent == "yes" and st["stage"] in ("menu", "anything_else"):
            q = "What can I help you with?"
            return self.ask(f"Sure. {q}", q, "menu")
        if intent == "no" and st["stage"] == "anything_else":
            return self.goodbye()
        if intent == "hello":
            self.keep_misses = True
            return self.reply(f"Hello, I'm here. {self.question}")
        if intent == "unsure":
            return self.miss(prefix="No problem, take your time.")
        return self.miss()

    STAGE_HANDLERS: dict[str, Callable[[_Turn], Reply | None]] = {}

    # -- silence, misunderstanding --------------------------------------------------------------------------
    def silence(self) -> Reply:
        st = self.st
        st["silences"] = st.get("silences", 0) + 1
        self.keep_misses = True
        if st["silences"] >= MAX_SILENCES:
            try:
                self.tools.queue_callback("caller could not be heard", "normal")
            except ToolError:
                log.info("call %s: callback for a silent caller refused", self.ctx.call_sid)
            return self.reply(
                "I'm sorry, I can't hear you. I'll have someone from our team call you back. Goodbye.",
                "done",
                action="hangup",
            )
        return self.reply(f"Sorry, I didn't catch that. {self.question}")

    def miss(self, prefix: str = "") -> Reply:
        st = self.st
        self.missed = True
        st["misses"] = st.get("misses", 0) + 1
        if st["misses"] >= MAX_MISSES:
            return self.escalate()
        lead = prefix or "Sorry, I didn't understand that."
        if st["stage"] in ("menu", "anything_else"):
            q = "What would you like to do?"
            return self.ask(f"{lead} {menu_text(self.ctx)} {q}", q, "menu")
        return self.reply(f"{lead} {self.question}")

    def escalate(self) -> Reply:
        self.reset_flow()
        self.st["misses"] = 0
        self.missed = True
        if self.can_transfer:
            return self.reply(
                "I'm sorry, I'm having trouble understanding. Let me put you through to our front desk.",
                "menu",
                q=HOW_CAN_I_HELP,
                action="transfer",
            )
        return self.ask(
            "I'm sorry, I'm having trouble understanding. Please tell me a short message, and a member of "
            "our team will call you back.",
            WHAT_MESSAGE,
            "message",
        )

    # -- safety first -------------------------------------------------------------------------------------
    def emergency(self) -> Reply:
        said = self.u.speech or (f"pressed {self.u.digits}" if self.u.digits else "")
        flagged = True
        try:
            self.tools.flag_emergency(f"Caller reported an emergency: {said}"[:300])
        except Exception:  # the caller must hear the instruction whatever happens
            flagged = False
            log.exception("call %s: could not flag an emergency", self.ctx.call_sid)
        self.reset_flow()
        say = (
            "This sounds like an emergency. Please hang up and dial 9 1 1 now, or go to the nearest emergency "
            "room."
        )
        if flagged:
            say += " I've also alerted our team."
        return self.reply(say, "done", action="hangup")

    def record_opt_out(self) -> str | None:
        """The opt-out itself, else a message, else a callback for staff; the confirmation, or None if all refused."""
        try:
            self.tools.opt_out()
            return "Done: we won't call, text or email you again."
        except ToolError:
            log.info("call %s: opt-out refused by the tools; passing it on to staff", self.ctx.call_sid)
        relay = "I couldn't update that myself, so I've asked our team to make sure we don't call, text or email you again."
        try:
            self.tools.take_message("The caller asked us to stop all calls, texts and emails.")
            return relay
        except ToolError:
            pass
        try:
            self.tools.queue_callback("caller asked to stop all calls, texts and emails", "high")
            return relay
        except ToolError:
            return None

    def opt_out(self) -> Reply:
        st = self.st
        if not st.get("opted_out"):
            confirm = self.record_opt_out()
            # Only once something is recorded: if nothing could be, the caller's next request tries again.
            st["opted_out"] = confirm is not None
            if confirm is None:
                confirm = (
                    "I'm sorry, I couldn't record that right now. Please ask our front desk to take you off "
                    "our list, or tell me again in a moment."
                )
        else:
            confirm = "You're already off our list: we won't call, text or email you again."
        if st["stage"] == "message":
            st["stage"] = "menu"
        self.reset_flow()
        second, score = self.u.runner_up(
            exclude=("opt_out", "no", "yes", "thanks", "unsure", "more", "repeat")
        )
        if score >= 0.8 and (second in ACTIONS or second == "goodbye"):
            self.prefix = confirm
            st["stage"] = "menu"
            return self.route(second)
        return self.done_then_anything_else(confirm)

    # -- information ----------------------------------------------------------------------------------------
    def hours_text(self) -> str:
        hours = spoken.clean(self.ctx.facts.hours_text)
        now = "We're open now." if self.ctx.is_open else "We're closed right now."
        return f"Our hours are {hours}. {now}"

    def address_text(self) -> str:
        facts = self.ctx.facts
        place = spoken.clean(facts.location_name or facts.practice_name)
        now = (
            "We're open now."
            if self.ctx.is_open
            else f"We're closed right now; our hours are {spoken.clean(facts.hours_text)}."
        )
        return f"{place} is at {spoken.speakable_address(facts.address)}. {now}"

    def human(self) -> Reply:
        ctx = self.ctx
        if self.can_transfer:
            self.reset_flow()
            return self.reply(
                "Let me put you through to our front desk.", "menu", q=HOW_CAN_I_HELP, action="transfer"
            )
        if ctx.reason == "transfer_failed":
            return self.done_then_anything_else(
                "A member of our team will call you back as soon as they can."
            )
        if not self.st.get("callback"):
            self.tools.queue_callback("caller asked for a person after hours", "normal")
            self.st["callback"] = True
        hours = spoken.clean(ctx.facts.hours_text)
        return self.done_then_anything_else(
            f"Our office is closed right now, so I've asked a member of our team to call you back when we open. "
            f"Our hours are {hours}."
        )

    @property
    def can_transfer(self) -> bool:
        return self.ctx.is_open and self.ctx.reason != "transfer_failed"

    def front_desk(self) -> Reply:
        """Costs, insurance, billing, records: questions for staff."""
        self.reset_flow()
        lead = "Our front desk can help with that."
        if self.can_transfer:
            q = "Would you like me to put you through?"
            return self.ask(f"{lead} {q}", q, "offer_transfer")
        return self.ask(
            f"{lead} I can take a message, and someone will call you back. {WHAT_MESSAGE}",
            WHAT_MESSAGE,
            "message",
        )

    def callback(self) -> Reply:
        if self.ctx.reason == "transfer_failed":
            return self.done_then_anything_else("A member of our team will call you back soon.")
        if not self.st.get("callback"):
            self.tools.queue_callback("caller asked for a callback", "normal")
            self.st["callback"] = True
        when = "as soon as they can" if self.ctx.is_open else "when we open"
        return self.done_then_anything_else(f"I've asked a member of our team to call you back {when}.")

    def goodbye(self) -> Reply:
        practice = spoken.clean(self.ctx.facts.practice_name)
        self.reset_flow()
        self.keep_misses = True
        return self.reply(
            f"Thank you for calling {practice}. Have a good day. Goodbye.", "done", action="hangup"
        )

    # -- messages -------------------------------------------------------------------------------------------
    def ask_message(self) -> Reply:
        self.reset_flow()
        text = self.u.text
        m = re.search(r"\bmessage\b(.*)", text)
        tail = m.group(1).split() if m else []
        if len(tail) >= 5 and set(tail[:4]) & {"that", "saying", "say", "about"}:
            return self._store_message(self.u.speech)
        return self.ask(f"Of course. {WHAT_MESSAGE}", WHAT_MESSAGE, "message")

    def take_message(self) -> Reply:
        u = self.u
        if u.intent == "opt_out":
            return self.opt_out()
        words = u.text.split()
        if not u.speech:
            return self.miss(prefix="Please say your message out loud.")
        if len(words) <= 4 and (u.intent in ("no", "goodbye") or u.has("no", 1.0)):
            if u.intent == "goodbye":
                return self.goodbye()
            return self.done_then_anything_else("Okay, no message.")
        if (
            len(words) <= 3
            and u.intent in ("hello", "unsure", "repeat", "who")
            and self.st.get("misses", 0) < 2
        ):
            return self.miss(prefix="I'm listening.")  # "hello?", "um": not the message yet
        return self._store_message(u.speech)

    def _store_message(self, text: str) -> Reply:
        self.tools.take_message(text)
        return self.done_then_anything_else("Thank you. I've passed your message on to the team.")

    # -- booking --------------------------------------------------------------------------------------------
    def start_booking(self, kind: str | None = None) -> Reply:
        st, sl = self.st, self.u.slots
        self.reset_flow()
        st["flow"] = "book"
        st["kind"] = sl.kind or kind or "cleaning"
        st["pref"] = _pref_from(self.u)
        return self.offer_new()

    def offer_new(
        self, after: dt.datetime | None = None, exclude: set[Any] | None = None, lead: str = ""
    ) -> Reply:
        slots, note = self.search(after=after, exclude=exclude)
        if not slots:
            if exclude:
                return self.no_slots("I'm sorry, I don't have any other openings right now.")
            return self.no_slots()
        return self.present(slots, " ".join(x for x in (lead, note) if x))

    def search(
        self, after: dt.datetime | None = None, exclude: set[Any] | None = None
    ) -> tuple[list[SlotView], str]:
        """Up to three open slots honouring the preference in `pref`; a note when the preference could not be met."""
        st = self.st
        pref = st.get("pref") or {}
        kind = st.get("kind") or "cleaning"
        today = self.now.date()
        start = self.now
        day = _date_or_none(pref.get("date"))
        if day is not None and day < today:
            day = None
        for value in (_date_or_none(pref.get("after")), day):
            if value is not None:
                start = max(start, _midnight(value, self.now))
        if after is not None:
            start = max(start, after)
        weekday = pref.get("weekday") if day is None else None
        part = pref.get("part")
        keep = _time_filter(pref, self.now)
        exclude = exclude or set()
        slots = self.find(kind, start, part, weekday, keep, exclude)
        note = ""
        if not slots and pref.get("tat") is not None:
            slots = self.closest(kind, start, part, weekday, pref["tat"], exclude)
            if slots:
                note = f"I don't have anything at {spoken_time(_clock(pref['tat']))}."
        if not slots and (day is not None or weekday is not None or part or keep is not None):
            slots = self.find(kind, max(self.now, after or self.now), None, None, None, exclude)
            if slots:
                note = f"I don't have anything {_pref_words(pref, self.now)}."
        elif day is not None and after is None and slots and _local(slots[0].start, self.now).date() != day:
            note = f"I don't have anything open {_day_words(day, self.now)}."
        return slots, note

    def closest(
        self,
        kind: str,
        after: dt.datetime,
        part: str | None,
        weekday: int | None,
        target: int,
        exclude: set[Any],
    ) -> list[SlotView]:
        """For each of the next days, the opening nearest to the time asked for."""
        by_day: dict[dt.date, SlotView] = {}
        cursor = after
        for _ in range(3):
            batch = _valid_slots(
                self.tools.open_slots(kind=kind, after=cursor, part_of_day=part, weekday=weekday, limit=10)
            )
            for slot in batch:
                if slot.id in exclude:
                    continue
                day = _local(slot.start, self.now).date()
                best = by_day.get(day)
                if best is None or abs(_minutes(slot.start, self.now) - target) < abs(
                    _minutes(best.start, self.now) - target
                ):
                    by_day[day] = slot
            if not batch or len(by_day) > OFFER_COUNT:
                break
            latest = max(slot.start for slot in batch)
            if latest < cursor:
                break
            cursor = latest + dt.timedelta(minutes=1)
        return [by_day[d] for d in sorted(by_day)][:OFFER_COUNT]

    def find(
        self,
        kind: str,
        after: dt.datetime,
        part: str | None,
        weekday: int | None,
        keep: Callable[[SlotView], bool] | None,
        exclude: set[Any],
    ) -> list[SlotView]:
        """Asks the tools for slots, paging on when slots must also pass `keep` (a time of day)."""
        if keep is None and not exclude:
            return _valid_slots(
                self.tools.open_slots(
                    kind=kind, after=after, part_of_day=part, weekday=weekday, limit=OFFER_COUNT
                )
            )[:OFFER_COUNT]
        out: list[SlotView] = []
        seen: set[Any] = set(exclude)
        cursor = after
        for _ in range(SEARCH_PAGES):
            batch = _valid_slots(
                self.tools.open_slots(kind=kind, after=cursor, part_of_day=part, weekday=weekday, limit=10)
            )
            if not batch:
                break
            for slot in batch:
                if slot.id in seen or (keep is not None and not keep(slot)):
                    continue
                seen.add(slot.id)
                out.append(slot)
            if len(out) >= OFFER_COUNT:
                break
            latest = max(slot.start for slot in batch)
            if latest < cursor:
                break
            cursor = latest + dt.timedelta(minutes=1)
        return out[:OFFER_COUNT]

    def present(self, slots: list[SlotView], lead: str = "") -> Reply:
        st = self.st
        st["offers"] = [_slot_dump(s) for s in slots]
        phrases = [slot_phrase(s.start, s.provider, self.now) for s in slots]
        if len(slots) == 1:
            st["pick"] = st["offers"][0]
            ask = (
                "Would you like to move it there?"
                if st.get("flow") == "reschedule"
                else "Would you like me to book it?"
            )
            return self.ask(
                f"{lead} The first opening I have is {phrases[0]}. {ask}",
                self.confirm_question(slots[0]),
                "confirm_slot",
            )
        st.pop("pick", None)
        listing = f"I have {spoken.number_word(len(slots))} openings: {spoken_list(phrases)}. Which one would you like?"
        return self.ask(f"{lead} {listing}", listing, "offer")

    def confirm_question(self, slot: SlotView) -> str:
        st = self.st
        when = slot_phrase(slot.start, slot.provider, self.now)
        if st.get("flow") == "reschedule":
            appt = st.get("appt") or {}
            return f"Shall I move your {spoken.clean(appt.get('kind') or 'appointment')} to {when}?"
        return f"Shall I book {kind_phrase(st.get('kind') or 'cleaning')} for {when}?"

    def confirm_pick(self, slot: SlotView) -> Reply:
        self.st["pick"] = _slot_dump(slot)
        q = self.confirm_question(slot)
        return self.ask(q, q, "confirm_slot")

    def s_offer(self) -> Reply | None:
        st, u = self.st, self.u
        sl = u.slots
        offers = _slots_of(st.get("offers"))
        if not offers:
            return None
        if u.intent in ACTIONS and u.intent != "book":
            return None
        chosen = _resolve(offers, u, self.now)
        if isinstance(chosen, int):
            return self.confirm_pick(offers[chosen])
        if isinstance(chosen, list):
            st["offers"] = [_slot_dump(offers[i]) for i in chosen]
            phrases = [
                spoken_time(_local(offers[i].start, self.now)) + " with " + spoken.clean(offers[i].provider)
                for i in chosen
            ]
            q = f"I have {spoken_list(phrases)}. Which one would you like?"
            return self.ask(q, q, "offer")
        hour = hour_from_number(sl.number) if sl.number is not None and chosen is None else None
        if hour is not None and not sl.has_when:  # "nine" when 9 was not offered: look for 9
            st["pref"] = _merge_pref(
                st.get("pref") or {}, {"tat": hour, "part": "morning" if hour < 720 else "afternoon"}
            )
            return self.offer_new()
        if chosen == "out_of_range":
            self.missed = True
            self.st["misses"] = st.get("misses", 0) + 1
            if st["misses"] >= MAX_MISSES:
                return self.escalate()
            return self.reply(
                f"Sorry, I only have {spoken.number_word(len(offers))} options. {self.question}"
            )
        last = max(s.start for s in offers)
        later = last + dt.timedelta(minutes=1)
        if re.search(r"\b(?:day|days|date|dates|week)\b", u.text):
            later = _midnight(_local(last, self.now).date() + dt.timedelta(days=1), self.now)
        if sl.has_when:
            st["pref"] = _merge_pref(st.get("pref") or {}, _pref_from(u))
            if u.intent == "more" and sl.day is None and sl.weekday is None and sl.after is None:
                return self.offer_new(after=later, exclude={s.id for s in offers}, lead="Okay.")
            return self.offer_new()
        if u.intent in ("more", "no"):
            return self.offer_new(after=later, exclude={s.id for s in offers}, lead="Okay.")
        if sl.kind and sl.kind != st.get("kind") and st.get("flow") == "book":
            st["kind"] = sl.kind
            return self.offer_new()
        if self.is_yes():
            if len(offers) == 1:
                return self.confirm_pick(offers[0])
            self.keep_misses = True
            which = "the first, the second or the third" if len(offers) > 2 else "the first or the second"
            return self.reply(f"You can say {which}. {self.question}")
        if u.intent == "book":
            self.keep_misses = True
            return self.reply(self.question)
        return None

    def s_confirm_slot(self) -> Reply | None:
        st, u = self.st, self.u
        pick = _slot_of(st.get("pick"))
        if pick is None:
            return None
        if u.intent in ACTIONS and u.intent != "book":
            return None
        offers = _slots_of(st.get("offers"))
        chosen = _resolve(offers, u, self.now) if len(offers) > 1 else None
        if isinstance(chosen, int):
            if offers[chosen].id != pick.id:
                return self.confirm_pick(offers[chosen])
            if not self.is_no():
                return self.execute_pick()  # naming the same one again is a yes
        if self.is_yes() or (u.intent == "book" and not u.slots.has_when and u.score("no") < 0.5):
            return self.execute_pick()
        if self.is_no() and not u.slots.has_when and u.intent != "more":
            if len(offers) > 1:
                listing = spoken_list([slot_phrase(s.start, s.provider, self.now) for s in offers])
                q = f"The times I have are {listing}. Which one would you like, or shall I look for other times?"
                return self.ask(f"No problem. {q}", q, "offer")
            after = pick.start + dt.timedelta(minutes=1)
            return self.offer_new(after=after, exclude={pick.id}, lead="No problem.")
        if not offers:
            st["offers"] = [_slot_dump(pick)]
        return self.s_offer()

    def execute_pick(self) -> Reply:
        st = self.st
        pick = _slot_of(st.get("pick"))
        if pick is None:
            return self.start_booking()
        if st.get("flow") == "reschedule":
            appt = st.get("appt") or {}
            if appt.get("id") is None:
                return self.start_appointment_flow("reschedule")
            try:
                new = self.tools.reschedule(appt.get("id"), pick.id)
            except ToolError as error:
                return self.slot_failed(error, pick)
            said = appointment_phrase(
                new.kind or appt.get("kind") or "appointment",
                new.start,
                new.provider,
                self.now,
                article="your",
            )
            return self.done_then_anything_else(f"Done. I've moved {said}.")
        if self.tools.patient_id is None:
            if not (st.get("first") and st.get("last")):
                if st.get("first"):
                    st["name_part"] = "last"
                    return self.ask(
                        "Before I book that, may I have your last name?", "And your last name?", "ask_name"
                    )
                st["name_part"] = "both"
                return self.ask(
                    "Before I book that, may I have your first and last name?", NAME_QUESTION, "ask_name"
                )
            try:
                self.tools.register_caller(st["first"], st["last"])
            except ToolError as error:
                st.pop("first", None)
                st.pop("last", None)
                st["name_part"] = "both"
                return self.ask(f"{spoken.sentence(str(error))} {NAME_QUESTION}", NAME_QUESTION, "ask_name")
        kind = st.get("kind") or "cleaning"
        try:
            booked = self.tools.book(pick.id, kind)
        except ToolError as error:
            return self.slot_failed(error, pick)
        name = spoken.first_name_for_speech(st.get("first") or self.ctx.first_name)
        said = appointment_phrase(booked.kind or kind, booked.start, booked.provider, self.now)
        return self.done_then_anything_else(
            f"You're all set{', ' + name if name else ''}. I've booked {said}."
        )

    def slot_failed(self, error: ToolError, pick: SlotView) -> Reply:
        message = spoken.sentence(str(error)) or "I'm sorry, I couldn't book that time."
        self.st.pop("pick", None)
        return self.offer_new(exclude={pick.id}, lead=f"{message} Here are some other times.")

    def no_slots(self, sorry: str = "I'm sorry, I don't have any openings right now.") -> Reply:
        self.st.pop("offers", None)
        self.st.pop("pick", None)
        callback = (
            "put you through to our front desk"
            if self.can_transfer
            else "have a member of our team call you back"
        )
        q = f"I can take a message, or {callback}. Which would you prefer?"
        return self.ask(f"{sorry} {q}", q, "no_slots")

    def s_no_slots(self) -> Reply | None:
        u = self.u
        if u.intent in ("message", "human", "goodbye"):
            return None
        if u.intent == "callback" or (self.is_yes() and not u.slots.has_when):
            if self.can_transfer and u.intent != "callback":
                return self.human()
            if not self.st.get("callback") and self.ctx.reason != "transfer_failed":
                self.tools.queue_callback("caller wants an appointment; no openings found", "normal")
                self.st["callback"] = True
            return self.done_then_anything_else(
                "I've asked a member of our team to call you back about an appointment."
            )
        if u.slots.has_when or u.intent == "book" or u.slots.kind:
            return self.start_booking(kind=self.st.get("kind"))
        if self.is_no():
            return self.done_then_anything_else("Okay.")
        return None

    def s_ask_name(self) -> Reply | None:
        st, u = self.st, self.u
        first, last = extract_name(u.speech, expect=True)
        short = len(u.text.split()) <= 3  # a bare name, even one that sounds like a word ("Hope Price")
        if (
            not (first and short)
            and u.slots.first_name is None
            and u.intent in ACTIONS + ("goodbye",)
            and u.score(u.intent) >= 1.0
        ):
            return None
        if st.get("name_part") == "last" and st.get("first") and first and not last:
            last, first = first, st["first"]
        if first and last:
            st["first"], st["last"] = first[:60], last[:60]
            st.pop("name_part", None)
            return self.execute_pick()
        if first:
            st["first"] = first[:60]
            st["name_part"] = "last"
            q = "And your last name?"
            return self.ask(f"Thanks, {spoken.first_name_for_speech(first) or ''}. {q}", q, "ask_name")
        if self.is_no():
            return self.miss(
                prefix="I need your name to book the appointment, or I can take a message instead."
            )
        return self.miss(prefix="Sorry, I didn't catch your name.")

    # -- the caller's appointments ---------------------------------------------------------------------------
    def upcoming(self) -> list[AppointmentView]:
        appts = [a for a in _valid_appointments(self.tools.upcoming()) if (a.status or "booked") == "booked"]
        return sorted(appts, key=lambda a: a.start)

    def no_appointments_text(self) -> str:
        if self.tools.patient_id is None:
            return "I couldn't find any upcoming appointments under the number you're calling from."
        return "I don't see any upcoming appointments for you."

    def my_appointments(self) -> Reply:
        appts = self.upcoming()
        self.reset_flow()
        if not appts:
            q = "Would you like to book one?"
            return self.ask(f"{self.no_appointments_text()} {q}", q, "offer_book")
        phrases = [appointment_phrase(a.kind, a.start, a.provider, self.now) for a in appts[:MAX_LISTED]]
        if len(appts) == 1:
            return self.done_then_anything_else(f"You have {phrases[0]}.")
        return self.done_then_anything_else(
            f"You have {spoken.number_word(len(appts))} upcoming appointments: {spoken_list(phrases, 'and')}."
        )

    def start_appointment_flow(self, purpose: str) -> Reply:
        st, u = self.st, self.u
        appts = self.upcoming()
        self.reset_flow()
        st["flow"] = purpose
        if not appts:
            if purpose == "reschedule":
                st["kind"] = u.slots.kind or "cleaning"
                q = "Would you like to book one?"
                return self.ask(f"{self.no_appointments_text()} {q}", q, "offer_book")
            return self.done_then_anything_else(self.no_appointments_text())
        listed = appts[:MAX_LISTED]
        st["appts"] = [_appt_dump(a) for a in listed]
        chosen: int | None = 0 if len(listed) == 1 else None
        identified_by_day = False
        if len(listed) > 1:
            found = _resolve(listed, u, self.now, allow_numbers=False)
            if isinstance(found, int):
                chosen = found
                identified_by_day = True
            elif u.slots.kind:  # "move my cleaning to Friday": the kind says which, the day is the new time
                same = [i for i, a in enumerate(listed) if a.kind == u.slots.kind]
                chosen = same[0] if len(same) == 1 else None
        if purpose == "reschedule":
            pref = _pref_from(u)
            if identified_by_day or (chosen is not None and _matches_day(listed[chosen], u, self.now)):
                pref = {}
            st["pref"] = pref
        if chosen is not None:
            return self.confirm_appointment(listed[chosen])
        phrases = [appointment_phrase(a.kind, a.start, a.provider, self.now) for a in listed]
        verb = "move" if purpose == "reschedule" else "cancel"
        q = f"Which one would you like to {verb}?"
        return self.ask(
            f"You have {spoken.number_word(len(listed))} upcoming appointments: "
            f"{spoken_list(phrases, 'and')}. {q}",
            q,
            "choose_appt",
        )

    def confirm_appointment(self, appt: AppointmentView) -> Reply:
        st = self.st
        st["appt"] = _appt_dump(appt)
        said = appointment_phrase(appt.kind, appt.start, appt.provider, self.now, article="your")
        if st.get("flow") == "reschedule":
            q = "Would you like to move that one?"
        else:
            q = "Shall I cancel it?"
        return self.ask(f"I see {said}. {q}", q, "confirm_appt")

    def s_choose_appt(self) -> Reply | None:
        st, u = self.st, self.u
        appts = _appts_of(st.get("appts"))
        if not appts:
            return None
        if u.intent in ACTIONS and u.intent not in (st.get("flow"), "book"):
            return None
        chosen = _resolve(appts, u, self.now)
        if isinstance(chosen, int):
            appt = appts[chosen]
            if st.get("flow") == "reschedule":
                st["appt"] = _appt_dump(appt)
                st["kind"] = appt.kind or "cleaning"
                return self.offer_new(
                    lead=f"Okay, your {spoken.clean(appt.kind or 'appointment')} "
                    f"{_on_when(appt.start, self.now)}."
                )
            return self.confirm_appointment(appt)
        if isinstance(chosen, list):
            appts_left = [appts[i] for i in chosen]
            st["appts"] = [_appt_dump(a) for a in appts_left]
            phrases = [appointment_phrase(a.kind, a.start, a.provider, self.now) for a in appts_left]
            q = f"Do you mean {spoken_list(phrases)}?"
            return self.ask(q, "Which one?", "choose_appt")
        if self.is_no() or u.intent == "more":
            return self.done_then_anything_else("Okay, I'll leave your appointments as they are.")
        if self.is_yes():
            self.keep_misses = True
            return self.reply(f"You can say the first or the second. {self.question}")
        return None

    def s_confirm_appt(self) -> Reply | None:
        st, u = self.st, self.u
        appt = _appt_of(st.get("appt"))
        if appt is None:
            return None
        flow = st.get("flow")
        if u.intent in ACTIONS and u.intent not in (flow, "book"):
            return None
        if self.is_yes() or u.intent == flow or (flow == "reschedule" and _said_when(u) and not self.is_no()):
            if flow == "reschedule":
                st["kind"] = appt.kind or "cleaning"
                if _said_when(u):
                    st["pref"] = _merge_pref(st.get("pref") or {}, _pref_from(u))
                return self.offer_new()
            cancelled = self.tools.cancel(appt.id)
            st.pop("appt", None)
            st["kind"] = appt.kind or "cleaning"
            said = appointment_phrase(
                cancelled.kind or appt.kind, cancelled.start, cancelled.provider, self.now, article="your"
            )
            self.reset_flow()
            q = "Would you like to book a new time?"
            return self.ask(f"Okay, {said} is cancelled. {q}", q, "offer_book")
        if self.is_no():
            others = _appts_of(st.get("appts"))
            if len(others) > 1:
                phrases = [appointment_phrase(a.kind, a.start, a.provider, self.now) for a in others]
                verb = "move" if flow == "reschedule" else "cancel"
                q = f"Which one would you like to {verb}?"
                return self.ask(f"You have {spoken_list(phrases, 'and')}. {q}", q, "choose_appt")
            return self.done_then_anything_else("Okay, I'll leave it as it is.")
        return None

    def s_offer_book(self) -> Reply | None:
        u = self.u
        if u.intent in ACTIONS and u.intent != "book":
            return None
        if self.is_yes() or u.intent == "book" or u.slots.has_when or u.slots.kind:
            return self.start_booking(kind=self.st.get("kind"))
        if self.is_no():
            return self.done_then_anything_else("Okay.")
        return None

    def s_anything_else(self) -> Reply | None:
        u = self.u
        if u.intent in ACTIONS or u.slots.kind or u.slots.has_when:
            return None
        if u.intent in ("no", "goodbye", "thanks") or (u.intent == "unknown" and u.has("no")):
            return self.goodbye()
        if self.is_yes():
            q = "What can I help you with?"
            return self.ask(f"Sure. {q}", q, "menu")
        return None

    def s_offer_transfer(self) -> Reply | None:
        if self.is_yes():
            return self.human()
        if self.is_no():
            q = "How else can I help?"
            return self.ask(f"Okay. {q}", q, "menu")
        return None

    # -- yes / no in context ---------------------------------------------------------------------------------
    def is_yes(self) -> bool:
        u = self.u
        if u.intent == "yes":
            return True
        return (
            u.intent in ("thanks", "unknown", "book")
            and u.score("yes") >= 0.5
            and u.score("yes") > u.score("no")
        )

    def is_no(self) -> bool:
        u = self.u
        if u.intent == "no":
            return True
        return (
            u.intent in ("thanks", "unknown", "unsure")
            and u.score("no") >= 0.5
            and u.score("no") > u.score("yes")
        )

    # -- failures -------------------------------------------------------------------------------------------
    def tool_failed(self, error: ToolError) -> Reply:
        message = spoken.sentence(str(error)) or "I'm sorry, I couldn't do that."
        self.reset_flow()
        self.prefix = ""
        other = (
            "put you through to our front desk"
            if self.can_transfer
            else "have a member of our team call you back"
        )
        q = "What would you like to do?"
        return self.ask(f"{message} I can take a message, or {other}. {q}", q, "menu")


_Turn.STAGE_HANDLERS = {
    "offer": _Turn.s_offer,
    "confirm_slot": _Turn.s_confirm_slot,
    "ask_name": _Turn.s_ask_name,
    "choose_appt": _Turn.s_choose_appt,
    "confirm_appt": _Turn.s_confirm_appt,
    "offer_book": _Turn.s_offer_book,
    "no_slots": _Turn.s_no_slots,
    "anything_else": _Turn.s_anything_else,
    "offer_transfer": _Turn.s_offer_transfer,
}


# ------------------------------------------------------------------------------------------------------------
# Choosing among offered slots or the caller's appointments
# ------------------------------------------------------------------------------------------------------------


def _resolve(
    items: list[Any], u: Understanding, now: dt.datetime, allow_numbers: bool = True
) -> int | list[int] | str | None:
    """Which of `items` (slots or appointments, in the order read out) the caller means.

    An index, several indexes (ambiguous: "Tuesday" when two were on Tuesday), "out_of_range" ("the fifth"
    of three) or None (the caller said nothing that picks one).
    """
    sl = u.slots
    n = len(items)
    if n == 0:
        return None
    choice = sl.choice
    if allow_numbers and choice is not None and not (sl.day_from_ordinal and choice > n):
        if choice == -1:
            return n - 1
        if 1 <= choice <= n:
            return choice - 1
        if not sl.day_from_ordinal and u.digits:
            return "out_of_range"
    if allow_numbers and sl.anything:
        return 0
    candidates = list(range(n))
    filtered = False
    target = sl.time_at
    if allow_numbers and target is None and sl.number is not None and choice is None:
        # "two" after "which one?" is the second; "nine" of three offers is the 9 o'clock
        if 1 <= sl.number <= n:
            return sl.number - 1
        target = hour_from_number(sl.number)
        if target is None:
            return "out_of_range"
    if target is not None:
        exact = [i for i in candidates if _minutes(items[i].start, now) == target]
        if not exact:  # "the 9" for 9 AM or PM, whichever was offered
            exact = [
                i
                for i in candidates
                if _local(items[i].start, now).hour % 12 == (target // 60) % 12
                and _local(items[i].start, now).minute == target % 60
            ]
        if not exact:
            return None
        candidates, filtered = exact, True
    if sl.day is not None and not (sl.day_from_ordinal and choice is not None):
        same = [i for i in candidates if _local(items[i].start, now).date() == sl.day]
        if not same:
            return None
        candidates, filtered = same, True
    elif sl.weekday is not None:
        same = [i for i in candidates if _local(items[i].start, now).weekday() == sl.weekday]
        if not same:
            return None
        candidates, filtered = same, True
    if sl.part_of_day and target is None:
        same = [
            i for i in candidates if (_local(items[i].start, now).hour < 12) == (sl.part_of_day == "morning")
        ]
        if same and len(same) < len(candidates):
            candidates, filtered = same, True
        elif not same:
            return None
    words = set(u.text.split())
    by_provider = [i for i in candidates if _provider_words(items[i].provider) & words]
    if by_provider and len(by_provider) < len(candidates):
        candidates, filtered = by_provider, True
    kinds = {getattr(items[i], "kind", None) for i in candidates}
    if sl.kind and len(kinds) > 1:
        same = [i for i in candidates if getattr(items[i], "kind", None) == sl.kind]
        if same:
            candidates, filtered = same, True
    if not filtered:
        return None
    if len(candidates) == 1:
        return candidates[0]
    return candidates


def _said_when(u: Understanding) -> bool:
    """A day or time preference, not counting a bare "the first" that is a choice rather than a date."""
    sl = u.slots
    if not sl.has_when:
        return False
    if sl.day_from_ordinal and sl.choice is not None:
        others = (sl.weekday, sl.after, sl.part_of_day, sl.time_at, sl.time_min, sl.time_max)
        return any(v is not None for v in others)
    return True


def _provider_words(provider: str) -> set[str]:
    words = re.findall(r"[a-z]+", (provider or "").lower())
    return {
        w for w in words if w not in ("dr", "doctor", "hygienist", "dds", "dmd", "the", "and") and len(w) > 2
    }


def _matches_day(item: Any, u: Understanding, now: dt.datetime) -> bool:
    local = _local(item.start, now)
    return (u.slots.day is not None and local.date() == u.slots.day) or (
        u.slots.weekday is not None and local.weekday() == u.slots.weekday and u.slots.day is None
    )


# ------------------------------------------------------------------------------------------------------------
# Preferences
# ------------------------------------------------------------------------------------------------------------


def _pref_from(u: Understanding) -> dict[str, Any]:
    sl = u.slots
    pref: dict[str, Any] = {}
    if sl.day is not None:
        pref["date"] = sl.day.isoformat()
    if sl.weekday is not None:
        pref["weekday"] = sl.weekday
    if sl.after is not None:
        pref["after"] = sl.after.isoformat()
    if sl.part_of_day:
        pref["part"] = sl.part_of_day
    for key, value in (("tat", sl.time_at), ("tmin", sl.time_min), ("tmax", sl.time_max)):
        if value is not None:
            pref[key] = value
    return pref


def _merge_pref(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """A new day replaces the old day; a new time replaces the old time; the rest is kept."""
    merged = dict(old)
    if any(k in new for k in ("date", "weekday", "after")):
        only_weekday = "weekday" in new and "date" not in new and "after" not in new
        for key in ("date", "weekday") if only_weekday else ("date", "weekday", "after"):
            merged.pop(key, None)  # "Thursday" after "next week" is next week's Thursday
    if any(k in new for k in ("part", "tat", "tmin", "tmax")):
        for key in ("part", "tat", "tmin", "tmax"):
            merged.pop(key, None)
    merged.update(new)
    return merged


def _pref_words(pref: dict[str, Any], now: dt.datetime) -> str:
    """ "on a Saturday in the morning", "after 2 PM": what was asked for, for "I don't have anything ..."."""
    parts = []
    day = _date_or_none(pref.get("date"))
    if day is not None:
        parts.append(_day_words(day, now))
    elif pref.get("weekday") is not None:
        parts.append(f"on a {spoken.WEEKDAYS[pref['weekday']]}")
    if pref.get("tat") is not None:
        parts.append(f"at {spoken_time(_clock(pref['tat']))}")
    elif pref.get("tmin") is not None:
        parts.append(f"after {spoken_time(_clock(pref['tmin']))}")
    elif pref.get("tmax") is not None:
        parts.append(f"before {spoken_time(_clock(pref['tmax']))}")
    elif pref.get("part"):
        parts.append(f"in the {pref['part']}")
    return " ".join(parts) or "at that time"


def _time_filter(pref: dict[str, Any], now: dt.datetime) -> Callable[[SlotView], bool] | None:
    tat, tmin, tmax = pref.get("tat"), pref.get("tmin"), pref.get("tmax")
    if tat is None and tmin is None and tmax is None:
        return None

    def keep(slot: SlotView) -> bool:
        m = _minutes(slot.start, now)
        if tat is not None and m != tat:
            return False
        if tmin is not None and m < tmin:
            return False
        return not (tmax is not None and m >= tmax)

    return keep


# ------------------------------------------------------------------------------------------------------------
# State (JSON-able) <-> views
# ------------------------------------------------------------------------------------------------------------


def _load(state: Any) -> dict[str, Any]:
    """A clean copy of the stored state: anything malformed is dropped rather than trusted."""
    st: dict[str, Any] = {"v": STATE_VERSION, "stage": "menu", "silences": 0, "misses": 0, "turns": 0}
    if not isinstance(state, dict):
        return st
    if state.get("stage") in STAGES:
        st["stage"] = state["stage"]
    for key in ("silences", "misses", "turns"):
        value = state.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10_000:
            st[key] = value
    for key in ("kind", "flow", "first", "last", "q", "said", "name_part"):
        value = state.get(key)
        if isinstance(value, str) and value:
            st[key] = value[:600]
    if st.get("flow") not in (None, "book", "reschedule", "cancel"):
        st.pop("flow")
    for key in ("opted_out", "callback"):
        if state.get(key) is True:
            st[key] = True
    pref = state.get("pref")
    if isinstance(pref, dict):
        clean: dict[str, Any] = {}
        for key in ("date", "after"):
            if _date_or_none(pref.get(key)) is not None:
                clean[key] = pref[key]
        if isinstance(pref.get("weekday"), int) and 0 <= pref["weekday"] <= 6:
            clean["weekday"] = pref["weekday"]
        if pref.get("part") in ("morning", "afternoon"):
            clean["part"] = pref["part"]
        for key in ("tat", "tmin", "tmax"):
            if isinstance(pref.get(key), int) and 0 <= pref[key] < 24 * 60:
                clean[key] = pref[key]
        st["pref"] = clean
    offers = [
        s
        for s in (_slot_of(x) for x in state.get("offers") or [] if isinstance(state.get("offers"), list))
        if s is not None
    ]
    if offers:
        st["offers"] = [_slot_dump(s) for s in offers[:10]]
    pick = _slot_of(state.get("pick"))
    if pick is not None:
        st["pick"] = _slot_dump(pick)
    appts = [
        a
        for a in (_appt_of(x) for x in state.get("appts") or [] if isinstance(state.get("appts"), list))
        if a is not None
    ]
    if appts:
        st["appts"] = [_appt_dump(a) for a in appts[:10]]
    appt = _appt_of(state.get("appt"))
    if appt is not None:
        st["appt"] = _appt_dump(appt)
    return st


def _slot_dump(slot: SlotView) -> dict[str, Any]:
    return {
        "id": slot.id,
        "start": slot.start.isoformat(),
        "provider": str(slot.provider or "")[:80],
        "minutes": int(slot.minutes or 0),
    }


def _slot_of(value: Any) -> SlotView | None:
    if (
        not isinstance(value, dict)
        or not isinstance(value.get("id"), (int, str))
        or isinstance(value.get("id"), bool)
    ):
        return None
    start = _datetime_or_none(value.get("start"))
    if start is None:
        return None
    minutes = value.get("minutes")
    return SlotView(
        value["id"],
        start,
        str(value.get("provider") or "")[:80],
        minutes if isinstance(minutes, int) and not isinstance(minutes, bool) else 0,
    )


def _slots_of(value: Any) -> list[SlotView]:
    if not isinstance(value, list):
        return []
    return [s for s in (_slot_of(x) for x in value) if s is not None]


def _appt_dump(appt: AppointmentView) -> dict[str, Any]:
    return {
        "id": appt.id,
        "start": appt.start.isoformat(),
        "provider": str(appt.provider or "")[:80],
        "kind": str(appt.kind or "appointment")[:40],
    }


def _appt_of(value: Any) -> AppointmentView | None:
    if (
        not isinstance(value, dict)
        or not isinstance(value.get("id"), (int, str))
        or isinstance(value.get("id"), bool)
    ):
        return None
    start = _datetime_or_none(value.get("start"))
    if start is None:
        return None
    return AppointmentView(
        value["id"],
        start,
        str(value.get("provider") or "")[:80],
        str(value.get("kind") or "appointment")[:40],
        "booked",
    )


def _appts_of(value: Any) -> list[AppointmentView]:
    if not isinstance(value, list):
        return []
    return [a for a in (_appt_of(x) for x in value) if a is not None]


def _valid_slots(values: Any) -> list[SlotView]:
    """What the tools returned, keeping only well-formed slots with aware start times."""
    out = []
    for s in values or []:
        start = getattr(s, "start", None)
        if (
            isinstance(start, dt.datetime)
            and start.tzinfo is not None
            and isinstance(getattr(s, "id", None), (int, str))
        ):
            out.append(s)
    return out


def _valid_appointments(values: Any) -> list[AppointmentView]:
    out = []
    for a in values or []:
        start = getattr(a, "start", None)
        if (
            isinstance(start, dt.datetime)
            and start.tzinfo is not None
            and isinstance(getattr(a, "id", None), (int, str))
        ):
            out.append(a)
    return out


def _datetime_or_none(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _date_or_none(value: Any) -> dt.date | None:
    if not isinstance(value, str):
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


# ------------------------------------------------------------------------------------------------------------
# Time helpers
# ------------------------------------------------------------------------------------------------------------


def _local(start: dt.datetime, now: dt.datetime) -> dt.datetime:
    return start.astimezone(now.tzinfo) if now.tzinfo is not None else start


def _minutes(start: dt.datetime, now: dt.datetime) -> int:
    local = _local(start, now)
    return local.hour * 60 + local.minute


def _midnight(day: dt.date, now: dt.datetime) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0, 0), now.tzinfo)


def _clock(minutes: int) -> dt.time:
    return dt.time(minutes // 60 % 24, minutes % 60)


def _day_words(day: dt.date, now: dt.datetime) -> str:
    words = spoken.spoken_day(day, now.date())
    return words if words in ("today", "tomorrow") else f"on {words}"


def _on_when(start: dt.datetime, now: dt.datetime) -> str:
    local = _local(start, now)
    return f"{_day_words(local.date(), now)} at {spoken_time(local)}"


def _crash_reply(ctx: CallContext, state: Any) -> Reply:
    """After an unexpected error: an apology and a way on (a transfer when open, a message when closed)."""
    st = {"v": STATE_VERSION, "stage": "menu", "silences": 0, "misses": 0, "turns": 0}
    if isinstance(state, dict) and state.get("opted_out") is True:
        st["opted_out"] = True
    if ctx.is_open and ctx.reason != "transfer_failed":
        q = "Would you like me to put you through to our front desk?"
        st.update(stage="offer_transfer", q=q)
        return Reply(f"I'm sorry, something went wrong on my side. {q}", st, "listen")
    st.update(stage="message", q=WHAT_MESSAGE)
    return Reply(
        "I'm sorry, something went wrong on my side. I can take a message for the team, and someone will "
        f"call you back. {WHAT_MESSAGE}",
        st,
        "listen",
    )
