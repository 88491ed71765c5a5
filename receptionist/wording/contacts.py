"""What a reactivation contact says, per channel: pure functions, the COMPLIANCE.md rules built in.

Every one names the practice first and gives its number, says how to opt out, and carries no value, tier,
spending or clinical detail. A text fits in one 160-character SMS segment (plain GSM characters); a
voicemail stays far under a minute (about 150 words a minute spoken: kept under 75 words).
"""

from __future__ import annotations

import re

import phonenumbers

SMS_LIMIT = 160
VOICEMAIL_MAX_WORDS = 75
_NOT_GSM = re.compile(r"[^A-Za-z0-9 .,!?'()&:;/+\-@#%]")


def spoken_phone(e164: str) -> str:
    """+12025550100 -> "(202) 555-0100" for print; digits grouped so a voice reads them one by one."""
    try:
        return phonenumbers.format_number(
            phonenumbers.parse(e164, None), phonenumbers.PhoneNumberFormat.NATIONAL
        )
    except phonenumbers.NumberParseException:
        return e164


def _plain(text: str) -> str:
    return " ".join(_NOT_GSM.sub("", text).split())


def sms_text(practice: str, first_name: str | None, phone: str) -> str:
    """One segment: practice name first, a friendly nudge, the number, and STOP."""
    name = _plain(practice) or "Your practice"
    number = spoken_phone(phone)
    tail = f" Call {number} to book. Reply STOP to opt out."
    first = _plain(first_name or "").split(" ")[0][:20]
    for body in (
        f"{name}: Hi {first}, it's been a while and we'd love to see you again." if first else "",
        f"{name}: It's been a while and we'd love to see you again.",
        f"{name}: We'd love to see you again.",
    ):
        if body and len(body + tail) <= SMS_LIMIT:
            return body + tail
    return (f"{name[: SMS_LIMIT - len(tail) - 1]}:" + tail)[:SMS_LIMIT]


# Words an exempt (healthcare) message or an opt-out confirmation never carries: offers, prices, sales.
MARKETING_WORDS = (
    "offer",
    "discount",
    "special",
    "deal",
    "promo",
    "coupon",
    "sale",
    "free",
    "save",
    "%",
    "$",
    "love to see you",
)


def has_marketing(text: str) -> bool:
    """Whether a text carries marketing wording (an offer, a price, a sales nudge)."""
    low = f" {text.lower()} "
    return any((f" {w}" in low) if w.isalpha() else (w in low) for w in MARKETING_WORDS)


def _fit(parts: tuple[str, ...], tail: str) -> str:
    for body in parts:
        if body and len(body + tail) <= SMS_LIMIT:
            return body + tail
    return (parts[-1] + tail)[:SMS_LIMIT]


def reminder_sms_text(practice: str, first_name: str | None, phone: str) -> str:
    """An exempt (healthcare) text: the practice's name and number first, the recall, the opt-out; one
    160-character segment, no marketing (the exemption's conditions, COMPLIANCE.md)."""
    name = _plain(practice)[:60] or "Your practice"
    head = f"{name} {spoken_phone(phone)}:"
    first = "".join(ch for ch in _plain(first_name or "").split(" ")[0] if ch.isalpha() or ch in "'-")[:20]
    tail = " Reply STOP to opt out."
    return _fit(
        (
            f"{head} Hi {first}, you are due for your check-up. Call us to schedule." if first else "",
            f"{head} You are due for your check-up. Call us to schedule.",
            f"{head} Your check-up is due.",
        ),
        tail,
    )


def optout_confirmation(practice: str, phone: str) -> str:
    """The one confirmation after a revocation: what was done, every channel, how to reach the practice;
    nothing else (no marketing, FCC 24-18)."""
    name = _plain(practice)[:60] or "Your practice"
    return _fit(
        (
            f"{name}: you're opted out of all our calls, texts and emails and won't hear from us again. "
            f"Questions? Call {spoken_phone(phone)}.",
            f"{name}: you're opted out of all our calls, texts and emails.",
        ),
        "",
    )


def help_text(practice: str, phone: str) -> str:
    name = _plain(practice)[:60] or "Your practice"
    return _fit(
        (f"{name}: call {spoken_phone(phone)} to book or for help. Reply STOP to opt out of all messages.",),
        "",
    )


