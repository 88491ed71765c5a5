"""Understanding one caller turn: intents by weighted phrase patterns, and the slots a receptionist needs.

The text from speech recognition is normalised first (lower case, contractions spelt out, number words
as digits, words split or mangled by recognition snapped back to the vocabulary: "clean in" -> "cleaning",
"re schedule" -> "reschedule", "tomorow" -> "tomorrow"). Every intent then collects the weights of the
patterns found in it; a pattern preceded in its clause by a negation ("I don't want to cancel") counts
for "no" instead, and where patterns overlap the longest one wins ("not sure" is not "sure"). Emergency
and opt-out win over everything else said in the same turn.

`understand(heard, now)` is pure: no I/O, no state; `now` resolves day references ("next Tuesday").
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from receptionist.conversation.types import Utterance

INTENTS = (
    "emergency",
    "opt_out",
    "advice",
    "reschedule",
    "cancel",
    "my_appointments",
    "front_desk",
    "human",
    "message",
    "callback",
    "book",
    "hours",
    "address",
    "who",
    "more",
    "goodbye",
    "no",
    "yes",
    "repeat",
    "thanks",
    "unsure",
    "hello",
)
"""Every intent, in tie-break order (earlier wins a tie). "unknown" is the answer when none scores enough."""

ACTIONS = (
    "advice",
    "reschedule",
    "cancel",
    "my_appointments",
    "front_desk",
    "human",
    "message",
    "callback",
    "book",
    "hours",
    "address",
    "who",
)
"""Intents that ask for something; they win over a yes, no or thanks said with them."""

ACCEPT = 0.5  # the least score an intent needs to be the answer
ACTION_OVER_ANSWER = 0.8
EMERGENCY_AT = 1.0  # emergency and opt-out win over any other intent from this score
OPT_OUT_AT = 1.0
LOW_CONFIDENCE = 0.3  # speech recognised with less confidence than this is not trusted
MAX_CHARS = 600

# --------------------------------------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------------------------------------

_CONTRACTIONS = (
    (r"\bcan'?t\b", "cannot"),
    (r"\bcan not\b", "cannot"),
    (r"\bwon'?t\b", "will not"),
    (r"\bain'?t\b", "is not"),
    (r"\bshan'?t\b", "shall not"),
    (r"\b(do|does|did|is|are|was|were|have|has|had|could|would|should|must|need|might)n'?t\b", r"\1 not"),
    (r"\bi'm\b", "i am"),
    (r"\bim\b", "i am"),
    (r"\bive\b", "i have"),
    (r"\byoure\b", "you are"),
    (r"\bwhats\b", "what is"),
    (r"\bthats\b", "that is"),
    (r"\bwheres\b", "where is"),
    (r"\bhows\b", "how is"),
    (r"\btheres\b", "there is"),
    (r"\bheres\b", "here is"),
    (r"\bits\b", "it is"),
    (r"\blet'?s\b", "let us"),
    (r"'ll\b", " will"),
    (r"'ve\b", " have"),
    (r"'re\b", " are"),
    (r"'d\b", " would"),
    (r"'m\b", " am"),
    (r"\b(it|that|what|where|how|there|here|who|he|she|name|when|why|this)'s\b", r"\1 is"),
    (r"'s\b", ""),
    (r"'", ""),
)
_CONTRACTIONS_RE = tuple((re.compile(a), b) for a, b in _CONTRACTIONS)

_UNITS = {
    "zero": 0,
    "oh": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50}
_ORDINALS = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
    "eleventh": 11,
    "twelfth": 12,
    "thirteenth": 13,
    "fourteenth": 14,
    "fifteenth": 15,
    "sixteenth": 16,
    "seventeenth": 17,
    "eighteenth": 18,
    "nineteenth": 19,
    "twentieth": 20,
    "thirtieth": 30,
}
_ONE_BEFORE = {
    "number",
    "option",
    "choice",
    "at",
    "after",
    "before",
    "until",
    "till",
    "around",
    "about",
    "press",
    "pressed",
    "by",
    "from",
    "slot",
    "dial",
    "is",
}
_ONE_AFTER = {
    "pm",
    "am",
    "oclock",
    "thirty",
    "fifteen",
    "forty",
    "fifty",
    "twenty",
    "ten",
    "30",
    "15",
    "45",
    "00",
    "o",
}

# Words speech recognition mangles that are worth snapping back (single tokens within one or two edits,
# or two tokens that run together: "clean in", "re schedule").
_FUZZY_TARGETS = frozenset(
    """
