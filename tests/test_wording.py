"""Shared wording: the fixed lines of a call and spoken times come from one place, so they cannot drift."""

from __future__ import annotations

import datetime as dt

import pytest

from receptionist.config.practice import Hours
from receptionist.wording import calls, last_visit_text
from receptionist.wording.spoken import spoken_time


@pytest.mark.parametrize(
    "line",
    [
        calls.inbound_greeting("Brightsmile Dental", "Tom", is_open=True, hours="Monday to Friday"),
        calls.inbound_greeting("Brightsmile Dental", None, is_open=False, hours="Monday to Friday"),
        calls.outbound_opener("Brightsmile Dental", "Tom", "Would you like to book a cleaning?"),
        calls.transfer_failed_greeting("Brightsmile Dental", None),
    ],
)
def test_every_opening_line_names_the_practice_and_says_it_is_automated(line):
    """The disclosure the law asks for is in every first line, whichever way the call began."""
    assert "automated assistant" in line and "Brightsmile Dental" in line


def test_opening_hours_and_slots_say_times_the_same_way():
    """Noon is "noon" in the hours text as in an offered slot (they were "12 PM" and "noon")."""
    hours = Hours({0: (dt.time(8, 0), dt.time(12, 0))})
    assert spoken_time(dt.time(12, 0)) == "noon"
    assert hours.describe() == "Monday, 8 AM to noon"


def test_last_visit_wording_is_the_score_reasons_wording():
    """The whisper and the reasons say "last visit ... ago" with the same words."""
    assert last_visit_text(430) == "last visit 14 months ago"


def test_goodbye_thanks_a_caller_for_calling_and_a_called_patient_for_their_time():
    """An outbound call never ends with "Thank you for calling"."""
    from receptionist.wording.calls import goodbye

    assert goodbye("inbound") == "Thank you for calling. Goodbye."
    assert "calling" not in goodbye("outbound") and goodbye("outbound").endswith("Goodbye.")