def cannot_read_replies(practice: str, phone: str) -> str:
    """The answer to a text the product cannot act on: it says so, how to reach the practice, and the other
    ways to opt out (FCC 24-18: a sender that cannot act on replies must name them)."""
    name = _plain(practice)[:60] or "Your practice"
    number = spoken_phone(phone)
    return _fit(
        (
            f"{name}: this number can't answer texts. Please call us at {number}. To opt out of all our "
            "messages reply STOP or tell us on the phone.",
            f"{name}: we can't answer texts here. Call {number}. To opt out reply STOP or tell us by phone.",
        ),
        "",
    )


def texts_paused(practice: str, phone: str) -> str:
    """The answer to a text from a number that opted out: no conversation by text, how to reach the practice."""
    name = _plain(practice)[:60] or "Your practice"
    return _fit(
        (
            f"{name}: you're opted out of our texts, so we can't answer here. Please call us at "
            f"{spoken_phone(phone)}.",
            f"{name}: you're opted out of our texts. Call {spoken_phone(phone)}.",
        ),
        "",
    )


def exempt_call_opening(practice: str, phone: str) -> str:
    """The first words of an exempt (healthcare) AI call: an automated call, the practice and its number."""
    return f"Hello, this is an automated call from {practice}, at {spoken_phone(phone)}."


def voicemail_text(practice: str, phone: str) -> str:
    """Practice and number first, that the voice is automated (FCC 24-17), no names (anyone may hear a
    voicemail), the opt-out, and the number again."""
    number = spoken_phone(phone)
    return (
        f"Hello, this is an automated message from {practice}, at {number}. It's been a while since your last visit, and we'd love to "
        f"see you again. Please call us at {number} to book a time that suits you. If you'd rather we didn't "
        "call, call that number and say stop calling me, or reply STOP to any of our texts. Thank you, goodbye."
    )


def reminder_voicemail_text(practice: str, phone: str) -> str:
    """An exempt (healthcare) voicemail: automated, practice and number first, the recall, the opt-out; no
    names, no marketing, far under a minute."""
    number = spoken_phone(phone)
    return (
        f"Hello, this is an automated message from {practice}, at {number}. Our records show a check-up is "
        f"due. Please call us at {number} to schedule. If you'd rather we didn't call, call that number and "
        "say stop calling me, or reply STOP to any of our texts. Goodbye."
    )


def email_subject(practice: str) -> str:
    return f"{practice}: we'd love to see you again"


# A first name in an email is patient-supplied text: letters (any script), spaces, apostrophes, hyphens and
# dots only, first word, at most 30 characters. No newline (a forged paragraph), no URL, no markup.
_NAME_CHARS = re.compile(r"[^\w\s'\-.]|[\d_]")
_URLISH = re.compile(r"(https?:|www\.|\S+\.(com|net|org|io|co|us|info|biz|ru|cn|xyz)\b)", re.IGNORECASE)


def safe_first_name(first_name: str | None) -> str:
    """The first name as an email may greet with, or "" when nothing of it is safe to print."""
    text = first_name or ""
    if _URLISH.search(text):
        return ""
    words = _NAME_CHARS.sub("", text).split()
    return words[0].strip(".-'")[:30] if words else ""


def email_text(practice: str, first_name: str | None, phone: str, hours: str, unsubscribe_url: str) -> str:
    first = safe_first_name(first_name)
    hello = f"Hi {first}," if first else "Hello,"
    return (
        f"{hello}\n\nIt's been a while since your last visit to {practice}, and we'd love to see you again.\n\n"
        f"To book, call us at {spoken_phone(phone)} ({hours}), or simply reply to this email.\n\n"
        f"Warm regards,\n{practice}\n\n"
        f"You are receiving this because you are a patient of {practice}. To stop these emails, open "
        f"{unsubscribe_url}\n"
    )


def staff_bridge_text(first_name: str, points: tuple[str, ...]) -> str:
    """What the staff member hears before the patient's phone rings."""
    about = ". ".join(points)
    return (
        f"Reactivation call to {first_name or 'a patient'}. {about + '. ' if about else ''}"
        "Press 1 to place the call, or hang up to skip."
    )
