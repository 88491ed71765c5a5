"""Matchers for days, date spans and times of day in a turn (the rules themselves are in `when`)."""

from __future__ import annotations

import datetime as dt

from receptionist.conversation.nlu import when
from receptionist.conversation.nlu.lexicon import Lexicon
from receptionist.conversation.nlu.mentions import Mention, Scan, part_of_day


def relative(scan: Scan, i: int) -> tuple[int, list[Mention]] | None:
    lex, words, today = scan.lex, scan.words, scan.today
    hit = lex.table("relative_days").match(words, i)
    if hit:
        n, days = hit
        out = [Mention("day", i, i + n, (today + dt.timedelta(days=int(days)), None))]
        part = part_of_day(scan, i + n - 1)
        if part is not None and part[0] == 1:
            out.append(Mention("part", i, i + n, part[1][0].value))
        return n, out
    for table, span_of in (("relative_weeks", when.week_span), ("relative_months", when.month_span)):
        hit = lex.table(table).match(words, i)
        if hit:
            n, ahead = hit
            phrase = set(words[i : i + n])
            which = "early" if phrase & lex.g("span_early") else "late" if phrase & lex.g("span_late") else ""
            return n, [Mention("span", i, i + n, span_of(today, int(ahead), which))]
    # "in 2 weeks", "in 3 days", "within a month": dateparser reads the span
    if words[i] in lex.g("in_words") and i + 2 < len(words):
        amounts, units = lex.gmap("amounts"), lex.gmap("units")
        amount, unit = words[i + 1], units.get(words[i + 2])
        value = int(amount) if amount.isdigit() else amounts.get(amount)
        if value is not None and unit is not None:
            n = 4 if i + 3 < len(words) and words[i + 3] in lex.g("of_words") else 3
            template = str(lex.gmap("relative_phrase").get(unit, ""))
            if not template:
                return None
            day = when.parse_date(
                template.format(n=value), scan.now, past=False, has_year=False, language=lex.code
            )
            if day is None:
                return None
            if unit == "day":
                return n, [Mention("day", i, i + n, (day, None))]
            if unit == "week":  # the calendar week that day falls in
                monday = day - dt.timedelta(days=day.weekday())
                lo, hi = max(monday, today), monday + dt.timedelta(days=6)
            else:
                lo, hi = when.month_span(day.replace(day=1), 0)
            return n, [Mention("span", i, i + n, (lo, hi))]
    return None


def weeks_from(scan: Scan, i: int) -> tuple[int, list[Mention]] | None:
    """ "a week from Wednesday", "two weeks from Friday", "a week from tomorrow": that day, weeks on."""
    lex, words = scan.lex, scan.words
    if i + 3 >= len(words):
        return None
    amount = words[i]
    count = int(amount) if amount.isdigit() else lex.gmap("amounts").get(amount)
    if (
        count is None
        or lex.gmap("units").get(words[i + 1]) != "week"
        or words[i + 2] not in lex.g("week_from")
    ):
        return None
    found = weekday(scan, i + 3) or relative(scan, i + 3)
    if found is None or not found[1] or found[1][0].kind != "day":
        return None
    day, wd = found[1][0].value[:2]
    end = i + 3 + found[0]
    return end - i, [Mention("day", i, end, (day + dt.timedelta(days=7 * int(count)), wd))]


def holiday(scan: Scan, i: int) -> tuple[int, list[Mention]] | None:
    """A named day ("Christmas", "New Year's Day"): its next date on or after today."""
    hit = scan.lex.table("named_days").match(scan.words, i)
    if not hit:
        return None
    n, month_day = hit
    month, day = (int(x) for x in str(month_day).split("-"))
    today = scan.today
    date = dt.date(today.year, month, day)
    if date < today:
        date = date.replace(year=today.year + 1)
    return n, [Mention("day", i, i + n, (date, None))]


def between(scan: Scan, i: int) -> tuple[int, list[Mention]] | None:
    """ "between Christmas and New Year's", "between Monday and Wednesday": the days from one to the other
    (the named days themselves left out, a receptionist hears "the days in between")."""
    lex, words = scan.lex, scan.words
    if words[i] not in lex.g("between_words") or i + 3 >= len(words):
        return None
    first = _one_day(scan, i + 1)
    if first is None:
        return None
    n1, lo, named1 = first
    k = i + 1 + n1
    if k >= len(words) or words[k] not in lex.g("range_words"):
        return None
    second = _one_day(scan, k + 1)
    if second is None:
        return None
    n2, hi, named2 = second
    if not named1 and hi - lo > dt.timedelta(days=6):  # "between Monday and Wednesday next week"
        lo = hi - dt.timedelta(days=(hi.weekday() - lo.weekday()) % 7)
    if hi < lo:
        return None
    if named1:
        lo += dt.timedelta(days=1)
    if named2:
        hi -= dt.timedelta(days=1)
    if hi < lo:
        return None
    end = k + 1 + n2
    return end - i, [Mention("span", i, end, (lo, hi))]


