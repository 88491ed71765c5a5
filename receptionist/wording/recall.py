"""What a recall reminder says: a healthcare (exempt) text per stage of the sequence, in the patient's language.

The sentences are data (`languages/<code>/lines.toml`, table `[recall]`); this module picks the longest that
fits one 160-character segment with the opt-out. Every one starts with the practice's name and its number
(the exemption's condition, checked again at send time by `outreach.gates.exempt_text_problem`), and none
carries an offer, a price or anything clinical.
"""

from __future__ import annotations

import re

from receptionist.wording.contacts import SMS_LIMIT, spoken_phone
from receptionist.wording.lines import DEFAULT, lines

STAGES = ("before", "due", "after")
_NAME = re.compile(r"[^A-Za-z'\-]")
_PLAIN = re.compile(r"[^A-Za-z0-9 .,!?'()&:;/+\-@#%]")


def stage_of(days: int) -> str:
    """A step's stage from its days from the due date: before it, on it, after it."""
    return "before" if days < 0 else "due" if days == 0 else "after"


def recall_sms_text(
    practice: str, first_name: str | None, phone: str, stage: str, language: str = DEFAULT
) -> str:
    """The text of one recall step (`stage`: before | due | after), at most 160 characters."""
    if stage not in STAGES:
        raise ValueError(f"stage must be one of {STAGES}, not {stage!r}")
    say = lines(language).say
    name = " ".join(_PLAIN.sub("", practice).split())[:60] or "Your practice"
    head = say("recall.head", practice=name, phone=spoken_phone(phone))
    first = _NAME.sub("", (first_name or "").split(" ")[0])[:20]
    tail = " " + say("recall.opt_out")
    bodies = (
        say(f"recall.sms_{stage}", head=head, first=first) if first else "",
        say(f"recall.sms_{stage}_short", head=head),
        say("recall.sms_shortest", head=head),
    )
    for body in bodies:
        if body and len(body + tail) <= SMS_LIMIT:
            return body + tail
    return (bodies[-1][: SMS_LIMIT - len(tail)] + tail)[:SMS_LIMIT]
