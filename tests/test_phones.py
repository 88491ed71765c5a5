import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from receptionist.phones import InvalidPhone, normalise_or_none, parse_phone_list, to_e164


@pytest.mark.parametrize(
    "text",
    ["(202) 555-0143", "202.555.0143", "+1 202 555 0143", "1-202-555-0143", "2025550143", "  202 555 0143 "],
)
def test_common_formats_become_e164(text):
    """Phone numbers in the formats practice systems export are stored as E.164."""
    assert to_e164(text) == "+12025550143"


@pytest.mark.parametrize("text", ["", "abc", "555-01", "12345678901234567"])
def test_garbage_is_rejected(text):
    """Text that is not a possible number is refused with a reason."""
    with pytest.raises(InvalidPhone):
        to_e164(text)


def test_several_numbers_in_one_field():
    """A field may list several numbers; each is kept once, in order."""
    assert parse_phone_list("202-555-0143; (202) 555-0199 | +12025550143") == ["+12025550143", "+12025550199"]


def test_webhook_numbers_normalise_or_none():
    """Anonymous or garbage caller ids become None instead of raising."""
    assert normalise_or_none("+12025550143") == "+12025550143"
    assert normalise_or_none("anonymous") is None
    assert normalise_or_none(None) is None


@settings(max_examples=300)
@given(st.from_regex(r"\A\+1[2-9][0-9]{9}\Z"))
def test_e164_shortcut_agrees_with_phonenumbers(number):
    """Twilio's already-E.164 North American numbers skip parsing: the result is what parsing gives."""
    import phonenumbers

    parsed = phonenumbers.parse(number, "US")
    assert phonenumbers.is_possible_number(parsed)
    assert (
        to_e164(number) == phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) == number
    )