def week_of(scan: Scan, i: int) -> tuple[int, list[Mention]] | None:
    """ "the week of the 28th", "the week after Christmas", "the week before New Year's": that calendar
    week (Monday to Sunday, from today at the earliest); "after Christmas": the two weeks after it."""
    lex, words = scan.lex, scan.words
    j = i + 1 if words[i] in lex.g("article") else i
    week = j < len(words) and lex.gmap("units").get(words[j]) == "week"
    k = j + 1 if week else i
    if k >= len(words) or words[k] not in lex.g("week_relations"):
        return None
    relation = lex.gmap("week_relations")[words[k]]
    if not week and relation != "after":
        return None
    found = _one_day(scan, k + 1)
    if found is None:
        return None
    n, day, _ = found
    end = k + 1 + n
    if not week:  # "after Christmas"
        return end - i, [Mention("span", i, end, (day + dt.timedelta(days=1), day + dt.timedelta(days=14)))]
    shift = {"of": 0, "after": 7, "before": -7}[relation]
    monday = day - dt.timedelta(days=day.weekday()) + dt.timedelta(days=shift)
    lo, hi = max(monday, scan.today), monday + dt.timedelta(days=6)
    if hi < lo:
        return None
    return end - i, [Mention("span", i, end, (lo, hi))]


def _one_day(scan: Scan, i: int) -> tuple[int, dt.date, bool] | None:
    if i >= len(scan.words):
        return None
    for matcher, named in ((holiday, True), (weekday, False), (relative, False), (calendar, False)):
        found = matcher(scan, i)
        if found is not None and found[1] and found[1][0].kind == "day":
            return found[0], found[1][0].value[0], named
    return None


def weekday(scan: Scan, i: int) -> tuple[int, list[Mention]] | None:
    lex, words, today = scan.lex, scan.words, scan.today
    start = i
    modifier = None
    hit = lex.nested("grammar", "weekday_modifiers").match(words, i)
    if hit:
        modifier = str(hit[1])
        i += hit[0]
    if i >= len(words):
        return None
    word = words[i]
    plural = lex.table("weekday_plurals").entries.get((word,))
    if plural is not None:
        wd = int(plural)
        days = tuple(range(5)) if wd == -1 else (5, 6) if wd == -2 else (wd,)
        return i + 1 - start, [Mention("weekday", start, i + 1, days)]
    wd_value = lex.table("weekdays").entries.get((word,))
    if wd_value is None:
        return None
    if len(word) <= 3 and not scan.raw[i][:1].isupper():  # "sat", "sun", "wed" only capitalised
        return None
    wd = int(wd_value)
    if modifier == "every":
        return i + 1 - start, [Mention("weekday", start, i + 1, (wd,))]
    if modifier == "last":
        return None
    end = i + 1
    after = lex.g("after_words")
    if (
        end < len(words)
        and words[end] in after
        and (end + 1 == len(words) or words[end + 1] in (",", "that"))
    ):
        # "the Monday after" (Christmas, the day just named): resolved against that day by the dialogue
        n = 2 if end + 1 < len(words) and words[end + 1] == "that" else 1
        return end + n - start, [Mention("weekday_after", start, end + n, wd)]
    later = modifier == "next"
    next_week = lex.phrases("grammar", "weekday_next_week").match(words, end)
    if next_week:
        later, end = True, end + next_week[0]
    day = when.in_next_week(today, wd) if later else when.on_or_after(today, wd)
    return end - start, [Mention("day", start, end, (day, wd))]


