"""Phone numbers: everything stored, cached and compared is E.164, parsed with `phonenumbers`."""

from __future__ import annotations

import re

import phonenumbers

_SPLIT = re.compile(r"[;|/]|\s{2,}")
# What Twilio sends in From/To for a North American number: already E.164, and `to_e164` leaves it as is
# (tests/test_phones.py checks that for every such number). Parsing it costs more than the rest of routing.
_NANP_E164 = re.compile(r"\+1[2-9]\d{9}")


class InvalidPhone(ValueError):
    """The text is not a usable phone number."""


def to_e164(text: str, region: str = "US") -> str:
    """Normalise one number in any common format ("(202) 555-0143", "202.555.0143", "+1 202 555 0143")."""
    raw = (text or "").strip()
    if region == "US" and _NANP_E164.fullmatch(raw):
        return raw
    if not raw:
        raise InvalidPhone("empty phone number")
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise InvalidPhone("not a phone number") from None
    if not phonenumbers.is_possible_number(number):
        raise InvalidPhone("not a possible phone number (wrong number of digits)")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def parse_phone_list(text: str, region: str = "US") -> list[str]:
    """Several numbers in one field ("+1 202 555 0143; 202-555-0199"), de-duplicated, order kept."""
    out: list[str] = []
    for part in _SPLIT.split(text or ""):
        if part.strip():
            e164 = to_e164(part, region)
            if e164 not in out:
                out.append(e164)
    return out


def normalise_or_none(text: str | None, region: str = "US") -> str | None:
    """E.164 for a webhook's `From`/`To`, or None for anonymous, blocked or garbage callers."""
    try:
        return to_e164(text or "", region)
    except InvalidPhone:
        return None
