"""Messages and callbacks reach staff: the caller's whole request in their own words (a refill's drug and
pharmacy, a question the FAQ could not answer), kept with a callback on Today."""

from __future__ import annotations

from typing import TYPE_CHECKING

from receptionist.conversation.nlu import Heard
from receptionist.conversation.types import Reply

if TYPE_CHECKING:
    from receptionist.conversation.offline.engine import Turn

# Words that only ask for a message to be taken; a request with fewer than CONTENT other words carries no
# message yet ("Hi, can I leave a message for Dr. Chen?") and the caller is asked what it is.
REQUEST_WORDS = frozenset(
    """i id im a an the to for of can could would will like want wanted need please hi hello
hey yes yeah um uh so just leave message messages pass on tell ask have call me back dr doctor her him them is
it this that there about my with get give quick in if you your be on it's i'd i'm okay ok""".split()
)
CONTENT = 3
PHARMACY = ("pharmacy", "cvs", "walgreens", "rite aid", "giant", "safeway", "costco", "walmart", "target",
            "kroger", "harris teeter", "drugstore", "drug store", "chemist")  # fmt: skip


def start(turn: Turn, name: str, h: Heard) -> Reply:
    st = turn.st
    about = {"refill": "refill", "callback_request": "callback", "billing": "billing"}.get(name, "message")
    st.message_about = about
    st.message = [h.text.strip()]
    providers = turn._providers()
    content = _content_words(h.text, providers)
    if about == "refill":
        if _names_pharmacy(h.text) and content >= 2:
            return _save(turn)
        if content >= CONTENT:
            st.asked_pharmacy = True
            return turn.ask(turn.line("ask_pharmacy"), "message", "message")
        return turn.ask(turn.line("ask_refill"), "message", "message")
    if content >= CONTENT or about == "billing":
        return _save(turn)
    return turn.ask(turn.line("ask_message"), "message", "message")


def _content_words(text: str, providers: tuple[str, ...]) -> int:
    names = {w.lower().strip(".") for p in providers for w in p.split()}
    words = [w.strip(".,!?;:'\"").lower() for w in text.split()]
    return sum(1 for w in words if w and w not in REQUEST_WORDS and w not in names)


def on_message(turn: Turn, h: Heard) -> Reply | None:
    st = turn.st
    text = (turn.utterance.speech or "").strip()
    if not text:
        return turn.reply(turn.line("ask_message"))
    content = _content_words(text, turn._providers())
    closing = (h.has("goodbye") or h.has("thanks") or h.has("no") or h.has("back_out")) and content < CONTENT
    if closing:
        if any(_content_words(m, turn._providers()) >= 1 for m in st.message):
            return _save(turn, closing=True)
        st.message = []
        return turn.done(turn.line("backed_out"))
    if content == 0 and (h.has("yes") or not h.intents):
        return turn.reply(turn.line("go_ahead"))
    st.message.append(text)
    if st.message_about == "refill" and not _names_pharmacy(" ".join(st.message)) and not st.asked_pharmacy:
        st.asked_pharmacy = True
        return turn.ask(turn.line("ask_pharmacy"), "message", "message")
    return _save(turn)


def _save(turn: Turn, closing: bool = False) -> Reply:
    st = turn.st
    body = " ".join(m for m in st.message if m)
    priority = st.message_priority
    turn.tools.take_message(body, about=st.message_about, priority=priority)
    about, st.message, st.message_about, st.message_priority = st.message_about, [], "message", "normal"
    st.asked_pharmacy = False
    if st.language != "en":
        return turn.goodbye(turn.line("message_taken"))
    if about == "vendor":
        return turn.done(turn.line("vendor_taken"))
    if about == "refill":
        return turn.done(turn.line("refill_taken"))
    if about == "billing":
        return turn.done(turn.line("billing"))
    if about == "callback":
        return turn.done(turn.line("callback_taken"))
    return turn.done(turn.line("message_taken"))


def _names_pharmacy(text: str) -> bool:
    low = text.lower()
    return any(word in low for word in PHARMACY)