def calendar(scan: Scan, i: int) -> tuple[int, list[Mention]] | None:
    """Month-name and numeric dates, read by dateparser; "the 5th" read here."""
    lex, words = scan.lex, scan.words
    months = lex.table("months").entries
    j = i
    lead, article, on = lex.g("date_lead"), lex.g("article"), lex.g("date_on")
    if words[j] in lead and j + 1 < len(words):
        j += 1
        if words[j] in article and j + 1 < len(words):
            j += 1
    # numeric: 12/8, 12/8/1990; or, for a date of birth, "3 4 1982"
    if "/" in words[j]:
        parts = words[j].split("/")
        has_year = len(parts) == 3
        day = when.parse_date(words[j], scan.now, past=dob_hint(scan), has_year=has_year)
        if day is None:
            return None
        return j + 1 - i, [Mention("day", i, j + 1, (day, None, has_year, words[j]))]
    month = months.get((words[j],))
    day_word: str | None = None
    year: str | None = None
    end = j
    if month is not None:  # December 8, December the 8th, December 8th 1990
        k = j + 1
        if k < len(words) and words[k] in article:
            k += 1
        if k < len(words) and _day_number(words[k], lex) is not None:
            day_word, end = words[k], k + 1
            if end < len(words) and words[end] == ",":
                end += 1
            if end < len(words) and _is_year(words[end]):
                year, end = words[end], end + 1
        elif k < len(words) and _is_year(words[k]) and dob_hint(scan):  # "March 1982": no day
            return None
        else:
            return None
    else:
        number = _day_number(words[j], lex)
        if number is None:
            return None
        # "the 8th of December", "8 December 1990"
        k = j + 1
        if k < len(words) and words[k] in lex.g("of_words"):
            k += 1
        if k < len(words) and months.get((words[k],)) is not None:
            month, day_word, end = months[(words[k],)], words[j], k + 1
            if end < len(words) and _is_year(words[end]):
                year, end = words[end], end + 1
        elif words[i] in lead and (
            (words[j][-2:] in lex.g("ordinal_suffixes") and words[j][:-2].isdigit())
            or (words[j].isalpha() and words[i] in on)
        ):
            if offer_context(scan, j) or choosing(scan, i):
                return None
            resolved = when.day_of_month(scan.today, number)
            return (j + 1 - i, [Mention("day", i, j + 1, (resolved, None))]) if resolved else None
        elif dob_hint(scan) and j + 2 < len(words) and words[j + 1].isdigit() and _is_year(words[j + 2]):
            span = f"{words[j]}/{words[j + 1]}/{words[j + 2]}"
            day = when.parse_date(span, scan.now, past=True, has_year=True)
            return (j + 3 - i, [Mention("day", i, j + 3, (day, None, True, span))]) if day else None
        else:
            return None
    if year is None and end < len(words) and len(words[end]) == 2 and words[end].isdigit() and dob_hint(scan):
        year, end = words[end], end + 1
    assert day_word is not None
    name = next(k for k, v in months.items() if v == month)[0]
    span = f"{name} {_day_number(day_word, lex)}" + (f" {year}" if year else "")
    day = when.parse_date(span, scan.now, past=dob_hint(scan) or bool(year), has_year=year is not None)
    if day is None:
        return None
    return end - i, [Mention("day", i, end, (day, None, year is not None, span))]


def _day_number(word: str, lex: Lexicon) -> int | None:
    if word.isdigit():
        value = int(word)
    elif word[-2:] in lex.g("ordinal_suffixes") and word[:-2].isdigit():
        value = int(word[:-2])
    else:
        ordinal = lex.table("ordinals").entries.get((word,))
        value = int(ordinal) if ordinal is not None else 0
    return value if 1 <= value <= 31 else None


def _is_year(word: str) -> bool:
    return word.isdigit() and len(word) == 4 and 1900 <= int(word) <= 2100


def dob_hint(scan: Scan) -> bool:
    if scan.expecting == "dob":
        return True
    table = scan.lex.phrases("dob", "words")
    return any(table.match(scan.words, k) for k in range(len(scan.words)))


def choosing(scan: Scan, i: int) -> bool:
    """A verb of choosing just before `words[i]`: "I'll take the 3rd" picks an offer, not a date."""
    return i > 0 and scan.words[i - 1] in scan.lex.words("offer_refs", "choosing")


def offer_context(scan: Scan, j: int) -> bool:
    nouns = scan.lex.words("offer_refs", "nouns")
    return scan.expecting == "offer_choice" or (j + 1 < len(scan.words) and scan.words[j + 1] in nouns)


