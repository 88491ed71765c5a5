"""Whether a patient's words revoke consent to be contacted (FCC 24-18, in force 11 April 2025: "any
reasonable means"), for texts and calls alike: pure, no I/O once loaded.

A message revokes when any of these hold:
1. it is a carrier opt-out keyword, alone ("STOP", "Stop.", "unsubscribe", "STOP ALL": `is_stop`);
2. the conversation's own understanding hears the `opt_out` intent in it (`nlu.understand`, the model calls
   use);
3. it holds one of the wordings in `receptionist/languages/<code>/revocations.txt` (English idioms the model
   misses, and Spanish, which has no intent corpus yet), as consecutive words after the model's normalising,
   accents folded;
and, for 2 and 3, the words ask for no other channel ("stop texting me, call me instead" is a preference,
kept by the conversation, not a revocation).
A revocation covers every channel and every purpose (COMPLIANCE.md); the caller acts on it (the SMS webhook,
the call flow: `outreach.optout`). It lives here, beside the understanding it reuses, so texts and calls
share one answer.

Measured on this shared 2-core machine while a test run used it too: about 10 ms a text once the intent
model is trained (its first use trains it, 7.8 s of CPU, unless the process warmed it); a webhook answer,
far inside Twilio's 15 s.
"""

from __future__ import annotations

import datetime as dt
import functools
import unicodedata

from receptionist.conversation import nlu
from receptionist.conversation.nlu.language import detect
from receptionist.conversation.nlu.lexicon import data_file, lexicon
from receptionist.conversation.nlu.text import tokens
from receptionist.conversation.policy.contact import preferences

MAX_CHARS = 600  # what the understanding reads of one message, like a call turn
LANGUAGES = ("en", "es")
STOP_WORDS = {
    "stop",
    "stopall",
    "quit",
    "end",
    "revoke",
    "opt out",
    "optout",
    "cancel",
    "unsubscribe",
    "stop calling",
    "stop texting",
    "remove",
    "remove me",
}


def is_stop(text: str | None) -> bool:
    """The carrier-standard stop keywords and their obvious variants, alone in the message ("Stop.", "STOP ALL")."""
    plain = " ".join("".join(ch if ch.isalnum() else " " for ch in (text or "").lower()).split())
    return (
        plain in STOP_WORDS
        or plain.replace(" ", "") in STOP_WORDS
        or plain in {"stop all", "stop please", "please stop"}
    )


def _fold(word: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKD", word) if not unicodedata.combining(ch))


def words(text: str, language: str) -> tuple[str, ...]:
    """The message's normalised words (the model's normalising), accents folded, clause marks dropped."""
    return tuple(_fold(w) for w in tokens(text[:MAX_CHARS], lexicon(language)).words if w != ",")


@functools.lru_cache(maxsize=1)
def wordings() -> dict[str, frozenset[tuple[str, ...]]]:
    """The revocation wordings per language, normalised as messages are."""
    out: dict[str, frozenset[tuple[str, ...]]] = {}
    for language in LANGUAGES:
        text = data_file(language, "revocations.txt") or ""
        found = {
            words(line, language) for line in text.splitlines() if line.strip() and not line.startswith("#")
        }
        found.discard(())
        out[language] = frozenset(found)
    return out


def _holds(seq: tuple[str, ...], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    return any(seq[i : i + n] == phrase for i in range(len(seq) - n + 1))


def by_wording(text: str) -> bool:
    """Rule 3 alone: one of the data file's wordings, in either language."""
    table = wordings()
    for language, phrases in table.items():
        seq = words(text, language)
        if any(_holds(seq, p) for p in phrases):
            return True
    return False


def asks_for_channel(text: str) -> bool:
    """Whether the words ask for some channel ("text me instead of calling"): a preference, not a revocation."""
    language = detect(text[:MAX_CHARS])
    return any(preferences(tokens(text[:MAX_CHARS], lexicon(language)).words).values())


def by_understanding(text: str, now: dt.datetime) -> bool:
    """Rule 2 alone: the conversation's intent model hears an opt-out (whatever else the words ask)."""
    return nlu.understand(text[:MAX_CHARS], now=now).has("opt_out")


def missed_by_understanding(text: str, now: dt.datetime) -> bool:
    """A revocation the conversation engines would not hear by themselves (a wording of the data files that
    the model does not label opt_out, asking for no other channel): the call flow honours it in code, and
    leaves every other opt-out to the engines, which already handle theirs."""
    return by_wording(text) and not by_understanding(text, now) and not asks_for_channel(text)


def revokes(text: str | None, now: dt.datetime) -> bool:
    """Whether these words revoke consent (see the module docstring). `now`: aware, for the understanding."""
    body = (text or "").strip()
    if not body:
        return False
    if is_stop(body):
        return True
    return (by_wording(body) or by_understanding(body, now)) and not asks_for_channel(body)
