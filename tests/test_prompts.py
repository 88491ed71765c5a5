"""The system prompts: every file loads and every placeholder is filled."""

import pytest

from receptionist.conversation import prompts

FACTS = {
    "practice_name": "Bright Smiles Dental",
    "location_name": "Dupont Circle",
    "address": "1 Main St",
    "hours": "Monday to Friday, 8 AM to 5 PM",
    "today": "Monday November 30th 2026",
    "caller": "Tom",
    "open_or_closed": "open",
}


@pytest.mark.parametrize("name", prompts.NAMES)
def test_every_prompt_renders_with_no_placeholder_left(name):
    """Each situation's prompt loads and renders with the practice's facts, leaving no `{` or `}`."""
    text = prompts.render(name, **FACTS)
    assert "{" not in text and "}" not in text
    assert "Bright Smiles Dental" in text and "9 1 1" in text


@pytest.mark.parametrize("name", prompts.NAMES)
def test_every_placeholder_is_a_known_fact(name):
    """No prompt uses a placeholder the engine does not supply."""
    assert prompts.placeholders(name) <= set(FACTS) | {"rules"}


def test_a_missing_fact_raises():
    """Rendering without a fact the prompt needs fails loudly instead of sending a hole to the model."""
    facts = dict(FACTS)
    del facts["address"]
    with pytest.raises(prompts.MissingFact):
        prompts.render("inbound_routine", **facts)


@pytest.mark.parametrize("words", ["tier", "score", "spend", "value"])
def test_prompts_never_mention_patient_value(words):
    """The minimum-necessary rule: no prompt talks about tiers, scores or spending."""
    for name in (*prompts.NAMES, prompts.RULES):
        assert words not in prompts._text(name).lower()


@pytest.mark.parametrize(
    ("direction", "reason", "known", "is_open", "expected"),
    [
        ("inbound", "routine", True, True, "inbound_routine"),
        ("inbound", "after_hours", True, False, "after_hours"),
        ("inbound", "routine", False, True, "new_patient"),
        ("outbound", "reactivation_high", True, True, "outbound_high"),
        ("outbound", "reactivation_low", True, True, "outbound_low"),
        ("outbound", "reactivation", True, True, "outbound_mid"),
    ],
)
def test_prompt_choice(direction, reason, known, is_open, expected):
    """The prompt fits the call's direction, the caller and the office hours."""
    assert prompts.name_for(direction, reason, known=known, is_open=is_open) == expected
