"""Dates of birth as callers say them, when the dialogue has just asked for one.

"March fourth, nineteen eighty-two", "the fourth of March 1982", "3/4/82", "11-23-75", "oh-three oh-four
eighty-two", "zero three zero four one nine eight two", "eleven twenty-three seventy-five", "03041982": the
spoken numbers become digits (text2num), "oh" between numbers is a zero, month names come from the language's
lexicon, and the numbers left are read month, day, year (the US order), or day, month, year when a month name
follows the day. A two-digit year is the most recent one not in the future. Anything that is not a real
date in the last 120 years is no date of birth.

Pure: `today` is handed in. Cost: a few hundred microseconds (one text2num pass).
"""

from __future__ import annotations

import datetime as dt
import re

from text_to_num import alpha2digit

from receptionist.conversation.nlu.lexicon import Lexicon
from receptionist.conversation.nlu.text import plain_digits

_OH = re.compile(r"\b(?:oh|o)\b(?=[\s-]*(?:\d|one|two|three|four|five|six|seven|eight|nine))", re.I)
_ORDINAL = re.compile(r"(\d+)(?:st|nd|rd|th)\b", re.I)
_SPLIT = re.compile(r"[^\w]+")


def parse_dob(text: str, lex: Lexicon, today: dt.date) -> dt.date | None:
    """The date of birth in `text`; a date said after a correction ("March 5th, oh no sorry, March 4th")
    replaces the one before it."""
    if not text or not text.strip():
        return None
    text = plain_digits(text)
    words = [w for w in _SPLIT.split(text.lower().replace("\u2019", "'").replace("'", "")) if w]
    corrections = lex.phrases("corrections")
    cut = max(
        (k + hit[0] for k in range(len(words)) if (hit := corrections.match(words, k)) is not None),
        default=0,
    )
    if 0 < cut < len(words):
        later = _parse_words(words[cut:], lex, today)
        if later is not None:
            return later
    return _parse_words(words, lex, today)


def _parse_words(words: list[str], lex: Lexicon, today: dt.date) -> dt.date | None:
    cleaned = _OH.sub("0 ", " ".join(words))
    try:  # before the ordinals table: text2num reads "twenty-third" whole
        cleaned = alpha2digit(cleaned, lex.code if lex.code in ("en", "es") else "en")
    except (ValueError, IndexError, KeyError):  # text2num rejects odd input: read the text as it is
        pass
    ordinals = lex.table("ordinals")
    cleaned = " ".join(
        str(ordinals.entries.get((w,), w)) if (w,) in ordinals.entries else w for w in cleaned.split()
    )
    cleaned = _ORDINAL.sub(r"\1", cleaned)
    months = lex.table("months")
    pieces: list[tuple[str, str]] = []  # ("n", digits) or ("m", month number)
    for word in _SPLIT.split(cleaned):
        if not word:
            continue
        if word.isdigit():
            pieces.append(("n", word))
        else:
            hit = months.entries.get((word,))
            if hit is not None:
                pieces.append(("m", str(hit)))
    return _read(_glue(pieces), today)


def _glue(pieces: list[tuple[str, str]]) -> list[tuple[str, int]]:
    """Digits said one by one ("0 3 0 4 1 9 8 2", "0 3 0 4 82") back into numbers; "03041982" split."""
    out: list[tuple[str, int]] = []
    run: list[str] = []

    def flush() -> None:
        if not run:
            return
        text = "".join(run)
        if all(len(r) <= 2 for r in run) and len(run) > 3 and len(text) in (6, 8):
            out.extend(("n", int(text[a:b])) for a, b in ((0, 2), (2, 4), (4, len(text))))
        elif len(run) == 1 and len(text) in (6, 8):
            out.extend(("n", int(text[a:b])) for a, b in ((0, 2), (2, 4), (4, len(text))))
        else:
            merged: list[str] = []
            for r in run:  # a spoken leading zero joins the digit after it ("oh three")
                if merged and merged[-1] == "0" and len(r) == 1:
                    merged[-1] = "0" + r
                else:
                    merged.append(r)
            out.extend(("n", int(r)) for r in merged)
        run.clear()

    for kind, value in pieces:
        if kind == "n":
            run.append(value)
        else:
            flush()
            out.append(("m", int(value)))
    flush()
    return out


def _read(tokens: list[tuple[str, int]], today: dt.date) -> dt.date | None:
    numbers = [v for k, v in tokens if k == "n"]
    month_at = next((i for i, (k, _) in enumerate(tokens) if k == "m"), None)
    numbers = _join_year(numbers)
    if month_at is not None:
        month = tokens[month_at][1]
        before = [v for k, v in tokens[:month_at] if k == "n"]
        if len(before) == 2 and before[0] in (19, 20) and before[1] < 100:  # "nineteen forty-one, July 9th"
            before = [before[0] * 100 + before[1]]
        after = _join_year([v for k, v in tokens[month_at + 1 :] if k == "n"])
        if before and after and _is_year(before[0]):  # 1941, July 9th
            return _date(before[0], month, after[0], today)
        if before and after:  # the 4th of March 1982
            return _date(after[-1], month, before[-1], today)
        if len(after) >= 2:  # March 4th 1982
            return _date(after[1], month, after[0], today)
        return None
    if len(numbers) >= 3 and _is_year(numbers[0]):  # 1975-11-23
        return _date(numbers[0], numbers[1], numbers[2], today)
    if len(numbers) >= 3:
        m, d, y = numbers[0], numbers[1], numbers[2]
        if m > 12 >= d:  # 23/11/75: the day first
            m, d = d, m
        return _date(y, m, d, today)
    return None


def _is_year(n: int) -> bool:
    return 1000 <= n <= 9999


def _join_year(numbers: list[int]) -> list[int]:
    """ "19 82" (nineteen eighty-two) is one year, after a day and month or a day."""
    out: list[int] = []
    for n in numbers:
        if out and out[-1] in (19, 20) and 0 <= n <= 99 and len(out) >= 2:
            out[-1] = out[-1] * 100 + n
        else:
            out.append(n)
    return out


def _date(year: int, month: int, day: int, today: dt.date) -> dt.date | None:
    if year < 100:
        year += 2000 if 2000 + year <= today.year else 1900
    try:
        value = dt.date(year, month, day)
    except ValueError:
        return None
    if value > today or value.year < today.year - 120:
        return None
    return value
