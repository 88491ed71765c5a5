"""The caller's own name, who the visit is for, how late the caller is, and the numbers said."""

from __future__ import annotations

import re
from collections.abc import Sequence

from receptionist.conversation.nlu.lexicon import Lexicon
from receptionist.conversation.nlu.mentions import Scan
from receptionist.conversation.nlu.values import CallerName, Person


def _namelike(scan: Scan, k: int, lenient: bool) -> bool:
    word, raw = scan.words[k], scan.raw[k]
    lex = scan.lex
    if not word.isalpha() or word in lex.words("names", "stop") or word in lex.words("names", "not_names"):
        return False
    if raw[:1].isupper() and k > 0:
        return True
    return lenient or word not in lex.known_words


def caller_name(scan: Scan) -> tuple[CallerName | None, set[int]]:
    words, lex = scan.words, scan.lex
    weak, strong_intro = lex.phrases("names", "intro"), lex.phrases("names", "strong_intro")
    honorifics = lex.words("names", "honorifics")
    for i in range(len(words)):
        hit_strong, hit_weak = strong_intro.match(words, i), weak.match(words, i)
        hit = max((h for h in (hit_strong, hit_weak) if h), default=None, key=lambda h: h[0])
        if not hit:
            continue
        j = i + hit[0]
        strong = hit is hit_strong
        if j < len(words) and words[j] in honorifics:
            j += 1
        taken = _name_run(scan, j, lenient=strong)
        if taken:
            return _name_of(scan, taken), set(range(i, taken[-1] + 1))
    if scan.expecting == "name":
        start = 0
        while start < len(words) and (
            words[start] in lex.words("names", "stop")
            or words[start] in lex.words("fillers")
            or words[start] == ","
        ):
            start += 1
        taken = _name_run(scan, start, lenient=True)
        if taken:
            return _name_of(scan, taken), set(taken)
    return None, set()


def _name_run(scan: Scan, j: int, *, lenient: bool) -> list[int]:
    taken: list[int] = []
    letters: list[int] = []
    while j < len(scan.words) and len(taken) < 3:
        single = len(scan.words[j]) == 1 and scan.words[j].isalpha()
        if single and (letters or scan.words[j] not in scan.lex.words("names", "single_letter_words")):
            letters.append(j)  # a spelt name: "s m i t h"
            j += 1
            continue
        if not _namelike(scan, j, lenient or bool(taken)):
            break
        taken.append(j)
        j += 1
    if not taken and len(letters) >= 2:
        return letters
    return taken


def _name_of(scan: Scan, taken: list[int]) -> CallerName:
    if all(len(scan.words[k]) == 1 for k in taken):
        return CallerName("".join(scan.words[k] for k in taken).capitalize(), None)
    names = [scan.raw[k][:1].upper() + scan.raw[k][1:] for k in taken]
    return CallerName(names[0], " ".join(names[1:]) or None)


def people(scan: Scan) -> tuple[Person, ...]:
    words, lex = scan.words, scan.lex
    relations = lex.table("relations")
    possessives = lex.words("relation_cues", "possessives")
    out: list[Person] = []
    selfs = lex.phrases("relation_cues", "self")
    if any(selfs.match(words, i) for i in range(len(words))) and any((w,) in relations for w in words):
        out.append(Person("self"))
    for i, w in enumerate(words):
        if w not in possessives:
            continue
        j, age = i + 1, None
        # "my 7 year old son", "my seven-year-old"
        years = (
            lex.phrases("ages", "after").match(words, j + 1)
            if j < len(words) and words[j].isdigit()
            else None
        )
        if years and years[0] > 1:  # "my 7 year old son", "my seven-year-old"
            age, j = int(words[j]), j + 1 + years[0]
        elif j + 1 < len(words) and (words[j].isdigit() or (words[j],) in lex.table("numbers")):
            j += 1  # "my two kids": a count, not an age
        if j >= len(words):
            continue
        relation = relations.entries.get((words[j],))
        if relation is None or _not_the_patient(scan, i, j):
            continue
        name = None
        k = j + 1
        if (
            k < len(words)
            and _namelike(scan, k, lenient=False)
            and k not in scan.taken
            and _cased_name(scan, k)
        ):
            name = scan.raw[k][:1].upper() + scan.raw[k][1:]
            k += 1
        if age is None:
            age = _age_after(words, k, lex)
        person = Person(str(relation), name, age)
        if person not in out:
            out.append(person)
    return tuple(out)


