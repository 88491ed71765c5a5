"""`receptionist campaign plan`: who to contact for reactivation, through which channel, at what cost.

Candidates are the lapsed patients of the latest score run, best reactivation score first. Excluded:
deceased (whatever the run says: a death recorded after it counts); opted out; no usable contact (no phone and no email); already booked (a future booked appointment);
already trying to return (`booking_attempt_at` within the cool-down); contacted within the cool-down (an
attempt that went out, in the outreach log); already in hand (an attempt of a running or paused campaign
that is still listed, queued, deferred or being sent), so two campaigns never reach one patient twice.

Channels, in ranking order:
1. staff_call: the first `staff_call_list_size` high-tier candidates staff can call (a usable phone,
   `contact_preferences` does not say call: false, and written consent where a patient's state asks it of
   every sales call: Connecticut). A person dialling by hand is not an "artificial or
   prerecorded voice" (COMPLIANCE.md), so the TCPA consent rules for AI voice do not apply; opt-outs do.
2. the next `ai_contact_list_size` candidates (any tier; a high-tier patient staff cannot call takes one of
   these slots) fall through ai_call -> sms -> email -> general:
   - ai_call needs consent_voice AND consent_written: an AI voice needs prior express consent, and a
     reactivation call carrying an offer is marketing, which needs prior express written consent;
   - sms needs consent_sms AND consent_written, for the same reason;
   - email needs an address (TCPA does not cover email);
   each also needs `contact_preferences` not to say false for it ("call", "text", "email").
3. everyone after that: high and mid tier by email when possible, the rest to the general-campaign export
   (not a direct contact by us now, so no consent is needed; the campaign's own sender applies its rules).
Each patient gets exactly one channel (never two channels at once for the same purpose).

Learning (issue 6, `outcomes/learning.py`): once the outcome log holds enough attempts in a tier, the choice
among the channels a patient may lawfully get (and that still have room: the staff list, the AI-contact slots)
is no longer the fixed order above but Thompson sampling over the tier's response-rate posteriors, per patient:
the channel with the best drawn value x P(response) - cost, with an exploration floor. Consent and preferences
decide what is open exactly as before. Every contact's expected recovered value is its reactivation score x
the tier and channel's P(response) (posterior mean) - the channel's cost.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
from sqlalchemy import func, select

from receptionist.clock import utc
from receptionist.config.practice import Practice
from receptionist.outcomes.learning import Beliefs, load_beliefs, mix_reasons, seed_for
from receptionist.outreach import states
from receptionist.outreach.gates import consent_for
from receptionist.patients.export import NoScoreRun, latest_run_id
from receptionist.store import (
    Campaign,
    OutreachAttempt,
    Patient,
    PatientPhone,
    PatientScore,
    Store,
    VisitLine,
)
from receptionist.store.schedule import Appointment
from scoring import service_lines
from scoring.outcomes import expected_recovered_value, thompson_choices

CHANNELS = ("staff_call", "ai_call", "sms", "email", "general")
TIERS = ("high", "mid", "low")

DEFAULT_ORDER = ("ai_call", "sms", "email", "general")
_MONEY = re.compile(r"\$[\d,.]+(/yr)?")
# contact_preferences key for each direct channel
_PREFERENCE_KEY = {"staff_call": "call", "ai_call": "call", "sms": "text", "email": "email"}


@dataclass(frozen=True)
class PlannedContact:
    patient_id: str
    tier: str
    channel: str
    reactivation_score: float
    expected_value: float
    reasons: str
    talking_points: tuple[str, ...]
    name: str = ""
    # the law's tag (COMPLIANCE.md): a reactivation contact is marketing (it needs prior express written
    # consent for AI calls and texts, and the stricter state rules apply); recall and reminders are exempt
    purpose: str = "marketing"
    step: int | None = None  # a sequence's step (recall reminders): part of the attempt's id


@dataclass(frozen=True)
class Plan:
    run_id: str
    contacts: tuple[PlannedContact, ...]
    counts: dict[str, dict[str, int]]
    expected_cost: float
    expected_recovered_value: float
    response_rates: dict[str, dict[str, float]]  # P(response) per tier and channel (posterior means)
    mix: dict[str, dict[str, Any]]  # per tier: learning or not, the reason in words, each channel's evidence
    left_out: dict[str, int] = field(default_factory=dict)  # scored patients not in the plan, per reason

    def explain(self) -> list[str]:
        """Why patients are not in the plan, one line a reason (most first); for an empty plan, why it is empty."""
        lines = [f"{n:,} {why}" for why, n in sorted(self.left_out.items(), key=lambda kv: (-kv[1], kv[0]))]
        if not self.contacts:
            head = (
                "nobody to contact: every scored patient was left out"
                if self.left_out
                else "nobody to contact: the score run has no patients"
            )
            return [head, *lines]
        return lines

    def as_json(self) -> dict[str, Any]:
        """Counts and totals only: the JSON carries no names or phone numbers."""
        return {
            "run_id": self.run_id,
            "contacts": len(self.contacts),
            "counts": self.counts,
            "expected_cost": round(self.expected_cost, 2),
            "expected_recovered_value": round(self.expected_recovered_value, 2),
            "response_rates": self.response_rates,
            "mix": self.mix,
            "left_out": self.left_out,
        }


class _Candidate(NamedTuple):  # a tuple: a plan builds one per lapsed patient, 100,000 at a time
    patient_id: str
    name: str
    tier: str
    score: float
    reasons: str
    last_visit: dt.date | None
    has_phone: bool
    email: str
    consent_voice: bool
    consent_sms: bool
    consent_written: bool
    preferences: dict[str, Any]


def _wants(c: _Candidate, channel: str) -> bool:
    key = _PREFERENCE_KEY.get(channel)
    return key is None or c.preferences.get(key) is not False


def _lawful(c: _Candidate, channel: str) -> bool:
    if not _wants(c, channel):
        return False
    if channel == "staff_call":
        return c.has_phone
    if channel == "ai_call":
        return c.has_phone and c.consent_voice and c.consent_written
    if channel == "sms":
        return c.has_phone and c.consent_sms and c.consent_written
    if channel == "email":
        return bool(c.email)
    return True  # general


def _staff_call_consent(store: Store, c: _Candidate) -> bool:
    """A staff sales call is lawful in the patient's states (Connecticut asks written consent even for a
    person dialling). Read for the few candidates the staff list considers, not for every patient."""
    with store.sessions() as s:
        phone = s.scalar(
            select(PatientPhone.phone)
            .where(PatientPhone.patient_id == c.patient_id)
            .order_by(PatientPhone.position, PatientPhone.phone)
            .limit(1)
        )
        zip_code = s.scalar(select(Patient.zip).where(Patient.id == c.patient_id)) or ""
    bound = states.applicable(states.patient_states(phone, zip_code), "marketing")
    voice, sms, written = c.consent_voice, c.consent_sms, c.consent_written
    return consent_for("marketing", "staff_call", voice=voice, sms=sms, written=written, state_rules=bound)[0]


def _first_lawful(c: _Candidate, channels: tuple[str, ...]) -> str:
    return next(ch for ch in channels if _lawful(c, ch))


LEFT_OUT = {
    "not_lapsed": "not lapsed (a visit within the lapse window)",
    "opted_out": "opted out",
    "booked": "already booked",
    "in_campaign": "already in a running or paused campaign",
    "cooldown": "contacted within the cool-down",
    "no_contact": "no phone number or email",
    "returning": "already trying to book on their own",
}


def _candidates(
    store: Store, run_id: str, now: dt.datetime, cooldown_days: int, left_out: dict[str, int]
) -> list[_Candidate]:
    """The lapsed patients the plan may contact; `left_out` gets a count per reason for everyone else."""
    cutoff = now - dt.timedelta(days=cooldown_days)
    # Core rows unpacked once, not ORM objects: a plan reads every lapsed patient (100,000 in well under 2 s).
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(
                Patient.id,
                Patient.first_name,
                Patient.last_name,
                Patient.email,
                Patient.opted_out,
                Patient.booking_attempt_at,
                Patient.consent_voice,
                Patient.consent_sms,
                Patient.consent_written,
                Patient.contact_preferences,
                PatientScore.tier,
                PatientScore.reactivation_score,
                PatientScore.reasons,
                PatientScore.last_visit,
            )
            .join(Patient, Patient.id == PatientScore.patient_id)
            .where(
                PatientScore.run_id == run_id,
                PatientScore.lapsed.is_(True),
                Patient.status == "active",  # deceased, inactive, archived, non-patient: never contacted
            )
            .order_by(PatientScore.reactivation_score.desc(), PatientScore.patient_id)
        ).all()
        not_lapsed = conn.scalar(
            select(func.count())
            .select_from(PatientScore)
            .where(PatientScore.run_id == run_id, PatientScore.lapsed.is_not(True))
        )
        if not_lapsed:
            left_out[LEFT_OUT["not_lapsed"]] = int(not_lapsed)
        phones = set(conn.scalars(select(PatientPhone.patient_id)))
        recent = set(
            conn.scalars(select(OutreachAttempt.patient_id).where(OutreachAttempt.sent_at >= cutoff))
        )
        in_hand = set(
            conn.scalars(
                select(OutreachAttempt.patient_id)
                .join(Campaign, Campaign.id == OutreachAttempt.campaign_id)
                .where(
                    Campaign.status.in_(("running", "paused")),
                    OutreachAttempt.status.in_(("listed", "queued", "deferred", "sending")),
                )
            )
        )
        booked = set(
            pid
            for pid, start in conn.execute(
                select(Appointment.patient_id, Appointment.start).where(Appointment.status == "booked")
            )
            if utc(start) > now
        )
    out = []
    for (
        pid,
        first,
        last,
        email,
        opted_out,
        trying_at,
        voice,
        sms,
        written,
        prefs,
        tier,
        score,
        reasons,
        last_visit,
    ) in rows:
        # left out: opted out, no usable contact, already booked, contacted in the cool-down, already in hand,
        # already trying to come back by themselves (counted per reason, the first that applies)
        has_phone = pid in phones
        why = (
            LEFT_OUT["opted_out"]
            if opted_out
            else LEFT_OUT["booked"]
            if pid in booked
            else LEFT_OUT["in_campaign"]
            if pid in in_hand
            else LEFT_OUT["cooldown"]
            if pid in recent
            else LEFT_OUT["no_contact"]
            if not (has_phone or email)
            else LEFT_OUT["returning"]
            if trying_at is not None and utc(trying_at) >= cutoff
            else None
        )
        if why is not None:
            left_out[why] = left_out.get(why, 0) + 1
            continue
        out.append(
            _Candidate(
                pid,
                f"{first} {last}".strip(),
                tier,
                float(score),
                reasons,
                last_visit,
                has_phone,
                email or "",
                bool(voice),
                bool(sms),
                bool(written),
                prefs or {},
            )
        )
    return out


def _talking_points(store: Store, c: _Candidate, now: dt.datetime) -> tuple[str, ...]:
    """Plain words for staff: tenure, last visit, what they came for (a few service lines, most visited
    first, not the raw department texts of the export), signals. No dollar figures."""
    with store.session() as s:
        used = Counter(
            service_lines.classify(d)
            for d in s.scalars(select(VisitLine.department).where(VisitLine.patient_id == c.patient_id))
            if d
        )
    lines = [line for line, _ in sorted(used.items(), key=lambda kv: (-kv[1], kv[0])) if line != "other"]
    points = []
    plain = _MONEY.sub("", c.reasons)  # "$1,763/yr" holds a comma: drop it before splitting
    for part in (x.strip() for x in plain.split(",")):
        if (
            not part
            or part.startswith("$")
            or part == "lapsed"
            or part.endswith("department")
            or part.endswith("departments")
            or part.startswith("seen for ")
        ):
            continue
        if part.startswith("last visit") and c.last_visit is not None:
            part = f"{part} ({c.last_visit.isoformat()})"
        elif part[0].isdigit() and part.endswith(("year", "years")):
            part = f"patient for {part}"
        points.append(part)
    if lines:
        points.append("usually seen for " + service_lines.few(lines))
    return tuple(points)


def build_plan(
    store: Store,
    practice: Practice,
    now: dt.datetime,
    beliefs: Beliefs | None = None,
    *,
    email_on: bool = True,
) -> Plan:
    """The reactivation plan for the latest score run (raises NoScoreRun when nothing is scored).

    `email_on` False (no `SMTP_URL`): the email channel is off and its patients fall to the next channel."""
    run_id = latest_run_id(store)
    if run_id is None:
        raise NoScoreRun("no score run yet: run `receptionist score` first")
    now = utc(now)
    rules = practice.outreach
    beliefs = beliefs if beliefs is not None else load_beliefs(store, rules)
    rng = np.random.default_rng(seed_for(run_id))
    staff, ai_slots = 0, 0
    contacts: list[PlannedContact] = []
    left_out: dict[str, int] = {}
    for c in _candidates(store, run_id, now, rules.cooldown_days, left_out):
        staff_open = (
            c.tier == "high"
            and staff < rules.staff_call_list_size
            and _lawful(c, "staff_call")
            and _staff_call_consent(store, c)
        )
        ai_open = ai_slots < rules.ai_contact_list_size
        if beliefs.learning(c.tier):
            opts = ["staff_call"] if staff_open else []
            if ai_open:
                opts += [
                    ch for ch in ("ai_call", "sms", "email") if _lawful(c, ch) and (email_on or ch != "email")
                ]
            elif c.tier in ("high", "mid") and email_on and _lawful(c, "email"):
                opts.append("email")
            channel = (
                thompson_choices(
                    rng,
                    [c.score],
                    [opts],
                    beliefs.posteriors(c.tier),
                    rules.expected_costs,
                    rules.exploration_floor,
                )[0]
                or "general"
            )
            if channel == "staff_call":
                staff += 1
            elif ai_open and channel != "general":
                ai_slots += 1
        elif staff_open:
            channel = "staff_call"
            staff += 1
        elif ai_open:
            channel = _first_lawful(
                c, DEFAULT_ORDER if email_on else tuple(ch for ch in DEFAULT_ORDER if ch != "email")
            )
            ai_slots += 1
        elif c.tier in ("high", "mid"):
            channel = _first_lawful(c, ("email", "general") if email_on else ("general",))
        else:
            channel = "general"
        points = _talking_points(store, c, now) if channel == "staff_call" else ()
        cost = rules.expected_cost(channel) if channel != "general" else 0.0
        value = expected_recovered_value(c.score, beliefs.p_response(c.tier, channel), cost)
        contacts.append(
            PlannedContact(
                c.patient_id,
                c.tier,
                channel,
                c.score,
                value,
                c.reasons,
                points,
                c.name if channel == "staff_call" else "",
            )
        )
    counts: dict[str, dict[str, int]] = {t: dict.fromkeys(CHANNELS, 0) for t in TIERS}
    extra: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(CHANNELS, 0))
    for pc in contacts:
        (counts[pc.tier] if pc.tier in counts else extra[pc.tier])[pc.channel] += 1
    counts.update(extra)
    cost = sum(rules.expected_cost(pc.channel) for pc in contacts if pc.channel != "general")
    value = sum(pc.expected_value for pc in contacts)
    medians = {
        t: float(np.median([pc.reactivation_score for pc in contacts if pc.tier == t]))
        for t in TIERS
        if any(pc.tier == t for pc in contacts)
    }
    rates = {t: {ch: round(beliefs.p_response(t, ch), 4) for ch in CHANNELS} for t in TIERS}
    return Plan(
        run_id,
        tuple(contacts),
        counts,
        cost,
        value,
        rates,
        mix_reasons(beliefs, counts, medians, rules, seed_for(run_id)),
        left_out,
    )
