"""Whole calls from data files: load and validate them, play each against the fixture practice, check it.

A theme file (`en/*.toml`) holds a theme, optional defaults and calls:

    theme = "booking"
    [defaults]            # optional: from, at, staff for every call of the file
    from = "tom"
    at = "mon_open"

    [[call]]
    id = "cleaning-after-three"              # unique across all files
    what = "a cleaning asked for after 3 is booked at 3 or later"
    from = "tom"                              # an alias of practice.ALIASES or a +E.164 number
    at = "tue_open"                           # an alias of practice.TIMES or YYYY-MM-DDTHH:MM, local time
    says = ["Hi, um, I need a clean in", "anything after three", "yeah that one", "perfect, thanks"]
    staff = "accept"                          # accept | decline | no-answer | busy (the staff member)
    [call.expect]
    appointment = "booked"
    hour_from = 15

Each `says` entry answers the receptionist's next speech prompt; "<silence>" is a prompt left unanswered;
when the entries run out the caller hangs up. `EXPECTATIONS` below is the vocabulary of `[call.expect]`.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from receptionist.simulation.simulator import SimulatedCall, StaffScript
from tests.calls.practice import ALIASES, HOLIDAYS, MAIN, NY, PATIENT_IDS, PEOPLE, TIMES, World, local

HERE = Path(__file__).resolve().parent
CALLS_DIR = HERE / "en"
SILENCE = "<silence>"

FILE_KEYS = {"theme", "description", "defaults", "call"}
DEFAULT_KEYS = {"from", "at", "staff"}
CALL_KEYS = {"id", "what", "from", "at", "says", "digits", "staff", "expect"}
STAFF_ACTIONS = {"accept", "decline", "no-answer", "busy"}
ROUTES = {"staff", "ai", "message", "emergency", "closed"}
TRANSFERS = {"accepted", "declined", "no-answer", "busy", "none"}
ACTIONS = {"booked", "rescheduled", "cancelled", "none"}
KINDS = {"cleaning", "exam", "new_patient_exam", "child_visit", "emergency_exam", "consultation"}
PRIORITIES = {"urgent", "high", "normal"}
TRIAGE = {"emergency_911", "urgent_dental", "none"}
IDENTITY = {"verified", "failed", "not_on_file", "none"}
LANGUAGES = {"en", "es"}
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
PROVIDERS = {"Dr. Rivera", "Dr. Chen", "Hygienist Patel", "Hygienist Moore"}
ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# The expectation vocabulary: key -> one line on what it checks (the report and the docs print these).
EXPECTATIONS = {
    "route": "the outcome's route is this one (or one of this list): staff, ai, message, emergency, closed",
    "transfer": "the transfer result is this (or one of): accepted, declined, no-answer, busy, none",
    "appointment": "what happened to an appointment: booked, rescheduled, cancelled, none (or a list)",
    "kind": "the appointment's visit type (or one of): cleaning, exam, new_patient_exam, child_visit, ...",
    "provider": "the appointment's provider (or one of a list), e.g. Dr. Chen",
    "patient": "the appointment is on this patient's record (an alias such as emma, or an id)",
    "not_patient": "the appointment is not on this patient's record (or any of a list)",
    "minutes": "the appointment lasts at least this many minutes",
    "weekday_in": "the appointment's local weekday is one of these (mon..sun)",
    "weekday_not_in": "the appointment's local weekday is none of these",
    "hour_from": "the appointment starts at this local hour or later",
    "hour_before": "the appointment starts before this local hour",
    "start_after": "the appointment's local date is on or after this date (YYYY-MM-DD)",
    "start_before": "the appointment's local date is before this date",
    "start_on": "the appointment's local date is this date",
    "start_not_on": "the appointment's local date is none of these dates",
    "start_at": "the appointment starts at exactly this local time (YYYY-MM-DDTHH:MM)",
    "same_day": "true: the appointment is on the day of the call",
    "earliest": "true: no open slot for that visit type (and provider, if one is expected) starts earlier",
    "message": "true: a message was taken; false: none",
    "messages_contain": "one message carries every one of these words (case-insensitive)",
    "callbacks_contain": "one callback's reason carries every one of these words (case-insensitive)",
    "callback": "a staff callback was queued: true, false, or a priority urgent|high|normal (or a list)",
    "triage": "the outcome's triage: emergency_911, urgent_dental or none",
    "identity": "the caller's identity check: verified, failed, not_on_file or none (or a list)",
    "opted_out": "true: the caller is opted out of outreach after the call (outcome and store); false: not",
    "language": "the language the call was held in: en or es",
    "heard_any": "the receptionist said at least one of these phrases somewhere in the call",
    "heard_all": "every item (a phrase, or a list of alternative phrases) was said somewhere in the call",
    "heard_none": "the receptionist never said any of these phrases",
    "reply_any": "{N = [...]}: the reply to the caller's N-th words (0 = the greeting) has one of the phrases",
    "reply_none": "{N = [...]}: the reply to the caller's N-th words has none of the phrases",
    "no_appointment_details": "true (every patient's) or a list of aliases: no appointment of theirs is read out",
    "reads_out": "a list of aliases: an appointment of each is read out (its date or weekday with its time)",
    "no_details_before": "N: no appointment is read out before the caller's N-th words (say, until the date of birth)",
    "unchanged": "true: the store's appointments are exactly as before the call (nothing booked, moved, cancelled)",
    "max_repeats": "at most this many receptionist turns repeat an earlier turn word for word",
    "one_of": "a list of expectation tables: the call passes if it meets every key of at least one of them",
}
VALUE_TYPES: dict[str, str] = {
    "route": "enum",
    "transfer": "enum",
    "appointment": "enum",
    "kind": "enum",
    "provider": "enum",
    "patient": "patients",
    "not_patient": "patients",
    "minutes": "int",
    "weekday_in": "weekdays",
    "weekday_not_in": "weekdays",
    "hour_from": "hour",
    "hour_before": "hour",
    "start_after": "date",
    "start_before": "date",
    "start_on": "date",
    "start_not_on": "dates",
    "start_at": "datetime",
    "same_day": "bool",
    "earliest": "true",
    "message": "bool",
    "messages_contain": "phrases",
    "callback": "callback",
    "callbacks_contain": "phrases",
    "triage": "enum",
    "identity": "enum",
    "opted_out": "bool",
    "language": "enum",
    "heard_any": "phrases",
    "heard_all": "phrase_groups",
    "heard_none": "phrases",
    "reply_any": "replies",
    "reply_none": "replies",
    "no_appointment_details": "reveal",
    "no_details_before": "turn",
    "reads_out": "aliases",
    "unchanged": "true",
    "max_repeats": "int",
    "one_of": "alternatives",
}
ENUMS = {
    "route": ROUTES,
    "transfer": TRANSFERS,
    "appointment": ACTIONS,
    "kind": KINDS,
    "provider": PROVIDERS,
    "triage": TRIAGE,
    "identity": IDENTITY,
    "language": LANGUAGES,
}
APPOINTMENT_KEYS = {
    "kind",
    "provider",
    "patient",
    "not_patient",
    "minutes",
    "weekday_in",
    "weekday_not_in",
    "hour_from",
    "hour_before",
    "start_after",
    "start_before",
    "start_on",
    "start_not_on",
    "start_at",
    "same_day",
    "earliest",
}
assert set(EXPECTATIONS) == set(VALUE_TYPES)


MISSING = "the outcome has no"


class SpecError(ValueError):
    """A data file that is not a valid call list: the message names the file, the call and the key."""


@dataclass(frozen=True)
class CallSpec:
    id: str
    theme: str
    file: str
    what: str
    caller: str  # E.164
    caller_alias: str
    at: dt.datetime
    says: tuple[str | None, ...]
    digits: tuple[str | None, ...]
    staff: str
    expect: dict[str, Any]

    def __repr__(self) -> str:
        return f"CallSpec({self.id})"

    def describe(self) -> str:
        return f"{self.id}: {self.what}" if self.what else self.id


# --- loading and validating ------------------------------------------------------------------------------


def _fail(where: str, why: str) -> None:
    raise SpecError(f"{where}: {why}")


def _strings(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, str) and v.strip() for v in value)


def _check_value(where: str, key: str, value: Any) -> None:
    kind = VALUE_TYPES[key]
    if kind == "enum":
        values = value if isinstance(value, list) else [value]
        if not values or not all(isinstance(v, str) and v in ENUMS[key] for v in values):
            _fail(where, f"{key} = {value!r}: expected one of {sorted(ENUMS[key])} or a list of them")
    elif kind == "patients":
        values = value if isinstance(value, list) else [value]
        known = set(PATIENT_IDS) | set(PATIENT_IDS.values())
        if not values or not all(isinstance(v, str) and v in known for v in values):
            _fail(where, f"{key} = {value!r}: expected a patient alias ({', '.join(sorted(PATIENT_IDS))})")
    elif kind == "int":
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            _fail(where, f"{key} = {value!r}: expected a whole number >= 0")
    elif kind == "turn":
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            _fail(where, f"{key} = {value!r}: expected a caller turn number >= 1")
    elif kind == "hour":
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 24:
            _fail(where, f"{key} = {value!r}: expected an hour 0-24")
    elif kind == "weekdays":
        if not isinstance(value, list) or not value or not all(v in WEEKDAYS for v in value):
            _fail(where, f"{key} = {value!r}: expected a list of {WEEKDAYS}")
    elif kind in ("date", "dates"):
        values = value if kind == "dates" else [value]
        if not isinstance(values, list) or not values:
            _fail(where, f"{key} = {value!r}: expected a list of YYYY-MM-DD dates")
        for v in values:
            try:
                ok = isinstance(v, str) and DATE_RE.match(v) and dt.date.fromisoformat(v)
            except ValueError:
                ok = False
            if not ok:
                _fail(where, f"{key} = {value!r}: expected YYYY-MM-DD")
    elif kind == "datetime":
        try:
            dt.datetime.fromisoformat(value)
        except (TypeError, ValueError):
            _fail(where, f"{key} = {value!r}: expected YYYY-MM-DDTHH:MM")
    elif kind == "bool":
        if not isinstance(value, bool):
            _fail(where, f"{key} = {value!r}: expected true or false")
    elif kind == "true":
        if value is not True:
            _fail(where, f"{key} = {value!r}: only `true` means something here")
    elif kind == "phrases":
        if not _strings(value):
            _fail(where, f"{key} = {value!r}: expected a non-empty list of non-empty strings")
        for v in value:
            _phrase_ok(where, key, v)
    elif kind == "phrase_groups":
        if not isinstance(value, list) or not value:
            _fail(where, f"{key} = {value!r}: expected a list of phrases or lists of alternative phrases")
        for item in value:
            group = [item] if isinstance(item, str) else item
            if not _strings(group):
                _fail(where, f"{key}: {item!r} is not a phrase or a non-empty list of phrases")
            for v in group:
                _phrase_ok(where, key, v)
    elif kind == "replies":
        if not isinstance(value, dict) or not value:
            _fail(where, f"{key} = {value!r}: expected a table {{N = [phrases]}}")
        for turn, phrases in value.items():
            if not turn.isdigit() or not _strings(phrases):
                _fail(where, f"{key}.{turn}: expected a turn number and a list of phrases")
            for v in phrases:
                _phrase_ok(where, key, v)
    elif kind == "callback":
        values = value if isinstance(value, list) else [value]
        if isinstance(value, bool):
            return
        if not values or not all(isinstance(v, str) and v in PRIORITIES for v in values):
            _fail(where, f"callback = {value!r}: expected true, false, or one of {sorted(PRIORITIES)}")
    elif kind == "reveal":
        if value is True:
            return
        if not isinstance(value, list) or not value or not all(v in PEOPLE for v in value):
            _fail(where, f"no_appointment_details = {value!r}: expected true or a list of patient aliases")
    elif kind == "aliases":
        if not isinstance(value, list) or not value or not all(v in PEOPLE for v in value):
            _fail(where, f"{key} = {value!r}: expected a list of patient aliases")
    elif kind == "alternatives":
        if not isinstance(value, list) or len(value) < 2 or not all(isinstance(v, dict) and v for v in value):
            _fail(where, "one_of: expected at least two non-empty expectation tables")
        for i, alt in enumerate(value):
            _check_expect(f"{where}: one_of[{i}]", alt, nested=True)


def _phrase_ok(where: str, key: str, phrase: str) -> None:
    if phrase.startswith("re:"):
        try:
            re.compile(phrase[3:])
        except re.error as error:
            _fail(where, f"{key}: bad regular expression {phrase!r}: {error}")


def _check_expect(where: str, expect: Any, *, nested: bool = False) -> None:
    if not isinstance(expect, dict) or not expect:
        _fail(where, "a call needs expectations ([call.expect] with at least one key)")
    unknown = set(expect) - set(EXPECTATIONS)
    if unknown:
        _fail(where, f"unknown expectation {sorted(unknown)}; known: {', '.join(sorted(EXPECTATIONS))}")
    if nested and "one_of" in expect:
        _fail(where, "one_of cannot nest")
    for key, value in expect.items():
        _check_value(where, key, value)
    if "hour_from" in expect and "hour_before" in expect and expect["hour_from"] >= expect["hour_before"]:
        _fail(where, "hour_from must be before hour_before")
    action = expect.get("appointment")
    if action == "none" and APPOINTMENT_KEYS & set(expect):
        _fail(where, f"appointment = 'none' with {sorted(APPOINTMENT_KEYS & set(expect))}")


def _caller(where: str, value: Any) -> tuple[str, str]:
    if not isinstance(value, str):
        _fail(where, f"from = {value!r}: expected a caller alias or a +E.164 number")
    if value in ALIASES:
        return ALIASES[value], value
    if re.fullmatch(r"\+\d{8,15}", value):
        return value, value
    _fail(where, f"from = {value!r}: not one of {', '.join(sorted(ALIASES))} nor a +E.164 number")
    raise AssertionError  # unreachable


def _time(where: str, value: Any) -> dt.datetime:
    if not isinstance(value, str):
        _fail(where, f"at = {value!r}: expected a time alias or YYYY-MM-DDTHH:MM")
    try:
        return local(value)
    except ValueError:
        _fail(where, f"at = {value!r}: not one of {', '.join(TIMES)} nor YYYY-MM-DDTHH:MM")
    raise AssertionError


def load_file(path: Path) -> list[CallSpec]:
    where = path.name
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise SpecError(f"{where}: not valid TOML: {error}") from error
    return load_table(data, where)


def load_table(data: dict[str, Any], where: str) -> list[CallSpec]:
    """The calls of one theme file already read into a table (`where` names it in errors), validated."""
    unknown = set(data) - FILE_KEYS
    if unknown:
        _fail(where, f"unknown key {sorted(unknown)}; a file has {sorted(FILE_KEYS)}")
    theme = data.get("theme")
    if not isinstance(theme, str) or not theme.strip():
        _fail(where, 'needs theme = "..."')
    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict) or set(defaults) - DEFAULT_KEYS:
        _fail(where, f"[defaults] takes only {sorted(DEFAULT_KEYS)}")
    calls = data.get("call")
    if not isinstance(calls, list) or not calls:
        _fail(where, "no [[call]] entries")
    out = []
    for n, raw in enumerate(calls, 1):
        cid = raw.get("id") if isinstance(raw, dict) else None
        here = f"{where}: call {n} ({cid or 'no id'})"
        if not isinstance(raw, dict):
            _fail(here, "not a table")
        unknown = set(raw) - CALL_KEYS
        if unknown:
            _fail(here, f"unknown key {sorted(unknown)}; a call has {sorted(CALL_KEYS)}")
        if not isinstance(cid, str) or not ID_RE.match(cid):
            _fail(here, "id must be lower-case letters, digits and dashes")
        merged = {**defaults, **raw}
        for needed in ("from", "at"):
            if needed not in merged:
                _fail(here, f"no `{needed}` (in the call or [defaults])")
        number, alias = _caller(here, merged["from"])
        says = merged.get("says", [])
        if not isinstance(says, list) or not all(isinstance(s, str) and s.strip() for s in says):
            _fail(here, 'says must be a list of non-empty strings ("<silence>" for no answer)')
        digits = merged.get("digits", [])
        if not isinstance(digits, list) or not all(isinstance(d, str) for d in digits):
            _fail(here, "digits must be a list of strings")
        staff = merged.get("staff", "accept")
        if staff not in STAFF_ACTIONS:
            _fail(here, f"staff = {staff!r}: expected one of {sorted(STAFF_ACTIONS)}")
        what = raw.get("what", "")
        if not isinstance(what, str) or not what.strip():
            _fail(here, 'what = "..." is needed: one line saying what the call checks')
        _check_expect(here, raw.get("expect"))
        out.append(
            CallSpec(
                id=cid,
                theme=theme,
                file=where,
                what=" ".join(what.split()),
                caller=number,
                caller_alias=alias,
                at=_time(here, merged["at"]),
                says=tuple(None if s == SILENCE else s for s in says),
                digits=tuple(d or None for d in digits),
                staff=staff,
                expect=raw["expect"],
            )
        )
    return out


def load_calls(directory: Path = CALLS_DIR) -> list[CallSpec]:
    """Every call of every theme file, validated; duplicate ids across files fail."""
    files = sorted(directory.glob("*.toml"))
    if not files:
        raise SpecError(f"{directory}: no theme files")
    calls: list[CallSpec] = []
    seen: dict[str, str] = {}
    for path in files:
        for spec in load_file(path):
            if spec.id in seen:
                raise SpecError(f"{path.name}: call id {spec.id!r} is already used in {seen[spec.id]}")
            seen[spec.id] = path.name
            calls.append(spec)
    return calls


# --- text matching ---------------------------------------------------------------------------------------

_DIGIT_GAP = re.compile(r"(?<=\d)[ \-.](?=\d)")


def normalize(text: str) -> str:
    """Lower case, one space between words, curly quotes straightened, digits spoken apart joined ("9 1 1")."""
    text = (
        text.lower()
        .replace("\u2019", "'")
        .replace("\u2018", "'")
        .replace("\u201c", '"')
        .replace("\u201d", '"')
    )
    text = " ".join(text.split())
    return _DIGIT_GAP.sub("", text)


def matches(phrase: str, text: str) -> bool:
    """A phrase is found where a word starts ("ppo" is not in "appointment", "x-ray" is in "x-rays");
    a phrase of digits anywhere (a number inside a phone number); "re:..." is a regular expression."""
    if phrase.startswith("re:"):
        return re.search(phrase[3:], text, re.IGNORECASE) is not None
    norm = normalize(phrase)
    if norm[:1].isdigit():
        return norm in text
    return re.search(rf"(?<![a-z0-9]){re.escape(norm)}", text) is not None


# --- playing a call --------------------------------------------------------------------------------------


@dataclass
class Played:
    """One call as played: what the simulator saw and what changed in the store."""

    spec: CallSpec
    call: SimulatedCall
    outcome: dict[str, Any]
    before: dict[int, Any]
    after: dict[int, Any]
    callbacks_db: list[dict[str, str]]
    messages_db: list[str]
    opted_out_db: bool | None
    open_slots: list[Any]  # the slots open before the call: (start aware UTC, provider, kind)
    missing: list[str] = field(default_factory=list)  # outcome fields read from the store instead

    @property
    def turns(self) -> list[dict[str, str]]:
        return self.call.turns

    def receptionist_text(self) -> str:
        return normalize(" ".join(t.get("receptionist", "") for t in self.turns))

    def transcript(self) -> str:
        return "\n".join(self.call.transcript)


def play(world: World, spec: CallSpec) -> Played:
    world.reset()
    before = world.appointments()
    open_slots = world.open_slots()
    sim = world.simulator(spec.at)
    call = sim.call(
        from_=spec.caller,
        to=MAIN,
        says=spec.says,
        digits=spec.digits,
        staff=StaffScript(spec.staff),
    )
    outcome = call.outcome or {}
    patient = PATIENT_IDS.get(spec.caller_alias)
    return Played(
        spec=spec,
        call=call,
        outcome=outcome,
        before=before,
        after=world.appointments(),
        callbacks_db=world.callbacks(call.call_sid),
        messages_db=world.messages(call.call_sid),
        opted_out_db=world.opted_out(patient) if patient else None,
        open_slots=open_slots,
    )


# --- checking --------------------------------------------------------------------------------------------


@dataclass
class Failure:
    key: str
    why: str
    missing_field: bool = False  # the outcome lacks a field the rebuilt engine adds: not a behaviour failure

    def __str__(self) -> str:
        return f"{self.key}: {self.why}"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _patient_id(value: str) -> str:
    return PATIENT_IDS.get(value, value)


class Checker:
    """Checks one played call against its expectations; `failures()` lists every one that does not hold."""

    def __init__(self, played: Played) -> None:
        self.p = played
        self.outcome = played.outcome
        self.changes = self._changes()
        self.appointment = self._appointment()

    # -- what changed

    def _changes(self) -> list[tuple[str, Any]]:
        """The store's appointment changes: ("booked", new), ("cancelled", row), ("moved", row)."""
        out = []
        before, after = self.p.before, self.p.after
        for aid, row in after.items():
            old = before.get(aid)
            if old is None:
                if row.status == "booked":
                    out.append(("booked", row))
            elif old.key() != row.key():
                if old.status == "booked" and row.status != "booked":
                    out.append(("cancelled", row))  # cancelled, or released by a move to a new row
                elif row.start != old.start:
                    out.append(("moved", row))
                else:
                    out.append(("changed", row))
        for aid, row in before.items():
            if aid not in after:
                out.append(("deleted", row))
        return out

    def _appointment(self) -> dict[str, Any] | None:
        """The outcome's appointment, with what the outcome lacks filled in from the store (noted)."""
        raw = self.outcome.get("appointment")
        if not isinstance(raw, dict):
            return None
        appt = dict(raw)
        try:
            start = dt.datetime.fromisoformat(str(appt.get("start")))
        except ValueError:
            return appt
        start = start.replace(tzinfo=dt.UTC) if start.tzinfo is None else start
        appt["_start"] = start
        row = next((r for _, r in self.changes if r.start == start and r.status == "booked"), None)
        if row is None and appt.get("action") == "cancelled":
            row = next((r for c, r in self.changes if c == "cancelled" and r.start == start), None)
        fill = {"kind": "kind", "provider": "provider", "patient_id": "patient_id", "minutes": "minutes"}
        for key, attr in fill.items():
            if key not in appt and row is not None:
                appt[key] = getattr(row, attr)
                self.p.missing.append(f"appointment.{key}")
        return appt

    # -- the values the expectations read

    def _callbacks(self) -> list[dict[str, Any]]:
        got = self.outcome.get("callbacks")
        if isinstance(got, list):
            return got
        self.p.missing.append("callbacks")
        return self.p.callbacks_db

    def _messages(self) -> list[str]:
        got = self.outcome.get("messages")
        if isinstance(got, list):
            return [str(m) for m in got]
        self.p.missing.append("messages")
        return self.p.messages_db

    def _reply(self, n: int) -> str | None:
        turns = self.p.turns
        if n == 0:
            return normalize(turns[0]["receptionist"]) if turns and turns[0]["caller"] == "" else ""
        spoken = [t for t in turns if t["caller"] != ""]
        if n > len(spoken):
            return None
        return normalize(spoken[n - 1]["receptionist"])

    # -- checks

    def failures(self) -> list[Failure]:
        out = self._always()
        out += self._check(self.p.spec.expect)
        return out

    def _always(self) -> list[Failure]:
        """What every call must do, whatever it expects: play to the end, answer every turn, tell the truth."""
        out = []
        call = self.p.call
        if call.ended_by == "error" or call.http_errors:
            out.append(
                Failure("call", f"did not play cleanly: ended {call.ended_by}, errors {call.http_errors}")
            )
        if not self.outcome:
            out.append(Failure("call", "no outcome from /voice/outcome"))
        last = len(call.turns) - 1
        for i, turn in enumerate(call.turns):
            if turn["caller"] and not turn["receptionist"].strip() and not (i == last and call.dialed):
                out.append(Failure("call", f"the caller's {turn['caller']!r} got no answer"))
        out += self._agrees_with_store()
        return out

    def _agrees_with_store(self) -> list[Failure]:
        appt = self.appointment
        changes = [c for c in self.changes if c[0] != "changed"]
        if appt is None:
            if changes:
                what = ", ".join(
                    f"{c} {r.patient_id} {r.start.astimezone(NY):%a %d %b %H:%M}" for c, r in changes
                )
                return [Failure("store", f"the outcome says no appointment but the store changed: {what}")]
            return []
        start = appt.get("_start")
        action = appt.get("action")
        if start is None:
            return [Failure("store", f"the outcome's appointment has no readable start: {appt}")]
        if action == "booked":
            ok = any(c == "booked" and r.start == start for c, r in changes)
        elif action == "cancelled":
            ok = any(c == "cancelled" for c, _ in changes)
        elif action == "rescheduled":
            moved = any(c == "moved" and r.start == start for c, r in changes)
            swapped = any(c == "booked" and r.start == start for c, r in changes) and any(
                c == "cancelled" for c, _ in changes
            )
            ok = moved or swapped
        else:
            return [Failure("store", f"unknown appointment action {action!r}")]
        if not ok:
            return [
                Failure(
                    "store", f"the outcome says {action} at {start.isoformat()} but the store shows {changes}"
                )
            ]
        return []

    def _check(self, expect: dict[str, Any]) -> list[Failure]:
        out: list[Failure] = []
        for key, value in expect.items():
            if key in APPOINTMENT_KEYS and self.appointment is None and "appointment" in expect:
                continue  # the `appointment` expectation already says there is none
            why = getattr(self, f"_x_{key}")(value)
            if why:
                out.append(Failure(key, why, missing_field=why.startswith(MISSING)))
        return out

    # one method per expectation: returns None when it holds, else why not

    def _enum(self, field_name: str, value: Any, *, none: str = "none") -> str | None:
        if field_name not in self.outcome:
            return f"{MISSING} {field_name!r} field"
        got = self.outcome.get(field_name)
        got = none if got is None else got
        if got in _as_list(value):
            return None
        return f"expected {value!r}, got {got!r}"

    def _x_route(self, value: Any) -> str | None:
        return self._enum("route", value)

    def _x_transfer(self, value: Any) -> str | None:
        return self._enum("transfer", value)

    def _x_triage(self, value: Any) -> str | None:
        return self._enum("triage", value)

    def _x_identity(self, value: Any) -> str | None:
        return self._enum("identity", value)

    def _x_language(self, value: Any) -> str | None:
        return self._enum("language", value)

    def _x_appointment(self, value: Any) -> str | None:
        got = self.appointment.get("action") if self.appointment else "none"
        if got in _as_list(value):
            return None
        detail = ""
        if self.appointment and "_start" in self.appointment:
            detail = f" at {self.appointment['_start'].astimezone(NY):%a %d %b %Y %H:%M}"
        return f"expected {value!r}, got {got!r}{detail}"

    def _need(self) -> tuple[dict[str, Any] | None, str | None]:
        if self.appointment is None:
            return None, "no appointment was made, moved or cancelled"
        return self.appointment, None

    def _attr(self, key: str, value: Any, transform: Callable[[str], str] = lambda v: v) -> str | None:
        appt, why = self._need()
        if appt is None:
            return why
        if key not in appt:
            return f"the outcome's appointment has no {key!r} (and the store has no matching row)"
        if appt[key] in [transform(v) for v in _as_list(value)]:
            return None
        return f"expected {value!r}, got {appt[key]!r}"

    def _x_kind(self, value: Any) -> str | None:
        return self._attr("kind", value)

    def _x_provider(self, value: Any) -> str | None:
        return self._attr("provider", value)

    def _x_patient(self, value: Any) -> str | None:
        return self._attr("patient_id", value, _patient_id)

    def _x_not_patient(self, value: Any) -> str | None:
        appt, why = self._need()
        if appt is None:
            return why
        if appt.get("patient_id") in [_patient_id(v) for v in _as_list(value)]:
            return f"the appointment is on {appt.get('patient_id')}'s record"
        return None

    def _x_minutes(self, value: int) -> str | None:
        appt, why = self._need()
        if appt is None:
            return why
        got = appt.get("minutes")
        return None if isinstance(got, int) and got >= value else f"expected at least {value}, got {got!r}"

    def _start(self) -> tuple[dt.datetime | None, str | None]:
        appt, why = self._need()
        if appt is None:
            return None, why
        start = appt.get("_start")
        if start is None:
            return None, "the appointment has no readable start"
        return start.astimezone(NY), None

    def _x_weekday_in(self, value: list[str]) -> str | None:
        start, why = self._start()
        if start is None:
            return why
        day = WEEKDAYS[start.weekday()]
        return None if day in value else f"the appointment is on {start:%a %d %b %H:%M}, not one of {value}"

    def _x_weekday_not_in(self, value: list[str]) -> str | None:
        start, why = self._start()
        if start is None:
            return why
        day = WEEKDAYS[start.weekday()]
        return None if day not in value else f"the appointment is on {start:%a %d %b %H:%M}, one of {value}"

    def _x_hour_from(self, value: int) -> str | None:
        start, why = self._start()
        if start is None:
            return why
        return None if start.hour >= value else f"the appointment starts at {start:%a %d %b %H:%M}"

    def _x_hour_before(self, value: int) -> str | None:
        start, why = self._start()
        if start is None:
            return why
        return None if start.hour < value else f"the appointment starts at {start:%a %d %b %H:%M}"

    def _x_start_after(self, value: str) -> str | None:
        start, why = self._start()
        if start is None:
            return why
        return (
            None
            if start.date() >= dt.date.fromisoformat(value)
            else f"the appointment is on {start:%a %d %b %Y}"
        )

    def _x_start_before(self, value: str) -> str | None:
        start, why = self._start()
        if start is None:
            return why
        return (
            None
            if start.date() < dt.date.fromisoformat(value)
            else f"the appointment is on {start:%a %d %b %Y}"
        )

    def _x_start_on(self, value: str) -> str | None:
        start, why = self._start()
        if start is None:
            return why
        return (
            None
            if start.date() == dt.date.fromisoformat(value)
            else f"the appointment is on {start:%a %d %b %Y}"
        )

    def _x_start_not_on(self, value: list[str]) -> str | None:
        start, why = self._start()
        if start is None:
            return why
        bad = {dt.date.fromisoformat(v) for v in value}
        return None if start.date() not in bad else f"the appointment is on {start:%a %d %b %Y}"

    def _x_start_at(self, value: str) -> str | None:
        start, why = self._start()
        if start is None:
            return why
        want = local(value)
        return (
            None
            if start == want
            else f"the appointment starts {start:%a %d %b %Y %H:%M}, not {want:%H:%M %d %b}"
        )

    def _x_same_day(self, value: bool) -> str | None:
        start, why = self._start()
        if start is None:
            return why
        same = start.date() == self.p.spec.at.date()
        return None if same == value else f"the appointment is on {start:%a %d %b %H:%M}"

    def _x_earliest(self, value: bool) -> str | None:
        start, why = self._start()
        if start is None:
            return why
        appt = self.appointment or {}
        kind = appt.get("kind")
        slot_kind = (
            kind
            if any(s[2] == kind for s in self.p.open_slots)
            else ("cleaning" if kind == "cleaning" else "exam")
        )
        wanted = self.p.spec.expect.get("provider")
        providers = set(_as_list(wanted)) if wanted else None
        lead = self.p.spec.at + dt.timedelta(minutes=20)
        earlier = [
            s
            for s in self.p.open_slots
            if s[2] == slot_kind
            and (providers is None or s[1] in providers)
            and lead <= s[0].astimezone(NY) < start
            and s[0].astimezone(NY).date() not in HOLIDAYS
        ]
        if not earlier:
            return None
        first = min(earlier, key=lambda s: s[0])
        return (
            f"booked {start:%a %d %b %H:%M} but {first[1]} was open {first[0].astimezone(NY):%a %d %b %H:%M}"
        )

    def _x_message(self, value: bool) -> str | None:
        messages = self._messages()
        taken = bool(messages) or bool(self.outcome.get("message_taken"))
        return None if taken == value else f"expected message {value}, messages: {messages!r}"

    def _x_messages_contain(self, value: list[str]) -> str | None:
        messages = self._messages()
        for text in messages:
            norm = normalize(text)
            if all(matches(w, norm) for w in value):
                return None
        return f"no message has all of {value}; messages: {messages!r}"

    def _x_callback(self, value: Any) -> str | None:
        callbacks = self._callbacks()
        if isinstance(value, bool):
            got = bool(callbacks)
            return None if got == value else f"expected callback {value}, callbacks: {callbacks!r}"
        if any(c.get("priority") in _as_list(value) for c in callbacks):
            return None
        return f"no callback with priority {value!r}; callbacks: {callbacks!r}"

    def _x_callbacks_contain(self, value: list[str]) -> str | None:
        callbacks = self._callbacks()
        for c in callbacks:
            norm = normalize(str(c.get("reason", "")))
            if all(matches(w, norm) for w in value):
                return None
        return f"no callback's reason has all of {value}; callbacks: {callbacks!r}"

    def _x_opted_out(self, value: bool) -> str | None:
        got = bool(self.outcome.get("opted_out"))
        if got != value:
            return f"the outcome says opted_out {got}"
        if self.p.opted_out_db is not None and self.p.opted_out_db != value:
            return f"the store says opted_out {self.p.opted_out_db}"
        return None

    def _x_heard_any(self, value: list[str]) -> str | None:
        text = self.p.receptionist_text()
        return None if any(matches(v, text) for v in value) else f"none of {value} was said"

    def _x_heard_all(self, value: list[Any]) -> str | None:
        text = self.p.receptionist_text()
        missing = [item for item in value if not any(matches(v, text) for v in _as_list(item))]
        return None if not missing else f"never said {missing}"

    def _x_heard_none(self, value: list[str]) -> str | None:
        text = self.p.receptionist_text()
        said = [v for v in value if matches(v, text)]
        return None if not said else f"said {said}"

    def _x_reply_any(self, value: dict[str, list[str]]) -> str | None:
        for turn, phrases in value.items():
            reply = self._reply(int(turn))
            if reply is None:
                return f"the call never reached the caller's turn {turn}"
            if not any(matches(v, reply) for v in phrases):
                return f"the reply to turn {turn} has none of {phrases}: {reply!r}"
        return None

    def _x_reply_none(self, value: dict[str, list[str]]) -> str | None:
        for turn, phrases in value.items():
            reply = self._reply(int(turn))
            if reply is None:
                continue
            said = [v for v in phrases if matches(v, reply)]
            if said:
                return f"the reply to turn {turn} says {said}"
        return None

    def _x_no_appointment_details(self, value: Any) -> str | None:
        ids = None if value is True else {PATIENT_IDS[v] for v in value}
        said = sentences(self.p.receptionist_text())
        for row in self.p.before.values():
            if row.status != "booked" or (ids is not None and row.patient_id not in ids):
                continue
            for sentence in said:
                if reveals(row, sentence, self.p.spec.at.date()):
                    return f"read out {row.patient_id}'s appointment: {sentence!r}"
        return None

    def _x_reads_out(self, value: list[str]) -> str | None:
        said = sentences(self.p.receptionist_text())
        today = self.p.spec.at.date()
        for alias in value:
            rows = [
                r
                for r in self.p.before.values()
                if r.patient_id == PATIENT_IDS[alias] and r.status == "booked"
            ]
            if not any(reveals(r, s, today) for r in rows for s in said):
                return f"no appointment of {alias}'s was read out"
        return None

    def _x_no_details_before(self, value: int) -> str | None:
        replies = [self._reply(n) for n in range(value)]
        for n, reply in enumerate(replies):
            for sentence in sentences(reply or ""):
                for row in self.p.before.values():
                    if row.status == "booked" and reveals(row, sentence, self.p.spec.at.date()):
                        return (
                            f"read out {row.patient_id}'s appointment in the reply to turn {n}: {sentence!r}"
                        )
        return None

    def _x_unchanged(self, value: bool) -> str | None:
        if self.changes:
            return "the store changed: " + ", ".join(
                f"{c} {r.patient_id} {r.start.astimezone(NY):%a %d %b %H:%M}" for c, r in self.changes
            )
        return None

    def _x_max_repeats(self, value: int) -> str | None:
        seen: set[str] = set()
        repeats = []
        for turn in self.p.turns:
            line = normalize(turn["receptionist"])
            if not line:
                continue
            if line in seen:
                repeats.append(line)
            seen.add(line)
        return (
            None if len(repeats) <= value else f"{len(repeats)} turns repeat an earlier one: {repeats[0]!r}"
        )

    def _x_one_of(self, value: list[dict[str, Any]]) -> str | None:
        reasons = []
        for alt in value:
            fails = self._check(alt)
            if not fails:
                return None
            reasons.append("; ".join(str(f) for f in fails))
        return "no alternative holds: " + " | ".join(f"({r})" for r in reasons)