def _not_the_patient(scan: Scan, i: int, j: int) -> bool:
    """ "I have my kids", "my daughter drives me": the relative is why a time suits, not whom the visit is for."""
    words, lex = scan.words, scan.lex
    minding = lex.phrases("relation_cues", "minding")
    if any((hit := minding.match(words, k)) is not None and k + hit[0] == i for k in range(max(0, i - 3), i)):
        return True
    helpers = lex.words("relation_cues", "helping_verbs")
    after = list(words[j + 1 : j + 6])
    if any(w in helpers and "me" in after[n + 1 : n + 3] for n, w in enumerate(after)):
        return True
    # "my wife always said I should ...": the relative speaks about the caller
    reporting = lex.words("relation_cues", "reporting_verbs")
    return any(
        w in reporting and (after[n + 1 : n + 2] == ["i"] or after[n + 1 : n + 3] == ["me", "to"])
        for n, w in enumerate(after[:4])
    )


def _cased_name(scan: Scan, k: int) -> bool:
    """In a turn written with capitals ("My daughter drives me"), a name after a relation is capitalised; an
    all lower-case turn is given the benefit of the doubt."""
    cased = any(r[:1].isupper() for n, r in enumerate(scan.raw) if n > 0 and r not in ("I", ","))
    return not cased or scan.raw[k][:1].isupper()


def _age_after(words: tuple[str, ...], k: int, lex: Lexicon) -> int | None:
    window = words[k : k + 12]  # "my son knocked out his front tooth at soccer, he's twelve"
    after = lex.phrases("ages", "after")
    for n, w in enumerate(window):
        if not w.isdigit() or not 0 < int(w) < 120:
            continue
        if after.match(window, n + 1):
            return int(w)
        if any(
            lex.phrases("ages", "before").match(window, k) == (n - k, True) for k in range(max(0, n - 3), n)
        ):
            return int(w)
    return None


def minutes_late(scan: Scan) -> int | None:
    words, lex = scan.words, scan.lex
    late = lex.phrases("late", "words")
    if not any(late.match(words, i) for i in range(len(words))):
        return None
    quantities = lex.table("quantities")
    minute_words, fillers, lead = lex.g("minute_words"), lex.words("fillers"), lex.g("in_words")
    for i, w in enumerate(words):
        nxt = words[i + 1] if i + 1 < len(words) else ""
        before = [b for b in words[max(0, i - 3) : i] if b not in fillers]
        if w.isdigit() and (nxt in minute_words or (before[-1:] and before[-1] in lead and not nxt)):
            return int(w)
        hit = quantities.match(words, i)
        if hit:
            n, amount = hit
            after = words[i + n] if i + n < len(words) else ""
            if int(amount) >= 15 or after in minute_words or after in lex.g("of_words"):
                return int(amount)
    return None


def numbers(scan: Scan) -> tuple[int, ...]:
    out: list[int] = []
    numbers = scan.lex.table("numbers").entries
    pronoun, after = scan.lex.g("pronoun_one"), scan.lex.g("pronoun_after")
    for k, w in enumerate(scan.words):
        if w in pronoun and k > 0 and scan.words[k - 1] in after:
            continue  # "the first one", "that one": a pronoun
        if w.isdigit():
            out.append(int(w))
        elif ":" in w and w.replace(":", "").isdigit():
            out.extend(int(p) for p in w.split(":"))
        elif (w,) in numbers:
            out.append(int(numbers[(w,)]))
    return tuple(out)


# "Margaret's appointment", "John Smith's visit": a possessive right before a word for a record
_POSSESSIVE = re.compile(r"\b((?:[^\W\d_]+ )?[^\W\d_]+)(?:'s|s'|') (?:next |upcoming |last |recent )?(\w+)")


def whose(text: str, lex: Lexicon, providers: Sequence[str] = ()) -> str | None:
    """The name whose record the caller asks about ("when is Margaret Ellison's appointment"), or None when
    the possessive is an ordinary word ("Friday's appointment", "my wife's", "the dentist's")."""
    records = lex.words("names", "records")
    not_names = (
        lex.words("names", "stop")
        | lex.words("names", "not_names")
        | _single(lex, "weekdays")
        | _single(lex, "months")
        | _single(lex, "relations")
        | _single(lex, "relative_days")
        | {w.lower() for p in providers for w in p.replace(".", " ").split()}
    )
    for found in _POSSESSIVE.finditer(text.replace("\u2019", "'")):
        before = text[: found.start()].replace(".", " ").split()
        raw = found.group(1).split()
        titles = _single(lex, "titles")
        if found.group(2).lower() not in records:
            continue
        names = [
            w
            for w in raw
            if w.lower() not in not_names and (w[:1].isupper() or w.lower() not in lex.known_words)
        ]
        # the name is the words nearest the possessive, all of them name-like ("Margaret Ellison")
        while raw and raw[0] not in names:
            before.append(raw.pop(0))
        if before and before[-1].lower() in titles:
            continue  # "Dr. Chen's schedule": a provider's
        if raw:
            return " ".join(w[:1].upper() + w[1:] for w in raw)
    return None


def _single(lex: Lexicon, table: str) -> frozenset[str]:
    return frozenset(k[0] for k in lex.table(table).entries if len(k) == 1)
