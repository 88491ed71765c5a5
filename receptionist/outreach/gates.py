"""Send-time gates for outreach (used by the dialler): pure functions over plain data, no I/O.

Rules (COMPLIANCE.md, with the practice's `OutreachRules` as settings):
- never when the patient opted out or lacks the consent the channel needs (`retry_at` None: never);
- only inside the calling hours (default 8:00 to 21:00, end exclusive) in the patient's own time zone;
- at most `max_attempts_per_day` attempts in any rolling 24 hours and `max_attempts_per_week` in any rolling
  7 days (an attempt exactly 24 h / 7 days ago no longer counts).
`retry_at` is the earliest instant at or after now at which every time rule holds again.

Per purpose (`rules_for`, `consent_for`: COMPLIANCE.md, the 2015 healthcare exemption and FCC 24-17/24-18):
- exempt (healthcare: recall, reminders): prior express consent for the channel (the number the patient
  gave, `consent_voice` / `consent_sms`), at most 1 contact a day and 3 a week whatever the practice sets, a
  text of at most 160 characters that names the practice and its number first and offers the opt-out, a call
  of at most a minute (`exempt_text_problem`, `EXEMPT_CALL_SECONDS`), and no marketing in it;
- marketing (reactivation, anything with an offer): prior express written consent for AI calls and texts,
  and the state rules of every state the patient may live in (`states.py`): the narrowest hours, the lowest
  cap, a written consent even for a person dialling where a state asks for it.
Rules with `applies_to = all` bind exempt contacts too.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as phone_timezone

from receptionist.config.practice import OutreachRules
from receptionist.outreach import states
from receptionist.outreach.states import StateRule
from receptionist.wording.contacts import SMS_LIMIT, has_marketing, spoken_phone

DAY = dt.timedelta(days=1)
WEEK = dt.timedelta(days=7)
EXEMPT_PER_DAY, EXEMPT_PER_WEEK = 1, 3  # the healthcare exemption's own caps
EXEMPT_CALL_SECONDS = 60  # an exempt voice message: one minute at most
PURPOSES = ("exempt", "marketing")
# Two instants that between them show a zone's standard and daylight-saving offsets.
_PROBES = (dt.datetime(2026, 1, 15, 12, tzinfo=dt.UTC), dt.datetime(2026, 7, 15, 12, tzinfo=dt.UTC))


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str
    retry_at: dt.datetime | None


def patient_zones(phone_e164: str | None, zip: str | None, default_zone: ZoneInfo) -> tuple[ZoneInfo, ...]:
    """Every time zone the patient may be in: the phone number's and the ZIP code's area's (`states.py`);
    the practice's when neither says.

    A number whose area spans zones with different offsets (Alaska's 907: Anchorage and Adak) gives all of
    them, and so does a number from one zone with an address in another: the calling hours must hold in every
    one, because the law counts the patient's local time and we do not know which it is. Zones with the same
    offsets all year collapse to the first.
    """
    names: list[str] = []
    if phone_e164:
        try:
            names += phone_timezone.time_zones_for_number(phonenumbers.parse(phone_e164, None))
        except phonenumbers.NumberParseException:
            pass
    names += states.zones_of_zip(zip)
    zones: list[ZoneInfo] = []
    for name in names:
        try:
            zone = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            continue  # "Etc/Unknown" and names this system lacks
        if not any(all(z.utcoffset(p) == zone.utcoffset(p) for p in _PROBES) for z in zones):
            zones.append(zone)
    return tuple(zones) or (default_zone,)


def rules_for(rules: OutreachRules, purpose: str, state_rules: tuple[StateRule, ...] = ()) -> OutreachRules:
    """The practice's rules narrowed by the purpose's limits and the state rules that bind it (each only ever
    narrows: a later start, an earlier end, a lower cap)."""
    if purpose not in PURPOSES:
        raise ValueError(f"purpose must be one of {PURPOSES}, not {purpose!r}")
    start, end = rules.calling_hours
    day, week = rules.max_attempts_per_day, rules.max_attempts_per_week
    if purpose == "exempt":
        day, week = min(day, EXEMPT_PER_DAY), min(week, EXEMPT_PER_WEEK)
    for rule in state_rules:
        if not rule.applies(purpose):
            continue
        start, end = max(start, rule.hours[0]), min(end, rule.hours[1])
        if rule.max_per_24h is not None:
            day = min(day, rule.max_per_24h)
    return dataclasses.replace(
        rules, calling_hours=(start, end), max_attempts_per_day=day, max_attempts_per_week=week
    )


def consent_for(
    purpose: str,
    channel: str,
    *,
    voice: bool,
    sms: bool,
    written: bool,
    state_rules: tuple[StateRule, ...] = (),
) -> tuple[bool, str]:
    """Whether the patient's consents allow this channel for this purpose, and why not."""
    marketing = purpose == "marketing"
    if channel == "ai_call":
        if not voice:
            return False, "no prior express consent to AI voice calls"
        if marketing and not written:
            return False, "no prior express written consent to AI voice calls"
    elif channel == "sms":
        if not sms:
            return False, "no prior express consent to texts"
        if marketing and not written:
            return False, "no prior express written consent to texts"
    elif channel == "staff_call" and not written:
        strict = [r.state for r in state_rules if r.applies(purpose) and r.written_consent == "all"]
        if marketing and strict:
            return False, f"no prior express written consent, which {strict[0]} asks for every sales call"
    return True, "allowed"


def exempt_text_problem(body: str, practice: str, phone: str) -> str | None:
    """What keeps a text from the healthcare exemption (None when it qualifies): it must name the practice
    and its number first, fit 160 characters, offer the opt-out and carry no marketing."""
    head = body[: len(practice) + 40]
    if not body.startswith(practice[:60]) or spoken_phone(phone) not in head:
        return "an exempt text must name the practice and its number first"
    if len(body) > SMS_LIMIT:
        return "an exempt text must fit 160 characters"
    if "STOP" not in body:
        return "an exempt text must say how to opt out"
    if has_marketing(body):
        return "an exempt text may carry no marketing"
    return None


def patient_zone(phone_e164: str | None, zip: str | None, default_zone: ZoneInfo) -> ZoneInfo:
    """The one zone of an unambiguous number; the practice's zone when the number spans several or none."""
    zones = patient_zones(phone_e164, zip, default_zone)
    return zones[0] if len(zones) == 1 else default_zone


def _aware(value: dt.datetime, what: str) -> dt.datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware")
    return value.astimezone(dt.UTC)


def _hours_block(t: dt.datetime, zones: tuple[ZoneInfo, ...], rules: OutreachRules) -> dt.datetime | None:
    """None when `t` is inside the calling hours in every zone, else the next start of the calling hours in
    the first zone that is outside them (UTC)."""
    start, end = rules.calling_hours
    for zone in zones:
        local = t.astimezone(zone)
        if start <= local.time() < end:
            continue
        day = local.date() if local.time() < start else local.date() + DAY
        nxt = dt.datetime.combine(day, start, tzinfo=zone).astimezone(dt.UTC)
        return nxt if nxt > t else t + dt.timedelta(minutes=1)  # a DST gap: step on and check again
    return None


def _cap_block(
    t: dt.datetime, attempts: list[dt.datetime], window: dt.timedelta, cap: int
) -> dt.datetime | None:
    """None when fewer than `cap` attempts fall in (t - window, t], else when the oldest of them ages out."""
    inside = sorted(a for a in attempts if t - window < a)
    if len(inside) < cap:
        return None
    return inside[len(inside) - cap] + window


def may_contact(
    now_utc: dt.datetime,
    patient_zone: ZoneInfo | tuple[ZoneInfo, ...],
    attempts_utc: list[dt.datetime],
    consent: bool,
    opted_out: bool,
    rules: OutreachRules,
) -> Decision:
    """Whether one more contact attempt is allowed now, why not, and the next instant it would be.

    `patient_zone`: the patient's zone, or every zone they may be in (the hours must hold in each)."""
    zones = patient_zone if isinstance(patient_zone, tuple) else (patient_zone,)
    now = _aware(now_utc, "now_utc")
    attempts = [_aware(a, "attempts_utc") for a in attempts_utc]
    if opted_out:
        return Decision(False, "opted out", None)
    if not consent:
        return Decision(False, "no consent", None)
    if rules.max_attempts_per_day <= 0 or rules.max_attempts_per_week <= 0:
        return Decision(False, "attempts disabled by the practice's settings", None)
    if not rules.calling_hours[0] < rules.calling_hours[1]:
        return Decision(False, "no calling hours left once the state rules apply", None)
    checks: tuple[tuple[str, Callable[[dt.datetime], dt.datetime | None]], ...] = (
        ("outside calling hours", lambda t: _hours_block(t, zones, rules)),
        ("daily attempt limit reached", lambda t: _cap_block(t, attempts, DAY, rules.max_attempts_per_day)),
        (
            "weekly attempt limit reached",
            lambda t: _cap_block(t, attempts, WEEK, rules.max_attempts_per_week),
        ),
    )
    reason = "allowed"
    t = now
    # Move t forward to the first instant every check passes; each step strictly advances t.
    for _ in range(10_000):
        for why, check in checks:
            later = check(t)
            if later is not None:
                if t == now:
                    reason = why
                t = later
                break
        else:
            if t == now:
                return Decision(True, "allowed", None)
            return Decision(False, reason, t)
    # zones so far apart that their calling hours never overlap: never by an automatic sender
    return Decision(False, "no calling hours common to the patient's possible time zones", None)
