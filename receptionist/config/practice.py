"""Practice settings (`PRACTICE_FILE`, TOML): locations, numbers, hours, tier rules, outreach costs and limits,
visit types (`visit_types.py`), closed days (`calendar.py`) and what the front desk knows (`front_desk.py`)."""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from receptionist.clock import local_day
from receptionist.config.calendar import Holidays, parse_holidays
from receptionist.config.front_desk import FrontDesk, parse_front_desk
from receptionist.config.recall import RecallRules, parse_recall
from receptionist.config.sequences import Sequences, parse_sequences
from receptionist.config.visit_types import VisitType, parse_visit_types
from receptionist.phones import InvalidPhone, to_e164
from receptionist.wording.spoken import spoken_time
from scoring import TierRules

TRANSPORTS = ("gather", "relay")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class PracticeFileError(ValueError):
    """The practice file is unreadable or a field in it is wrong; the message names the field."""


@dataclass(frozen=True)
class Hours:
    """Opening hours per weekday (0 = Monday) as (open, close) local times; a missing day is closed."""

    by_weekday: dict[int, tuple[dt.time, dt.time]]

    def is_open(self, local: dt.datetime) -> bool:
        span = self.by_weekday.get(local.weekday())
        return span is not None and span[0] <= local.time() < span[1]

    def describe(self) -> str:
        """Plain words for callers: "Monday to Friday, 8 AM to 5 PM"."""
        if not self.by_weekday:
            return "by appointment only"
        groups: list[tuple[list[int], tuple[dt.time, dt.time]]] = []
        for day in sorted(self.by_weekday):
            span = self.by_weekday[day]
            if groups and groups[-1][1] == span and groups[-1][0][-1] == day - 1:
                groups[-1][0].append(day)
            else:
                groups.append(([day], span))
        names = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
        parts = []
        for days, (start, end) in groups:
            when = names[days[0]] if len(days) == 1 else f"{names[days[0]]} to {names[days[-1]]}"
            parts.append(f"{when}, {spoken_time(start)} to {spoken_time(end)}")
        return "; ".join(parts)


@dataclass(frozen=True)
class Location:
    id: str
    name: str
    phone: str
    timezone: str
    address: str
    staff_numbers: tuple[str, ...]
    providers: tuple[str, ...]
    hours: Hours
    # How the AI receptionist talks on this line: "gather" (TwiML <Gather> loop) or "relay" (ConversationRelay
    # websocket, streaming; used only when an LLM is configured).
    transport: str = "gather"
    holidays: Holidays = field(default_factory=Holidays)  # the practice's closed days

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def local_time(self, when: dt.datetime) -> dt.datetime:
        return when.astimezone(self.zone)

    def is_open(self, when: dt.datetime) -> bool:
        """Within the opening hours of a working day (a holiday is closed all day)."""
        local = self.local_time(when)
        return self.hours.is_open(local) and not self.holidays.is_closed(local.date())

    def is_working_day(self, day: dt.date) -> bool:
        return day.weekday() in self.hours.by_weekday and not self.holidays.is_closed(day)

    def today(self, now: dt.datetime) -> dt.date:
        """The location's calendar day at the instant `now`."""
        return local_day(now, self.zone)


# Industry experience: the share of contacted lapsed patients who book or ask for a callback.
EXPECTED_RESPONSE: dict[str, dict[str, tuple[float, float]]] = {
    "high": {
        "staff_call": (0.25, 0.40),
        "ai_call": (0.15, 0.25),
        "sms": (0.10, 0.20),
        "email": (0.08, 0.15),
        "general": (0.01, 0.05),
    },
    "mid": {
        "staff_call": (0.20, 0.35),
        "ai_call": (0.12, 0.20),
        "sms": (0.10, 0.18),
        "email": (0.15, 0.25),
        "general": (0.01, 0.04),
    },
    "low": {
        "staff_call": (0.10, 0.20),
        "ai_call": (0.05, 0.12),
        "sms": (0.04, 0.10),
        "email": (0.03, 0.08),
        "general": (0.01, 0.03),
    },
}


