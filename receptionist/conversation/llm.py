"""The LLM conversation engine: chat completions with tool calling, behind guardrails kept in code.

Per turn: silence, emergencies, opt-outs, medical-advice questions and attempts to steer the assistant are
answered in code before any model sees the words (`guardrails`). Otherwise the model gets its system prompt
(`prompts/`, with the practice's facts and what this call has established), the trimmed history and the
caller's words, and may call tools (`llm_tools`) for up to `MAX_TOOL_ROUNDS` rounds. The whole turn has a
deadline; a timeout, a rate limit, a server error, a dropped connection or tool calls that stay wrong make
the offline engine answer that turn instead, so the caller always hears something in time.

Everything lives in `Reply.state` (JSON, kept per call in Redis): the history (last `MAX_HISTORY` messages,
each at most `MAX_CHARS`), the slot and appointment ids the model was shown, whether the caller's identity is
confirmed, and the offline engine's own state under `"offline"`. Logs name the call sid, never words.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

import openai

from receptionist.conversation import guardrails, prompts
from receptionist.conversation.llm_tools import SPECS, Executor
from receptionist.conversation.nlu import Heard
from receptionist.conversation.offline import ADVICE, OfflineEngine
from receptionist.conversation.policy.family import FAMILY, match_member, members_like
from receptionist.conversation.types import CallContext, Reply, Tools, Utterance
from receptionist.wording import calls, spoken
from receptionist.wording.calls import HOW_CAN_I_HELP, goodbye
from receptionist.wording.lines import lines

log = logging.getLogger(__name__)

MAX_HISTORY = 12
MAX_CHARS = 500
MAX_TOOL_ROUNDS = 3
MAX_SILENCES = 2
ANYTHING_ELSE = "Is there anything else I can help with?"


class _Fallback(Exception):
    """This turn goes to the offline engine; the message is a short reason for the log."""


class LLMEngine:
    """An `Engine` over an OpenAI-compatible chat completions API (`client`), with `fallback` for bad turns."""

    def __init__(
        self,
        client: openai.OpenAI,
        model: str,
        *,
        timeout_s: float = 6.0,
        fallback: OfflineEngine | None = None,
        temperature: float = 0.2,
    ) -> None:
        self.client = client
        self.model = model
        self.timeout_s = timeout_s
        self.fallback = fallback or OfflineEngine()
        self.temperature = temperature

    slow = True  # a model turn can take seconds: the flow holds the line and falls back in time

    # -- the greeting: always in code ---------------------------------------------------------------------
    def start(self, ctx: CallContext, tools: Tools) -> Reply:
        """The automated-assistant disclosure and the first question, written here, never by the model."""
        practice, first = ctx.facts.practice_name, ctx.first_name
        if ctx.direction == "outbound":
            say = calls.outbound_opener(practice, first, "Would you like to book a cleaning?")
        elif ctx.reason == "transfer_failed":
            say = calls.transfer_failed_greeting(practice, first)
        else:
            say = calls.inbound_greeting(practice, first, is_open=ctx.is_open, hours=ctx.facts.hours_text)
        st: dict[str, Any] = {"v": 1, "history": [], "offline": {}}
        _remember(st, "assistant", say)
        return Reply(say, st, "listen")

    # -- one turn -----------------------------------------------------------------------------------------
    def respond(
        self,
        ctx: CallContext,
        tools: Tools,
        state: dict[str, Any],
        heard: Utterance,
        on_text: Callable[[str], None] | None = None,
    ) -> Reply:
        """One caller turn. `on_text` (streaming transports) receives the model's words as they arrive."""
        st = json.loads(json.dumps(state or {}))
        st.setdefault("history", [])
        st.setdefault("offline", {})
        if st.get("done"):
            return self._reply(st, goodbye(ctx.direction), "hangup")
        if heard.is_silence:
            return self._silence(ctx, tools, st)
        st["silences"] = 0
        said = (heard.speech or "").strip()[:MAX_CHARS] or f"(pressed {heard.digits})"
        guard, h = guardrails.inspect(heard, ctx.now)
        if guard == "emergency":
            return self._emergency(ctx, tools, st, said)
        if guard == "opt_out":
            return self._opt_out(ctx, tools, st, said)
        if guard in ("injection", "other_patient"):
            log.info("call %s: steering attempt refused in code", ctx.call_sid)
            return self._reply(st, f"{self._line(ctx, 'steering')} {ANYTHING_ELSE}")
        someone_else = guard == "someone_else" and not _family_on_file(tools, h)
        if guard == "urgent" or someone_else or OfflineEngine.holds(st["offline"]):
            # triage and first aid, and a person not in the caller's family on file, are policy in code:
            # the offline engine takes the turn, and keeps the ones that answer its questions
            return self.fallback_turn(ctx, tools, st, heard)
        if guard == "advice":
            _remember(st, "user", said)
            return self._reply(st, ADVICE)
        try:
            return self._model_turn(ctx, tools, st, said, on_text)
        except _Fallback as why:
            log.warning("call %s: LLM turn failed (%s); the offline engine answers", ctx.call_sid, why)
            return self.fallback_turn(ctx, tools, st, heard)

    def fallback_turn(self, ctx: CallContext, tools: Tools, state: dict[str, Any], heard: Utterance) -> Reply:
        """The offline engine answers this turn; the history still records it for the model's next turn."""
        st = json.loads(json.dumps(state or {}))
        st.setdefault("history", [])
        reply = self.fallback.respond(ctx, tools, st.get("offline") or {}, heard)
        st["offline"] = reply.state
        if reply.action == "hangup":
            st["done"] = True
        said = (heard.speech or "").strip()[:MAX_CHARS] or (
            f"(pressed {heard.digits})" if heard.digits else ""
        )
        if said:
            _remember(st, "user", said)
        return self._reply(st, reply.say, reply.action)

    def interrupted(self, state: dict[str, Any], heard_of_reply: str) -> dict[str, Any]:
        """The caller cut the last reply short: the history keeps only what they heard (ConversationRelay)."""
        st = json.loads(json.dumps(state or {}))
        history = st.get("history", [])
        if history and history[-1]["role"] == "assistant":
            heard = spoken.clean(heard_of_reply)[:MAX_CHARS]
            if heard:
                history[-1]["content"] = heard + " (interrupted)"
            else:
                history.pop()
        return st

    @staticmethod
    def _line(ctx: CallContext, key: str) -> str:
        return lines(ctx.language).say(key)

    # -- the model ----------------------------------------------------------------------------------------
    def _model_turn(
        self,
        ctx: CallContext,
        tools: Tools,
        st: dict[str, Any],
        said: str,
        on_text: Callable[[str], None] | None,
    ) -> Reply:
        deadline = time.monotonic() + self.timeout_s
        if "family" not in st:  # first names only: what the caller needs to book for them
            st["family"] = [m.first_name for m in tools.caller().family if m.first_name][:8]
        executor = Executor(ctx, tools, st)
        messages: list[dict[str, Any]] = [{"role": "user", "content": said}]
        for _round in range(MAX_TOOL_ROUNDS + 1):
            system = {"role": "system", "content": system_prompt(ctx, st)}
            text, calls = self._complete([system, *st["history"], *messages], deadline, on_text)
            if not calls:
                say = spoken.clean(text)[: MAX_CHARS * 2]
                if not say:
                    raise _Fallback("empty reply")
                return self._finish(st, said, say, "listen")
            if _round == MAX_TOOL_ROUNDS:
                break
            messages.append(
                {
                    "role": "assistant",
                    "content": text or None,
                    "tool_calls": [
                        {
                            "id": c["id"],
                            "type": "function",
                            "function": {"name": c["name"], "arguments": c["arguments"]},
                        }
                        for c in calls
                    ],
                }
            )
            for call in calls:
                result = executor.run(call["name"], call["arguments"])
                messages.append({"role": "tool", "tool_call_id": call["id"], "content": json.dumps(result)})
            if executor.action == "transfer":
                say = spoken.clean(text) or "Let me put you through to our front desk."
                return self._finish(st, said, say, "transfer")
            if executor.action == "hangup":
                say = spoken.clean(text) or goodbye(ctx.direction)
                st["done"] = True
                return self._finish(st, said, say, "hangup")
        raise _Fallback(f"no answer after {MAX_TOOL_ROUNDS} tool rounds ({executor.errors} rejected)")

    def _complete(
        self, messages: list[dict[str, Any]], deadline: float, on_text: Callable[[str], None] | None
    ) -> tuple[str, list[dict[str, str]]]:
        """One streamed completion: (text, tool calls), within the turn's deadline."""
        remaining = deadline - time.monotonic()
        if remaining < 0.2:
            raise _Fallback("deadline")
        try:
            stream = self.client.chat.completions.create(
                model=self.model,
                messages=messages,
                tools=SPECS,
                temperature=self.temperature,
                stream=True,
                timeout=remaining,
            )
            parts: list[str] = []
            calls: dict[int, dict[str, str]] = {}
            with stream:
                for chunk in stream:
                    if time.monotonic() > deadline:
                        raise _Fallback("deadline while streaming")
                    if not chunk.choices:
                        continue
                    delta = chunk.choices[0].delta
                    if delta.content:
                        parts.append(delta.content)
                        if on_text is not None and not calls:
                            on_text(delta.content)
                    for tc in delta.tool_calls or []:
                        slot = calls.setdefault(tc.index, {"id": "", "name": "", "arguments": ""})
                        if tc.id:
                            slot["id"] = tc.id
                        if tc.function is not None:
                            slot["name"] += tc.function.name or ""
                            slot["arguments"] += tc.function.arguments or ""
        except _Fallback:
            raise
        except Exception as error:  # noqa: BLE001 - timeouts, 429, 5xx, dropped or garbled streams: the model failed
            raise _Fallback(type(error).__name__) from None
        for index, call in calls.items():
            call["id"] = call["id"] or f"call_{index}"
        return "".join(parts), [calls[i] for i in sorted(calls)]

    # -- code answers -------------------------------------------------------------------------------------
    def _silence(self, ctx: CallContext, tools: Tools, st: dict[str, Any]) -> Reply:
        st["silences"] = st.get("silences", 0) + 1
        if st["silences"] >= MAX_SILENCES:
            try:
                tools.queue_callback("caller could not be heard", "normal")
            except Exception:  # the goodbye matters more
                log.exception("call %s: callback for a silent caller failed", ctx.call_sid)
            st["done"] = True
            return self._reply(
                st,
                "I'm sorry, I can't hear you. I'll have someone from our team call you back. Goodbye.",
                "hangup",
            )
        return self._reply(st, f"Sorry, I didn't catch that. {HOW_CAN_I_HELP}")

    def _emergency(self, ctx: CallContext, tools: Tools, st: dict[str, Any], said: str) -> Reply:
        say = self._line(ctx, "emergency_911")
        try:
            tools.flag_emergency(f"Caller reported an emergency: {said}"[:300])
            say += " " + self._line(ctx, "emergency_alerted")
        except Exception:  # the caller must hear the instruction whatever happens
            log.exception("call %s: could not flag an emergency", ctx.call_sid)
        st["done"] = True
        return self._reply(st, say, "hangup")

    def _opt_out(self, ctx: CallContext, tools: Tools, st: dict[str, Any], said: str) -> Reply:
        if st.get("opted_out"):
            confirm = "You're already off our list: we won't call, text or email you again."
        else:
            try:
                tools.opt_out()
                confirm = "Done: we won't call, text or email you again."
            except Exception:  # an opt-out is never lost
                log.exception("call %s: opt-out failed; passed on as a message", ctx.call_sid)
                tools.take_message("The caller asked us to stop all calls, texts and emails.")
                confirm = (
                    "I couldn't update that myself, so I've asked our team to make sure we don't call, text "
                    "or email you again."
                )
            st["opted_out"] = True
        _remember(st, "user", said)
        return self._reply(st, f"{confirm} {ANYTHING_ELSE}")

    def _finish(self, st: dict[str, Any], said: str, say: str, action: str) -> Reply:
        _remember(st, "user", said)
        return self._reply(st, say, action)

    @staticmethod
    def _reply(st: dict[str, Any], say: str, action: str = "listen") -> Reply:
        say = spoken.clean(say) or "Sorry, could you say that again?"
        _remember(st, "assistant", say)
        return Reply(
            say,
            json.loads(json.dumps(st)),
            action if action in ("listen", "transfer", "hangup") else "listen",
        )


