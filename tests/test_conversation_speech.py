"""Phrasing of dates, times, lists and addresses for text-to-speech."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from receptionist.wording.spoken import (
    appointment_phrase,
    clean,
    first_name_for_speech,
    kind_phrase,
    ordinal,
    slot_phrase,
    speakable_address,
    spoken_list,
    spoken_time,
    spoken_when,
)

TZ = ZoneInfo("America/New_York")
NOW = dt.datetime(2026, 11, 30, 10, 0, tzinfo=TZ)


@pytest.mark.parametrize(
    "n, expected",
    [
        (1, "1st"),
        (2, "2nd"),
        (3, "3rd"),
        (4, "4th"),
        (11, "11th"),
        (12, "12th"),
        (13, "13th"),
        (21, "21st"),
        (22, "22nd"),
        (31, "31st"),
    ],
)
def test_ordinals(n, expected):
    """Day numbers are read as ordinals."""
    assert ordinal(n) == expected


@pytest.mark.parametrize(
    "hour, minute, expected",
    [
        (9, 0, "9 AM"),
        (9, 30, "9:30 AM"),
        (12, 0, "noon"),
        (12, 30, "12:30 PM"),
        (13, 5, "1:05 PM"),
        (0, 0, "12 AM"),
    ],
)
def test_times(hour, minute, expected):
    """Clock times in the way people say them."""
    assert spoken_time(dt.time(hour, minute)) == expected


@pytest.mark.parametrize(
    "start, expected",
    [
        (dt.datetime(2026, 11, 30, 15, tzinfo=TZ), "today at 3 PM"),
        (dt.datetime(2026, 12, 1, 9, tzinfo=TZ), "tomorrow at 9 AM"),
        (dt.datetime(2026, 12, 2, 9, 30, tzinfo=TZ), "Wednesday December 2nd at 9:30 AM"),
        (dt.datetime(2026, 12, 2, 14, 30, tzinfo=dt.UTC), "Wednesday December 2nd at 9:30 AM"),
        (dt.datetime(2027, 11, 2, 9, tzinfo=TZ), "Tuesday November 2nd, 2027 at 9 AM"),
    ],
)
def test_when(start, expected):
    """Dates are spoken relative to now, in the location's time zone, with the year only when far off."""
    assert spoken_when(start, NOW) == expected


def test_slot_and_appointment_phrases():
    """A slot names day, time and provider; an appointment its kind as well."""
    start = dt.datetime(2026, 12, 1, 9, tzinfo=TZ)
    assert slot_phrase(start, "Hygienist Patel") == "Tuesday December 1st at 9 AM with Hygienist Patel"
    assert (
        appointment_phrase("exam", start, "Dr. Chen", NOW, article="your")
        == "your exam tomorrow at 9 AM with Dr. Chen"
    )
    assert appointment_phrase("cleaning", start, "", None) == "a cleaning on Tuesday December 1st at 9 AM"
    assert kind_phrase("exam") == "an exam" and kind_phrase("consultation") == "a consultation"


@pytest.mark.parametrize(
    "items, expected", [([], ""), (["a"], "a"), (["a", "b"], "a or b"), (["a", "b", "c"], "a, b, or c")]
)
def test_lists(items, expected):
    """Spoken lists join with "or"."""
    assert spoken_list(items) == expected


def test_address_zip_code_is_read_digit_by_digit():
    """A ZIP code at the end of an address is spelled out digit by digit."""
    assert (
        speakable_address("1520 Connecticut Avenue Northwest, Washington, DC 20036")
        == "1520 Connecticut Avenue Northwest, Washington, DC 2 0 0 3 6"
    )


@pytest.mark.parametrize(
    "name, expected",
    [
        ("margaret", "Margaret"),
        ("Anne-Marie", "Anne-Marie"),
        ("O'Neil", "O'Neil"),
        ("", None),
        (None, None),
        ("<b>x</b>", None),
        ("R2D2", None),
    ],
)
def test_first_names_for_speech(name, expected):
    """Only plain names are read out."""
    assert first_name_for_speech(name) == expected


def test_clean_removes_markup_and_emoji():
    """Markdown characters and emojis never reach text-to-speech."""
    assert clean("**Hello** \U0001f600 there_#1") == "Hello there 1"


def reference_clean(text: str) -> str:
    """`clean` as it was written first, character by character: the fast path must agree with it."""
    out = []
    for ch in str(text or ""):
        if ch in "*#_`<>{}[]|\\~^":
            out.append(" ")
            continue
        category = unicodedata.category(ch)
        if category in ("So", "Cs", "Co", "Cn") or (category.startswith("C") and ch not in "\t\n"):
            out.append(" ")
            continue
        out.append(ch)
    return re.sub(r"\s+", " ", "".join(out)).strip()


def test_clean_agrees_with_the_reference_on_every_ascii_character():
    for code in range(128):
        for text in (chr(code), f"a{chr(code)}b", f" {chr(code)}{chr(code)} x "):
            assert clean(text) == reference_clean(text), repr(text)


@given(st.one_of(st.text(st.characters(max_codepoint=127)), st.text()))
def test_clean_agrees_with_the_reference(text):
    """ASCII text takes a shortcut; any text gives what the character-by-character version gives."""
    assert clean(text) == reference_clean(text)
