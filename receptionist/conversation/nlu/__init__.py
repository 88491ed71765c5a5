"""Understanding one caller turn: its language, its intents and its entities, from data files.

    heard = understand("hi, can I move my cleaning to Friday after 3?", now=now, providers=("Dr. Chen",))
    heard.top            -> "reschedule"
    heard.entities.days  -> (date of the coming Friday,)

The intents come from a model trained on `receptionist/languages/<code>/intents.tsv` (see `intents`), the
entities from the closed vocabularies in `lexicon.toml` (see `entities`): no language's words live in
Python. A language without a corpus (Spanish, for now) is still recognised and returned with no intents.

Invariants: `understand` is pure apart from the process-wide model it trains on first use (`warm()` trains
it ahead, and takes a folder for a cache of plain arrays); it reads no clock (`now` is given: aware, the
practice's local time) and does no I/O once warm.

Measured (tests/test_nlu_speed.py, 500 corpus lines after `warm()`, CPU time by `time.process_time` per
call on this shared 2-core machine): p50 0.45-0.7 ms, p95 0.7-1.2 ms across runs; of a typical turn's
0.45 ms, language detection takes 0.01, normalising 0.03, the intent model 0.18 and the entities 0.16.
A turn with a calendar date pays about 1 ms more for dateparser the first time that span is read.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from receptionist.conversation.nlu import intents as _intents
from receptionist.conversation.nlu import language as _language
from receptionist.conversation.nlu import when as _when
from receptionist.conversation.nlu.entities import (
    CallerName,
    DateSpan,
    Entities,
    OfferRef,
    Person,
    ProviderRef,
    Symptom,
    TimeWindow,
    extract,
)
from receptionist.conversation.nlu.lexicon import lexicon
from receptionist.conversation.nlu.people import whose
from receptionist.conversation.nlu.text import tokens

__all__ = [
    "EXPECTING",
    "CallerName",
    "DateSpan",
    "Entities",
    "Heard",
    "OfferRef",
    "Person",
    "ProviderRef",
    "Symptom",
    "TimeWindow",
    "understand",
    "warm",
]

EXPECTING = ("dob", "name", "yes_no", "offer_choice", "message")
"""What the dialogue may say it just asked for: "dob" reads any full date as the date of birth (a two-digit
year taken in the past); "name" reads the turn's leading name-like words as the caller's name even without
"my name is"; "offer_choice" reads a bare "two", "the second", "Friday" or "10 am" as a pick among the slots
just offered; "yes_no" and "message" change nothing yet (the intents carry yes/no, and a message is text)."""


@dataclass(frozen=True)
class Heard:
    """One turn understood."""

    text: str  # what was heard, as recognised
    language: str  # "en" | "es"
    intents: tuple[
        tuple[str, float], ...
    ] = ()  # (label, probability) over each label's threshold, best first
    entities: Entities = field(default_factory=Entities)  # days, times, people, symptoms, ... (see Entities)

    @property
    def top(self) -> str | None:
        """The most probable intent, or None."""
        return self.intents[0][0] if self.intents else None

    def has(self, label: str) -> bool:
        """Whether `label` is among the intents heard."""
        return any(name == label for name, _ in self.intents)

    def score(self, label: str) -> float:
        """The probability of `label` when it was heard, else 0."""
        return next((p for name, p in self.intents if name == label), 0.0)


def understand(
    text: str,
    *,
    now: dt.datetime,
    language: str | None = None,
    providers: Sequence[str] = (),
    expecting: str | None = None,
) -> Heard:
    """Understand one turn: `language` forces a language (else detected), `providers` are the practice's
    provider names for fuzzy matching, `expecting` is what the dialogue just asked for (see EXPECTING)."""
    if expecting is not None and expecting not in EXPECTING:
        raise ValueError(f"expecting must be one of {EXPECTING}, not {expecting!r}")
    code = language or _language.detect(text or "")
    lex = lexicon(code)
    tok = tokens(text or "", lex)
    model = _intents.model(code)
    # a turn of numbers only ("11-23-75", "3/4/82") carries no intent by its words: it answers a question
    worded = any(w.isalpha() for w in tok.words)
    found = model.predict(tok) if model is not None and worded else ()
    ents = extract(tok, lex, now=now, providers=providers, expecting=expecting)
    named = whose(text or "", lex, providers)
    if named is not None:
        ents = dataclasses.replace(ents, whose=named)
    return Heard(text=text or "", language=code, intents=found, entities=ents)


def warm(languages: Iterable[str] = ("en",), cache: Path | None = None) -> None:
    """Do the first-use work now: train (or load from `cache`) the intent models, load dateparser's and
    the language detector's data."""
    langs = tuple(languages)
    _intents.warm(langs, cache)
    for code in langs:
        lexicon(code)
    _when.warm()
    _language.warm()
