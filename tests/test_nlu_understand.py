"""The entry point: language detection, the Heard helpers, the `expecting` hint and Spanish without a corpus."""

from __future__ import annotations

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from receptionist.conversation import nlu
from receptionist.conversation.nlu import language

NOW = dt.datetime(2026, 11, 17, 10, 0, tzinfo=ZoneInfo("America/New_York"))


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("hi I'd like to book a cleaning", "en"),
        ("yes", "en"),
        ("no", "en"),
        ("hello", "en"),
        ("this is Maria Garcia", "en"),
        ("my name is Jose Luis Rodriguez", "en"),
        ("I need una cita", "en"),
        ("hola quiero una cita", "es"),
        ("necesito cancelar mi cita del martes", "es"),
        ("sí por favor", "es"),
        ("gracias", "es"),
        ("es para mi hija", "es"),
        ("¿tienen citas mañana?", "es"),
        ("", "en"),
    ],
)
def test_language_detection(text, code):
    """Marker words decide; lingua only breaks ties, and only a confident Spanish wins over the default."""
    assert language.detect(text) == code


def test_spanish_is_heard_with_no_intents():
    """Spanish has no corpus yet: the language is returned, and no intents."""
    heard = nlu.understand("hola, necesito una cita para mañana", now=NOW)
    assert heard.language == "es" and heard.intents == () and heard.top is None


def test_language_can_be_forced():
    """A language handed in is used as it is, without detection."""
    assert nlu.understand("gracias", now=NOW, language="en").language == "en"


def test_heard_helpers():
    """`top` is the best label, `has` tests membership, `score` reads a probability (0 when not heard)."""
    heard = nlu.understand("hi do you guys take new patients", now=NOW)
    assert heard.top in ("greeting", "faq_new_patients")
    assert heard.has("faq_new_patients") and not heard.has("cancel")
    assert 0 < heard.score("faq_new_patients") <= 1 and heard.score("cancel") == 0.0
    probabilities = [p for _, p in heard.intents]
    assert probabilities == sorted(probabilities, reverse=True)


def test_heard_is_frozen():
    """What was heard cannot be changed by whoever reads it."""
    heard = nlu.understand("hello", now=NOW)
    with pytest.raises(dataclasses.FrozenInstanceError):
        heard.text = "bye"  # type: ignore[misc]


def test_text_is_kept_as_heard():
    """`text` is what the recogniser gave, not the normalised form."""
    assert nlu.understand("I need a clean in tomorow", now=NOW).text == "I need a clean in tomorow"


def test_unknown_expecting_is_refused():
    """`expecting` is one of a closed set: a typo fails loudly rather than being ignored."""
    with pytest.raises(ValueError, match="expecting"):
        nlu.understand("hello", now=NOW, expecting="date_of_birth")


def test_silence_is_nothing():
    """An empty turn has no intents and no entities."""
    heard = nlu.understand("", now=NOW)
    assert heard.intents == () and heard.entities == nlu.Entities()


def test_expecting_dob_reads_a_bare_date_as_a_birth_date():
    """The same words are an appointment date normally and a date of birth when one was asked for."""
    assert nlu.understand("March 3rd", now=NOW).entities.days == (dt.date(2027, 3, 3),)
    asked = nlu.understand("March 3rd 82", now=NOW, expecting="dob").entities
    assert asked.dob == dt.date(1982, 3, 3) and asked.days == ()


def test_now_decides_the_days():
    """Days are resolved against the `now` handed in, never the machine's clock."""
    friday = dt.datetime(2026, 11, 20, 9, 0, tzinfo=ZoneInfo("America/New_York"))
    assert nlu.understand("tomorrow", now=friday).entities.days == (dt.date(2026, 11, 21),)
    assert nlu.understand("tomorrow", now=NOW).entities.days == (dt.date(2026, 11, 18),)
