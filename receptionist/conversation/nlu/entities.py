"""Entities: what a turn says about when, who, what for and how bad, read from normalised words.

How: one left-to-right scan finds mentions (days, weekdays, date spans, parts of the day, times and time
bounds, offered-slot references, providers, visit kinds, symptoms, relations) and markers (negators,
"... is bad" / "... works" predicates, clause breaks, corrections), the longest phrase winning at each
word; then each mention's polarity is decided within its clause:
- a negator ("not", "can't do", "anything but", "instead of") negates the next list of mentions in its
  clause ("not Monday or Tuesday"); a bare "no" only a mention right after it ("no mornings");
- a "bad" predicate after a list negates it ("Thursday's bad", "mornings don't work"), a "good" one
  affirms it ("Tuesday works"), overriding a negator before it;
- a symptom is negated only by a negator a few bridging words before it ("I'm not in any pain").
Negated days, weekdays and parts become exclusions; a negated time bound flips ("not before 10" is from
10); a negated provider is `excluded_provider`. A correction word ("instead", "actually", "make it") sets
`correction`: the wanted days and times replace what was said before.

Dates of birth: a date is one when the turn has a birth word, when the dialogue expects one, or when its
year is two or more years back; it then never counts as a day wanted.

Libraries: dateparser for calendar dates (via `when.parse_date`, only on spans that look like a date),
text2num (in `text.tokens`) for spoken numbers, rapidfuzz for provider names heard imperfectly
("Dr. Chan" -> "Dr. Chen": Jaro-Winkler similarity, 0.85 after a title or "with", 0.92 on its own).

Pure: `now` is handed in. Measured cost: 0.1-0.3 ms for a typical turn, plus about 1 ms for each span
dateparser reads.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from receptionist.conversation.nlu.dates import (
    between,
    calendar,
    holiday,
    relative,
    time_of_day,
    week_of,
    weekday,
    weeks_from,
)
from receptionist.conversation.nlu.lexicon import Lexicon
from receptionist.conversation.nlu.mentions import (
    Matcher,
    Mention,
    Scan,
    markers,
    part_of_day,
    polarity,
    symptom,
    visit,
)
from receptionist.conversation.nlu.people import caller_name, minutes_late, numbers, people
from receptionist.conversation.nlu.refs import offer, provider, small_number
from receptionist.conversation.nlu.text import Tokens
from receptionist.conversation.nlu.values import (
    CallerName,
    DateSpan,
    Entities,
    OfferRef,
    Person,
    ProviderRef,
    Symptom,
    TimeWindow,
)

__all__ = [
    "CallerName",
    "DateSpan",
    "Entities",
    "OfferRef",
    "Person",
    "ProviderRef",
    "Symptom",
    "TimeWindow",
    "extract",
]

MATCHERS: tuple[Matcher, ...] = (
    markers,
    symptom,
    visit,
    relative,
    part_of_day,
    weekday,
    weeks_from,
    week_of,
    holiday,
    between,
    calendar,
    time_of_day,
    offer,
    provider,
)


def extract(
    tok: Tokens,
    lex: Lexicon,
    *,
    now: dt.datetime,
    providers: Sequence[str] = (),
    expecting: str | None = None,
) -> Entities:
    """Read the entities of one normalised turn."""
    words = tok.words
    scan = Scan(words, tok.raw, lex, now, providers, expecting)
    scan.afternoon = any(w in lex.g("pm_context") for w in words)
    name, name_span = caller_name(scan)
    scan.taken.update(name_span)
    mentions = _merge_days(_scan(scan), scan)
    negated = polarity(mentions, scan)
    dob_context = expecting == "dob" or any(
        lex.phrases("dob", "words").match(words, i) for i in range(len(words))
    )
    return _assemble(scan, mentions, negated, name, dob_context)


def _scan(scan: Scan) -> list[Mention]:
    out: list[Mention] = []
    i, n = 0, len(scan.words)
    while i < n:
        if i in scan.taken or scan.words[i] == ",":
            i += 1
            continue
        best: tuple[int, list[Mention]] | None = None
        for matcher in MATCHERS:
            found = matcher(scan, i)
            if found is not None and (best is None or found[0] > best[0]):
                best = found
        if best is None:
            i += 1
            continue
        out.extend(best[1])
        i += best[0]
    return out


def _merge_days(mentions: list[Mention], scan: Scan) -> list[Mention]:
    """One day said two ways is one day: "Monday the 28th", "Tuesday, the 22nd" are that date (not the coming
    Monday as well); "next week, Tuesday" is the Tuesday of next week."""
    glue = {",", *scan.lex.g("article"), *scan.lex.g("date_on")}
    out: list[Mention] = []
    for m in mentions:
        prev = out[-1] if out else None
        if (
            prev is not None
            and prev.kind == "day"
            and m.kind == "day"
            and prev.value[1] is not None  # a weekday ...
            and m.value[1] is None  # ... then a date
            and all(w in glue for w in scan.words[prev.end : m.start])
        ):
            day = m.value[0]
            out[-1] = Mention("day", prev.start, m.end, (day, day.weekday(), *m.value[2:]))
            continue
        out.append(m)
    spans = [m for m in out if m.kind == "span"]
    if len(spans) == 1:
        lo, hi = spans[0].value
        for k, m in enumerate(out):
            if (
                m.kind == "day"
                and m.value[1] is not None
                and len(m.value) == 2
                and not lo <= m.value[0] <= hi
            ):
                inside = lo + dt.timedelta(days=(m.value[1] - lo.weekday()) % 7)
                if inside <= hi:
                    out[k] = Mention("day", m.start, m.end, (inside, m.value[1]))
    return out


def _assemble(
    scan: Scan,
    mentions: list[Mention],
    negated: dict[int, bool],
    name: CallerName | None,
    dob_context: bool,
) -> Entities:
    days: list[dt.date] = []
    excluded_days: list[dt.date] = []
    weekdays: list[int] = []
    excluded_weekdays: list[int] = []
    excluded_parts: list[str] = []
    span: DateSpan | None = None
    dob: dt.date | None = None
    earliest: int | None = None
    latest: int | None = None
    at: int | None = None
    part: str | None = None
    provider: ProviderRef | None = None
    excluded_provider: ProviderRef | None = None
    visit: str | None = None
    symptoms: dict[str, bool] = {}
    offer: OfferRef | None = None
    soonest = correction = corrected_dob = False
    weekday_after: int | None = None
    wanted_time = False
    long_ago = (
        scan.today.replace(year=scan.today.year - 2)
        if scan.today.month != 2
        else scan.today - dt.timedelta(days=730)
    )

    def add(seq: list[Any], value: Any) -> None:
        if value not in seq:
            seq.append(value)

    for m in mentions:
        neg = negated.get(id(m), False)
        if m.kind == "day":
            day, wd = m.value[0], m.value[1]
            has_year = len(m.value) > 2 and m.value[2]
            if dob_context and len(m.value) > 2:
                if has_year and (dob is None or corrected_dob):  # "March 5th, no sorry, March 4th"
                    dob, corrected_dob = day, False
                continue
            if has_year and day <= long_ago:
                if dob is None or corrected_dob:
                    dob, corrected_dob = day, False
                continue
            add(excluded_days if neg else days, day)
            if wd is not None:
                add(excluded_weekdays if neg else weekdays, wd)
            wanted_time = wanted_time or not neg
        elif m.kind == "weekday":
            for wd in m.value:
                add(excluded_weekdays if neg else weekdays, wd)
            wanted_time = wanted_time or not neg
        elif m.kind == "span":
            if not neg and span is None:
                span = DateSpan(*m.value)
                wanted_time = True
        elif m.kind == "part":
            pname, lo, hi = m.value
            if neg:
                add(excluded_parts, pname)
            else:
                part = part or pname
                earliest = lo if earliest is None else max(earliest, lo)
                latest = hi if latest is None else min(latest, hi)
                wanted_time = True
        elif m.kind == "time":
            bound, minute = m.value
            if neg:
                bound = {"after": "before", "before": "after"}.get(bound, "")
                minute = minute if bound == "after" else minute
            if bound == "after":
                earliest = minute if earliest is None else max(earliest, minute)
            elif bound == "before":
                latest = minute if latest is None else min(latest, minute)
            elif bound == "around":
                at, earliest, latest = minute, minute - 30, minute + 30
            elif bound == "at":
                at = minute
            wanted_time = wanted_time or bool(bound)
        elif m.kind == "range":
            if not neg:
                earliest, latest = m.value
                wanted_time = True
        elif m.kind == "provider":
            if neg:
                excluded_provider = excluded_provider or m.value
            elif provider is None or (provider.name is None and m.value.name is not None):
                provider = m.value
        elif m.kind == "visit":
            if not neg and visit is None:
                visit = m.value
        elif m.kind == "symptom":
            symptoms[m.value] = symptoms.get(m.value, True) and neg
        elif m.kind == "offer":
            offer = offer or m.value
        elif m.kind == "weekday_after":
            weekday_after = m.value
            wanted_time = True
        elif m.kind == "soonest":
            soonest = True
        elif m.kind == "corr":
            correction = True
            corrected_dob = dob is not None
    if offer is None and scan.expecting == "offer_choice":
        offer = _bare_choice(scan, days, weekdays, at)
    window = None
    if any(v is not None for v in (earliest, latest, at, part)):
        window = TimeWindow(earliest, latest, at, part)
    return Entities(
        days=tuple(days),
        weekdays=tuple(weekdays),
        span=span,
        excluded_days=tuple(excluded_days),
        excluded_weekdays=tuple(excluded_weekdays),
        window=window,
        excluded_parts=tuple(excluded_parts),
        soonest=soonest,
        offer_ref=offer,
        weekday_after=weekday_after,
        correction=correction and wanted_time,
        dob=dob,
        provider=provider,
        excluded_provider=excluded_provider,
        visit_kind=visit,
        for_whom=people(scan),
        caller_name=name,
        minutes_late=minutes_late(scan),
        symptoms=tuple(Symptom(k, v) for k, v in symptoms.items()),
        numbers=numbers(scan),
    )


def _bare_choice(scan: Scan, days: list[dt.date], weekdays: list[int], at: int | None) -> OfferRef | None:
    """With a choice of slots just offered: "two", "the second", "Friday", "10 am" point at one."""
    content = [
        w for w in scan.words if w not in scan.lex.words("fillers") and w not in (",", "the", "please")
    ]
    if len(content) == 1:
        value = small_number(content[0], scan.lex)
        if value is not None and 1 <= value <= 9:
            return OfferRef(index=value - 1)
    if at is not None:
        return OfferRef(minute=at)
    if len(weekdays) == 1 and len(days) <= 1:
        return OfferRef(weekday=weekdays[0])
    return None
