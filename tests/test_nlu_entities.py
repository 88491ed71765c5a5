"""Entities read from one turn: a table of what callers say and what must be understood from it.

The clock is Tuesday 17 November 2026, 10:00 in New York; the practice has Dr. Sarah Chen, Dr. Rivera and
Hygienist Patel.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from receptionist.conversation.nlu import (
    CallerName,
    DateSpan,
    OfferRef,
    Person,
    ProviderRef,
    Symptom,
    TimeWindow,
    understand,
)

NOW = dt.datetime(2026, 11, 17, 10, 0, tzinfo=ZoneInfo("America/New_York"))  # a Tuesday
PROVIDERS = ("Dr. Sarah Chen", "Dr. Rivera", "Hygienist Patel")
D = dt.date
TUE, WED, THU, FRI, SAT, MON = (
    D(2026, 11, 17),
    D(2026, 11, 18),
    D(2026, 11, 19),
    D(2026, 11, 20),
    D(2026, 11, 21),
    D(2026, 11, 23),
)
CHEN = ProviderRef("Dr. Sarah Chen", "dentist")
RIVERA = ProviderRef("Dr. Rivera", "dentist")
PATEL = ProviderRef("Hygienist Patel", "hygienist")


def W(earliest=None, latest=None, at=None, part=None):
    return TimeWindow(earliest, latest, at, part)


CASES = [
    # -- days resolved against now ------------------------------------------------------------------
    ("weekday-later-this-week", "can I come Friday", {}, {"days": (FRI,), "weekdays": (4,)}),
    ("weekday-today-is-today", "how about Tuesday", {}, {"days": (TUE,)}),
    ("weekday-already-passed-is-next-week", "Monday please", {}, {"days": (MON,)}),
    ("this-weekday", "this Friday", {}, {"days": (FRI,)}),
    ("next-weekday-is-next-week", "next Friday", {}, {"days": (D(2026, 11, 27),)}),
    ("next-tuesday-on-a-tuesday", "next Tuesday", {}, {"days": (D(2026, 11, 24),)}),
    ("weekday-next-week", "Wednesday next week", {}, {"days": (D(2026, 11, 25),)}),
    ("on-weekday", "on Thursday", {}, {"days": (THU,)}),
    ("tomorrow", "tomorrow works", {}, {"days": (WED,)}),
    ("tomorrow-misheard", "can I come in tomorow", {}, {"days": (WED,)}),
    ("today", "anything today", {}, {"days": (TUE,)}),
    ("day-after-tomorrow", "the day after tomorrow", {}, {"days": (THU,)}),
    (
        "this-afternoon-is-today-and-a-part",
        "this afternoon",
        {},
        {"days": (TUE,), "window": W(720, 1020, None, "afternoon")},
    ),
    ("tonight", "tonight", {}, {"days": (TUE,)}),
    ("ordinal-day-this-month", "the 20th", {}, {"days": (FRI,)}),
    ("ordinal-day-next-month", "the 5th", {}, {"days": (D(2026, 12, 5),)}),
    ("ordinal-day-on-the", "can I come on the 5th", {}, {"days": (D(2026, 12, 5),)}),
    ("ordinal-word-day", "on the fifth", {}, {"days": (D(2026, 12, 5),)}),
    ("month-day", "December 8", {}, {"days": (D(2026, 12, 8),)}),
    ("month-ordinal", "December 8th", {}, {"days": (D(2026, 12, 8),)}),
    ("ordinal-of-month", "the 8th of December", {}, {"days": (D(2026, 12, 8),)}),
    ("month-the-ordinal", "December the eighth", {}, {"days": (D(2026, 12, 8),)}),
    ("month-abbreviation", "Dec 8", {}, {"days": (D(2026, 12, 8),)}),
    ("month-day-passed-is-next-year", "March 3rd", {}, {"days": (D(2027, 3, 3),)}),
    ("spoken-month-day", "january second", {}, {"days": (D(2027, 1, 2),)}),
    ("numeric-month-day", "12/8", {}, {"days": (D(2026, 12, 8),)}),
    ("two-weekdays", "Monday or Wednesday", {}, {"days": (MON, WED), "weekdays": (0, 2)}),
    ("weekday-and-time", "Thursday at 2", {}, {"days": (THU,), "window": W(at=840)}),
    ("plural-weekday-is-a-habit", "I can only do Fridays", {}, {"weekdays": (4,), "days": ()}),
    ("any-weekday", "any Monday", {}, {"weekdays": (0,), "days": ()}),
    ("weekends", "weekends are best", {}, {"weekdays": (5, 6)}),
    ("abbreviated-weekday-capitalised", "Thurs is fine", {}, {"days": (THU,)}),
    ("sat-as-a-verb-is-no-day", "I sat in traffic", {}, {"days": ()}),
    ("may-as-a-verb-is-no-month", "may I book a cleaning", {}, {"days": ()}),
    ("march-without-a-day-is-no-date", "I'll march in there", {}, {"days": ()}),
    # -- spans -------------------------------------------------------------------------------------------
    ("next-week", "next week", {}, {"span": DateSpan(MON, D(2026, 11, 29))}),
    ("this-week", "sometime this week", {}, {"span": DateSpan(TUE, D(2026, 11, 22))}),
    ("early-next-week", "early next week", {}, {"span": DateSpan(MON, D(2026, 11, 25))}),
    ("later-this-week", "later this week", {}, {"span": DateSpan(D(2026, 11, 19), D(2026, 11, 22))}),
    ("week-after-next", "the week after next", {}, {"span": DateSpan(D(2026, 11, 30), D(2026, 12, 6))}),
    ("next-month", "next month", {}, {"span": DateSpan(D(2026, 12, 1), D(2026, 12, 31))}),
    ("in-two-weeks", "in two weeks", {}, {"span": DateSpan(D(2026, 11, 30), D(2026, 12, 6))}),
    ("in-three-days", "in 3 days", {}, {"days": (D(2026, 11, 20),)}),
    ("in-a-month", "in a month", {}, {"span": DateSpan(D(2026, 12, 1), D(2026, 12, 31))}),
    # -- time windows ------------------------------------------------------------------------------------
    ("after-hour-is-afternoon", "after 3", {}, {"window": W(earliest=900)}),
    ("before-noon", "before noon", {}, {"window": W(latest=720)}),
    ("around-ten", "around ten", {}, {"window": W(570, 630, 600)}),
    ("about-ten-thirty", "about ten thirty", {}, {"window": W(600, 660, 630)}),
    ("ish", "four-ish", {}, {"window": W(930, 990, 960)}),
    ("ish-spaced", "like 4 ish", {}, {"window": W(930, 990, 960)}),
    ("at-two-thirty", "at two thirty", {}, {"window": W(at=870)}),
    ("two-thirty-pm", "2:30 pm", {}, {"window": W(at=870)}),
    ("ten-am", "10am", {}, {"window": W(at=600)}),
    ("ten-a-m-dotted", "10 a.m.", {}, {"window": W(at=600)}),
    ("oclock", "nine o'clock", {}, {"window": W(at=540)}),
    ("seven-is-morning", "at 7", {}, {"window": W(at=420)}),
    ("six-is-evening", "at 6", {}, {"window": W(at=1080)}),
    ("hour-in-the-afternoon", "at 11 in the morning", {}, {"window": W(at=660)}),
    (
        "afternoon-makes-bare-hours-pm",
        "Tuesday afternoon at 12",
        {},
        {"window": W(720, 1020, 720, "afternoon")},
    ),
    ("half-past", "half past three", {}, {"window": W(at=930)}),
    ("quarter-to", "quarter to four", {}, {"window": W(at=945)}),
    ("noon", "at noon", {}, {"window": W(at=720)}),
    ("first-thing", "first thing in the morning", {}, {"window": W(420, 570, None, "early_morning")}),
    ("first-thing-short", "first thing", {}, {"window": W(420, 570, None, "early_morning")}),
    ("lunchtime", "lunchtime", {}, {"window": W(690, 810, None, "lunchtime")}),
    ("end-of-the-day", "end of the day", {}, {"window": W(960, 1140, None, "end_of_day")}),
    ("after-school", "after school", {}, {"window": W(900, 1080, None, "late_afternoon")}),
    ("morning", "a morning appointment", {}, {"window": W(420, 720, None, "morning")}),
    ("afternoon-after-three", "afternoon after 3", {}, {"window": W(900, 1020, None, "afternoon")}),
    ("between-two-and-four", "between 2 and 4", {}, {"window": W(840, 960)}),
    ("from-to", "from 9 to 11", {}, {"window": W(540, 660)}),
    ("hour-to-hour", "2 to 4", {}, {"window": W(840, 960)}),
    ("not-before-ten-is-from-ten", "not before 10", {}, {"window": W(earliest=600)}),
    ("cannot-do-after-three", "I can't do anything after 3", {}, {"window": W(latest=900)}),
    ("by-noon", "I need to be done by noon", {}, {"window": W(latest=720)}),
    ("after-lunch", "any time after lunch", {}, {"window": W(earliest=810)}),
    ("before-lunch", "before lunch please", {}, {"window": W(latest=690)}),
    ("no-later-than", "no later than 4", {}, {"window": W(latest=960)}),
    ("bare-number-is-no-time", "I have 2 kids", {}, {"window": None}),
    ("evening-after-six", "in the evening after 6", {}, {"window": W(1080, 1260, None, "evening")}),
    # -- exclusions --------------------------------------------------------------------------------------
    ("not-monday", "not Monday", {}, {"excluded_weekdays": (0,), "excluded_days": (MON,), "days": ()}),
    ("weekday-is-bad", "Thursday's bad", {}, {"excluded_weekdays": (3,), "days": ()}),
    ("weekday-is-bad-spelt", "thursday is bad for me", {}, {"excluded_weekdays": (3,)}),
    ("weekday-does-not-work", "Monday doesn't work", {}, {"excluded_weekdays": (0,)}),
    ("two-weekdays-are-bad", "Monday and Tuesday are bad", {}, {"excluded_weekdays": (0, 1)}),
    ("not-this-or-that", "not Monday or Tuesday", {}, {"excluded_weekdays": (0, 1)}),
    ("can-not-do-weekday", "I can't do Friday", {}, {"excluded_weekdays": (4,), "days": ()}),
    ("cannot-come-in-on", "I cannot come in on Wednesday", {}, {"excluded_weekdays": (2,)}),
    ("except", "any day except Monday", {}, {"excluded_weekdays": (0,)}),
    ("anything-but-mornings", "anything but mornings", {}, {"excluded_parts": ("morning",), "window": None}),
    ("no-mornings", "no mornings please", {}, {"excluded_parts": ("morning",)}),
    ("mornings-are-bad", "mornings are bad for me", {}, {"excluded_parts": ("morning",)}),
    ("not-in-the-afternoon", "not in the afternoon", {}, {"excluded_parts": ("afternoon",)}),
    (
        "exclusion-then-wish",
        "not Monday, Tuesday works",
        {},
        {"excluded_weekdays": (0,), "weekdays": (1,), "days": (TUE,)},
    ),
    (
        "exclusion-but-wish",
        "I can't do Monday but Wednesday is good",
        {},
        {"excluded_weekdays": (0,), "weekdays": (2,)},
    ),
    ("bad-then-wish", "Thursday's bad, how about Friday", {}, {"excluded_weekdays": (3,), "weekdays": (4,)}),
    (
        "dont-want-then-want",
        "I don't want Monday I want Tuesday",
        {},
        {"excluded_weekdays": (0,), "weekdays": (1,)},
    ),
    (
        "instead-of-excludes",
        "Friday instead of Thursday",
        {},
        {"weekdays": (4,), "excluded_weekdays": (3,), "correction": True},
    ),
    ("other-than", "anything other than Friday", {}, {"excluded_weekdays": (4,)}),
    ("not-sure-is-no-negation", "not sure, maybe Tuesday", {}, {"weekdays": (1,), "excluded_weekdays": ()}),
    ("no-then-comma-is-an-answer", "no, Tuesday", {}, {"weekdays": (1,), "excluded_weekdays": ()}),
    ("no-i-said", "no I said Tuesday", {}, {"weekdays": (1,)}),
    (
        "part-excluded-day-wanted",
        "Friday but not in the morning",
        {},
        {"weekdays": (4,), "excluded_parts": ("morning",)},
    ),
    ("excluded-date", "not the 5th", {}, {"excluded_days": (D(2026, 12, 5),), "days": ()}),
    ("weekday-works", "Tuesday works for me", {}, {"weekdays": (1,)}),
    # -- corrections -------------------------------------------------------------------------------------
    ("make-it-instead", "make it Friday instead", {}, {"days": (FRI,), "correction": True}),
    ("actually", "actually Wednesday", {}, {"days": (WED,), "correction": True}),
    (
        "i-meant",
        "sorry I meant the afternoon",
        {},
        {"correction": True, "window": W(720, 1020, None, "afternoon")},
    ),
    ("no-correction-without-a-time", "actually I have a question", {}, {"correction": False}),
    ("change-it-to", "change it to 3 pm", {}, {"correction": True, "window": W(at=900)}),
    # -- soonest -----------------------------------------------------------------------------------------
    ("whatever-is-soonest", "whatever's soonest", {}, {"soonest": True}),
    ("first-available", "first available please", {}, {"soonest": True}),
    ("asap", "ASAP", {}, {"soonest": True}),
    ("any-time", "any time is fine", {}, {"soonest": True}),
    ("earliest-available", "the earliest available", {}, {"soonest": True}),
    ("no-soonest", "Friday at 3", {}, {"soonest": False}),
    # -- offered slots -----------------------------------------------------------------------------------
    ("the-first-one", "the first one", {}, {"offer_ref": OfferRef(index=0), "numbers": ()}),
    ("the-second-one", "the second one please", {}, {"offer_ref": OfferRef(index=1)}),
    ("the-last-one", "the last one", {}, {"offer_ref": OfferRef(index=-1)}),
    ("the-third", "I'll take the third", {}, {"offer_ref": OfferRef(index=2)}),
    ("first-time-you-mentioned", "the first time you mentioned", {}, {"offer_ref": OfferRef(index=0)}),
    ("the-friday-one", "the Friday one", {}, {"offer_ref": OfferRef(weekday=4), "days": ()}),
    ("the-one-on-friday", "the one on Friday", {}, {"offer_ref": OfferRef(weekday=4)}),
    ("the-10-am", "the 10 am", {}, {"offer_ref": OfferRef(minute=600)}),
    ("the-10-am-one", "the 10 am one", {}, {"offer_ref": OfferRef(minute=600)}),
    ("the-one-at-two", "the one at 2", {}, {"offer_ref": OfferRef(minute=840)}),
    ("the-earliest", "the earliest", {}, {"offer_ref": OfferRef(earliest=True)}),
    ("the-later-one", "the later one", {}, {"offer_ref": OfferRef(latest=True)}),
    ("option-two", "option 2", {}, {"offer_ref": OfferRef(index=1)}),
    ("number-two-spoken", "number two", {}, {"offer_ref": OfferRef(index=1)}),
    ("bare-number-when-offered", "two", {"expecting": "offer_choice"}, {"offer_ref": OfferRef(index=1)}),
    (
        "bare-ordinal-when-offered",
        "the second",
        {"expecting": "offer_choice"},
        {"offer_ref": OfferRef(index=1)},
    ),
    (
        "bare-weekday-when-offered",
        "Friday",
        {"expecting": "offer_choice"},
        {"offer_ref": OfferRef(weekday=4)},
    ),
    ("bare-time-when-offered", "10 am", {"expecting": "offer_choice"}, {"offer_ref": OfferRef(minute=600)}),
    ("bare-number-not-offered", "two", {}, {"offer_ref": None, "numbers": (2,)}),
    ("on-the-first-is-a-date", "can I come on the first", {}, {"offer_ref": None, "days": (D(2026, 12, 1),)}),
    ("do-the-3rd-is-a-date", "can we do the 3rd", {}, {"offer_ref": None, "days": (D(2026, 12, 3),)}),
    ("take-the-3rd-is-a-choice", "I'll take the 3rd", {}, {"offer_ref": OfferRef(index=2), "days": ()}),
    # -- dates of birth ----------------------------------------------------------------------------------
    ("dob-with-birth-word", "I was born March third 1982", {}, {"dob": D(1982, 3, 3), "days": ()}),
    ("dob-spoken-year", "my birthday is march third nineteen eighty two", {}, {"dob": D(1982, 3, 3)}),
    ("dob-year-long-past", "December 8 1990", {}, {"dob": D(1990, 12, 8), "days": ()}),
    ("dob-expected", "5/12/1975", {"expecting": "dob"}, {"dob": D(1975, 5, 12)}),
    ("dob-two-digit-year", "3/4/82", {"expecting": "dob"}, {"dob": D(1982, 3, 4)}),
    ("dob-spoken-two-digit-year", "march 4 82", {"expecting": "dob"}, {"dob": D(1982, 3, 4)}),
    ("dob-numbers-with-spaces", "3 4 1982", {"expecting": "dob"}, {"dob": D(1982, 3, 4)}),
    ("dob-ordinal-of-month", "the 5th of May 1970", {}, {"dob": D(1970, 5, 5)}),
    ("dob-recent-child", "she was born June 2 2020", {}, {"dob": D(2020, 6, 2)}),
    ("appointment-date-is-no-dob", "December 8", {}, {"dob": None, "days": (D(2026, 12, 8),)}),
    ("date-of-birth-words", "date of birth is 7/4/1960", {}, {"dob": D(1960, 7, 4)}),
    # -- providers ---------------------------------------------------------------------------------------
    ("provider-exact", "with Dr. Chen", {}, {"provider": CHEN}),
    ("provider-misheard", "can I see Dr. Chan", {}, {"provider": CHEN}),
    ("provider-first-name", "I'd like Dr Sarah", {}, {"provider": CHEN}),
    ("provider-doctor-word", "doctor Rivera please", {}, {"provider": RIVERA}),
    ("provider-misheard-rivera", "with doctor Riviera", {}, {"provider": RIVERA}),
    ("provider-no-title", "I want to see Patel", {}, {"provider": PATEL}),
    ("provider-role-hygienist", "the hygienist", {}, {"provider": ProviderRef(None, "hygienist")}),
    ("provider-role-dentist", "I need to see the dentist", {}, {"provider": ProviderRef(None, "dentist")}),
    (
        "provider-unknown-name",
        "with Dr. Zimmerman",
        {},
        {"provider": ProviderRef(None, "dentist", "Zimmerman")},
    ),
    ("provider-excluded", "anyone but Dr. Rivera", {}, {"excluded_provider": RIVERA, "provider": None}),
    ("provider-not", "not Dr Chen", {}, {"excluded_provider": CHEN}),
    (
        "provider-not-then-want",
        "not Dr. Rivera, Dr. Chen is fine",
        {},
        {"excluded_provider": RIVERA, "provider": CHEN},
    ),
    ("no-provider-from-common-word", "I want to check my balance", {}, {"provider": None}),
    # -- who the visit is for ----------------------------------------------------------------------------
    ("daughter-with-name", "for my daughter Emma", {}, {"for_whom": (Person("daughter", "Emma"),)}),
    ("husband", "my husband needs a cleaning", {}, {"for_whom": (Person("husband"),)}),
    ("son-with-age", "for my son, he's 7", {}, {"for_whom": (Person("son", None, 7),)}),
    ("son-age-spoken", "it's for my son he is seven years old", {}, {"for_whom": (Person("son", None, 7),)}),
    ("age-before-relation", "my 7 year old daughter", {}, {"for_whom": (Person("daughter", None, 7),)}),
    ("kid-is-child", "my kid needs a checkup", {}, {"for_whom": (Person("child"),)}),
    ("mom", "I'm calling for my mom", {}, {"for_whom": (Person("mother"),)}),
    ("two-people", "my wife and my son", {}, {"for_whom": (Person("wife"), Person("son"))}),
    ("self-and-child", "for me and my daughter", {}, {"for_whom": (Person("self"), Person("daughter"))}),
    (
        "name-lowercase-not-taken-from-vocabulary",
        "my son needs a cleaning",
        {},
        {"for_whom": (Person("son"),)},
    ),
    ("nobody-else", "I need a cleaning", {}, {"for_whom": ()}),
    (
        "count-is-not-an-age",
        "can I bring my two kids Jake and Emma",
        {},
        {"for_whom": (Person("child", "Jake"),)},
    ),
    # -- the caller's name -------------------------------------------------------------------------------
    ("my-name-is", "my name is John Smith", {}, {"caller_name": CallerName("John", "Smith")}),
    ("my-name-is-lowercase", "my name is john smith", {}, {"caller_name": CallerName("John", "Smith")}),
    ("this-is", "Hi, this is Maria Lopez", {}, {"caller_name": CallerName("Maria", "Lopez")}),
    (
        "this-is-first-only",
        "this is Bob calling about my appointment",
        {},
        {"caller_name": CallerName("Bob", None)},
    ),
    ("i-am", "Hi I'm Sarah", {}, {"caller_name": CallerName("Sarah", None)}),
    ("i-am-not-a-name", "I'm calling about my bill", {}, {"caller_name": None}),
    ("this-is-not-a-name", "this is ridiculous", {}, {"caller_name": None}),
    ("i-am-running-late", "I'm running late", {}, {"caller_name": None}),
    (
        "expected-name",
        "uh it's Tom Baker",
        {"expecting": "name"},
        {"caller_name": CallerName("Tom", "Baker")},
    ),
    ("expected-bare-name", "Linda Ng", {"expecting": "name"}, {"caller_name": CallerName("Linda", "Ng")}),
    ("spelt-name", "s m i t h", {"expecting": "name"}, {"caller_name": CallerName("Smith", None)}),
    (
        "name-is-not-a-provider",
        "my name is Sarah Chen",
        {},
        {"caller_name": CallerName("Sarah", "Chen"), "provider": None},
    ),
    # -- minutes late ------------------------------------------------------------------------------------
    ("fifteen-minutes-late", "I'm about fifteen minutes late", {}, {"minutes_late": 15}),
    ("ten-min-behind", "running 10 min behind", {}, {"minutes_late": 10}),
    ("half-an-hour-late", "I'll be half an hour late", {}, {"minutes_late": 30}),
    ("few-minutes-late", "a few minutes late", {}, {"minutes_late": 5}),
    ("couple-minutes-late", "a couple of minutes late", {}, {"minutes_late": 2}),
    ("there-in-ten", "I'll be there in 10 minutes", {}, {"minutes_late": 10}),
    ("there-in-like-twenty", "running late, I'll be there in like 20", {}, {"minutes_late": 20}),
    ("late-without-minutes", "I'm running late", {}, {"minutes_late": None}),
    ("minutes-not-late", "how long is the appointment, 30 minutes?", {}, {"minutes_late": None}),
    # -- symptoms ----------------------------------------------------------------------------------------
    (
        "not-bleeding-or-in-pain",
        "I'm not bleeding or in pain",
        {},
        {"symptoms": (Symptom("bleeding", True), Symptom("pain", True))},
    ),
    (
        "no-pain-just-cleaning",
        "I'm not in pain, I just want a cleaning",
        {},
        {"symptoms": (Symptom("pain", True),), "visit_kind": "cleaning"},
    ),
    ("toothache", "I have a terrible toothache", {}, {"symptoms": (Symptom("pain"),)}),
    (
        "swollen-and-bleeding",
        "my gum is swollen and bleeding",
        {},
        {"symptoms": (Symptom("swelling"), Symptom("bleeding"))},
    ),
    (
        "no-swelling-but-hurts",
        "no swelling but it hurts",
        {},
        {"symptoms": (Symptom("swelling", True), Symptom("pain"))},
    ),
    ("filling-fell-out", "my feeling fell out", {}, {"symptoms": (Symptom("lost_filling"),)}),
    ("crown-came-off", "my crown came off", {}, {"symptoms": (Symptom("lost_crown"),)}),
    ("cracked-tooth", "I cracked my tooth", {}, {"symptoms": (Symptom("broken_tooth"),)}),
    ("cannot-breathe", "I can't breathe", {}, {"symptoms": (Symptom("breathing"),)}),
    ("chest-pain", "I have chest pain", {}, {"symptoms": (Symptom("chest_pain"),)}),
    ("does-not-hurt", "it doesn't hurt", {}, {"symptoms": (Symptom("pain", True),)}),
    # bleeding that won't stop is its own kind (triage sends it to 911 after an extraction), and not denied
    (
        "wont-stop-bleeding-is-not-negated",
        "it won't stop bleeding",
        {},
        {"symptoms": (Symptom("heavy_bleeding"),)},
    ),
    ("cannot-eat-because-of-pain", "I can't eat because of the pain", {}, {"symptoms": (Symptom("pain"),)}),
    ("no-fever", "no fever", {}, {"symptoms": (Symptom("fever", True),)}),
    ("knocked-out", "my son knocked out his tooth", {}, {"symptoms": (Symptom("knocked_out"),)}),
    ("abscess", "I think I have an abscess", {}, {"symptoms": (Symptom("infection"),)}),
    ("nothing-wrong", "I'd like a cleaning", {}, {"symptoms": ()}),
    # -- visit kinds -------------------------------------------------------------------------------------
    ("cleaning", "I need a cleaning", {}, {"visit_kind": "cleaning"}),
    ("cleaning-misheard", "I need a clean in", {}, {"visit_kind": "cleaning"}),
    ("checkup", "time for my check up", {}, {"visit_kind": "checkup"}),
    ("exam", "I need an exam", {}, {"visit_kind": "exam"}),
    ("filling", "I need a filling", {}, {"visit_kind": "filling"}),
    ("crown", "I'm coming in for my crown", {}, {"visit_kind": "crown"}),
    ("implant", "a consult about an implant", {}, {"visit_kind": "exam"}),
    ("implant-alone", "do you do implants", {}, {"visit_kind": "implant"}),
    ("whitening", "teeth whitening", {}, {"visit_kind": "whitening"}),
    ("child-visit", "my son's first dental visit", {}, {"visit_kind": "child_visit"}),
    ("emergency", "I need an emergency appointment", {}, {"visit_kind": "emergency"}),
    ("root-canal", "I need a root canal", {}, {"visit_kind": "root_canal"}),
    ("not-a-cleaning", "not a cleaning, a filling", {}, {"visit_kind": "filling"}),
    # -- numbers -----------------------------------------------------------------------------------------
    ("numbers-spoken", "two thirty", {}, {"numbers": (2, 30)}),
    ("numbers-year", "nineteen eighty-two", {}, {"numbers": (1982,)}),
    ("numbers-digits", "call me at 555 1234", {}, {"numbers": (555, 1234)}),
    ("numbers-none", "hello", {}, {"numbers": ()}),
    # -- several at once ---------------------------------------------------------------------------------
    (
        "booking-sentence",
        "hi this is Ann Lee, I'd like a cleaning for my daughter Emma next Tuesday after 3 with Dr. Chan",
        {},
        {
            "caller_name": CallerName("Ann", "Lee"),
            "visit_kind": "cleaning",
            "for_whom": (Person("daughter", "Emma"),),
            "days": (D(2026, 11, 24),),
            "window": W(earliest=900),
            "provider": CHEN,
        },
    ),
    (
        "rescheduling-sentence",
        "can I move it to Friday instead, not in the morning though, and not with Dr. Rivera",
        {},
        {"days": (FRI,), "correction": True, "excluded_parts": ("morning",), "excluded_provider": RIVERA},
    ),
    # -- one day said two ways, days counted from a day, named days (issue 14's reschedule calls) -------
    ("weekday-with-its-date", "can we do Monday the 30th", {}, {"days": (D(2026, 11, 30),)}),
    ("weekday-comma-date", "maybe Thursday, the 3rd of December", {}, {"days": (D(2026, 12, 3),)}),
    ("weekday-inside-next-week", "next week, Thursday if possible", {}, {"days": (D(2026, 11, 26),)}),
    ("a-week-from-weekday", "a cleaning a week from Wednesday", {}, {"days": (D(2026, 11, 25),)}),
    ("two-weeks-from-weekday", "two weeks from Friday", {}, {"days": (D(2026, 12, 4),)}),
    ("the-following-weekday", "to the following Monday", {}, {"days": (MON,)}),
    ("named-day", "can I come Christmas Eve", {}, {"days": (D(2026, 12, 24),)}),
    (
        "between-named-days",
        "the week between Christmas and New Year's",
        {},
        {"span": DateSpan(D(2026, 12, 26), D(2026, 12, 31)), "days": ()},
    ),
    ("half-past-spoken-hour", "half past two on Friday", {}, {"days": (FRI,), "window": W(at=870)}),
    ("quarter-to-spoken-hour", "quarter to ten", {}, {"window": W(at=585)}),
    ("misheard-at-two-thirty", "a clean in Thursday at to thirty", {}, {"window": W(at=870)}),
    ("time-corrected-bare", "Thursday at nine, no wait, ten", {}, {"window": W(at=600)}),
    # -- a relative who is the reason, not the patient -------------------------------------------------
    ("minding-the-kids", "Tuesdays are out, I have my kids", {}, {"for_whom": ()}),
    ("relative-drives-me", "My daughter drives me on Wednesdays", {}, {"for_whom": (), "weekdays": (2,)}),
    ("relative-named", "a cleaning for my daughter Emma", {}, {"for_whom": (Person("daughter", "Emma"),)}),
    (
        "dob-corrected",
        "March 5th, 1982, oh no sorry, March fourth, 1982",
        {"expecting": "dob"},
        {"dob": D(1982, 3, 4)},
    ),
]


@pytest.mark.parametrize(("text", "kwargs", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_entities(text, kwargs, expected):
    """Each behaviour named by the case id: the fields listed are read as given (others are not checked)."""
    heard = understand(text, now=NOW, providers=PROVIDERS, language="en", **kwargs)
    got = {name: getattr(heard.entities, name) for name in expected}
    assert got == expected, f"{text!r}: {heard.entities}"


def test_case_ids_are_unique():
    """Every table row names a different behaviour."""
    ids = [c[0] for c in CASES]
    assert len(ids) == len(set(ids)) >= 150