MONTHS = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
]
ORDINALS = [
    "",
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "seventh",
    "eighth",
    "ninth",
    "tenth",
    "eleventh",
    "twelfth",
    "thirteenth",
    "fourteenth",
    "fifteenth",
    "sixteenth",
    "seventeenth",
    "eighteenth",
    "nineteenth",
    "twentieth",
    "twenty-first",
    "twenty-second",
    "twenty-third",
    "twenty-fourth",
    "twenty-fifth",
    "twenty-sixth",
    "twenty-seventh",
    "twenty-eighth",
    "twenty-ninth",
    "thirtieth",
    "thirty-first",
]
HOUR_WORDS = [
    "twelve",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
]


def sentences(text: str) -> list[str]:
    """The sentences of a spoken text (not split after "Dr.")."""
    return re.split(r"(?<=[.?!])(?<!dr\.)(?<!mr\.)(?<!ms\.)\s+", text)


def _suffix(day: int) -> str:
    return "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")


def reveals(row: Any, sentence: str, today: dt.date) -> bool:
    """Whether one spoken sentence reads out this appointment: its date (or "today", "tomorrow") with its time,
    or its weekday with its time and its provider or visit type."""
    start = row.start.astimezone(NY)
    month, day = MONTHS[start.month - 1], start.day
    dates = [
        f"{month} {day}{_suffix(day)}",
        f"{month[:3]} {day}{_suffix(day)}",
        f"{day}{_suffix(day)} of {month}",
        f"{month} {ORDINALS[day]}",
        f"{ORDINALS[day]} of {month}",
        f"{start.month}/{day}",
    ]
    dates += [re.compile(rf"\b{month[:3]}\w* {day}\b")]  # "december 17" without a suffix
    if start.date() == today:
        dates += ["today", "this morning", "this afternoon"]
    elif start.date() == today + dt.timedelta(days=1):
        dates += ["tomorrow"]
    weekday = start.strftime("%A").lower()
    h12 = start.hour % 12 or 12
    half = "am" if start.hour < 12 else "pm"
    m = start.minute
    times = [
        re.compile(rf"\b{h12}(:{m:02d})? ?{half[0]}\.? ?m\b"),
        re.compile(rf"\b{h12}:{m:02d}\b"),
        re.compile(rf"\b{HOUR_WORDS[h12 % 12]}( o'clock| {half})"),
        re.compile(rf"\b{start.hour}:{m:02d}\b"),
    ]
    if start.hour == 12 and m == 0:
        times.append(re.compile(r"\bnoon\b"))

    def has(patterns: list[Any]) -> bool:
        return any((p.search(sentence) if isinstance(p, re.Pattern) else p in sentence) for p in patterns)

    if not has(times):
        return False
    if has(dates):
        return True
    names = {row.provider.lower(), row.provider.split()[-1].lower(), row.kind.replace("_", " ")}
    return weekday in sentence and any(n and n in sentence for n in names)