@dataclass(frozen=True)
class OutreachRules:
    calling_hours: tuple[dt.time, dt.time] = (dt.time(8, 0), dt.time(21, 0))
    max_attempts_per_day: int = 1
    max_attempts_per_week: int = 3
    cooldown_days: int = 30
    staff_call_list_size: int = 20
    ai_contact_list_size: int = 100
    calls_per_second: float = 1.0
    max_concurrent_calls: int = 5
    holdout_share: float = 0.10
    attribution_window_days: int = 90
    # dollars per attempt: placing a call (staff dialling, the call's set-up), a text, an email
    costs: dict[str, float] = field(
        default_factory=lambda: {"staff_call": 1.0, "ai_call": 0.11, "sms": 0.02, "email": 0.01}
    )
    # dollars per started minute of a call: staff time, AI call minutes (telephony, speech, model)
    minute_costs: dict[str, float] = field(default_factory=lambda: {"staff_call": 1.0, "ai_call": 0.12})
    # minutes a call is expected to last, for planning before its real length is known
    expected_minutes: dict[str, float] = field(default_factory=lambda: {"staff_call": 5.0, "ai_call": 2.0})
    # revenue from a returned patient counts toward the contact for this many months after the return
    revenue_months: int = 18
    # the practice's expected response rates (low, high) per tier and channel: the flags' yardstick and the
    # learning's priors (their midpoints, worth `prior_strength` attempts)
    expected_response: dict[str, dict[str, tuple[float, float]]] = field(
        default_factory=lambda: {t: dict(r) for t, r in EXPECTED_RESPONSE.items()}
    )
    prior_strength: float = 20.0
    # every channel open to a patient keeps at least this share of them, whatever its first results
    exploration_floor: float = 0.05

    def expected_cost(self, channel: str) -> float:
        """What one attempt through `channel` is expected to cost: its charge plus its expected minutes."""
        return self.costs.get(channel, 0.0) + self.minute_costs.get(channel, 0.0) * self.expected_minutes.get(
            channel, 0.0
        )

    @property
    def expected_costs(self) -> dict[str, float]:
        return {ch: self.expected_cost(ch) for ch in {*self.costs, *self.minute_costs}}

    def talk_cost(self, channel: str, seconds: int) -> float:
        """The measured cost of a call's connected time: every started minute at the channel's rate."""
        return self.minute_costs.get(channel, 0.0) * -(-max(seconds, 0) // 60)


@dataclass(frozen=True)
class OpenDentalLink:
    """The practice file's `[opendental]` table: where `sync opendental` reads the practice's Open Dental
    database (a read-only user's URL, `mysql+pymysql://...`) and which location each Open Dental clinic
    number is (`clinics = { "0" = "main" }`; clinic 0 is Open Dental's "no clinic")."""

    database_url: str = ""
    clinics: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AsapRules:
    """The practice file's `[asap]` table: how an opened slot is offered to the ASAP list (`outreach/asap.py`):
    `batch_size` texts at a time, `batch_minutes` apart, to at most `max_candidates` patients; an offer stands
    `expire_hours` at most and closes `lead_minutes` before the slot starts; patients with no visit for
    `due_after_days` count as due (for a type without `recall_months`)."""

    batch_size: int = 3
    batch_minutes: int = 5
    max_candidates: int = 12
    expire_hours: float = 4.0
    lead_minutes: int = 60
    due_after_days: int = 180


@dataclass(frozen=True)
class Practice:
    name: str
    timezone: str
    locations: tuple[Location, ...]
    tiers: TierRules
    lapsed_after_days: int
    outreach: OutreachRules
    source: str
    visit_types: tuple[VisitType, ...] = ()
    holidays: Holidays = field(default_factory=Holidays)
    front_desk: FrontDesk = field(default_factory=FrontDesk)
    opendental: OpenDentalLink | None = None
    recall: RecallRules = field(default_factory=RecallRules)
    asap: AsapRules = field(default_factory=AsapRules)
    sequences: Sequences = field(default_factory=Sequences)  # reactivation steps per tier (sequences.py)

    def visit_type(self, type_id: str) -> VisitType | None:
        return next((v for v in self.visit_types if v.id == type_id), None)

    @property
    def main(self) -> Location:
        return self.locations[0]

    def today(self, now: dt.datetime) -> dt.date:
        """The practice's calendar day at the instant `now` (in its own time zone, not the server's)."""
        return local_day(now, self.timezone)

    def location_for(self, called: str | None) -> Location | None:
        """The location whose number was called (`To`), or None for a number this practice does not own."""
        for location in self.locations:
            if location.phone == called:
                return location
        return None


def load_practice(path: Path | None = None) -> Practice:
    """Read the practice file, or the demo practice shipped with the package when no path is given."""
    if path is None:
        text = resources.files("receptionist.config").joinpath("demo_practice.toml").read_text()
        source = "demo practice"
    else:
        try:
            text = Path(path).read_text()
        except OSError as exc:
            raise PracticeFileError(f"{path}: cannot read the practice file ({exc.strerror})") from None
        source = str(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PracticeFileError(f"{source}: not valid TOML ({exc})") from None
    return _parse(data, source)


def _parse(data: dict[str, Any], source: str) -> Practice:
    def fail(where: str, why: str) -> PracticeFileError:
        return PracticeFileError(f"{source}: {where}: {why}")

    practice = data.get("practice", {})
    timezone = _zone(practice.get("timezone", "America/New_York"), "practice.timezone", fail)
    holidays = parse_holidays(data.get("holidays", {}), fail)
    raw_locations = data.get("locations") or []
    if not raw_locations:
        raise fail("locations", "at least one location is needed")
    locations = []
    for i, loc in enumerate(raw_locations):
        where = f"locations[{i}]"
        try:
            phone = to_e164(str(loc.get("phone", "")))
            staff = tuple(to_e164(str(n)) for n in loc.get("staff_numbers", []))
        except InvalidPhone as exc:
            raise fail(f"{where}.phone", str(exc)) from None
        transport = str(loc.get("transport", "gather"))
        if transport not in TRANSPORTS:
            raise fail(f"{where}.transport", f"expected one of {', '.join(TRANSPORTS)}, got {transport!r}")
        locations.append(
            Location(
                id=str(loc.get("id", f"location-{i + 1}")),
                name=str(loc.get("name", practice.get("name", "the practice"))),
                phone=phone,
                timezone=_zone(loc.get("timezone", timezone), f"{where}.timezone", fail),
                address=str(loc.get("address", "")),
                staff_numbers=staff,
                providers=tuple(str(p) for p in loc.get("providers", ["the dentist"])),
                hours=_hours(loc.get("hours", {}), f"{where}.hours", fail),
                transport=transport,
                holidays=holidays,
            )
        )
    tiers = data.get("tiers", {})
    try:
        rules = TierRules(
            high_min_annual=float(tiers.get("high_min_annual", 250)),
            high_min_years=float(tiers.get("high_min_years", 3)),
            mid_min_annual=float(tiers.get("mid_min_annual", 100)),
            mid_min_years=float(tiers.get("mid_min_years", 1)),
        )
        lapsed_after = int(tiers.get("lapsed_after_days", 365))
    except (TypeError, ValueError) as exc:
        raise fail("tiers", f"numbers expected ({exc})") from None
    return Practice(
        name=str(practice.get("name", "the practice")),
        timezone=timezone,
        locations=tuple(locations),
        tiers=rules,
        lapsed_after_days=lapsed_after,
        outreach=_outreach(data.get("outreach", {}), fail),
        source=source,
        visit_types=parse_visit_types(
            data.get("visit_types", []),
            sorted({p for loc in locations for p in loc.providers}),
            fail,
        ),
        holidays=holidays,
        front_desk=parse_front_desk(data, fail),
        opendental=_opendental(data.get("opendental"), {loc.id for loc in locations}, fail),
        recall=parse_recall(data.get("recall"), fail),
        asap=_asap(data.get("asap", {}), fail),
        sequences=parse_sequences(data.get("outreach", {}), fail),
    )


def _asap(raw: dict[str, Any], fail) -> AsapRules:
    defaults = AsapRules()
    try:
        rules = AsapRules(
            **{
                name: type(getattr(defaults, name))(raw.get(name, getattr(defaults, name)))
                for name in AsapRules.__dataclass_fields__
            }
        )
    except (TypeError, ValueError) as exc:
        raise fail("asap", f"numbers expected ({exc})") from None
    if rules.batch_size < 1 or rules.batch_minutes < 1 or rules.expire_hours <= 0:
        raise fail("asap", "batch_size, batch_minutes and expire_hours must be positive")
    return rules


def _opendental(raw: Any, location_ids: set[str], fail) -> OpenDentalLink | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise fail("opendental", "a table expected")
    url = raw.get("database_url", "")
    if not isinstance(url, str):
        raise fail("opendental.database_url", "a text expected")
    clinics: dict[int, str] = {}
    raw_clinics = raw.get("clinics", {})
    if not isinstance(raw_clinics, dict):
        raise fail("opendental.clinics", 'a table of clinic number = "location id" expected')
    for number, location in raw_clinics.items():
        if not str(number).isdigit():
            raise fail("opendental.clinics", f"{number!r} is not a clinic number")
        if location not in location_ids:
            raise fail(f"opendental.clinics.{number}", f"{location!r} is not a location id")
        clinics[int(number)] = str(location)
    return OpenDentalLink(database_url=url, clinics=clinics)


def _zone(name: object, where: str, fail) -> str:
    try:
        ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise fail(where, f"unknown time zone {name!r}") from None
    return str(name)


def _span(text: object, where: str, fail) -> tuple[dt.time, dt.time]:
    try:
        start, end = (dt.time.fromisoformat(p.strip()) for p in str(text).split("-"))
    except ValueError:
        raise fail(where, f"expected HH:MM-HH:MM, got {text!r}") from None
    if not start < end:
        raise fail(where, "opening time must be before closing time")
    return start, end


def _hours(raw: dict[str, Any], where: str, fail) -> Hours:
    by_day = {}
    for key, value in raw.items():
        if key not in DAYS:
            raise fail(f"{where}.{key}", f"unknown day (use {', '.join(DAYS)})")
        by_day[DAYS.index(key)] = _span(value, f"{where}.{key}", fail)
    return Hours(by_day)


def _outreach(raw: dict[str, Any], fail) -> OutreachRules:
    defaults = OutreachRules()
    try:
        return OutreachRules(
            calling_hours=_span(raw["calling_hours"], "outreach.calling_hours", fail)
            if "calling_hours" in raw
            else defaults.calling_hours,
            max_attempts_per_day=int(raw.get("max_attempts_per_day", defaults.max_attempts_per_day)),
            max_attempts_per_week=int(raw.get("max_attempts_per_week", defaults.max_attempts_per_week)),
            cooldown_days=int(raw.get("cooldown_days", defaults.cooldown_days)),
            staff_call_list_size=int(raw.get("staff_call_list_size", defaults.staff_call_list_size)),
            ai_contact_list_size=int(raw.get("ai_contact_list_size", defaults.ai_contact_list_size)),
            calls_per_second=float(raw.get("calls_per_second", defaults.calls_per_second)),
            max_concurrent_calls=int(raw.get("max_concurrent_calls", defaults.max_concurrent_calls)),
            holdout_share=float(raw.get("holdout_share", defaults.holdout_share)),
            attribution_window_days=int(raw.get("attribution_window_days", defaults.attribution_window_days)),
            costs={**defaults.costs, **{k: float(v) for k, v in raw.get("costs", {}).items()}},
            minute_costs={
                **defaults.minute_costs,
                **{k: float(v) for k, v in raw.get("minute_costs", {}).items()},
            },
            expected_minutes={
                **defaults.expected_minutes,
                **{k: float(v) for k, v in raw.get("expected_minutes", {}).items()},
            },
            revenue_months=int(raw.get("revenue_months", defaults.revenue_months)),
            expected_response=_expected(raw.get("expected_response", {}), defaults.expected_response, fail),
            prior_strength=float(raw.get("prior_strength", defaults.prior_strength)),
            exploration_floor=float(raw.get("exploration_floor", defaults.exploration_floor)),
        )
    except (TypeError, ValueError) as exc:
        raise fail("outreach", f"numbers expected ({exc})") from None


def _expected(
    raw: dict[str, Any], defaults: dict[str, dict[str, tuple[float, float]]], fail
) -> dict[str, dict[str, tuple[float, float]]]:
    """`[outreach.expected_response.high] staff_call = [0.25, 0.40]`: ranges merged over the defaults."""
    out = {tier: dict(by) for tier, by in defaults.items()}
    for tier, by in raw.items():
        if not isinstance(by, dict):
            raise fail(f"outreach.expected_response.{tier}", "a table of channel = [low, high] expected")
        for channel, span in by.items():
            where = f"outreach.expected_response.{tier}.{channel}"
            try:
                low, high = (float(x) for x in span)
            except (TypeError, ValueError):
                raise fail(where, f"expected [low, high] between 0 and 1, got {span!r}") from None
            if not 0.0 <= low <= high <= 1.0:
                raise fail(where, f"expected 0 <= low <= high <= 1, got {span!r}")
            out.setdefault(tier, {})[channel] = (low, high)
    return out
