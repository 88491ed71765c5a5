"""Checks in code that run before any model sees a caller's words: pure functions over one turn.

`check` answers which guardrail (if any) a turn trips: a medical emergency or an urgent dental problem (the
shared triage policy, `policy/triage.py`, over the shared understanding), an opt-out, a request for medical
advice, an attempt to steer the assistant (override its instructions, read its prompt, list other patients),
or a turn about someone other than the caller ("my daughter needs a cleaning", "when is Margaret's
appointment"), where family links and identity checks decide. The LLM engine answers those in code, so no
prompt can talk the model out of them.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from receptionist.conversation.nlu import Heard, understand
from receptionist.conversation.nlu.lexicon import lexicon
from receptionist.conversation.nlu.text import tokens
from receptionist.conversation.policy.contact import preferences
from receptionist.conversation.policy.triage import triage
from receptionist.conversation.types import Utterance

Guard = Literal["emergency", "urgent", "opt_out", "advice", "injection", "other_patient", "someone_else"]

INJECTION = re.compile(
    r"\b(?:ignore|disregard|forget|override|bypass)\b.{0,40}\b(?:instructions?|rules|prompts?|programming|"
    r"guidelines|directions|previous|above|everything)\b"
    r"|\bsystem (?:prompt|message|instructions?)\b"
    r"|\byour (?:instructions|prompt|rules|programming|guidelines|configuration|training)\b"
    r"|\b(?:developer|admin|debug|god) mode\b|\bjailbreak|\bdo anything now\b"
    r"|\bpretend (?:to be|you are|youre)\b|\byou are now\b|\bact as (?:a|an|my)\b"
    r"|\b(?:repeat|print|reveal|show|read) (?:me )?(?:the|your) (?:text|words|instructions|prompt)\b"
    r"|\bwhat (?:model|llm) are you\b"
)
_RECORD = r"(?:appointments?|records?|dates? of birth|birthday|information|info|details|address|phone number|file|chart)"
# Family members are reachable under their own records (the tools check the family link and the date of birth
# on file); friends, neighbours and "other patients" are not.
_NOT_FAMILY = r"(?:neighbou?r|friend|boss|roommate|coworker|colleague|ex)"
OTHER_RECORDS = re.compile(
    r"\b(?:other|another|any other|all (?:the|your)|list (?:of )?(?:the|your|all)?) ?patients?\b"
    r"|\bsomeone elses?\b|\bsomebody elses?\b|\bwho else\b"
    r"|\bpatients? (?:list|records|names|numbers|files)\b"
    rf"|\b(?:my|his|her|their|our) {_NOT_FAMILY}s? {_RECORD}\b"
    rf"|\b(?:when|what time) (?:is|was|does) (?:my |his |her )?{_NOT_FAMILY}s?\b"
)


def plain(text: str) -> str:
    text = text.lower().replace("\u2019", "'").replace("'", "")
    return " ".join(re.sub(r"[^a-z0-9 ]+", " ", text).split())


def check(heard: Utterance, now: dt.datetime) -> Guard | None:
    """The guardrail this turn trips, most urgent first; None when the model may answer it."""
    return inspect(heard, now)[0]


def inspect(heard: Utterance, now: dt.datetime) -> tuple[Guard | None, Heard]:
    """`check`'s answer with the understanding it came from (who the turn is about, for the family check)."""
    h = understand((heard.speech or "")[:600], now=now, language="en")
    return _guard(heard, h), h


def _guard(heard: Utterance, h: Heard) -> Guard | None:
    level = triage(
        [(s.kind, s.negated) for s in h.entities.symptoms],
        medical_intent=h.has("medical_emergency"),
        urgent_intent=h.has("urgent_dental"),
        first_aid={},
    ).level
    if level == "emergency_911":
        return "emergency"
    if h.has("opt_out") and not preferences(tokens(h.text, lexicon(h.language)).words):
        return "opt_out"  # "text me instead of calling" asks for a channel: a preference the model records
    text = plain(heard.speech or "")
    if INJECTION.search(text):
        return "injection"
    if OTHER_RECORDS.search(text):
        return "other_patient"
    if level == "urgent_dental":
        return "urgent"
    if h.entities.whose is not None or any(p.relation != "self" for p in h.entities.for_whom):
        return "someone_else"
    if h.has("advice"):
        return "advice"
    return None
