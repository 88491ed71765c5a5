"""Dates of birth as callers say them once one was asked for (`nlu.dob.parse_dob`): each order and form
callers use, and what is no date of birth."""

from __future__ import annotations

import datetime as dt

import pytest

from receptionist.conversation.nlu.dob import parse_dob
from receptionist.conversation.nlu.lexicon import lexicon

TODAY = dt.date(2026, 12, 14)


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("March fourth, nineteen eighty-two", dt.date(1982, 3, 4)),
        ("the fourth of March 1982", dt.date(1982, 3, 4)),
        ("3/4/82", dt.date(1982, 3, 4)),
        ("11-23-75", dt.date(1975, 11, 23)),
        ("oh three oh four eighty two", dt.date(1982, 3, 4)),
        ("03041982", dt.date(1982, 3, 4)),
        ("1975-11-23", dt.date(1975, 11, 23)),  # year first, as forms write it
        ("Nineteen forty-one, July ninth.", dt.date(1941, 7, 9)),  # year first, spoken
        ("2019, April 2nd", dt.date(2019, 4, 2)),
        ("the twenty-third of November, seventy-five", dt.date(1975, 11, 23)),  # a spoken compound ordinal
        ("March 5th, 1982, oh no sorry, March fourth, 1982", dt.date(1982, 3, 4)),  # the correction wins
        ("December 29th 1979, I mean December 28th 1979", dt.date(1979, 12, 28)),
    ],
)
def test_dates_of_birth(said, expected):
    assert parse_dob(said, lexicon("en"), TODAY) == expected


@pytest.mark.parametrize("said", ["I don't know", "next Tuesday", "March 4th", "2/30/1990", "12/1/2030"])
def test_no_date_of_birth(said):
    assert parse_dob(said, lexicon("en"), TODAY) is None
