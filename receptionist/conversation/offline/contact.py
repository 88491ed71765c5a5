"""How the caller wants to be reached: per-channel choices recorded on their own record ("text me instead
of calling"), asked for when the caller names none ("can you change how you contact me?")."""

from __future__ import annotations

from typing import TYPE_CHECKING

from receptionist.conversation.nlu import Heard
from receptionist.conversation.nlu.lexicon import lexicon
from receptionist.conversation.nlu.text import tokens
from receptionist.conversation.policy.contact import preferences
from receptionist.conversation.types import Reply, ToolError
from receptionist.wording import spoken

if TYPE_CHECKING:
    from receptionist.conversation.offline.engine import Turn


def heard_preferences(h: Heard) -> dict[str, bool]:
    return preferences(tokens(h.text, lexicon(h.language)).words)


def start(turn: Turn, h: Heard) -> Reply:
    chosen = heard_preferences(h)
    if chosen:
        return record(turn, chosen)
    return turn.ask(turn.line("ask_channel"), "ask_channel")


def on_channel(turn: Turn, h: Heard) -> Reply | None:
    chosen = heard_preferences(h)
    if chosen:
        return record(turn, chosen)
    if h.has("no") or h.has("back_out"):
        return turn.done(turn.line("channel_unchanged"))
    return None  # something else: the engine takes it as a new request


def record(turn: Turn, chosen: dict[str, bool]) -> Reply:
    if turn.tools.patient_id is None:
        words = ", ".join(f"{ch} {'yes' if ok else 'no'}" for ch, ok in chosen.items())
        turn.tools.take_message(f"Contact preferences: {words}", about="message")
        return turn.done(turn.line("channel_passed_on"))
    try:
        for channel, allowed in chosen.items():
            turn.tools.set_contact_preference(channel, allowed)
    except ToolError as error:
        return turn.done(str(error))
    yes = [turn.line(f"channel.{ch}") for ch, ok in chosen.items() if ok]
    no = [turn.line(f"channel.{ch}") for ch, ok in chosen.items() if not ok]
    if no:
        text = turn.line(
            "channel_saved_not", yes=spoken.spoken_list(yes, "and"), no=spoken.spoken_list(no, "or")
        )
    else:
        text = turn.line("channel_saved", yes=spoken.spoken_list(yes, "and"))
    return turn.done(text)