def clock(scan: Scan, i: int) -> tuple[int, int, bool] | None:
    """(words read, minute of day, marked) for a time at `words[i]`; marked: it can only be a time."""
    lex, words = scan.lex, scan.words
    if i >= len(words):
        return None
    named = lex.table("time_words").match(words, i)
    if named:
        return named[0], int(named[1]), True
    hour_word = lex.table("hour_words").match(words, i)
    after_hour_word = words[i + hour_word[0]] if hour_word and i + hour_word[0] < len(words) else ""
    spoken_hour = lex.table("numbers").entries.get((after_hour_word,))  # "half past two"
    if hour_word and (after_hour_word.isdigit() or spoken_hour is not None):
        n, offset = hour_word
        h = int(after_hour_word) if after_hour_word.isdigit() else int(str(spoken_hour))
        base = when.minute_of_day(h, 0, None, scan.afternoon)
        if base is None:
            return None
        return n + 1, (base + int(offset)) % 1440, True
    w = words[i]
    if ":" in w:
        h_s, m_s = w.split(":")
        hour, minute, n, marked = int(h_s), int(m_s), 1, True
    elif w.isdigit() and len(w) <= 2:
        hour, minute, n, marked = int(w), 0, 1, False
        nxt = words[i + 1] if i + 1 < len(words) else ""
        if len(nxt) == 2 and nxt.isdigit() and hour <= 12 and int(nxt) < 60:
            minute, n = int(nxt), 2
            marked = True
    else:
        return None
    mark_hit = lex.table("time_marks").match(words, i + n)
    mark: str | None = None
    if mark_hit and mark_hit[1] == "ish":
        mark_hit, marked = None, True
    if mark_hit:
        kind = str(mark_hit[1])
        n += mark_hit[0]
        marked = True
        mark = kind if kind in ("am", "pm") else None
    minute_of = when.minute_of_day(hour, minute, mark, scan.afternoon)
    if minute_of is None or (not marked and hour > 12):
        return None
    if not marked and _corrects_a_time(scan, i):
        marked = True  # "at nine, no wait, ten": the bare number replaces the time just said
    return n, minute_of, marked


def _corrects_a_time(scan: Scan, i: int) -> bool:
    """A bare number said right after a correction ("no wait", "I mean", "actually") of a time said before."""
    words = scan.words
    j = i
    skip = {",", *scan.lex.words("fillers")} - scan.lex.phrases("corrections").vocabulary()
    while j > 0 and words[j - 1] in skip:
        j -= 1
    corrections = scan.lex.phrases("corrections")
    corrected = any(
        (hit := corrections.match(words, k)) is not None and k + hit[0] == j for k in range(max(0, j - 4), j)
    )
    if not corrected:
        return False
    return any(words[k] in scan.lex.g("offer_at") and k + 1 < j and words[k + 1].isdigit() for k in range(j))


def time_of_day(scan: Scan, i: int) -> tuple[int, list[Mention]] | None:
    lex, words = scan.lex, scan.words
    bound_hit = lex.table("time_bounds").match(words, i)
    if bound_hit:
        n, bound = bound_hit
        first = clock(scan, i + n)
        if first is None:
            named = part_of_day(scan, i + n) if bound in ("after", "before") else None
            if named is None:  # "after lunch" is from the end of lunch, "before lunch" until its start
                return None
            _, lo, hi = named[1][0].value
            edge = hi if bound == "after" else lo
            return n + named[0], [Mention("time", i, i + n + named[0], (str(bound), edge))]
        read, minute, marked = first
        end = i + n + read
        if not marked and bound == "at" and scan.expecting == "offer_choice":
            return None
        second = _range_end(scan, end)
        if second is not None and bound in ("after", "between", "at"):
            return second[0] - i, [Mention("range", i, second[0], (minute, second[1]))]
        if end < len(words) and words[end] in lex.g("ish"):
            end, bound = end + 1, "around"
        return end - i, [Mention("time", i, end, (str(bound), minute))]
    first = clock(scan, i)
    if first is None:
        return None
    read, minute, marked = first
    end = i + read
    if end < len(words) and words[end] in lex.g("ish"):
        return read + 1, [Mention("time", i, end + 1, ("around", minute))]
    second = _range_end(scan, end)
    if second is not None:
        return second[0] - i, [Mention("range", i, second[0], (minute, second[1]))]
    if not marked:
        return None
    return read, [Mention("time", i, end, ("at", minute))]


def _range_end(scan: Scan, k: int) -> tuple[int, int] | None:
    words = scan.words
    if k < len(words) and words[k] in scan.lex.g("range_words"):
        found = clock(scan, k + 1)
        if found is not None:
            return k + 1 + found[0], found[1]
    return None