appointment appointments reschedule cancel cancellation cleaning checkup hygienist hygiene consultation
receptionist representative operator unsubscribe tomorrow monday tuesday wednesday thursday friday
saturday sunday january february march april june july august september october november december
morning afternoon evening address directions message voicemail available availability schedule dentist
filling toothache examination goodbye location located parking postpone transfer someone somebody
anything nothing tonight today emergency breathing breathe bleeding swelling swallowing unconscious
opening openings doctor person human
""".split()
) - {"march"}
_MERGE_ONLY = frozenset({"cannot", "anyone", "anybody", "checkups", "everything", "myself"})
_NO_FUZZ = frozenset(
    {
        "cancer",
        "counsel",
        "council",
        "candle",
        "cancun",
        "mourning",
        "massage",
        "meaning",
        "leaning",
        "sundae",
        "falling",
        "feeling",
        "killing",
        "parting",
        "barking",
        "marching",
        "someones",
        "nothings",
        "persons",
        "humans",
        "doctors",
        "breath",
        "bleed",
        "swallow",
        "swell",
        "locate",
        "smelling",
        "spelling",
        "selling",
        "dwelling",
        "swilling",
        "match",
        "marsh",
        "breeding",
        "mouth",
        "cheek",
        "clear",
        "laser",
        "cooking",
    }
)

_WEEKDAYS = {
    "monday": 0,
    "tuesday": 1,
    "wednesday": 2,
    "thursday": 3,
    "friday": 4,
    "saturday": 5,
    "sunday": 6,
    "mondays": 0,
    "tuesdays": 1,
    "wednesdays": 2,
    "thursdays": 3,
    "fridays": 4,
    "saturdays": 5,
    "sundays": 6,
    "tues": 1,
    "weds": 2,
    "thurs": 3,
}
_MONTHS = {
    "january": 1,
    "jan": 1,
    "february": 2,
    "feb": 2,
    "march": 3,
    "mar": 3,
    "april": 4,
    "apr": 4,
    "may": 5,
    "june": 6,
    "jun": 6,
    "july": 7,
    "jul": 7,
    "august": 8,
    "aug": 8,
    "september": 9,
    "sept": 9,
    "sep": 9,
    "october": 10,
    "oct": 10,
    "november": 11,
    "nov": 11,
    "december": 12,
    "dec": 12,
}
_AMBIGUOUS_MONTHS = {
    "may",
    "march",
    "mar",
    "jan",
    "dec",
    "sep",
    "oct",
    "aug",
    "apr",
    "jun",
    "jul",
    "feb",
    "nov",
}


def _distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance (edits with transpositions), stopping early above `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]


def _snap(word: str) -> str | None:
    """The fuzzy target a mangled word stands for, if exactly one is close enough."""
    if len(word) < 5 or word in _FUZZY_TARGETS or word in _NO_FUZZ or word in _known() or not word.isalpha():
        return None
    best: list[str] = []
    best_d = 3
    for target in _FUZZY_TARGETS:
        limit = 2 if len(word) >= 7 and len(target) >= 9 else 1
        if target[0] != word[0] or abs(len(target) - len(word)) > limit:
            continue
        d = _distance(word, target, limit)
        if d > limit:
            continue
        if d < best_d:
            best, best_d = [target], d
        elif d == best_d:
            best.append(target)
    return best[0] if len(best) == 1 else None


_KNOWN: frozenset[str] | None = None


def _known() -> frozenset[str]:
    """Words the patterns spell out themselves: never "corrected" ("messaging" stays "messaging")."""
    global _KNOWN
    if _KNOWN is None:
        words: set[str] = set()
        for _, _, pattern, _ in _PATTERNS:
            words.update(re.findall(r"[a-z]{2,}", pattern))
        words.update(
            _NAME_STOP,
            _UNITS,
            _TENS,
            _ORDINALS,
            _WEEKDAYS,
            _MONTHS,
            _EXAM_WORDS,
            _CONSULT_WORDS,
            _CLEANING_WORDS,
        )
        _KNOWN = frozenset(words)
    return _KNOWN


def _canonical(tokens: list[str]) -> list[str]:
    """Join words split by recognition and snap mangled words to the vocabulary."""
    out: list[str] = []
    i = 0
    while i < len(tokens):
        merged = False
        for width in (3, 2):
            parts = tokens[i : i + width]
            if len(parts) < width or not all(p.isalpha() for p in parts):
                continue
            joined = "".join(parts)
            if joined in _FUZZY_TARGETS or joined in _MERGE_ONLY:
                out.append(joined)
                i += width
                merged = True
                break
            if (
                width == 2
                and len(joined) >= 7
                and min(len(p) for p in parts) <= 3
                and not any(p in _FUZZY_TARGETS for p in parts)
            ):
                snapped = _snap(joined)
                if snapped is not None and _distance(joined, snapped, 1) <= 1:
                    out.append(snapped)
                    i += width
                    merged = True
                    break
        if merged:
            continue
        word = tokens[i]
        out.append(_snap(word) or word)
        i += 1
    return out


def _numbers(tokens: list[str]) -> list[str]:
    """Number words as digits ("twenty one" -> "21", "third" -> "3rd"); "one" stays a word as a pronoun."""
    out: list[str] = []
    n = len(tokens)
    i = 0
    content = [t for t in tokens if t != ","]
    while i < n:
        t = tokens[i]
        nxt = tokens[i + 1] if i + 1 < n else ""
        prev = out[-1] if out else ""
        if t in _TENS and nxt in _UNITS and 1 <= _UNITS[nxt] <= 9:
            out.append(str(_TENS[t] + _UNITS[nxt]))
            i += 2
            continue
        if t in _TENS and nxt in _ORDINALS and _ORDINALS[nxt] <= 9:
            out.append(_ordinal(_TENS[t] + _ORDINALS[nxt]))
            i += 2
            continue
        if t in _TENS:
            out.append(str(_TENS[t]))
        elif t == "one":
            alone = nxt in ("", ",", "please") and prev in (
                "",
                ",",
                "yes",
                "yeah",
                "um",
                "uh",
                "ok",
                "okay",
                "just",
            )
            if prev in _ONE_BEFORE or nxt in _ONE_AFTER or prev.isdigit() or len(content) == 1 or alone:
                out.append("1")
            else:
                out.append("one")
        elif t == "oh":
            out.append("0" if prev.isdigit() or nxt in _UNITS else "oh")
        elif t in _UNITS:
            out.append(str(_UNITS[t]))
        elif t == "second" and (prev in ("a", "1", "one", "moment") or nxt in ("please",)):
            out.append("moment")
        elif t in _ORDINALS:
            out.append(_ordinal(_ORDINALS[t]))
        else:
            out.append(t)
        i += 1
    return out


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def tokens_of(text: str) -> list[str]:
    """Normalised tokens; "," marks a clause boundary."""
    text = (text or "")[:MAX_CHARS].lower()
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")
    text = re.sub(r"\b([ap])\.\s?m\b\.?", r"\1m", text)
    text = re.sub(r"\bo'?\s?clock\b", " oclock", text)
    text = text.replace("&", " and ")
    text = re.sub(r"\b(dr|mr|mrs|ms|st|jr|sr|dept)\.", r"\1", text)
    for pattern, repl in _CONTRACTIONS_RE:
        text = pattern.sub(repl, text)
    text = re.sub(r"(\d)\s*([ap])\s?m\b", r"\1 \2m", text)
    text = re.sub(r"(?<=\d):(?=\d\d)", "\x00", text)  # keep 9:30 together
    text = re.sub(r"(?<=\d)/(?=\d)", "\x01", text)  # and 12/4
    text = re.sub(r"[.!?;:,]+", " , ", text)
    text = re.sub(r"[^a-z0-9\x00\x01, ]+", " ", text)
    text = text.replace("\x00", ":").replace("\x01", "/")
    raw = text.split()
    words: list[str] = []
    for token in raw:  # "3pm", "10am"
        m = re.fullmatch(r"(\d{1,2}(?::\d\d)?)(am|pm)", token)
        words.extend([m.group(1), m.group(2)] if m else [token])
    words = _numbers(_canonical(words))
    # a run of commas is one boundary; none at the ends
    out: list[str] = []
    for w in words:
        if w == "," and (not out or out[-1] == ","):
            continue
        out.append(w)
    while out and out[-1] == ",":
        out.pop()
    return out


def normalise(text: str) -> str:
    """The text intents are matched against: "I'd like a clean in tomorow" -> "i would like a cleaning tomorrow"."""
    return " ".join(t for t in tokens_of(text) if t != ",")


# --------------------------------------------------------------------------------------------------------
# Intent patterns: (intent, weight, regex over the normalised text, negatable)
# --------------------------------------------------------------------------------------------------------

_APPT = r"(?:appointment|appointments|booking|visit|cleaning|checkup|exam|reservation|slot)"
_PEOPLE = (
    r"(?:person|human|human being|someone|somebody|anyone|anybody|receptionist|staff|staff member|"
    r"front desk|operator|representative|agent|people|man|woman|lady|guy|doctor|dentist|hygienist|"
    r"manager|office manager|nurse|assistant|secretary|team member|billing|dr [a-z]+|doctor [a-z]+)"
)

_PATTERNS: tuple[tuple[str, float, str, bool], ...] = (
    # emergency (symptoms are never negated: safety first)
    ("emergency", 1.5, r"chest (?:pain|pains|hurts|hurting|tightness|pressure)", False),
    ("emergency", 1.5, r"(?:pain|pains|pressure|tightness) in (?:my|his|her|the) chest", False),
    ("emergency", 1.5, r"heart attack|having a stroke|stroke", False),
    (
        "emergency",
        1.5,
        r"(?:cannot|could not|can hardly|can barely|unable to|not able to) (?:breathe|breath|breathing)",
        False,
    ),
    (
        "emergency",
        1.5,
        r"(?:trouble|difficulty|difficulties|problems|problem|hard time|struggling|struggle|hard) "
        r"(?:breathing|to breathe|breathe)",
        False,
    ),
    ("emergency", 1.5, r"not breathing|stopped breathing|short of breath|shortness of breath|choking", False),
    (
        "emergency",
        1.5,
        r"(?:severe|heavy|heavily|a lot of|lots of|uncontrolled|serious|massive|really bad|excessive) "
        r"(?:bleeding|blood)",
        False,
    ),
    (
        "emergency",
        1.5,
        r"bleeding (?:heavily|a lot|badly|profusely|everywhere|nonstop|non stop|really bad)",
        False,
    ),
    (
        "emergency",
        1.5,
        r"bleeding (?:that )?(?:will|would|does|did|is|has|it) not stop|"
        r"(?:will|would|does|did|cannot|can not|could not) (?:not )?stop (?:the )?bleeding|"
        r"bleeding (?:will|would|does|did) not stop|(?:blood|bleeding) everywhere",
        False,
    ),
    (
        "emergency",
        1.5,
        r"unconscious|passed out|fainted|unresponsive|not responding|not waking up|seizure|"
        r"collapsed|overdose|anaphylactic|anaphylaxis",
        False,
    ),
    ("emergency", 1.2, r"allergic reaction|throat (?:is )?(?:closing|swelling|swollen)", False),
    ("emergency", 1.5, r"kill myself|suicide|suicidal|end my life", False),
    (
        "emergency",
        1.5,
        r"(?:it is|this is|i have|we have|there is|having|got) an? (?:real |medical |dental |serious )?"
        r"emergency",
        True,
    ),
    ("emergency", 1.0, r"emergency", True),
    ("emergency", 1.5, r"911|9 1 1|call an ambulance|ambulance", False),
    # emergency look-alikes that are bookings or questions
    (
        "book",
        1.2,
        r"emergency (?:appointment|appointments|visit|slot|slots|exam|dentist|dental care|hours|patient|"
        r"patients|cases|care|services|dental)|(?:take|see|handle|accept|do|treat) (?:dental )?emergencies|"
        r"(?:take|see|handle|accept|do|treat|have) emergency",
        True,
    ),
    ("hours", 1.2, r"emergency (?:line|number)|after hours emergency", True),
    # opt-out
    (
        "opt_out",
        1.5,
        r"stop (?:calling|texting|messaging|emailing|contacting|bothering|ringing|phoning|sending)"
        r"(?: me| us| this number| my number| my phone| here)?",
        False,
    ),
    (
        "opt_out",
        1.5,
        r"(?:quit|stop) (?:calling|texting)|no more (?:calls|phone calls|texts|messages|emails|robocalls)",
        False,
    ),
    (
        "opt_out",
        1.5,
        r"(?:take|remove|delete|get|drop|scratch) (?:me|my number|my name|my phone number|my phone|"
        r"my info|my information|my details|this number|us) (?:off|from|out of) (?:of )?"
        r"(?:your|the|this|all|all your|any)? ?(?:list|lists|calling list|call list|mailing list|"
        r"contact list|database|system|records|marketing)",
        False,
    ),
    ("opt_out", 1.3, r"(?:take|remove|delete) me off|remove my (?:phone )?number|remove me", True),
    ("opt_out", 1.5, r"unsubscribe|opt out|opt me out|opting out", True),
    ("opt_out", 1.0, r"^(?:please |i said |just |ok |okay )?stop(?: it| please| now| that)?$", False),
    (
        "opt_out",
        1.5,
        r"do not (?:call|text|email|contact|phone|ring|message) (?:me|us|this number|my number|"
        r"my phone|here)(?! back)",
        False,
    ),
    (
        "opt_out",
        1.5,
        r"do not call list|never (?:call|text|contact) (?:me|us|this number|here) again|"
        r"(?:i|we) do not want (?:any more |anymore |any |your )?(?:calls|texts|emails|messages|"
        r"phone calls|to be called|to be contacted)|leave me alone|"
        r"stop (?:all )?(?:the )?(?:calls|texts|emails|messages)|(?:would )?rather not (?:get|receive|be getting) "
        r"(?:any )?(?:more )?(?:calls|texts|emails|messages)",
        False,
    ),
    # medical advice
    ("advice", 1.0, r"should i (?:take|use|go to|be worried|worry|do|put|rinse|ice|apply)", True),
    ("advice", 1.0, r"what (?:should|can|do) i (?:take|do|use|put)", True),
    (
        "advice",
        1.0,
        r"is (?:it|this|that) (?:normal|serious|bad|infected|an infection|dangerous|okay to|safe to)",
        False,
    ),
    (
        "advice",
        1.0,
        r"(?:is|are) (?:my|the|his|her) (?:[a-z]+ )?(?:tooth|teeth|gum|gums|jaw|filling|crown|mouth|face|"
        r"cheek|wisdom tooth) (?:infected|broken|cracked|normal|okay|ok|serious|bad|abscessed|dead|dying)|"
        r"(?:could|might|would) (?:it|this|that) be|what is wrong with|why does (?:it|my [a-z]+) hurt|"
        r"(?:do|does) (?:it|this|that) (?:sound|look) (?:serious|bad|infected|normal)",
        False,
    ),
    ("advice", 0.8, r"infected|infection|abscess|abscessed", False),
    (
        "advice",
        1.0,
        r"can i (?:take|have|use) (?:ibuprofen|advil|tylenol|aspirin|motrin|aleve|something|anything|"
        r"medicine|medication|pills|painkillers|antibiotics)",
        True,
    ),
    ("advice", 1.0, r"how (?:much|many) (?:ibuprofen|advil|tylenol|aspirin|pills|mg|milligrams)", True),
    (
        "advice",
        0.8,
        r"ibuprofen|advil|tylenol|aspirin|motrin|aleve|antibiotic|antibiotics|painkiller|painkillers|"
        r"dosage|medication|medicine",
        True,
    ),
    (
        "advice",
        1.0,
        r"do i need (?:a |an )?(?:root canal|antibiotics|extraction|crown|filling|stitches)|"
        r"what do you (?:think|recommend)|is it safe|medical advice|what could it be|should i be worried",
        True,
    ),
    # reschedule
    ("reschedule", 1.3, r"reschedule|rescheduling|rescheduled|postpone|postponing", True),
    (
        "reschedule",
        1.2,
        r"(?:move|change|switch|push|shift|bump|swap|moving|changing) (?:my|the|our|an|his|her|that|"
        r"this) (?:" + _APPT + r"|time|date|day)",
        True,
    ),
    ("reschedule", 1.0, r"(?:move|push|bump|shift) (?:it|that|this|things)(?: back| forward| up| to)?", True),
    ("reschedule", 1.0, r"(?:different|another|new|other) (?:day|time|date) for (?:my|the) " + _APPT, True),
    (
        "reschedule",
        0.9,
        r"(?:cannot|not able to|unable to|will not be able to|not going to be able to|"
        r"not going to|will not) (?:make it|make my|come in|come to|attend|go to|be there)",
        False,
    ),
    # cancel
    ("cancel", 1.3, r"cancel|cancell?ed|cancell?ing|cancellation|call off|calling off", True),
    ("cancel", 1.0, r"(?:remove|delete|drop) (?:my|the) " + _APPT + r"|not coming (?:in)?", True),
    ("cancel", 0.5, r"do not need (?:my|the|an|that) " + _APPT + r"(?: anymore| any more)?", False),
    # my appointments
    ("my_appointments", 1.3, r"when is (?:my|the|our) (?:next |upcoming )?" + _APPT, True),
    ("my_appointments", 1.3, r"what (?:time|day|date) is (?:my|the|our) (?:next |upcoming )?" + _APPT, True),
    ("my_appointments", 1.2, r"(?:do|did) (?:i|we) have (?:an|a|any|my) " + _APPT, True),
    (
        "my_appointments",
        1.2,
        r"when am i (?:scheduled|booked|coming in|due|supposed to come)|"
        r"(?:confirm|check|verify|remind me of|remind me about|look up) (?:on )?(?:my|the) "
        r"(?:next |upcoming )?" + _APPT,
        True,
    ),
    (
        "my_appointments",
        1.0,
        r"(?:my|any) (?:next|upcoming) " + _APPT + r"|" + _APPT + r" do i have|"
        r"what (?:appointments|appointment) do i",
        True,
    ),
    ("my_appointments", 0.35, r"my (?:appointment|appointments)", True),
    # human
    (
        "human",
        1.3,
        r"(?:talk|speak|speaking|chat) (?:to|with) (?:a |an |the |some |your |somebody |someone )?"
        r"(?:real |live |actual |human )?" + _PEOPLE,
        True,
    ),
    (
        "human",
        1.3,
        r"(?:transfer|connect) me|put me through|connect me (?:to|with)|transfer (?:me|the call)",
        True,
    ),
    (
        "human",
        1.0,
        r"representative|operator|receptionist|front desk|real person|live person|actual person|"
        r"human being|a human|a person|live agent|an agent|someone real|somebody real|real human|"
        r"customer service|office staff",
        True,
    ),
    (
        "human",
        0.8,
        r"(?:can|could|may) i (?:talk|speak)|(?:is there|get me|give me) (?:someone|somebody|a person|"
        r"anyone|anybody)(?: there)?",
        True,
    ),
    ("human", 1.5, r"^0$|press(?:ed)? 0|press(?:ed)? zero|^zero$", False),
    (
        "human",
        0.9,
        r"returning (?:a|your|the|my|his|her) (?:call|phone call|message)|(?:you|someone|somebody|your office) "
        r"(?:called|left|texted|rang) (?:me|my)|i (?:got|had|received) (?:a|your|the|this) (?:call|message|voicemail|text|"
        r"text message|phone call)|"
        r"missed (?:a|your) call",
        True,
    ),
    # things only staff can do
    (
        "front_desk",
        1.0,
        r"how much (?:is|does|do|would|will|for|it)|cost|costs|price|prices|pricing|insurance|insured|"
        r"bill|billing|invoice|payment|payments|pay my|pay a|copay|co pay|balance|covered|coverage|"
        r"financing|payment plan|refund|receipt|medical records|my records|x rays sent|"
        r"(?:update|change) my (?:phone|number|phone number|address|email|information|info|details|"
        r"insurance)",
        True,
    ),
    (
        "who",
        1.2,
        r"who is this|who am i (?:talking|speaking) (?:to|with)|are you (?:a |an )?(?:robot|machine|computer|"
        r"bot|real person|human|person|recording|ai|artificial)|is this (?:a |an )?(?:robot|machine|recording|bot|"
        r"real person|computer|person|ai)|am i (?:talking|speaking) to (?:a |an )?(?:robot|machine|computer|"
        r"person|human|real person|bot)|what are you",
        False,
    ),
    # message
    (
        "message",
        1.3,
        r"(?:leave|take|pass on|pass along|pass|give|send|record|get) (?:a |the |my |them a |him a |her a )?"
        r"(?:message|voicemail|note)",
        True,
    ),
    ("message", 0.8, r"message|voicemail", True),
    (
        "message",
        0.7,
        r"(?:tell|let) (?:the |dr |doctor |dentist )?(?:doctor|dentist|dr|hygienist|office|team)"
        r"(?: [a-z]+)? (?:know|that)|refill|prescription",
        True,
    ),
    # callback
    (
        "callback",
        1.2,
        r"call (?:me|us) back|give me a call back|(?:have|get|ask) (?:someone|somebody|a person|the office|"
        r"the doctor|the dentist|someone from the office|a staff member|staff) (?:to )?(?:call|ring|phone)"
        r"(?: me)?|return my call|callback|call back",
        True,
    ),
    # book
    ("book", 1.0, r"book|booking|booked", True),
    (
        "book",
        1.2,
        r"make (?:an|a|1|another|the) (?:appointment|booking|reservation)|"
        r"set up (?:an |a )?(?:appointment|cleaning|visit|checkup|exam)|schedule (?:an|a|my|me|1)|"
        r"(?:need|want|like|get|have|need to get|want to get|like to get) (?:an|a|1|my|another|"
        r"me an|me a) (?:appointment|cleaning|checkup|exam|visit|consultation|consult|filling|"
        r"new appointment|teeth cleaning|dental cleaning)",
        True,
    ),
    (
        "book",
        0.9,
        r"schedule|new appointment|come in|get in|(?:see|visit) (?:the |a |dr |doctor )?(?:dentist|doctor|hygienist|"
        r"dr [a-z]+)|(?:can|could) i (?:see|come)|new patient|next available|first available|"
        r"(?:any|have|got) (?:openings|opening|availability|appointments available|time available|"
        r"anything available|anything open|slots|appointments)|openings|availability|available|"
        r"anything open|fit me in|squeeze me in|get me in",
        True,
    ),
    (
        "book",
        0.55,
        r"cleaning|checkup|check up|exam|examination|filling|consultation|consult|toothache|"
        r"tooth hurts|teeth hurt|cavity|cavities|broken tooth|chipped|cracked|crown|whitening|"
        r"hurts|pain|appointment|teeth cleaned|knocked out|killing me",
        True,
    ),
    # hours
    (
        "hours",
        1.2,
        r"(?:your|office|opening|business|working|clinic) hours|hours|are you open|is the (?:office|clinic|"
        r"practice) open|are you guys open|(?:when|what time) (?:do|does|are|is) (?:you|the office|the clinic|"
        r"it|you guys|they)(?: guys)? (?:open|close|closed|closing)|when are you open|what time do you|"
        r"open (?:today|tomorrow|now|on saturday|on saturdays|on sunday|on the weekend|on weekends|late)|"
        r"closing time|opening time",
        True,
    ),
    ("hours", 0.6, r"open|closed|closing", True),
    # address
    (
        "address",
        1.2,
        r"address|directions|where are you|where is (?:the|your) (?:office|clinic|practice|building)|"
        r"where (?:are|is) you(?:r)? (?:guys )?located|how do i get (?:there|to you|to the office)|"
        r"what street|which street|where (?:exactly )?(?:is it|are you guys)|"
        r"location|located|parking|where do i park|how to get there",
        True,
    ),
    # more options
    (
        "more",
        1.2,
        r"(?:none|neither) of (?:those|them|these)|not (?:those|these|any of those)|"
        r"(?:something|anything|any time|anytime|sometime) later|later (?:on|in the week|in the day|"
        r"that day|date|time|one|ones)|(?:another|different|other|a different) (?:day|time|date|days|"
        r"times|dates|week|one|ones|option|options)|other (?:options|times|days)|"
        r"(?:have|got) anything else|what else (?:do you|have you|is there)|anything after that|"
        r"(?:something|anything) (?:else|earlier|sooner)|more (?:options|times)|next (?:ones|few)",
        True,
    ),
    ("more", 0.6, r"later|none|neither|after that|earlier|sooner", True),
    # goodbye (beats a bare "no": "no that is all")
    (
        "goodbye",
        1.4,
        r"wrong number|i will call (?:you )?(?:back|again)(?: later| tomorrow| another time)?|"
        r"i will try (?:again )?later|bye|goodbye|bye bye|that is all|that is it|that will be all|that would be all|nothing else|"
        r"that is everything|(?:have|you have) a (?:good|nice|great|lovely) (?:day|one|night|evening|"
        r"weekend|afternoon|morning)|i am done|we are done|all set|talk to you later|no more questions|"
        r"nothing more|i am all good|that is all i needed|i am good thank|i am fine thank|"
        r"i am okay thank|i am ok thank|good night|see you (?:later|soon|then)",
        False,
    ),
    # no
    (
        "no",
        1.2,
        r"no|nope|nah|negative|not really|no thanks|no thank you|no way|not at all|i do not think so|"
        r"not now|not right now|not today|not at the moment|not yet|wrong|incorrect|that is wrong|"
        r"that is not right|not that one|not that|definitely not|absolutely not|i would rather not|"
        r"(?:does|do|will|would) not work|(?:that is|it is) not (?:good|great|convenient|possible)|"
        r"i am (?:good|okay|ok|fine|alright)(?: for now)?|nothing|no need|never mind|nevermind|"
        r"i have changed my mind|changed my mind|i will pass|pass|not interested|no interest",
        False,
    ),
    # yes
    (
        "yes",
        1.2,
        r"yes|yeah|yea|yep|yup|ya|yah|sure|okay|ok|correct|absolutely|definitely|affirmative|exactly|"
        r"please do|go ahead|sounds good|sounds great|sounds perfect|that works|that will work|"
        r"that would work|works for me|that is fine|that is good|that is great|that is perfect|"
        r"that would be great|that would be good|that would be perfect|do it|book it|of course|uh huh|"
        r"mhm|mm hmm|certainly|yes please|lets do it|let us do it|that is right|that is correct|"
        r"alright|all right|i would like that|i would love that|that 1|that one|go for it|"
        r"no problem|not a problem|no worries",
        True,
    ),
    ("yes", 0.6, r"right|perfect|great|fine|good|works|please", True),
    # repeat
    (
        "repeat",
        1.3,
        r"repeat|say (?:that|it) again|what was that|come again|pardon|i did not (?:catch|hear|get|"
        r"understand) (?:that|it|you|what you said|the)|one more time|what did you say|"
        r"could you say that|say again|sorry what|excuse me",
        False,
    ),
    # thanks
    ("thanks", 0.7, r"thank you|thanks|thank u|thankyou|appreciate it|much appreciated|cheers", False),
    # greetings and "are you there"
    (
        "hello",
        0.6,
        r"hello|hi|hey|hiya|good morning|good afternoon|good evening|are you there|is anyone there|"
        r"anybody there|can you hear me",
        False,
    ),
    # hesitation
    (
        "unsure",
        0.9,
        r"not sure|i do not know|do not know|let me think|maybe|i am not certain|hold on|"
        r"moment|just a moment|hang on|wait|one moment|give me a moment|um|uh|hmm",
        False,
    ),
)

_COMPILED = tuple(
    (intent, weight, re.compile(r"(?<![a-z0-9])(?:" + pattern + r")(?![a-z0-9])"), negatable)
    for intent, weight, pattern, negatable in _PATTERNS
)
_NEGATORS = frozenset({"not", "never", "without", "nobody", "neither", "nor", "cannot"})
_NEGATING_PHRASES = ("instead of", "rather than", "no longer", "no need to", "not want to", "not need to")
_NEGATION_WINDOW = 5
_NEGATED_TO_NO = 0.7

# --------------------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Slots:
    """What a turn says beyond its intent. Times are minutes after midnight, choices 1-based (-1: the last)."""

    day: dt.date | None = None  # a date: "tomorrow", "next Tuesday", "December 4", "the 3rd"
    day_from_ordinal: bool = False  # `day` came from a bare "the 3rd", which may also be a choice
    weekday: int | None = None  # a weekday named, 0 = Monday
    after: dt.date | None = None  # "next week", "next month", "in 2 weeks": from this date on
    part_of_day: str | None = None  # "morning" | "afternoon"
    time_at: int | None = None  # "at 3 pm", "the 10 o'clock"
    time_min: int | None = None  # "after 2"
    time_max: int | None = None  # "before 10"
    choice: int | None = None  # "the second one", "number 2", DTMF "2", "the last one"
    number: int | None = None  # a bare number ("two"): a choice or an hour, depending on what was offered
    first_name: str | None = None
    last_name: str | None = None
    kind: str | None = None  # "cleaning" | "exam" | "consultation"
    anything: bool = False  # "any of them", "whichever", "doesn't matter"

    @property
    def has_when(self) -> bool:
        """Any day or time preference at all."""
        return any(
            v is not None
            for v in (
                self.day,
                self.weekday,
                self.after,
                self.part_of_day,
                self.time_at,
                self.time_min,
                self.time_max,
            )
        )


@dataclass(frozen=True)
class Understanding:
    intent: str  # one of INTENTS, or "unknown"
    confidence: float  # 0..1: how sure the intent is (speech recognition confidence aside)
    scores: Mapping[str, float] = field(default_factory=dict)
    slots: Slots = field(default_factory=Slots)
    text: str = ""  # the normalised text
    speech: str = ""  # what was heard, as recognised
    digits: str = ""  # keys pressed
    asr_confidence: float | None = None

    def score(self, intent: str) -> float:
        return self.scores.get(intent, 0.0)

    def has(self, intent: str, at_least: float = ACCEPT) -> bool:
        return self.score(intent) >= at_least

    @property
    def low_confidence(self) -> bool:
        """Speech that recognition itself doubts (below 0.3)."""
        return bool(self.speech) and self.asr_confidence is not None and self.asr_confidence < LOW_CONFIDENCE

    @property
    def is_silence(self) -> bool:
        return not self.speech and not self.digits

    def runner_up(self, exclude: tuple[str, ...] = ()) -> tuple[str, float]:
        """The best intent other than `exclude` and its score ("unknown", 0.0 when none)."""
        best, best_score = "unknown", 0.0
        for name in INTENTS:
            if name in exclude:
                continue
            value = self.scores.get(name, 0.0)
            if value > best_score:
                best, best_score = name, value
        return best, best_score


# --------------------------------------------------------------------------------------------------------
# Understanding
# --------------------------------------------------------------------------------------------------------


def understand(heard: Utterance | str | None, now: dt.datetime | None = None) -> Understanding:
    """Classify one caller turn and extract its slots. Never raises on any text or keys."""
    if heard is None:
        heard = Utterance()
    if isinstance(heard, str):
        heard = Utterance(speech=heard)
    speech = (heard.speech or "").strip()[:MAX_CHARS]
    digits = re.sub(r"[^0-9*#]", "", heard.digits or "")[:20]
    tokens = tokens_of(speech)
    text = " ".join(t for t in tokens if t != ",")
    scores = _score(tokens)
    if digits:
        _score_digits(digits, scores)
    intent, confidence = _decide(scores)
    slots = _slots(tokens, speech, digits, now)
    return Understanding(
        intent=intent,
        confidence=confidence,
        scores=MappingProxyType(dict(scores)),
        slots=slots,
        text=text,
        speech=speech,
        digits=digits,
        asr_confidence=heard.confidence,
    )


def _score(tokens: list[str]) -> dict[str, float]:
    scores: dict[str, float] = {}
    if not tokens:
        return scores
    text = " ".join(tokens)  # with "," boundaries so negation windows stop at them
    matches: list[tuple[int, int, str, float, bool]] = []
    for intent, weight, regex, negatable in _COMPILED:
        for m in regex.finditer(text):
            if m.end() > m.start():
                matches.append((m.start(), m.end(), intent, weight, negatable))
    # the longest match wins where matches overlap ("not sure" over "sure", "do not call me" over "call me")
    matches.sort(key=lambda m: (-(m[1] - m[0]), -m[3], m[0]))
    taken: list[tuple[int, int]] = []
    for start, end, intent, weight, negatable in matches:
        if any(start < t_end and t_start < end for t_start, t_end in taken):
            continue
        taken.append((start, end))
        if negatable and _negated(text, start):
            if intent not in ("no", "unsure", "more"):
                scores["no"] = max(scores.get("no", 0.0), _NEGATED_TO_NO)
            continue
        scores[intent] = min(scores.get(intent, 0.0) + weight, 3.0)
    words = set(tokens)
    # co-occurrence rules
    if words & {"swelling", "swollen", "swell", "swelled"} and words & {
        "breathe",
        "breathing",
        "swallow",
        "swallowing",
    }:
        scores["emergency"] = max(scores.get("emergency", 0.0), 1.5)
    if (
        "knocked" in words
        and words & {"bleeding", "blood", "bleed"}
        and words & {"lot", "heavy", "heavily", "stop", "badly", "much", "everywhere", "severe"}
    ):
        scores["emergency"] = max(scores.get("emergency", 0.0), 1.5)
    return scores


def _negated(text: str, start: int) -> bool:
    before = text[:start].split()
    window: list[str] = []
    for token in reversed(before):
        if token in (",", "but", "however", "although", "though", "instead", "so"):
            break
        window.append(token)
        if len(window) >= _NEGATION_WINDOW:
            break
    window.reverse()
    if set(window) & _NEGATORS:
        return True
    joined = " ".join(window)
    return any(phrase in joined for phrase in _NEGATING_PHRASES)


def _score_digits(digits: str, scores: dict[str, float]) -> None:
    if digits == "0":
        scores["human"] = max(scores.get("human", 0.0), 1.5)
    elif digits == "911":
        scores["emergency"] = max(scores.get("emergency", 0.0), 1.5)


def _decide(scores: dict[str, float]) -> tuple[str, float]:
    if scores.get("emergency", 0.0) >= EMERGENCY_AT:
        return "emergency", min(1.0, scores["emergency"])
    if scores.get("opt_out", 0.0) >= OPT_OUT_AT:
        return "opt_out", min(1.0, scores["opt_out"])
    best, best_score = "unknown", 0.0
    for name in INTENTS:
        value = scores.get(name, 0.0)
        if name in ("emergency", "opt_out"):
            continue
        if value > best_score:
            best, best_score = name, value
    # a request beats a yes or no around it: "no, I want to book" is a booking
    action, action_score = "unknown", 0.0
    for name in ACTIONS:
        if scores.get(name, 0.0) > action_score:
            action, action_score = name, scores[name]
    if action_score >= ACTION_OVER_ANSWER and best not in ACTIONS and best != "goodbye":
        best, best_score = action, action_score
    if best_score < ACCEPT:
        return "unknown", 0.0
    second = max((v for k, v in scores.items() if k != best), default=0.0)
    margin = max(0.0, best_score - second)
    return best, round(min(1.0, 0.5 * min(best_score, 1.0) + 0.5 * min(margin, 1.0)), 3)


# --------------------------------------------------------------------------------------------------------
# Slots
# --------------------------------------------------------------------------------------------------------

_TIME_PREP_AT = {"at", "around", "about", "for", "say", "maybe", "like", "the"}
_TIME_PREP_MIN = {"after", "past", "from"}
_TIME_PREP_MAX = {"before", "until", "till", "by"}
_CHOICE_WORDS = {"number", "option", "choice", "slot", "press", "pressed", "pick", "#"}
_NOT_A_CHOICE_AFTER = {
    "name",
    "week",
    "month",
    "time",
    "year",
    "visit",
    "appointment",
    "names",
    "night",
    "minute",
}


def _slots(tokens: list[str], speech: str, digits: str, now: dt.datetime | None) -> Slots:
    values: dict[str, object] = {}
    used: set[int] = set()
    words = list(tokens)
    today = now.date() if now is not None else None
    n = len(words)

    def at(i: int) -> str:
        return words[i] if 0 <= i < n else ""

    # -- days -------------------------------------------------------------------------------------------
    for i, t in enumerate(words):
        if t == "today" and today:
            values.setdefault("day", today)
            used.add(i)
        elif t == "tonight" and today:
            values.setdefault("day", today)
            values.setdefault("part_of_day", "afternoon")
            used.add(i)
        elif t == "tomorrow" and today:
            after = at(i - 1) == "after" and at(i - 2) == "day"
            values["day"] = today + dt.timedelta(days=2 if after else 1)
            used.add(i)
        elif t in _WEEKDAYS:
            wd = _WEEKDAYS[t]
            values["weekday"] = wd
            used.add(i)
            if today is None:
                continue
            prev, prev2 = at(i - 1), at(i - 2)
            if prev == "next" or (prev == "the" and prev2 == "next") or (prev == "week" and prev2 == "next"):
                monday = today - dt.timedelta(days=today.weekday()) + dt.timedelta(days=7)
                values["day"] = monday + dt.timedelta(days=wd)
            elif prev == "this" or (prev == "coming" and prev2 == "this"):
                delta = (wd - today.weekday()) % 7
                values["day"] = today + dt.timedelta(days=delta)
            elif prev == "coming":
                values["day"] = today + dt.timedelta(days=(wd - today.weekday()) % 7 or 7)
        elif t in _MONTHS:
            month = _MONTHS[t]
            day_no = None
            nxt = at(i + 1)
            if _day_number(nxt) is not None:
                day_no = _day_number(nxt)
                used.update({i, i + 1})
            elif at(i - 1) == "of" and _day_number(at(i - 2)) is not None:
                day_no = _day_number(at(i - 2))
                used.update({i, i - 1, i - 2})
            if day_no is None:
                if (
                    t not in _AMBIGUOUS_MONTHS
                    and today is not None
                    and at(i - 1) in ("in", "of", "early", "late", "mid", "next", "this")
                ):
                    start = dt.date(today.year, month, 1)
                    if start < today.replace(day=1):
                        start = start.replace(year=today.year + 1)
                    values.setdefault("after", max(start, today))
                continue
            if today is not None:
                resolved = _resolve(today, month, day_no)
                if resolved is not None:
                    values["day"] = resolved
                    values["day_from_ordinal"] = False
        elif re.fullmatch(r"\d{1,2}/\d{1,2}", t) and today is not None:
            m, d = (int(x) for x in t.split("/"))
            resolved = _resolve(today, m, d)
            if resolved is not None:
                values["day"] = resolved
                used.add(i)

    if today is not None:
        text = " ".join(w for w in words if w != ",")
        if re.search(r"\bnext week\b", text):
            values.setdefault("after", today - dt.timedelta(days=today.weekday()) + dt.timedelta(days=7))
        elif re.search(r"\bnext month\b", text):
            first = (today.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
            values.setdefault("after", first)
        m = re.search(r"\bin (?:a|1|(\d{1,2})) (day|days|week|weeks|month|months)\b", text)
        if m:
            count = int(m.group(1) or 1)
            unit = {"day": 1, "days": 1, "week": 7, "weeks": 7, "month": 30, "months": 30}[m.group(2)]
            values.setdefault("after", today + dt.timedelta(days=min(count * unit, 366)))

    # -- times --------------------------------------------------------------------------------------------
    for i, t in enumerate(words):
        if i in used:
            continue
        hour = minute = None
        explicit = False
        suffix = ""
        end = i
        m = re.fullmatch(r"(\d{1,2}):(\d{2})", t)
        if m:
            hour, minute = int(m.group(1)), int(m.group(2))
            explicit = True
        elif t.isdigit() and 1 <= int(t) <= 23 and len(t) <= 2:
            hour, minute = int(t), 0
            nxt = at(i + 1)
            if nxt.isdigit() and len(nxt) == 2 and 0 <= int(nxt) <= 59 and (int(nxt) >= 10 or nxt == "00"):
                minute = int(nxt)
                end = i + 1
                explicit = True
        elif t in ("noon", "midday", "lunchtime", "lunch"):
            hour, minute = 12, 0
            explicit = t in ("noon", "midday")
        elif t in ("half", "quarter") and at(i + 1) in ("past", "after", "to") and at(i + 2).isdigit():
            base = int(at(i + 2))
            if 1 <= base <= 12:
                if at(i + 1) == "to":
                    hour, minute = (base - 1) or 12, 45
                else:
                    hour, minute = base, 30 if t == "half" else 15
                end = i + 2
                explicit = True
        if hour is None or minute is None or hour > 23:
            continue
        after_tok = at(end + 1)
        if after_tok in ("am", "pm"):
            suffix = after_tok
            explicit = True
            end += 1
        elif after_tok == "oclock":
            explicit = True
            end += 1
        elif (
            after_tok == "in" and at(end + 2) == "the" and at(end + 3) in ("morning", "afternoon", "evening")
        ):
            suffix = "am" if at(end + 3) == "morning" else "pm"
            explicit = True
        prev = at(i - 1)
        prep = prev if prev in (_TIME_PREP_AT | _TIME_PREP_MIN | _TIME_PREP_MAX) else ""
        if prev in ("than",) and at(i - 2) in ("later", "earlier"):
            prep = "after" if at(i - 2) == "later" else "before"
        if t in ("lunch", "lunchtime") and prev not in ("after", "before", "at", "around", "about", "by"):
            continue
        if not explicit and prep in ("", "the", "for", "say", "maybe", "like"):
            continue  # a bare number: a choice or an hour, decided later
        if prep == "the" and not explicit:
            continue
        minutes = _clock(hour, minute, suffix, lunch=t in ("lunch", "lunchtime"), prep=prep)
        if minutes is None:
            continue
        used.update(range(i, end + 1))
        if prep in _TIME_PREP_MIN:
            values.setdefault("time_min", minutes)
        elif prep in ("before", "until", "till", "by"):
            values.setdefault("time_max", minutes)
        else:
            values.setdefault("time_at", minutes)

    # -- part of day ----------------------------------------------------------------------------------------
    joined = " ".join(words)
    if re.search(
        r"\b(?:morning|mornings|in the am|before noon|before lunch|early in the day|first thing)\b", joined
    ):
        values.setdefault("part_of_day", "morning")
    elif re.search(
        r"\b(?:afternoon|afternoons|evening|evenings|in the pm|after lunch|after work|end of the day|"
        r"late in the day|after school)\b",
        joined,
    ):
        values.setdefault("part_of_day", "afternoon")
    if values.get("part_of_day") is None:
        for key in ("time_at", "time_min"):
            v = values.get(key)
            if isinstance(v, int) and v >= 12 * 60:
                values["part_of_day"] = "afternoon"
        v = values.get("time_max")
        if isinstance(v, int) and v <= 12 * 60:
            values["part_of_day"] = "morning"
        v = values.get("time_at")
        if isinstance(v, int) and v < 12 * 60:
            values["part_of_day"] = "morning"

    # -- choices ----------------------------------------------------------------------------------------
    choice: int | None = None
    for i, t in enumerate(words):
        if i in used:
            continue
        ordinal = _ordinal_value(t)
        if t in _CHOICE_WORDS and at(i + 1).isdigit() and len(at(i + 1)) <= 2:
            choice = int(at(i + 1))
            used.update({i, i + 1})
            break
        if ordinal is not None:
            nxt = at(i + 1)
            if nxt in _NOT_A_CHOICE_AFTER:
                continue
            prev, prev2 = at(i - 1), at(i - 2)
            on_the = prev == "on" or (prev == "the" and prev2 == "on")
            if (
                today is not None
                and 1 <= ordinal <= 31
                and ("day" not in values)
                and (
                    on_the or (prev == "the" and nxt not in ("one", "option", "choice", "time", "slot", "1"))
                )
            ):
                resolved = _resolve_day_of_month(today, ordinal)
                if resolved is not None:
                    values["day"] = resolved
                    values["day_from_ordinal"] = True
            if not on_the and ordinal <= 10:
                choice = ordinal
            used.add(i)
            break
        if t == "last" and at(i + 1) not in _NOT_A_CHOICE_AFTER:
            choice = -1
            break
        if t in ("latter",):
            choice = -1
            break
        if t in ("former", "earliest", "soonest"):
            choice = 1
            break
    if digits and re.fullmatch(r"[1-9]", digits):
        choice = int(digits)
    if choice is not None:
        values["choice"] = choice
    if re.search(
        r"\b(?:any of (?:them|those|these|the)|any 1|any one|either (?:1|one|is fine|works|of them|will do)|"
        r"whichever|does not matter|do not care|whatever is|any is fine|either|anything is fine|"
        r"the soonest|the earliest|first available|next available)\b",
        joined,
    ):
        values["anything"] = True

    # a bare number left over
    for i, t in enumerate(words):
        if i in used or not t.isdigit() or len(t) > 2:
            continue
        if at(i + 1) in (
            "days",
            "day",
            "weeks",
            "week",
            "months",
            "month",
            "minutes",
            "hours",
            "years",
            "people",
        ):
            continue
        values["number"] = int(t)
        break

    first, last = extract_name(speech)
    if first:
        values["first_name"] = first
        values["last_name"] = last
    values["kind"] = kind_of(tokens)
    return Slots(**values)  # type: ignore[arg-type]


def _day_number(token: str) -> int | None:
    if token.isdigit() and 1 <= int(token) <= 31:
        return int(token)
    value = _ordinal_value(token)
    return value if value is not None and 1 <= value <= 31 else None


def _ordinal_value(token: str) -> int | None:
    m = re.fullmatch(r"(\d{1,2})(st|nd|rd|th)", token)
    return int(m.group(1)) if m else None


def _resolve(today: dt.date, month: int, day: int) -> dt.date | None:
    for year in (today.year, today.year + 1):
        try:
            candidate = dt.date(year, month, day)
        except ValueError:
            continue
        if candidate >= today:
            return candidate
    return None


def _resolve_day_of_month(today: dt.date, day: int) -> dt.date | None:
    year, month = today.year, today.month
    for _ in range(3):
        try:
            candidate = dt.date(year, month, day)
        except ValueError:
            candidate = None
        if candidate is not None and candidate >= today:
            return candidate
        month += 1
        if month > 12:
            year, month = year + 1, 1
    return None


def _clock(hour: int, minute: int, suffix: str, *, lunch: bool = False, prep: str = "") -> int | None:
    """Minutes after midnight; an hour without AM/PM is read as office hours (1 to 6 are afternoon)."""
    if lunch:
        return 13 * 60 if prep == "after" else 12 * 60
    if suffix == "pm" and hour < 12:
        hour += 12
    elif suffix == "am" and hour == 12:
        hour = 0
    elif not suffix and 1 <= hour <= 6:
        hour += 12
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None
    return hour * 60 + minute


def hour_from_number(number: int) -> int | None:
    """A bare number as an office-hours clock time in minutes ("2" -> 2 PM), or None."""
    if not 1 <= number <= 12:
        return None
    return _clock(number, 0, "")


# -- kind ---------------------------------------------------------------------------------------------------

_EXAM_WORDS = frozenset(
    """exam examination filling fillings toothache toothaches cavity cavities pain painful hurts
