"""Checks in code that run before any model sees a caller's words: pure functions over one turn.

`check` answers which guardrail (if any) a turn trips: an emergency or an opt-out (both from `understand`,
the offline engine's own detection), a request for medical advice, or an attempt to steer the assistant
(override its instructions, read its prompt, reach another patient's record). The LLM engine answers those
itself, so no prompt can talk the model out of them.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from receptionist.conversation.types import Utterance
from receptionist.conversation.understand import understand

Guard = Literal["emergency", "opt_out", "advice", "injection", "other_patient"]

REFUSAL = (
    "I'm sorry, I can't help with that. I'm the automated assistant, and I can only help with your own "
    "appointments and our practice's information."
)
OTHER_PATIENT = (
    "I'm sorry, I can only help with your own record. They are welcome to call us themselves, or our "
    "front desk can help."
)
EMERGENCY = (
    "This sounds like an emergency. Please hang up and dial 9 1 1 now, or go to the nearest emergency room."
)

_INJECTION = re.compile(
    r"\b(?:ignore|disregard|forget|override|bypass)\b.{0,40}\b(?:instructions?|rules|prompts?|programming|"
    r"guidelines|directions|previous|above|everything)\b"
    r"|\bsystem (?:prompt|message|instructions?)\b"
    r"|\byour (?:instructions|prompt|rules|programming|guidelines|configuration|training)\b"
    r"|\b(?:developer|admin|debug|god) mode\b|\bjailbreak|\bdo anything now\b"
    r"|\bpretend (?:to be|you are|youre)\b|\byou are now\b|\bact as (?:a|an|my)\b"
    r"|\b(?:repeat|print|reveal|show|read) (?:me )?(?:the|your) (?:text|words|instructions|prompt)\b"
    r"|\bwhat (?:model|llm) are you\b"
)
_RELATIVE = (
    r"(?:wife|husband|son|daughter|mother|father|mom|mum|dad|neighbou?r|friend|sister|brother|partner|"
    r"boss|kid|child|grandma|grandpa|grandmother|grandfather|roommate|aunt|uncle|cousin)"
)
_RECORD = r"(?:appointments?|records?|dates? of birth|birthday|information|info|details|address|phone number|file|chart)"
_OTHER_PATIENT = re.compile(
    r"\b(?:other|another|any other|all (?:the|your)|list (?:of )?(?:the|your|all)?) ?patients?\b"
    r"|\bsomeone elses?\b|\bsomebody elses?\b|\bwho else\b"
    r"|\bpatients? (?:list|records|names|numbers|files)\b"
    rf"|\b(?:my|his|her|their|our) {_RELATIVE}s? {_RECORD}\b"
    rf"|\b(?:when|what time) (?:is|was|does) (?:my |his |her )?{_RELATIVE}s?\b"
    r"|\b(?:when|what time) (?:is|was|does) [a-z]+ [a-z]+s appointment\b"
)


def _plain(text: str) -> str:
    text = text.lower().replace("\u2019", "'").replace("'", "")
    return " ".join(re.sub(r"[^a-z0-9 ]+", " ", text).split())


def check(heard: Utterance, now: dt.datetime | None = None) -> Guard | None:
    """The guardrail this turn trips, most urgent first; None when the model may answer it."""
    u = understand(heard, now)
    if u.intent == "emergency":
        return "emergency"
    if u.intent == "opt_out":
        return "opt_out"
    text = _plain(heard.speech or "")
    if _INJECTION.search(text):
        return "injection"
    if _OTHER_PATIENT.search(text):
        return "other_patient"
    if u.intent == "advice":
        return "advice"
    return None
