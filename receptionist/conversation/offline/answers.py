"""Answers to the practice's questions, from the practice file: hours (and whether a day asked about is a
working day), where it is and how to get there, and the FAQ. A question the answer does not cover (what the
caller asks about is not in it: "sedation" against the services list) is passed to the team in the caller's
own words, and the caller is told so."""

from __future__ import annotations

from typing import TYPE_CHECKING

from receptionist.conversation.nlu import Heard
from receptionist.conversation.nlu.lexicon import lexicon
from receptionist.conversation.nlu.text import tokens
from receptionist.wording import spoken

if TYPE_CHECKING:
    from receptionist.conversation.offline.engine import Turn

FAQ_TOPICS = {
    "faq_insurance": "insurance",
    "faq_payment": "payment",
    "faq_parking": "parking",
    "faq_new_patients": "new_patients",
    "faq_services": "services",
    "faq_prices": "prices",
}
CHILD_WORDS = frozenset(
    {"kid", "kids", "child", "children", "childs", "son", "daughter", "toddler", "baby", "pediatric"}
)


def answers(turn: Turn, h: Heard) -> list[str]:
    """What the turn's questions get, in the order asked; a question not covered becomes a message."""
    out: list[str] = []
    facts = turn.ctx.facts
    if h.has("faq_hours"):
        out.extend(_hours(turn, h))
    if h.has("faq_address"):
        out.append(turn.line("address", address=spoken.speakable_address(facts.address)))
        directions = turn.practice.front_desk.answer("parking") if turn.practice else None
        if directions and not h.has("faq_parking"):
            out.append(directions)
    words = set(tokens(h.text, lexicon("en")).words)
    for intent, topic in FAQ_TOPICS.items():
        if not h.has(intent):
            continue
        if topic in ("services", "new_patients") and words & CHILD_WORDS:
            topic = "children" if turn.practice and turn.practice.front_desk.answer("children") else topic
        answer = turn.practice.front_desk.answer(topic) if turn.practice else None
        if answer is None:
            turn.tools.take_message(h.text, about="question")
            out.append(turn.line("faq_unknown"))
            continue
        out.append(answer)
        if uncovered(h.text, answer):
            turn.tools.take_message(h.text, about="question")
            out.append(turn.line("faq_partly"))
    return out


def _hours(turn: Turn, h: Heard) -> list[str]:
    facts, loc = turn.ctx.facts, turn.location
    hours = spoken.clean(facts.hours_text)
    days = list(h.entities.days)
    if loc is not None and days:
        out = []
        for day in days[:2]:
            when = spoken.spoken_date(day, turn.ctx.now.date())
            holiday = loc.holidays.name_of(day)
            if holiday and holiday != "closed":
                out.append(turn.line("closed_holiday", when=when, holiday=holiday))
            elif not loc.is_working_day(day):
                out.append(turn.line("closed_day", when=when, hours=hours))
            else:
                span = loc.hours.by_weekday[day.weekday()]
                out.append(
                    turn.line(
                        "open_day",
                        when=when,
                        opens=spoken.spoken_time(span[0]),
                        closes=spoken.spoken_time(span[1]),
                    )
                )
        return out
    out = []
    holiday = loc.holidays.name_of(turn.ctx.now.date()) if loc is not None else None
    if holiday and holiday != "closed":
        out.append(turn.line("closed_today", holiday=holiday))
    out.append(turn.line("hours", hours=hours))
    return out


def subjects(text: str) -> list[str]:
    """What a question asks about: its words that are neither question words nor fillers."""
    lex = lexicon("en")
    skip = lex.words("question_words") | lex.words("fillers")
    return [w for w in tokens(text, lex).words if w.isalpha() and len(w) > 2 and w not in skip]


def uncovered(question: str, answer: str) -> list[str]:
    """Subjects of the question the answer never mentions (by word stem)."""
    said = {w[:5] for w in tokens(answer, lexicon("en")).words}
    return [w for w in subjects(question) if w[:5] not in said]


def open_question(turn: Turn, h: Heard) -> bool:
    """A question to the practice nothing else answered ("does anyone there speak Mandarin?")."""
    text = h.text.strip().lower()
    asks = text.endswith("?") or text.split(" ", 1)[0] in ("do", "does", "is", "are", "can", "could", "what", "how",
                                                           "who", "where", "when", "which", "will", "would")  # fmt: skip
    return asks and len(subjects(h.text)) >= 1