hurting hurt ache aching broken chipped cracked crown crowns sensitive sore abscess extraction root canal wisdom
knocked xray infection infected swollen swelling loose bleeding""".split()
)
_CONSULT_WORDS = frozenset(
    """consultation consult consultations implant implants invisalign braces whitening veneers
veneer cosmetic opinion aligners dentures denture bridge""".split()
)
_CLEANING_WORDS = frozenset(
    """cleaning cleanings clean cleaned checkup checkups hygiene hygienist hygienists scale
polish routine recall""".split()
)


def kind_of(tokens: list[str]) -> str | None:
    """ "cleaning" (also checkup, hygiene), "exam" (fillings, aches) or "consultation"; None when not said."""
    words = set(tokens)
    text = " ".join(tokens)
    if words & _EXAM_WORDS or re.search(
        r"\b(?:tooth|teeth) (?:hurts|hurt|ache|aches|is killing|broke)\b|"
        r"\bx ray\b|\broot canal\b|\bemergency (?:appointment|visit|exam)\b",
        text,
    ):
        return "exam"
    if words & _CONSULT_WORDS or "second opinion" in text:
        return "consultation"
    if words & _CLEANING_WORDS or re.search(r"\bcheck up\b|\bteeth (?:cleaned|done)\b|\bsix month\b", text):
        return "cleaning"
    return None


# -- names ----------------------------------------------------------------------------------------------------

_NAME_LEADS = (
    r"my name is",
    r"my names",
    r"name is",
    r"the name is",
    r"this is",
    r"it is",
    r"i am",
    r"call me",
    r"you can call me",
    r"i am called",
    r"names",
)
_STRONG_STOP = frozenset(
    """a an the and or but not calling about for to with from i my me just actually um uh
