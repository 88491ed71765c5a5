"""Mentions found in a turn, the scan state they are read with, and the polarity each gets in its clause.

A mention is a span of normalised words with a kind (a day, a time, a provider, a symptom, ...) or a
marker (a negator, a "... is bad" / "... works" predicate, a clause break, a correction). Polarity rules:
a negator negates the next list of mentions in its clause ("not Monday or Tuesday"); a bare "no" only a
mention right after it ("no mornings"); a "bad" predicate after a list negates it ("Thursday's bad"), a
"good" one affirms it, overriding a negator before it; a symptom is negated only by a negator a few
bridging words before it ("I'm not in any pain"). Clauses end at punctuation, breaks and corrections.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from receptionist.conversation.nlu.lexicon import Lexicon

CONTENT = frozenset({"day", "weekday", "span", "part", "time", "range", "provider", "visit", "symptom"})

MARKERS = frozenset({"neg", "no", "bad", "good", "break", "corr", "except"})


@dataclass(frozen=True)
class Mention:
    kind: str
    start: int
    end: int  # exclusive
    value: Any = None


@dataclass
class Scan:
    words: tuple[str, ...]
    raw: tuple[str, ...]
    lex: Lexicon
    now: dt.datetime
    providers: Sequence[str]
    expecting: str | None
    taken: set[int] = field(default_factory=set)  # word positions already read (the caller's name)
    afternoon: bool = False  # the turn names the afternoon or evening: bare hours are pm

    @property
    def today(self) -> dt.date:
        return self.now.date()


Matcher = Callable[[Scan, int], tuple[int, list[Mention]] | None]


def markers(scan: Scan, i: int) -> tuple[int, list[Mention]] | None:
    lex, words = scan.lex, scan.words
    best: tuple[int, list[Mention]] | None = None
    for kind, table in (
        ("except", lex.phrases("negation_exceptions")),
        ("neg", lex.table("negators")),
        ("bad", lex.phrases("bad_after")),
        ("good", lex.phrases("good_after")),
        ("corr", lex.phrases("corrections")),
        ("break", lex.phrases("clause_breaks", "words")),
        ("soonest", lex.phrases("soonest")),
    ):
        hit = table.match(words, i)
        if hit and (best is None or hit[0] > best[0]):
            value = hit[1]
            k = "no" if kind == "neg" and value == "no" else kind
            found = [Mention(k, i, i + hit[0], value)]
            if kind == "neg" and value == "instead":  # "instead of Thursday": refused, and a correction
                found.insert(0, Mention("corr", i, i + hit[0], value))
            best = (hit[0], found)
    return best


def symptom(scan: Scan, i: int) -> tuple[int, list[Mention]] | None:
    hit = scan.lex.grouped("symptoms").match(scan.words, i)
    return (hit[0], [Mention("symptom", i, i + hit[0], hit[1])]) if hit else None


def visit(scan: Scan, i: int) -> tuple[int, list[Mention]] | None:
    hit = scan.lex.grouped("visit_kinds").match(scan.words, i)
    return (hit[0], [Mention("visit", i, i + hit[0], hit[1])]) if hit else None


def part_of_day(scan: Scan, i: int) -> tuple[int, list[Mention]] | None:
    hit = scan.lex.table("parts_of_day").match(scan.words, i)
    if not hit:
        return None
    n, (lo, hi) = hit
    name = scan.lex.table("part_names").entries.get(scan.words[i : i + n], scan.words[i])
    return n, [Mention("part", i, i + n, (str(name), int(lo), int(hi)))]


def polarity(mentions: list[Mention], scan: Scan) -> dict[int, bool]:
    """id(mention) -> negated, for the content mentions."""
    words = scan.words
    bridges = scan.lex.words("symptom_bridges", "words")
    connectors = scan.lex.g("connectors")
    negated: dict[int, bool] = {id(m): False for m in mentions if m.kind in CONTENT}
    clauses: list[list[Mention]] = [[]]
    last_end = 0
    for m in mentions:
        if m.kind in ("break", "corr") or any(w == "," for w in words[last_end : m.start]):
            clauses.append([])
        if m.kind not in ("break", "corr"):
            clauses[-1].append(m)
        last_end = m.end
    for clause in clauses:
        scope: Mention | None = None  # the open negator
        listed: Mention | None = None  # the last content mention in the scope's list
        for k, m in enumerate(clause):
            if m.kind in ("neg", "no"):
                scope, listed = m, None
                continue
            if m.kind == "bad":
                before = _list_before(clause, k, words, connectors)
                if before:
                    for b in before:
                        if b.kind != "symptom":
                            negated[id(b)] = True
                else:
                    scope, listed = m, None
                continue
            if m.kind == "good":
                for b in _list_before(clause, k, words, connectors):
                    negated[id(b)] = False
                scope = None
                continue
            if m.kind not in CONTENT or scope is None:
                continue
            anchor = listed or scope
            gap = [w for w in words[anchor.end : m.start]]
            if listed is not None:
                ok = all(w in connectors or (m.kind == "symptom" and w in bridges) for w in gap)
            elif m.kind == "symptom":
                ok = len(gap) <= 4 and all(w in bridges for w in gap)
            elif scope.kind == "no":
                ok = len(gap) <= 1 and all(w in connectors or w in bridges for w in gap)
            else:
                ok = True
            if ok:
                negated[id(m)] = True
                listed = m
            else:
                scope, listed = None, None
    return negated


def _list_before(
    clause: list[Mention], k: int, words: tuple[str, ...], connectors: frozenset[str]
) -> list[Mention]:
    """The content mentions joined by connectors that end just before `clause[k]` (a few words allowed)."""
    out: list[Mention] = []
    edge = clause[k].start
    for m in reversed(clause[:k]):
        if m.kind not in CONTENT:
            if m.kind in ("neg", "no"):
                continue
            break
        gap = words[m.end : edge]
        if out and not all(w in connectors for w in gap):
            break
        if not out and len(gap) > 3:
            break
        out.append(m)
        edge = m.start
    return out