def _remember(st: dict[str, Any], role: str, content: str) -> None:
    history = st.setdefault("history", [])
    history.append({"role": role, "content": content[:MAX_CHARS]})
    del history[:-MAX_HISTORY]


def system_prompt(ctx: CallContext, st: dict[str, Any]) -> str:
    """The situation's prompt with the practice's facts, then what this call has established (ids included)."""
    name = prompts.name_for(ctx.direction, ctx.reason, known=ctx.patient_id is not None, is_open=ctx.is_open)
    first = spoken.first_name_for_speech(ctx.first_name)
    text = prompts.render(
        name,
        practice_name=spoken.clean(ctx.facts.practice_name),
        location_name=spoken.clean(ctx.facts.location_name),
        address=spoken.clean(ctx.facts.address),
        hours=spoken.clean(ctx.facts.hours_text),
        today=ctx.now.strftime("%A %Y-%m-%d, %H:%M"),
        caller=first or "a caller whose name we do not know yet",
        open_or_closed="open" if ctx.is_open else "closed",
    )
    lines = [f"Identity confirmed: {'yes' if st.get('identified') else 'no'}."]
    if st.get("family"):
        names = ", ".join(spoken.clean(n) for n in st["family"])
        lines.append(f"Family members on the caller's record (use for_person): {names}.")
    if st.get("opted_out"):
        lines.append("The caller has opted out of all outreach.")
    if st.get("slots"):
        lines.append(
            "Open slots offered in this call: "
            + "; ".join(f"slot_id {s['id']} ({s['kind']}): {s['when']}" for s in st["slots"])
            + "."
        )
    if st.get("appts") and st.get("identified"):
        lines.append(
            "The caller's appointments: "
            + "; ".join(f"appointment_id {a['id']}: {a['when']}" for a in st["appts"])
            + "."
        )
    return text + "\n\nThis call so far:\n" + "\n".join(lines)


def _family_on_file(tools: Tools, h: Heard) -> bool:
    """Whether everyone the turn is about is in the caller's family on file (the model may then help, with
    `for_person` and an identity check per person); anyone else is the offline engine's to refuse or add."""
    if tools.patient_id is None:
        return False
    caller = tools.caller()
    if h.entities.whose is not None and match_member(caller, h.entities.whose.split()[0]) is None:
        return False
    for person in h.entities.for_whom:
        if person.relation == "self":
            continue
        if person.relation not in FAMILY:
            return False
        if person.name is not None:
            if match_member(caller, person.name) is None:
                return False
        elif not members_like(caller, person):
            return False
    return True
