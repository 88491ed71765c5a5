"""The offline conversation engine (the default, and the fallback for every LLM turn that fails): understanding
from data (`conversation/nlu`), a dialogue state that listens (`state.py`, `frame.py`), policies shared with
the LLM engine (`conversation/policy`), and lines from the language's wording file.

`OfflineEngine` keeps nothing between turns itself: the dialogue state travels in `Reply.state` (JSON), kept
per call by the call flow. No exception escapes a turn: the caller always hears something sensible.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from receptionist.conversation.offline.engine import Turn, greeting
from receptionist.conversation.offline.state import DialogueState
from receptionist.conversation.types import CallContext, Reply, ToolError, Tools, Utterance
from receptionist.wording.lines import lines

log = logging.getLogger(__name__)

ADVICE = lines("en").say("advice")

__all__ = ["ADVICE", "OfflineEngine"]


class OfflineEngine:
    """`raise_errors=True` (tests only) lets unexpected exceptions through instead of apologising."""

    slow = False  # every turn is answered in a few milliseconds

    def __init__(self, *, raise_errors: bool = False) -> None:
        self.raise_errors = raise_errors

    def start(self, ctx: CallContext, tools: Tools) -> Reply:
        """The greeting (it says it is an automated assistant) and the first question."""
        text, st = greeting(ctx)
        return Reply(text, st.to_json(), "listen")

    def respond(
        self,
        ctx: CallContext,
        tools: Tools,
        state: dict[str, Any],
        heard: Utterance,
        on_text: Callable[[str], None] | None = None,
    ) -> Reply:
        st = DialogueState.from_json(state)
        turn = Turn(ctx, tools, st, heard)
        try:
            return turn.run()
        except ToolError as error:
            st.stage = "anything_else"
            return Reply(f"{error} {lines(st.language).say('anything_else')}", st.to_json(), "listen")
        except Exception:
            if self.raise_errors:
                raise
            log.exception("call %s: offline engine failed on a turn", ctx.call_sid)
            st = DialogueState.from_json(state)
            if ctx.is_open:
                return Reply(
                    "I'm sorry, I'm having trouble with that. Let me put you through to our front desk.",
                    st.to_json(),
                    "transfer",
                )
            st.stage, st.message_about = "message", "message"
            return Reply(
                "I'm sorry, I'm having trouble with that. Please tell me your message, and our team will call "
                "you back.",
                st.to_json(),
                "listen",
            )

    def fallback_turn(self, ctx: CallContext, tools: Tools, state: dict[str, Any], heard: Utterance) -> Reply:
        return self.respond(ctx, tools, state, heard)

    @staticmethod
    def holds(state: dict[str, Any]) -> bool:
        """Whether this state waits on an answer to its own question (a date of birth, "shall I book it?"):
        an engine that handed a turn here hands it the next one too, until the task is done."""
        return DialogueState.from_json(state or {}).stage not in ("menu", "anything_else", "done")

    def interrupted(self, state: dict[str, Any], heard_of_reply: str) -> dict[str, Any]:
        return state  # nothing of the reply is kept in the state
