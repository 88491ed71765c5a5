"""The inbound call flow: routing, warm transfer, the AI receptionist's loop, status callbacks, outcomes.

Every method takes the webhook's parameters, parsed at the edge (`telephony.params.CallParams`), and returns
TwiML (or JSON for the outcome); the Flask blueprint around it only checks signatures and speaks HTTP. A call's
state between webhooks is a `CallState` (`callstate.py`). Nothing a caller says reaches the logs.

The call record is written through the call journal (`journal.py`): a webhook's record operations
(`callrecord.py`) go to Redis with the call's state in one atomic write, and reach SQL in batches; readers of the
record (`outcome`, the final status callback) drain the journal first.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from receptionist.clock import Clock
from receptionist.config.practice import Location, Practice
from receptionist.conversation import revocation
from receptionist.conversation.store_tools import StoreTools, queue_callback
from receptionist.conversation.types import CallContext, Engine, PracticeFacts, Reply, Utterance
from receptionist.outcomes.record import Outcomes
from receptionist.outreach.optout import opt_out
from receptionist.patients.cache import CacheUnavailable
from receptionist.phones import normalise_or_none
from receptionist.store import Call, CallEvent, CallTurn, Patient, Store, keys
from receptionist.telephony import twiml
from receptionist.telephony.params import CallParams
from receptionist.voice import callrecord, journal
from receptionist.voice.callrecord import apply_event as _apply_event
from receptionist.voice.callstate import CallState, CallStates, PendingTurn
from receptionist.voice.directory import CallerDirectory
from receptionist.voice.routing import decide
from receptionist.voice.statuses import forward
from receptionist.voice.whisper import PRESS_ONE, whisper_text
from receptionist.wording.lines import lines
from receptionist.wording.spoken import clean

log = logging.getLogger(__name__)

HOLDING_LINE = "One moment while I check that."
MAX_TURNS = 40
DRAIN_WAIT_S = 5.0  # a reader waits this long for a running drain before reading what SQL has
ACCEPTED = {"completed", "answered"}


@dataclass(frozen=True)
class Urls:
    base: str

    def __call__(self, path: str) -> str:
        return self.base + path


class CallFlow:
    # An engine that can be slow (the LLM one has `fallback_turn`) gets `hold_after_s` before the caller hears
    # the holding line; the wait route then gives it up to `wait_s` more before the fallback answers. Both
    # webhooks stay well inside Twilio's 15 seconds.
    hold_after_s = 3.0
    wait_s = 6.0

    def __init__(
        self,
        *,
        practice: Practice,
        store: Store,
        redis: redis.Redis,
        directory: CallerDirectory,
        engine: Engine,
        outcomes: Outcomes,
        now: Clock,
        base_url: str,
        slot_opened: Callable[[int], None] | None = None,
    ) -> None:
        self.slot_opened = slot_opened  # a cancelled or moved visit's time: to the ASAP list
        self.practice = practice
        self.store = store
        self.redis = redis
        self.directory = directory
        self.engine = engine
        self.outcomes = outcomes
        self.now = now
        self.base_url = base_url
        self.url = Urls(base_url)
        self.states = CallStates(redis, store)

    # -- inbound ----------------------------------------------------------------------------------------------
    def inbound(self, p: CallParams) -> str:
        sid = p.call_sid
        location = self.practice.location_for(normalise_or_none(p.to))
        if location is None:
            pending = CallState()
            record = {"direction": "inbound", "location_id": None, "caller": None, "route": "closed"}
            pending.record(callrecord.record(sid, {**record, "outcome": "unknown number"}, self.now()))
            try:
                self.states.save("", pending)  # the record only: there is no call to continue
            except SQLAlchemyError:
                log.exception("call %s: store unavailable", sid)
            return twiml.say_and_hangup(
                f"Sorry, this number is not set up for {self.practice.name}. "
                "Please check the number and call again. Goodbye."
            )
        caller = normalise_or_none(p.from_)
        now = self.now()
        is_open = location.is_open(now)
        counter = keys.caller_ai_calls(_hash(caller), location.today(now).isoformat()) if caller else None
        try:
            # one Redis round trip: the caller's tier and how often the AI had them today
            found, (recent,) = (
                self.directory.find_with(caller, counter) if caller and counter else (None, [None])
            )
        except SQLAlchemyError:
            log.exception("call %s: store unavailable at routing", sid)
            return self._store_down(location, is_open)
        decision = decide(
            tier=found.tier if found else None,
            known=found is not None,
            is_open=is_open,
            has_staff=bool(location.staff_numbers),
            recent_ai_calls=_int(recent) or 0,
        )
        state = CallState(
            location_id=location.id,
            caller=caller,
            patient_id=found.patient_id if found else None,
            tier=found.tier if found else None,
            route=decision.kind,
            reason=decision.reason,
            # the greeting's name came with the tier: no store read
            first_name=found.first_name if found is not None else None,
        )
        record = {
            "direction": "inbound",
            "location_id": location.id,
            "caller": caller,
            "patient_id": state.patient_id,
            "tier": state.tier,
            "route": "staff" if decision.kind == "staff" else ("ai" if is_open else "closed"),
        }
        # The route is in the call record (the dashboard's Calls page); at INFO this line was 5% of the webhook's CPU.
        log.debug("call %s: inbound, tier %s, route %s (%s)", sid, state.tier, decision.kind, decision.reason)
        if decision.kind == "staff":
            state.record(callrecord.record(sid, record, now))
            try:
                self.states.save(sid, state)
            except SQLAlchemyError:
                log.exception("call %s: store unavailable", sid)
                return self._store_down(location, is_open)
            return twiml.transfer(
                f"Thank you for calling {self.practice.name}. One moment while I connect you.",
                location.staff_numbers,
                whisper=self.url(f"/voice/whisper?call={sid}"),
                action=self.url("/voice/transfer-result"),
            )
        if counter:
            state.count(counter)
        return self._start_ai(
            sid, location, state, reason="routine" if is_open else "after_hours", record=record
        )

    def outbound(
        self, p: CallParams, *, patient_id: str, tier: str, attempt_id: str, opening: str = ""
    ) -> str:
        """A call the dialler placed was answered: the AI's outbound conversation starts, after `opening` when
        given (an exempt call's practice name and number first, `wording.contacts.exempt_call_opening`); the
        engines' opener says the voice is automated and names the practice either way."""
        sid = p.call_sid
        location = self.practice.main
        callee = normalise_or_none(p.to)
        state = CallState(
            location_id=location.id,
            caller=callee,
            patient_id=patient_id,
            tier=tier,
            route="ai",
            reason="reactivation",
            direction="outbound",
            attempt=attempt_id,
        )
        record = {
            "direction": "outbound",
            "location_id": location.id,
            "caller": callee,
            "patient_id": patient_id,
            "tier": tier,
            "route": "ai",
        }
        log.info("call %s: outbound reactivation call answered", sid)
        return self._start_ai(sid, location, state, reason="reactivation", record=record, opening=opening)

    def end_state(self, sid: str) -> None:
        """The call left the conversation (a voicemail took over): late Gathers end it politely."""
        state = self.states.load(sid)
        if state is not None:
            state.ended = True
            self.states.save(sid, state, ended=True)

    def _start_ai(
        self,
        sid: str,
        location: Location,
        state: CallState,
        *,
        reason: str,
        record: dict[str, Any] | None = None,
        opening: str = "",
    ) -> str:
        ctx = self._context(sid, location, state, reason)
        tools = self._tools(sid, location, state)
        reply = self._guard(lambda: self.engine.start(ctx, tools), ctx)
        if opening:
            reply = Reply(f"{opening} {reply.say}", reply.state, reply.action)
        return self._after_turn(sid, location, state, ctx, tools, reply, heard_text=None, record=record)

    # -- the AI loop --------------------------------------------------------------------------------------
    def gather(self, p: CallParams, rev: int | None = None) -> str:
        """One caller turn; `rev` is the number of the state the Gather's TwiML was saved with."""
        sid = p.call_sid
        state = self.states.load(sid, rev=rev)
        if state is None:
            # Expired or unknown call: start over as a fresh inbound call rather than fail.
            return self.inbound(p)
        location = self._location(state)
        heard = Utterance(speech=p.speech, digits=p.digits, confidence=p.confidence)
        ctx = self._context(sid, location, state, state.reason)
        tools = self._tools(sid, location, state)
        if state.turn >= MAX_TURNS:
            reply = self._too_long(tools, state)
        elif heard.speech and revocation.missed_by_understanding(heard.speech, self.now()):
            reply = self._revoked(tools, state)
        else:

            def produce() -> Reply:
                return self.engine.respond(ctx, tools, state.engine, heard)

            if self.engine.slow:
                token = uuid.uuid4().hex[:16]
                answer = self._within_hold(sid, token, produce, ctx, tools)
                if answer is None:
                    state.pending = PendingTurn(token, heard.speech, heard.digits, heard.confidence)
                    self.states.save(sid, state)
                    return twiml.hold(
                        HOLDING_LINE, redirect=self.url(f"/voice/gather/wait?turn={token}&rev={state.rev}")
                    )
                reply = answer
            else:
                reply = self._guard(produce, ctx)
        return self._after_turn(sid, location, state, ctx, tools, reply, heard_text=heard.transcript)

    def _within_hold(
        self, sid: str, token: str, produce: Callable[[], Reply], ctx: CallContext, tools: StoreTools
    ) -> Reply | None:
        """The turn's reply if it is ready within `hold_after_s`; else None, and the turn lands in Redis later."""
        lock = threading.Lock()
        box: dict[str, Any] = {}

        def work() -> None:
            reply = self._guard(produce, ctx)
            with lock:
                box["reply"] = reply
                late = box.get("late", False)
            if late:
                # What it did stands even if the wait route gives up on it: record its events on the call now.
                self._merge_events(sid, tools.events)
                body = {
                    "say": reply.say,
                    "state": reply.state,
                    "action": reply.action,
                    "events": tools.events,
                    "patient_id": tools.patient_id,
                }
                try:
                    self.redis.set(keys.pending_turn(sid, token), json.dumps(body), ex=120)
                except (redis.RedisError, OSError):
                    log.warning("call %s: could not hand a slow turn to the wait route", sid)

        thread = threading.Thread(target=work, name=f"turn-{sid[-8:]}", daemon=True)
        thread.start()
        thread.join(self.hold_after_s)
        with lock:
            reply: Reply | None = box.get("reply")
            if reply is None:
                box["late"] = True
                log.info("call %s: slow turn, holding line", sid)
        return reply

    def gather_wait(self, p: CallParams, token: str, rev: int | None = None) -> str:
        """After the holding line: the slow turn's result, or the fallback's answer once `wait_s` has passed."""
        sid = p.call_sid
        state = self.states.load(sid, rev=rev)
        if state is None:
            return self.inbound(p)
        pending = state.pending
        location = self._location(state)
        if (
            pending is None or pending.token != token
        ):  # a retried or stale redirect: ask again rather than guess
            return twiml.listen(
                "Sorry, could you say that again?",
                action=self._gather_url(state),
                on_silence=self._gather_url(state),
            )
        raw = None
        deadline = time.monotonic() + self.wait_s
        while True:
            try:
                raw = self.redis.get(keys.pending_turn(sid, token))
            except (redis.RedisError, OSError):
                raw = None
            if raw is not None or time.monotonic() >= deadline:
                break
            time.sleep(0.05)
        state.pending = None
        heard = Utterance(speech=pending.speech, digits=pending.digits, confidence=pending.confidence)
        ctx = self._context(sid, location, state, state.reason)
        tools = self._tools(sid, location, state)
        if raw is not None:
            done = json.loads(raw)
            try:
                self.redis.delete(keys.pending_turn(sid, token))
            except (redis.RedisError, OSError):
                pass  # it expires on its own
            if done.get("patient_id") and not state.patient_id:
                state.patient_id = done["patient_id"]
                tools = self._tools(sid, location, state)
            tools.events.extend(done.get("events") or [])
            reply = Reply(done["say"], done["state"], done["action"])
        else:
            log.warning("call %s: slow turn gave up; the fallback answers", sid)
            engine_state = state.engine
            reply = self._guard(lambda: self.engine.fallback_turn(ctx, tools, engine_state, heard), ctx)
        return self._after_turn(sid, location, state, ctx, tools, reply, heard_text=heard.transcript)

    def _record_turn(
        self,
        sid: str,
        state: CallState,
        tools: StoreTools,
        reply: Reply,
        heard_text: str | None,
        record: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Keep the engine's state, the tools' events and the turn itself; returns the call's facts."""
        state.engine = reply.state
        if tools.patient_id and not state.patient_id:
            state.patient_id = tools.patient_id
        state.verified = sorted(tools.verified)
        for event in tools.events:
            _apply_event(state.facts, event)
        seq = state.turn
        state.turn = seq + 1
        route = "emergency" if state.facts.get("emergency") else None
        state.record(
            callrecord.turn(
                sid,
                seq,
                heard_text or "",
                reply.say,
                dict(state.facts),
                state.patient_id,
                route,
                self.now(),
                record,
            )
        )
        return state.facts

    def _after_turn(
        self,
        sid: str,
        location: Location,
        state: CallState,
        ctx: CallContext,
        tools: StoreTools,
        reply: Reply,
        heard_text: str | None,
        record: dict[str, Any] | None = None,
    ) -> str:
        self._record_turn(sid, state, tools, reply, heard_text, record)
        if reply.action == "transfer":
            return self._transfer(sid, location, state, ctx.is_open, reply.say)
        if reply.action == "hangup":
            self.states.save(sid, state, ended=True)
            return twiml.say_and_hangup(reply.say)
        if location.transport == "relay" and self.engine.slow and heard_text is None:
            # The greeting (written in code) opens a ConversationRelay session; the websocket takes it from here.
            self.states.save(sid, state)
            ws_base = "ws" + self.base_url[len("http") :]
            return twiml.relay(
                url=f"{ws_base}/voice/relay?call={sid}",
                action=self.url("/voice/relay/end"),
                greeting=reply.say,
            )
        self.states.save(sid, state)
        return twiml.listen(reply.say, action=self._gather_url(state), on_silence=self._gather_url(state))

    def _gather_url(self, state: CallState) -> str:
        """The next turn's webhook, naming the state it needs (`CallStates.load`)."""
        return self.url(f"/voice/gather?rev={state.rev}")

    def _transfer(self, sid: str, location: Location, state: CallState, is_open: bool, say: str) -> str:
        if is_open and location.staff_numbers:
            state.transfer_reason = "asked_for_person"
            self.states.save(sid, state)
            return twiml.transfer(
                say,
                location.staff_numbers,
                whisper=self.url(f"/voice/whisper?call={sid}"),
                action=self.url("/voice/transfer-result"),
            )
        self._tools(sid, location, state).queue_callback("caller asked for a person", "normal")
        _apply_event(state.facts, {"action": "callback"})
        state.record(callrecord.facts(sid, dict(state.facts)))
        self.states.save(sid, state, ended=True)
        return twiml.say_and_hangup(
            "Nobody can come to the phone right now, so I've asked our team to call "
            f"you back. Our hours are {location.hours.describe()}. Goodbye."
        )

    # -- ConversationRelay ------------------------------------------------------------------------------
    def relay_turn(
        self, sid: str, heard: Utterance, on_text: Callable[[str], None] | None = None
    ) -> Reply | None:
        """One caller turn over the relay websocket; None when the call is unknown or already over."""
        state = self.states.load(sid)
        if state is None or state.ended:
            return None
        location = self._location(state)
        ctx = self._context(sid, location, state, state.reason)
        tools = self._tools(sid, location, state)
        if state.turn >= MAX_TURNS:
            reply = self._too_long(tools, state)
        else:
            engine_state = state.engine
            reply = self._guard(
                lambda: self.engine.respond(ctx, tools, engine_state, heard, on_text=on_text), ctx
            )
        self._record_turn(sid, state, tools, reply, heard.transcript)
        state.handoff = reply.action if reply.action != "listen" else None
        self.states.save(sid, state)
        return reply

    def relay_interrupted(self, sid: str, heard_of_reply: str) -> None:
        """The caller talked over the reply: the engine's history keeps only what they heard."""
        state = self.states.load(sid)
        if state is None:
            return
        state.engine = self.engine.interrupted(state.engine, heard_of_reply)
        self.states.save(sid, state)

    def relay_end(self, p: CallParams) -> str:
        """The `<Connect action>`: the relay session ended; transfer, hang up, or carry on with the Gather loop."""
        sid = p.call_sid
        state = self.states.load(sid)
        if state is None:
            return twiml.hangup()
        try:
            handoff = json.loads(p.handoff_data or "{}")
        except ValueError:
            handoff = {}
        wanted = handoff.get("action") if isinstance(handoff, dict) else None
        location = self._location(state)
        if wanted == "transfer" and state.handoff == "transfer":
            return self._transfer(sid, location, state, location.is_open(self.now()), "")
        if wanted == "hangup" or state.handoff == "hangup":
            self.states.save(sid, state, ended=True)
            return twiml.hangup()
        # The session dropped (an error on Twilio's side): the caller goes on in the Gather loop.
        log.warning("call %s: relay session ended without a handoff; continuing with Gather", sid)
        self.states.save(sid, state)
        return twiml.listen(
            "Sorry about that. How can I help?",
            action=self._gather_url(state),
            on_silence=self._gather_url(state),
        )

    # -- warm transfer ------------------------------------------------------------------------------------
    def whisper(self, p: CallParams, parent_sid: str) -> str:
        state = self.states.load(parent_sid) or CallState()
        reason = state.transfer_reason or state.reason
        try:
            text = whisper_text(self.store, state.patient_id, reason, self._location(state).today(self.now()))
        except SQLAlchemyError:
            text = f"A caller is on the line. {PRESS_ONE}"
        return twiml.whisper(text, action=self.url(f"/voice/whisper/answer?call={parent_sid}"))

    def whisper_answer(self, p: CallParams, parent_sid: str) -> str:
        state = self.states.load(parent_sid)
        accepted = p.digits == "1"
        if state is not None:
            state.transfer = "accepted" if accepted else "declined"
            self.states.save(parent_sid, state)
        if accepted:
            return twiml.connect()
        return twiml.say_and_hangup("All right. The assistant will look after the caller.")

    def transfer_result(self, p: CallParams) -> str:
        sid = p.call_sid
        state = self.states.load(sid)
        status = p.dial_call_status
        if state is None:
            return (
                twiml.hangup()
                if status in ACCEPTED
                else twiml.say_and_hangup(
                    "I'm sorry, nobody could take your call. Please try again in a few minutes. Goodbye."
                )
            )
        location = self._location(state)
        if status in ACCEPTED and state.transfer != "declined":
            result = "accepted"
        elif state.transfer == "declined":
            result = "declined"
        else:
            result = status if status in ("busy", "no-answer") else "no-answer"
        state.record(callrecord.update(sid, {"transfer": result, "transfer_seconds": p.dial_call_duration}))
        state.transfer = result
        if result == "accepted":
            self.states.save(sid, state, ended=True)
            return twiml.hangup()
        priority = "high" if state.tier == "high" else "normal"
        queue_callback(
            self.store,
            call_sid=sid,
            patient_id=state.patient_id,
            phone=state.caller,
            location_id=location.id,
            reason=f"transfer {result}",
            priority=priority,
        )
        _apply_event(state.facts, {"action": "callback", "priority": priority})
        log.info("call %s: transfer %s, AI takes over", sid, result)
        state.reason = "transfer_failed"
        return self._start_ai(sid, location, state, reason="transfer_failed")

    # -- status callbacks ---------------------------------------------------------------------------------
    def status(self, p: CallParams, *, journal_drained: bool = False) -> bool:
        """Apply one status callback; False when it must wait in the backlog (`statuses.py`) instead.

        A final status sums up the call's outcome, so its journal must be in SQL first: this drains it without
        waiting, and if another drain holds the journal (or Redis is unreachable) the callback waits for the
        worker, which applies the backlog after its own drain (`journal_drained`). The status moves only
        forward, in one conditional UPDATE, so simultaneous callbacks cannot leave an earlier one standing.
        Raises `SQLAlchemyError` when SQL cannot take the write (the caller queues the callback)."""
        leg, parent = p.leg_sid, p.call
        status, sequence, final = p.call_status, p.status_sequence, p.is_parent_leg and p.is_final
        if final and not journal_drained and not self._drain_now():
            return False
        with self.store.session() as session:
            try:
                with session.begin_nested():
                    session.add(
                        CallEvent(
                            call_sid=parent,
                            leg_sid=leg,
                            status=status,
                            sequence=sequence,
                            duration_seconds=p.call_duration,
                        )
                    )
            except IntegrityError:
                log.info("call %s: duplicate status callback ignored", parent)
            else:
                self._apply_status(session, p)
        if final:
            self.outcomes.call_ended(parent)  # keyed by CallSid: a repeated callback adds nothing
        return True

    def _apply_status(self, session: Session, p: CallParams) -> None:
        parent, status, sequence = p.call, p.call_status, p.status_sequence
        if session.get(Call, parent) is None:
            try:
                with session.begin_nested():
                    session.add(
                        Call(
                            sid=parent,
                            direction="outbound" if p.outbound else "inbound",
                            status="queued",
                            status_sequence=-1,
                            facts={},
                        )
                    )
            except IntegrityError:
                pass  # a simultaneous callback (or the journal) created it first
        if p.is_parent_leg:
            session.execute(
                update(Call)
                .where(Call.sid == parent, forward(status, sequence))
                .values(status=status, status_sequence=sequence)
                .execution_options(synchronize_session=False)
            )
        if p.is_parent_leg and p.is_final:
            changes: dict[str, Any] = {}
            if p.call_duration is not None:
                changes["duration_seconds"] = p.call_duration
            session.execute(
                update(Call)
                .where(Call.sid == parent, Call.ended_at.is_(None))
                .values(ended_at=self.now(), state=None, **changes)
                .execution_options(synchronize_session=False)
            )
            facts = session.scalar(select(Call.facts).where(Call.sid == parent)) or {}
            session.execute(
                update(Call)
                .where(Call.sid == parent, Call.outcome.is_(None))
                .values(outcome=_summary(facts, status))
                .execution_options(synchronize_session=False)
            )

    # -- outcome (the simulator's view) -------------------------------------------------------------------
    def outcome(self, sid: str) -> dict[str, Any] | None:
        self._drain()
        with self.store.sessions() as session:
            call = session.get(Call, sid)
            if call is None:
                return None
            turns = session.scalars(
                select(CallTurn).where(CallTurn.call_sid == sid).order_by(CallTurn.seq)
            ).all()
            facts = dict(call.facts or {})
            return {
                "call_sid": sid,
                "route": call.route,
                "transfer": call.transfer,
                "appointment": facts.get("appointment"),
                "opted_out": bool(facts.get("opted_out")),
                "message_taken": bool(facts.get("message_taken")),
                "callback_queued": bool(facts.get("callback_queued")),
                "emergency": bool(facts.get("emergency")),
                "messages": list(facts.get("messages") or []),
                "callbacks": list(facts.get("callbacks") or []),
                "triage": facts.get("triage"),
                "identity": facts.get("identity"),
                "language": facts.get("language") or "en",
                "turns": [{"caller": t.caller, "receptionist": t.receptionist} for t in turns],
            }

    # -- helpers ------------------------------------------------------------------------------------------
    def _revoked(self, tools: StoreTools, state: CallState) -> Reply:
        """A revocation in words the engines' model does not know ("leave me alone", "no me llamen":
        `conversation.revocation.missed_by_understanding`), honoured in code like the engines' own opt-out:
        every channel, at once, an apology and goodbye. Texts and calls share the one understanding."""
        tools.opt_out()
        said = lines(state.language)
        return Reply(
            f"{said.say('opted_out_sorry')} {said.say('goodbye', practice=clean(self.practice.name))}",
            state.engine,
            "hangup",
        )

    def _too_long(self, tools: StoreTools, state: CallState) -> Reply:
        """A call that has gone on for MAX_TURNS turns ends with a callback rather than loop forever."""
        tools.queue_callback("long call without resolution", "normal")
        return Reply(
            "I'm going to have one of our team call you back to finish this. Thank you for calling. Goodbye.",
            state.engine,
            "hangup",
        )

    def _location(self, state: CallState) -> Location:
        for location in self.practice.locations:
            if location.id == state.location_id:
                return location
        return self.practice.main

    def _context(self, sid: str, location: Location, state: CallState, reason: str) -> CallContext:
        now = self.now()
        first = state.first_name
        if first is None and state.patient_id:
            try:  # one column, not the whole patient: this runs on the caller's first turn
                with self.store.engine.connect() as conn:
                    first = (
                        conn.scalar(select(Patient.first_name).where(Patient.id == state.patient_id)) or ""
                    )
            except SQLAlchemyError:
                first = ""
            state.first_name = first
        return CallContext(
            call_sid=sid,
            facts=PracticeFacts.of(self.practice, location),
            now=location.local_time(now),
            is_open=location.is_open(now),
            caller_phone=state.caller,
            patient_id=state.patient_id,
            first_name=first or None,
            reason=reason,
            direction=state.direction,
            practice=self.practice,
            location=location,
            language=state.language,
        )

    def _tools(self, sid: str, location: Location, state: CallState) -> StoreTools:
        return StoreTools(
            self.store,
            location,
            call_sid=sid,
            caller_phone=state.caller,
            patient_id=state.patient_id,
            now=self.now,
            practice=self.practice,
            verified=state.verified,
            on_phones_change=self._phones_changed,
            on_opt_out=self._opted_out,
            on_slot_opened=self.slot_opened,
        )

    def _opted_out(self, patient_id: str) -> None:
        """ "Stop calling me" on a call: every reactivation attempt still waiting for this patient is dropped."""
        opt_out(self.store, [patient_id], how="call", now=self.now())

    def _guard(self, produce: Callable[[], Reply], ctx: CallContext) -> Reply:
        try:
            return produce()
        except Exception:  # the caller always hears something sensible
            log.exception("call %s: conversation engine failed", ctx.call_sid)
            if ctx.is_open:
                return Reply(
                    "I'm sorry, I'm having trouble. Let me put you through to our front desk.", {}, "transfer"
                )
            return Reply(
                "I'm sorry, I'm having trouble right now. Please call again during our opening hours: "
                f"{ctx.facts.hours_text}. Goodbye.",
                {},
                "hangup",
            )

    def _store_down(self, location: Location, is_open: bool) -> str:
        if is_open and location.staff_numbers:
            return twiml.transfer(
                "Thank you for calling. One moment while I connect you.",
                location.staff_numbers,
                whisper=self.url("/voice/whisper?call="),
                action=self.url("/voice/transfer-result"),
            )
        return twiml.say_and_hangup(
            f"Thank you for calling {self.practice.name}. We can't take your call right now. Our hours are "
            f"{location.hours.describe()}. Please call again then. Goodbye."
        )

    def _merge_events(self, sid: str, events: list[dict[str, Any]]) -> None:
        """A late turn's events, written on their own (the wait route has saved the state by now)."""
        if not events:
            return
        pending = CallState()
        pending.record(callrecord.events(sid, events))
        try:
            self.states.save("", pending)
        except SQLAlchemyError:
            log.exception("call %s: could not record a slow turn's events", sid)

    def _drain_now(self) -> bool:
        """The journal brought into SQL without waiting for anyone; False if that could not be done now."""
        try:
            return journal.drain(self.redis, self.store) is not None
        except (redis.RedisError, OSError):
            log.warning("call journal: Redis unavailable; a final status waits in the backlog")
            return False

    def _drain(self) -> None:
        """Bring SQL up to date with the call journal before reading call records (read your own writes)."""
        try:
            if journal.drain(self.redis, self.store, wait_s=DRAIN_WAIT_S) is None:
                log.warning("call journal: another drain held on; reading what SQL has")
        except (redis.RedisError, OSError):
            log.warning("call journal: Redis unavailable; reading what SQL has")

    def _phones_changed(self) -> None:
        if self.directory.cache is None:
            return
        try:
            self.directory.cache.phones_changed()
        except CacheUnavailable:
            log.warning("tier cache unavailable while a new patient's phone is stored")


def _summary(facts: dict[str, Any], status: str) -> str:
    if facts.get("emergency"):
        return "emergency"
    if facts.get("appointment"):
        return "appointment " + str(facts["appointment"]["action"])
    for key, word in (
        ("opted_out", "opted out"),
        ("message_taken", "message taken"),
        ("callback_queued", "callback queued"),
    ):
        if facts.get(key):
            return word
    return "answered" if status == "completed" else status


def _hash(phone: str) -> str:
    return hashlib.sha256(phone.encode()).hexdigest()[:16]


def _int(value: str | bytes | None) -> int | None:
    try:
        return int(value) if value not in (None, "", b"") else None
    except ValueError:
        return None
