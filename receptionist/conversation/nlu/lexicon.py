"""A language's closed vocabularies (`receptionist/languages/<code>/lexicon.toml`) as phrase tables.

Invariants: every phrase is stored as a tuple of normalised words (lower case, no apostrophes), exactly as
`text.tokens` produces them, so a lookup is a dictionary probe per start position and length; the longest
phrase wins. A table a language's file lacks is empty, so a language with only marker words (Spanish, for
now) reads as having no entities rather than failing. Loaded once per language and kept (about 3 ms).
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from types import MappingProxyType
from typing import Any

LANGUAGES_PACKAGE = "receptionist.languages"


def words_of(phrase: str) -> tuple[str, ...]:
    """The normalised words of a phrase from a data file: "Thursday's" -> ("thursdays",)."""
    return tuple(phrase.lower().replace("'", "").replace("\u2019", "").split())


@dataclass(frozen=True)
class PhraseTable:
    """Phrases (tuples of words) to values, looked up longest first."""

    entries: Mapping[tuple[str, ...], Any] = field(default_factory=dict)
    longest: int = 0
    firsts: frozenset[str] = frozenset()  # first words of the phrases: most probes end here

    @classmethod
    def of(cls, pairs: Iterable[tuple[str, Any]]) -> PhraseTable:
        entries = {words_of(k): v for k, v in pairs}
        entries.pop((), None)
        longest = max((len(k) for k in entries), default=0)
        return cls(MappingProxyType(entries), longest, frozenset(k[0] for k in entries))

    def match(self, words: list[str] | tuple[str, ...], i: int) -> tuple[int, Any] | None:
        """(length, value) of the longest phrase starting at `words[i]`, or None."""
        if i >= len(words) or words[i] not in self.firsts:
            return None
        for n in range(min(self.longest, len(words) - i), 0, -1):
            value = self.entries.get(tuple(words[i : i + n]))
            if value is not None:
                return n, value
        return None

    def __contains__(self, phrase: object) -> bool:
        return phrase in self.entries

    def vocabulary(self) -> frozenset[str]:
        return frozenset(w for k in self.entries for w in k)


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: one per language, cached
class Lexicon:
    """One language's vocabularies; `table(name)` for key -> value tables, `phrases(name)` for word lists."""

    code: str
    raw: Mapping[str, Any]

    @functools.cached_property
    def marker_words(self) -> frozenset[str]:
        return frozenset(w for p in self.raw.get("language", {}).get("marker_words", []) for w in words_of(p))

    def table(self, name: str) -> PhraseTable:
        """A `[name]` table of phrase = value."""
        return _table(self, name)

    def phrases(self, name: str, key: str = "phrases", value: Any = True) -> PhraseTable:
        """A list `[name] key = [...]` as a table of phrase -> `value`."""
        return _list(self, name, key, value)

    def nested(self, name: str, key: str) -> PhraseTable:
        """A table inside a table, `[name] key = { phrase = value }`."""
        return _nested(self, name, key)

    def grouped(self, name: str) -> PhraseTable:
        """A `[name]` table of group = [phrases] as phrase -> group."""
        return _grouped(self, name)

    def g(self, role: str) -> frozenset[str]:
        """A word list of the `[grammar]` table: the function words one rule of the reader needs."""
        return _words(self, "grammar", role)

    def gmap(self, role: str) -> dict[str, Any]:
        """A small table of the `[grammar]` table (`amounts`, `units`, ...), word -> value."""
        value = self.raw.get("grammar", {}).get(role, {})
        return dict(value) if isinstance(value, dict) else {}

    def words(self, name: str, key: str = "words") -> frozenset[str]:
        """A list of single words `[name] key = [...]`."""
        return _words(self, name, key)

    @functools.cached_property
    def known_words(self) -> frozenset[str]:
        """The vocabulary plus every word the language's corpus uses and never capitalises past a line's
        first word: ordinary words, not names ("needs", "appointment"; not "Emma", "Chen")."""
        text = data_file(self.code, "intents.tsv") or ""
        lower: set[str] = set()
        capital: set[str] = set()
        for line in text.splitlines():
            if line.startswith("#") or "\t" not in line:
                continue
            for k, word in enumerate(line.split("\t", 1)[1].split()):
                word = word.strip('.,!?;:"').replace("'", "").replace("\u2019", "")
                if not word.isalpha():
                    continue
                if word[0].isupper() and k > 0 and word.lower() != "i":
                    capital.add(word.lower())
                elif word.islower():
                    lower.add(word)
        return self.vocabulary | frozenset(lower - capital)

    @functools.cached_property
    def vocabulary(self) -> frozenset[str]:
        """Every word any table names."""
        out: set[str] = set(self.marker_words)
        for section in self.raw.values():
            if not isinstance(section, dict):
                continue
            for key, value in section.items():
                out.update(words_of(str(key)))
                items = value if isinstance(value, list) else [value] if isinstance(value, str) else []
                for item in items:
                    if isinstance(item, str):
                        out.update(words_of(item))
        return frozenset(out)


@functools.cache
def _table(lex: Lexicon, name: str) -> PhraseTable:
    section = lex.raw.get(name, {})
    return PhraseTable.of((k, v) for k, v in section.items() if not isinstance(v, dict))


@functools.cache
def _list(lex: Lexicon, name: str, key: str, value: Any) -> PhraseTable:
    return PhraseTable.of((p, value) for p in lex.raw.get(name, {}).get(key, []))


@functools.cache
def _words(lex: Lexicon, name: str, key: str) -> frozenset[str]:
    return frozenset(" ".join(words_of(p)) for p in lex.raw.get(name, {}).get(key, []))


@functools.cache
def _nested(lex: Lexicon, name: str, key: str) -> PhraseTable:
    return PhraseTable.of(lex.raw.get(name, {}).get(key, {}).items())


@functools.cache
def _grouped(lex: Lexicon, name: str) -> PhraseTable:
    section = lex.raw.get(name, {})
    return PhraseTable.of((p, group) for group, items in section.items() for p in items)


def data_file(language: str, name: str) -> str | None:
    """The text of `receptionist/languages/<language>/<name>`, or None when the language has none."""
    path = resources.files(LANGUAGES_PACKAGE).joinpath(language, name)
    if not path.is_file():
        return None
    return path.read_text(encoding="utf-8")


def available_languages() -> tuple[str, ...]:
    """Codes of the languages with a lexicon, sorted."""
    root = resources.files(LANGUAGES_PACKAGE)
    return tuple(
        sorted(p.name for p in root.iterdir() if p.is_dir() and p.joinpath("lexicon.toml").is_file())
    )


@functools.cache
def lexicon(language: str) -> Lexicon:
    """The lexicon of a language code ("en"); an empty one for a language without a file."""
    text = data_file(language, "lexicon.toml")
    return Lexicon(language, MappingProxyType(tomllib.loads(text) if text else {}))