er so well really also here speaking going trying looking wondering having in on at yes no sorry please
hoping interested available free busy good fine okay ok sure done still new patient calling due sick worried
afraid late back able unable gonna ready glad happy bleeding feeling currently already scheduled booked
hurting calling phoning ringing only over returning someone somebody again anymore ever never""".split()
)
_NAME_STOP = _STRONG_STOP | frozenset(
    """is am are was were be been it its this that these those what when where why how
who which there their they them we us our you your he she his her him thanks thank hi hello hey yeah yep yup nope
nah right like want need would could can will shall should may might must do does did have has had get got make
book booking cancel reschedule appointment appointments cleaning checkup exam filling consultation tomorrow today
morning afternoon evening name last first number one two three then than as of by up out off over again very
time day week month year bye goodbye speak talk person someone somebody message call back hours address
emergency pain tooth teeth dentist doctor dr mr mrs ms miss sir madam help please thank okay alright all set
monday tuesday wednesday thursday friday saturday sunday next this""".split()
)


def extract_name(speech: str, expect: bool = False) -> tuple[str | None, str | None]:
    """(first, last) from "my name is Jane Smith", "it's Jane Smith", or (with `expect`) a bare "Jane Smith"."""
    if not speech:
        return None, None
    raw_words = re.findall(r"[^\W\d_]+(?:['-][^\W\d_]+)*", speech)
    casing = {w.lower().replace("'", ""): w for w in raw_words}
    tokens = tokens_of(speech)
    # spelled names: "j a n e" -> "jane"
    joined_tokens: list[str] = []
    run: list[str] = []
    for t in tokens + [","]:
        if len(t) == 1 and t.isalpha():
            run.append(t)
            continue
        if len(run) >= 3:
            joined_tokens.append("".join(run))
        else:
            joined_tokens.extend(run)
        run = []
        joined_tokens.append(t)
    tokens = joined_tokens[:-1]
    text = " ".join(tokens)

    m = re.search(
        r"\bfirst name (?:is )?([a-z'-]+)(?: ,)? (?:and )?(?:my )?(?:last name|surname) (?:is )?([a-z'-]+)",
        text,
    )
    if m:
        return _cased(m.group(1), casing), _cased(m.group(2), casing)
    m = re.search(r"\b(?:last name|surname) (?:is )?([a-z'-]+)", text)
    last_only = m.group(1) if m and m.group(1) not in _NAME_STOP else None

    found: list[str] = []
    for lead in _NAME_LEADS:
        strong = lead in ("my name is", "name is", "the name is", "my names")
        for m in re.finditer(r"(?:^|(?<= ))" + lead + r" ", text + " "):
            rest = text[m.end() :].split()
            found = _take_name(rest, lenient_first=strong)
            if not strong and not expect and len(found) < 2:
                found = []  # "I am Jane" is a name only when a name is expected; "I am Jane Smith" always
            if found:
                break
        if found:
            break
    if not found and expect:
        rest = [t for t in tokens if t != ","]
        while rest and rest[0] in {
            "yes",
            "yeah",
            "yep",
            "sure",
            "ok",
            "okay",
            "um",
            "uh",
            "er",
            "hi",
            "hello",
            "so",
            "well",
            "oh",
            "its",
            "it",
            "is",
            "name",
            "my",
            "this",
            "i",
            "am",
            "the",
        }:
            rest = rest[1:]
        while rest and rest[-1] in {"please", "thanks", "thank", "you", "here", "speaking", "calling"}:
            rest = rest[:-1]
        if 1 <= len(rest) <= 3 and all(_namelike(t) and t not in _NAME_STOP for t in rest):
            found = rest
    if not found:
        if last_only and expect:
            return None, _cased(last_only, casing)
        return None, None
    first = _cased(found[0], casing)
    last = " ".join(_cased(t, casing) for t in found[1:]) or None
    if last is None and last_only:
        last = _cased(last_only, casing)
    return first, last


def _take_name(rest: list[str], lenient_first: bool) -> list[str]:
    out: list[str] = []
    for i, t in enumerate(rest):
        if t == "," or not _namelike(t):
            break
        stop = _STRONG_STOP if (i == 0 and lenient_first) else _NAME_STOP
        if t in stop:
            break
        out.append(t)
        if len(out) == 3:
            break
    return out


def _namelike(token: str) -> bool:
    return (
        bool(re.fullmatch(r"[a-z]+(?:['-][a-z]+)*", token))
        and 2 <= len(token) <= 30
        and token not in _WEEKDAYS
    )


def _cased(token: str, casing: dict[str, str]) -> str:
    raw = casing.get(token)
    if raw and any(c.isupper() for c in raw[1:]) and raw[0].isupper():
        return raw  # "McDonald", "DeVito"
    word = raw.lower() if raw else token
    return "-".join("'".join(p[:1].upper() + p[1:] for p in part.split("'")) for part in word.split("-"))
