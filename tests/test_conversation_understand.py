"""Intent and slot understanding of single caller turns, with a fixed reference time."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from receptionist.conversation.understand import (
    INTENTS,
    extract_name,
    kind_of,
    normalise,
    tokens_of,
    understand,
)

from receptionist.conversation.types import Utterance

TZ = ZoneInfo("America/New_York")
NOW = dt.datetime(2026, 11, 30, 10, 0, tzinfo=TZ)  # Monday November 30th, 10 AM


def intent(text: str) -> str:
    return understand(text, NOW).intent


INTENT_CASES = {
    "book": [
        "I'd like to book an appointment",
        "can I make an appointment",
        "I need a cleaning",
        "I want to schedule a checkup",
        "do you have any openings this week",
        "I'd like to come in for a cleaning",
        "can I get my teeth cleaned",
        "I'm a new patient and want to see the dentist",
        "book me in please",
        "I need to set up an appointment",
        "yes I'd like to book a cleaning",
        "no, I want to book a checkup",
        "when is your next available appointment",
        "could you fit me in tomorrow",
        "I need an emergency appointment",
        "I'd like to book a clean in",
    ],
    "reschedule": [
        "I need to reschedule",
        "I want to re schedule my appointment",
        "can I move my appointment",
        "I need to change the time of my appointment",
        "could we push it back a week",
        "I have to postpone my cleaning",
        "I can't make it on Thursday",
        "I won't be able to make my appointment",
        "can you move my cleaning to Friday",
        "I don't want to cancel, I want to reschedule",
    ],
    "cancel": [
        "I need to cancel my appointment",
        "please cancel it",
        "I'd like to cancel my cleaning tomorrow",
        "cancel",
        "can you can cel my appointment",
        "I want to call off my appointment",
    ],
    "my_appointments": [
        "when is my appointment",
        "what time is my appointment tomorrow",
        "do I have an appointment coming up",
        "can you confirm my appointment",
        "when am I booked in",
        "what day is my next appointment",
    ],
    "hours": [
        "what are your hours",
        "are you open on Saturday",
        "what time do you close today",
        "when do you open",
        "what are your opening hours",
        "is the office open right now",
    ],
    "address": [
        "what's your address",
        "where are you located",
        "how do I get there",
        "can I get directions",
        "where's the office",
        "is there parking",
    ],
    "human": [
        "can I talk to a real person",
        "I want to speak to the receptionist",
        "representative",
        "operator",
        "let me talk to someone at the front desk",
        "transfer me please",
        "can I speak with a human",
        "put me through to the office staff",
        "I'd like to talk to somebody",
        "I'd like to talk to Dr. Chen about my bill",
        "I'm returning a call from your office",
        "someone called me from this number",
    ],
    "front_desk": [
        "how much is a cleaning",
        "do you take my insurance",
        "I have a question about my bill",
        "I need to update my phone number",
    ],
    "who": ["who is this", "am I talking to a robot", "is this a real person"],
    "message": [
        "I'd like to leave a message",
        "can you take a message for Dr. Chen",
        "I want to leave a voicemail",
        "please pass a message to the hygienist",
    ],
    "callback": ["can someone call me back", "please have the office call me", "I'd like a call back"],
    "opt_out": [
        "stop calling me",
        "take me off your list",
        "don't call me again",
        "unsubscribe",
        "stop texting me",
        "remove my number",
        "please remove me from your calling list",
        "I don't want any more calls",
        "put me on your do not call list",
        "opt me out",
        "quit calling this number",
        "stop",
        "I said stop",
    ],
    "emergency": [
        "I'm having chest pain",
        "my husband can't breathe",
        "I'm having trouble breathing",
        "there's severe bleeding",
        "the bleeding won't stop",
        "my face is swollen and I can't swallow",
        "swelling is making it hard to breathe",
        "she's unconscious",
        "he passed out",
        "it's an emergency",
        "call 911",
        "nine one one",
        "my son knocked out a tooth and there's a lot of bleeding",
        "I want to book but I'm having chest pain",
        "stop calling me, I can't breathe",
    ],
    "advice": [
        "should I take ibuprofen",
        "is it normal for my gums to bleed",
        "what can I take for the pain",
        "do I need a root canal",
        "how much advil can I take",
        "is my tooth infected",
        "could it be an abscess",
    ],
    "yes": [
        "yes",
        "yeah",
        "yep",
        "sure",
        "that works",
        "sounds good",
        "okay",
        "correct",
        "uh huh",
        "yes please",
        "go ahead",
        "that's fine",
        "absolutely",
        "no problem",
    ],
    "no": [
        "no",
        "nope",
        "not really",
        "nah",
        "no thank you",
        "that doesn't work",
        "I don't think so",
        "not today",
        "I don't want to cancel",
        "I'm good",
        "not interested",
    ],
    "goodbye": [
        "bye",
        "goodbye",
        "that's all",
        "nothing else",
        "thanks bye",
        "no that's it thank you",
        "have a good day",
        "that's everything",
        "I'm all set",
        "sorry, wrong number",
        "I'll call back later",
    ],
    "more": [
        "none of those",
        "do you have anything later",
        "another day",
        "something later in the week",
        "neither of those work",
        "what else do you have",
        "different time",
    ],
    "repeat": ["can you repeat that", "sorry what was that", "say that again please", "I didn't catch that"],
    "thanks": ["thank you", "thanks so much"],
    "unsure": ["I'm not sure", "hmm let me think", "hold on a second"],
    "hello": ["hello?", "are you there"],
    "unknown": ["purple monkey dishwasher", "asdfgh", "", "the cat sat on the mat", "bananas"],
}


@pytest.mark.parametrize(
    "expected, text", [(name, text) for name, texts in INTENT_CASES.items() for text in texts]
)
def test_intents(expected, text):
    """Each phrasing is understood as its intent."""
    assert intent(text) == expected, understand(text, NOW).scores


@pytest.mark.parametrize(
    "text, not_expected",
    [
        ("I don't want to cancel", "cancel"),
        ("I'm not calling to book anything", "book"),
        ("I don't need to reschedule", "reschedule"),
        ("it's not an emergency, I just need a cleaning", "emergency"),
        ("no need to transfer me", "human"),
        ("don't call me back, I'll call later", "opt_out"),
        ("I'm not sure", "yes"),
        ("when can I see you", "goodbye"),
        ("is the emergency line open", "emergency"),
        ("do you take emergency patients", "emergency"),
        ("I'd like to stop by the office", "opt_out"),
        ("I got your text message", "message"),
        ("I'll call back later", "callback"),
    ],
)
def test_negation_and_look_alikes(text, not_expected):
    """A negated or look-alike phrase is not its intent."""
    assert intent(text) != not_expected


def test_negated_request_counts_as_no():
    """ "I don't want to cancel" is a no, which answers "Shall I cancel it?"."""
    assert understand("I don't want to cancel", NOW).score("no") >= 0.5


@pytest.mark.parametrize(
    "text",
    [
        "I want to book a cleaning but I'm having chest pain",
        "cancel my appointment, also my tooth was knocked out and it's bleeding a lot",
        "take me off your list, my mother can't breathe",
    ],
)
def test_emergency_wins_over_everything(text):
    """Emergency wins over any other request in the same sentence, opt-out included."""
    assert intent(text) == "emergency"


@pytest.mark.parametrize(
    "text",
    [
        "stop calling me, and I want to book",
        "yes, unsubscribe me",
        "cancel my appointment and stop texting me",
    ],
)
def test_opt_out_wins_over_other_requests(text):
    """Opt-out wins over every request but an emergency."""
    assert intent(text) == "opt_out"


def test_opt_out_keeps_the_other_request_as_runner_up():
    """The request said with an opt-out is still there to serve."""
    assert understand("stop calling me and cancel my appointment", NOW).runner_up(("opt_out",))[0] == "cancel"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("I'd like a clean in", "i would like a cleaning"),
        ("I need to re schedule", "i need to reschedule"),
        ("can I book for tomorow", "can i book for tomorrow"),
        ("wensday afternoon", "wednesday afternoon"),
        ("an apointment", "an appointment"),
        ("check-up", "checkup"),
        ("twenty one", "21"),
        ("the twenty first", "the 21st"),
        ("number two", "number 2"),
        ("the first one", "the 1st one"),
        ("at three p.m.", "at 3 pm"),
        ("at 3PM", "at 3 pm"),
        ("ten o'clock", "10 oclock"),
        ("I don't", "i do not"),
        ("Can't", "cannot"),
        ("hold on a second", "hold on a moment"),
        ("cancer", "cancer"),
        ("I'm feeling pain", "i am feeling pain"),
    ],
)
def test_normalisation_tolerates_recognition_noise(text, expected):
    """Recognition noise, contractions and number words are normalised."""
    assert normalise(text) == expected


DAY_CASES = [
    ("today", dt.date(2026, 11, 30), None),
    ("tomorrow", dt.date(2026, 12, 1), None),
    ("the day after tomorrow", dt.date(2026, 12, 2), None),
    ("next Tuesday", dt.date(2026, 12, 8), 1),
    ("this Friday", dt.date(2026, 12, 4), 4),
    ("this coming Wednesday", dt.date(2026, 12, 2), 2),
    ("on the 3rd", dt.date(2026, 12, 3), None),
    ("on the twenty first", dt.date(2026, 12, 21), None),
    ("on the 15th", dt.date(2026, 12, 15), None),
    ("December 4", dt.date(2026, 12, 4), None),
    ("December fourth", dt.date(2026, 12, 4), None),
    ("the 4th of December", dt.date(2026, 12, 4), None),
    ("january 8th", dt.date(2027, 1, 8), None),
    ("may 5th", dt.date(2027, 5, 5), None),
    ("12/4", dt.date(2026, 12, 4), None),
    ("Thursday", None, 3),
    ("any Monday", None, 0),
]


@pytest.mark.parametrize("text, day, weekday", DAY_CASES)
def test_day_references(text, day, weekday):
    """Day references resolve against the reference date (Monday November 30th, 2026)."""
    slots = understand(text, NOW).slots
    assert slots.day == day
    assert slots.weekday == weekday


@pytest.mark.parametrize(
    "text, after",
    [
        ("sometime next week", dt.date(2026, 12, 7)),
        ("next month", dt.date(2026, 12, 1)),
        ("in two weeks", dt.date(2026, 12, 14)),
    ],
)
def test_ranges_start_from_a_date(text, after):
    """ "Next week" and "in two weeks" become a date to search from."""
    assert understand(text, NOW).slots.after == after


@pytest.mark.parametrize(
    "text, part, at, after, before",
    [
        ("in the morning", "morning", None, None, None),
        ("afternoon works better", "afternoon", None, None, None),
        ("evening", "afternoon", None, None, None),
        ("after 2", "afternoon", None, 14 * 60, None),
        ("after 2 pm", "afternoon", None, 14 * 60, None),
        ("anytime after 10", None, None, 10 * 60, None),
        ("before 10", "morning", None, None, 10 * 60),
        ("at 3 pm", "afternoon", 15 * 60, None, None),
        ("at 3", "afternoon", 15 * 60, None, None),
        ("around 9:30", "morning", 9 * 60 + 30, None, None),
        ("nine thirty in the morning", "morning", 9 * 60 + 30, None, None),
        ("the 10 o'clock", "morning", 10 * 60, None, None),
        ("at noon", "afternoon", 12 * 60, None, None),
        ("half past two", "afternoon", 14 * 60 + 30, None, None),
        ("after lunch", "afternoon", None, 13 * 60, None),
        ("I am free in the afternoon", "afternoon", None, None, None),
    ],
)
def test_part_of_day_and_times(text, part, at, after, before):
    """Part of day and clock times, with office-hours reading of bare hours (2 is 2 PM)."""
    slots = understand(text, NOW).slots
    assert (slots.part_of_day, slots.time_at, slots.time_min, slots.time_max) == (part, at, after, before)


@pytest.mark.parametrize(
    "heard, choice, number",
    [
        (Utterance("the first one"), 1, None),
        (Utterance("second"), 2, None),
        (Utterance("the third"), 3, None),
        (Utterance("number 2"), 2, None),
        (Utterance("option three please"), 3, None),
        (Utterance("the last one"), -1, None),
        (Utterance(digits="1"), 1, None),
        (Utterance(digits="3"), 3, None),
        (Utterance("two"), None, 2),
        (Utterance("one"), None, 1),
        (Utterance("the earliest"), 1, None),
        (Utterance("hold on a second"), None, None),
        (Utterance("my last name is Smith"), None, None),
    ],
)
def test_choice_references(heard, choice, number):
    """Choices by ordinal, "number N", key press or "the last one"; a bare number stays a number."""
    slots = understand(heard, NOW).slots
    assert (slots.choice, slots.number) == (choice, number)


def test_the_3rd_is_a_day_and_a_choice():
    """A bare "the 3rd" could be a date or the third offer; both are kept for the dialogue to decide."""
    slots = understand("the 3rd", NOW).slots
    assert slots.day == dt.date(2026, 12, 3) and slots.day_from_ordinal and slots.choice == 3


def test_any_of_them():
    """ "Any of them is fine" means the first offer will do."""
    assert understand("any of them is fine", NOW).slots.anything


@pytest.mark.parametrize(
    "text, expected",
    [
        ("my name is Jane Smith", ("Jane", "Smith")),
        ("it's Jane Smith", ("Jane", "Smith")),
        ("this is Jane Smith calling about my cleaning", ("Jane", "Smith")),
        ("Hi, I'm Jane Smith and I need a cleaning", ("Jane", "Smith")),
        ("my name's Bob", ("Bob", None)),
        ("my first name is Jane and my last name is Smith", ("Jane", "Smith")),
        ("my name is Sean McDonald", ("Sean", "McDonald")),
        ("I am calling to book", (None, None)),
        ("it is about my appointment", (None, None)),
        ("this is an emergency", (None, None)),
        ("don't call me again", (None, None)),
        ("I'm Jane", (None, None)),
    ],
)
def test_names_in_sentences(text, expected):
    """Names after "my name is", "it's", "this is"; nothing from sentences that only look like it."""
    assert extract_name(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Jane Smith", ("Jane", "Smith")),
        ("yeah it's Jane Smith", ("Jane", "Smith")),
        ("Jane", ("Jane", None)),
        ("Mary Ann O'Brien", ("Mary", "Ann O'Brien")),
        ("j a n e", ("Jane", None)),
        ("I'm Jane", ("Jane", None)),
        ("what are your hours", (None, None)),
        ("yes", (None, None)),
    ],
)
def test_bare_names_when_a_name_is_expected(text, expected):
    """When the receptionist has asked for a name, a bare name is taken as one."""
    assert extract_name(text, expect=True) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("I need a cleaning", "cleaning"),
        ("time for my checkup", "cleaning"),
        ("a check up", "cleaning"),
        ("I'd like to see the hygienist", "cleaning"),
        ("I need a filling", "exam"),
        ("I have a toothache", "exam"),
        ("my tooth hurts", "exam"),
        ("I'd like a consultation about implants", "consultation"),
        ("just an appointment", None),
    ],
)
def test_appointment_kind(text, expected):
    """Cleaning, checkup and hygiene are cleanings; fillings and aches are exams; consultations are their own."""
    assert kind_of(tokens_of(text)) == expected
    assert understand(text, NOW).slots.kind == expected


def test_keys_zero_is_a_person_and_911_an_emergency():
    """Pressing 0 asks for a person; keying 911 is an emergency."""
    assert understand(Utterance(digits="0"), NOW).intent == "human"
    assert understand(Utterance(digits="911"), NOW).intent == "emergency"


def test_low_confidence_is_reported():
    """Speech recognised with confidence under 0.3 is flagged as low confidence."""
    assert understand(Utterance("cancel", confidence=0.2), NOW).low_confidence
    assert not understand(Utterance("cancel", confidence=0.8), NOW).low_confidence
    assert not understand(Utterance("cancel"), NOW).low_confidence


def test_silence_is_unknown():
    """Nothing said and nothing pressed is silence, with no intent."""
    u = understand(Utterance(), NOW)
    assert u.is_silence and u.intent == "unknown" and u.confidence == 0.0


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=200), digits=st.one_of(st.none(), st.text(max_size=8)))
def test_understand_never_raises(text, digits):
    """Any text and keys give an intent from the list and a confidence between 0 and 1."""
    u = understand(Utterance(speech=text, digits=digits), NOW)
    assert u.intent in INTENTS + ("unknown",)
    assert 0.0 <= u.confidence <= 1.0
