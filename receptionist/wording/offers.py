"""What a sequence step carrying an offer writes (the offer's own words come from the practice file).

An offer is marketing: only a patient with prior express written consent gets it (the gates), and never in
an exempt (healthcare) message.
"""

from __future__ import annotations

from receptionist.wording.contacts import SMS_LIMIT, _plain, email_text, spoken_phone


def offer_sms_text(practice: str, first_name: str | None, phone: str, offer: str) -> str:
    """The reactivation text with its offer: practice name first, the offer, the number, STOP; one segment
    when it fits, the offer's words kept whole (a marketing text may run to two)."""
    name = _plain(practice) or "Your practice"
    what = _plain(offer).rstrip(".")
    tail = f" Call {spoken_phone(phone)} to book. Reply STOP to opt out."
    first = _plain(first_name or "").split(" ")[0][:20]
    options = (
        f"{name}: Hi {first}, we'd love to see you again, with {what}." if first else "",
        f"{name}: We'd love to see you again, with {what}.",
    )
    for body in options:
        if body and len(body + tail) <= SMS_LIMIT:
            return body + tail
    return options[1] + tail


def offer_email_text(
    practice: str, first_name: str | None, phone: str, hours: str, unsubscribe_url: str, offer: str
) -> str:
    """The reactivation email with the offer's paragraph after its greeting."""
    hello, _, rest = email_text(practice, first_name, phone, hours, unsubscribe_url).partition("\n\n")
    return f"{hello}\n\nFor your next visit we have {offer.strip().rstrip('.')}.\n\n{rest}"
