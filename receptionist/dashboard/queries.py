"""The reads behind the dashboard's pages: small, bounded queries (aggregates in SQL, never a table in Python).

Each returns plain dicts for the templates. Lists are capped; a patient's own history is read whole.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import redis as redis_lib
from sqlalchemy import and_, case, func, or_, select

from receptionist.clock import utc
from receptionist.dashboard.callrecords import what_happened
from receptionist.dashboard.formatting import PRIORITY_ORDER
from receptionist.phones import InvalidPhone, to_e164
from receptionist.store import (
    Call,
    Callback,
    CallTurn,
    Campaign,
    OutcomeEvent,
    OutreachAttempt,
    Patient,
    PatientPhone,
    PatientScore,
    ScoreRun,
    Store,
    VisitLine,
    keys,
)

LIST_CAP = 200
SEARCH_CAP = 50
_ENDED = ("completed", "busy", "failed", "no-answer", "canceled")


def latest_run(store: Store) -> ScoreRun | None:
    with store.sessions() as s:
        return s.scalars(
            select(ScoreRun).order_by(ScoreRun.created_at.desc(), ScoreRun.id.desc()).limit(1)
        ).first()


def latest_campaign(store: Store, kind: str = "reactivation") -> Campaign | None:
    """The latest campaign of this kind (reactivation | recall)."""
    with store.sessions() as s:
        return s.scalars(
            select(Campaign)
            .where(Campaign.kind == kind)
            .order_by(Campaign.created_at.desc(), Campaign.id.desc())
            .limit(1)
        ).first()


def _name(p: Patient | None) -> str:
    return f"{p.first_name} {p.last_name}".strip() if p is not None else ""


_REASON_SEPARATOR = re.compile(
    r",(?!\d)"
)  # "$4,709/yr" holds a thousands comma: a separator never has a digit after it


def reasons_of(text: str) -> list[str]:
    """A score's reason text (parts joined by ", ") as its parts: "6 years, $4,709/yr, lapsed" ->
    ["6 years", "$4,709/yr", "lapsed"]; a number's thousands separators stay inside it."""
    return [r.strip() for r in _REASON_SEPARATOR.split(text) if r.strip()]


def _reasons(score: PatientScore | None) -> list[str]:
    """A score's reason parts, none without a score."""
    return reasons_of(score.reasons if score else "")


def _first_phones(s: Any, ids: list[str]) -> dict[str, str]:
    if not ids:
        return {}
    rows = s.execute(
        select(PatientPhone.patient_id, PatientPhone.phone)
        .where(PatientPhone.patient_id.in_(ids))
        .order_by(PatientPhone.position.desc(), PatientPhone.phone.desc())
    ).all()
    return dict(rows)  # the last written wins: position 0 (then the lowest number)


def _last_contacts(s: Any, ids: list[str]) -> dict[str, dt.datetime]:
    """The last time the practice reached out (any campaign's sent attempt) or talked on the phone with them."""
    if not ids:
        return {}
    out: dict[str, dt.datetime] = {}
    for q in (
        select(OutreachAttempt.patient_id, func.max(OutreachAttempt.sent_at))
        .where(OutreachAttempt.patient_id.in_(ids), OutreachAttempt.sent_at.is_not(None))
        .group_by(OutreachAttempt.patient_id),
        select(Call.patient_id, func.max(Call.started_at))
        .where(Call.patient_id.in_(ids))
        .group_by(Call.patient_id),
    ):
        for pid, when in s.execute(q):
            when = utc(when)
            if when is not None and (pid not in out or when > out[pid]):
                out[pid] = when
    return out


def call_list(store: Store, campaign_id: str) -> list[dict[str, Any]]:
    """The campaign's staff call list, in plan order: who, why (reason codes, talking points), last contact."""
    with store.sessions() as s:
        c = s.get(Campaign, campaign_id)
        rows = s.execute(
            select(OutreachAttempt, Patient, PatientScore)
            .join(Patient, Patient.id == OutreachAttempt.patient_id)
            .outerjoin(
                PatientScore,
                (PatientScore.patient_id == OutreachAttempt.patient_id)
                & (PatientScore.run_id == (c.run_id if c else "")),
            )
            .where(
                OutreachAttempt.campaign_id == campaign_id,
                OutreachAttempt.channel == "staff_call",
                OutreachAttempt.status != "holdout",
            )
            .order_by(OutreachAttempt.rank)
            .limit(LIST_CAP)
        ).all()
        ids = [p.id for _, p, _ in rows]
        phones = _first_phones(s, ids)
        last = _last_contacts(s, ids)
    return [
        {
            "attempt_id": a.id,
            "patient_id": p.id,
            "name": _name(p),
            "phone": phones.get(p.id, ""),
            "tier": a.tier,
            "status": a.status,
            "result": a.result,
            "reason": a.reason,
            "reasons": _reasons(sc),
            "talking_points": list(a.notes or []),
            "last_contact": last.get(p.id),
            "staff_outcome": a.staff_outcome,
            "opted_out": p.opted_out,
        }
        for a, p, sc in rows
    ]


@dataclass(frozen=True)
class CallbackGroup:
    """One patient's open requests (or one number's, for a caller not on file): what a person on staff
    returns in one call. `priority` is the most urgent of them; `requests` are most urgent first, then oldest."""

    key: str  # "patient:<id>", "phone:<E.164>", or "callback:<id>" for a request with neither
    patient_id: str | None
    name: str
    phone: str | None
    priority: str
    requests: list[dict[str, Any]]

    @property
    def ids(self) -> list[int]:
        return [r["id"] for r in self.requests]

    @property
    def owner(self) -> str | None:
        """Who took it (any of its requests): the group is then in progress, else new."""
        return next((r["owner"] for r in self.requests if r.get("owner")), None)

    @property
    def first_at(self) -> dt.datetime | None:
        return min((r["created_at"] for r in self.requests if r["created_at"] is not None), default=None)

    def __len__(self) -> int:
        return len(self.requests)


@dataclass(frozen=True)
class Callbacks:
    """The open callbacks a page shows, with the counts of all of them: every urgent one is listed, however
    many there are (a flood of calls cannot push a real emergency off the page); the others a page at a time.
    `items` are the requests one by one; `groups` the same requests merged per patient (else per number)."""

    items: list[dict[str, Any]]
    total: int
    urgent: int
    groups: list[CallbackGroup] = field(default_factory=list)
    page: int = 1  # of the others (not urgent), oldest first; every urgent one is on every page
    pages: int = 1

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def hidden(self) -> int:
        return self.total - len(self.items)


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _rank(priority: str) -> int:
    return PRIORITY_ORDER.get(priority, len(PRIORITY_ORDER))


def _request_rank(item: dict[str, Any]) -> tuple[int, dt.datetime, int]:
    return (_rank(item["priority"]), item["created_at"] or _EPOCH, item["id"])


def group_callbacks(items: list[dict[str, Any]]) -> list[CallbackGroup]:
    """Requests merged per patient (`patient_id`), else per phone number; a request with neither stands
    alone. Groups most urgent first, then the one waiting longest; every request is in exactly one group."""
    by_key: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        if item["patient_id"]:
            key = f"patient:{item['patient_id']}"
        elif item["phone"]:
            key = f"phone:{item['phone']}"
        else:
            key = f"callback:{item['id']}"
        by_key.setdefault(key, []).append(item)
    groups = []
    for key, requests in by_key.items():
        requests.sort(key=_request_rank)
        named = next((r for r in requests if r["name"]), requests[0])
        groups.append(
            CallbackGroup(
                key=key,
                patient_id=requests[0]["patient_id"],
                name=named["name"],
                phone=next((r["phone"] for r in requests if r["phone"]), None),
                priority=requests[0]["priority"],
                requests=requests,
            )
        )
    groups.sort(key=lambda g: (_rank(g.priority), min(_request_rank(r)[1:] for r in g.requests)))
    return groups


def _shown(reason: str, detail: str | None) -> tuple[str, str]:
    """What a request shows: a label and the caller's own words. The words are the detail when it says more
    than the reason (a message's whole text); the label is then the reason's head ("refill") when the reason
    is only that head and the words cut short, else the reason itself."""
    words = " ".join((detail or "").split())
    if not words or words in reason:
        return reason, ""
    head, sep, tail = reason.partition(": ")
    return (head if sep and words.startswith(tail) else reason), words


def _request(cb: Callback, p: Patient | None) -> dict[str, Any]:
    label, words = _shown(cb.reason or "", cb.detail)
    return {
        "id": cb.id,
        "patient_id": cb.patient_id,
        "name": _name(p),
        "phone": cb.phone,
        "reason": cb.reason,
        "label": label,
        "words": words,
        "detail": cb.detail or "",
        "kind": cb.kind or "callback",
        "priority": cb.priority,
        "created_at": utc(cb.created_at),
        "call_sid": cb.call_sid,
        "location_id": cb.location_id,
        "owner": cb.owner,
    }


def open_callbacks(store: Store, cap: int = LIST_CAP, page: int = 1) -> Callbacks:
    """Callbacks the AI queued and failed transfers left, most urgent first, then oldest first: every urgent
    one (on every page), then the `page`-th `cap` of the others; and how many are open, and urgent, in all.
    Also merged per patient (`Callbacks.groups`)."""
    rank = case((Callback.priority == "urgent", 0), (Callback.priority == "high", 1), else_=2)
    is_open = Callback.status == "open"
    with store.sessions() as s:
        counts = s.execute(
            select(
                func.count(), func.coalesce(func.sum(case((Callback.priority == "urgent", 1), else_=0)), 0)
            )
            .select_from(Callback)
            .where(is_open)
        ).one()
        total, urgent = int(counts[0]), int(counts[1])
        base = select(Callback, Patient).outerjoin(Patient, Patient.id == Callback.patient_id)
        rows = list(
            s.execute(
                base.where(is_open, Callback.priority == "urgent").order_by(Callback.created_at, Callback.id)
            ).all()
        )
        pages = max(1, -(-(total - urgent) // cap))
        page = min(max(1, page), pages)
        rows += s.execute(
            base.where(is_open, Callback.priority != "urgent")
            .order_by(rank, Callback.created_at, Callback.id)
            .offset((page - 1) * cap)
            .limit(cap)
        ).all()
    items = [_request(cb, p) for cb, p in rows]
    return Callbacks(items, total, urgent, group_callbacks(items), page=page, pages=pages)


def close_callback(store: Store, callback_id: int, now: dt.datetime) -> bool:
    return close_callbacks(store, [callback_id], now) == 1


def close_callbacks(store: Store, callback_ids: list[int], now: dt.datetime) -> int:
    """Mark these callbacks done (a group's Done: exactly the requests the page showed, so one that came in
    since stays open); those already done or gone are left alone. Returns how many were closed."""
    ids = sorted(set(callback_ids))
    if not ids:
        return 0
    closed = 0
    with store.session() as s:
        for cb in s.scalars(select(Callback).where(Callback.id.in_(ids), Callback.status == "open")):
            cb.status, cb.done_at = "done", now
            closed += 1
    return closed


def take_callbacks(store: Store, callback_ids: list[int], owner: str) -> int:
    """A staff member takes these open requests (a group's "Take it"): they are in progress, theirs. Returns
    how many were taken (those done or gone are left alone)."""
    ids = sorted(set(callback_ids))
    taken = 0
    with store.session() as s:
        for cb in s.scalars(select(Callback).where(Callback.id.in_(ids), Callback.status == "open")):
            cb.owner = owner
            taken += 1
    return taken


def trying_to_return(store: Store, now: dt.datetime, cooldown_days: int) -> list[dict[str, Any]]:
    """Patients who started booking through the practice's own systems within the cool-down: outreach holds
    back for them, so a person may want to help them finish. Newest first."""
    since = utc(now) - dt.timedelta(days=cooldown_days)
    with store.sessions() as s:
        rows = (
            s.execute(
                select(Patient)
                .where(Patient.booking_attempt_at > since)
                .order_by(Patient.booking_attempt_at.desc())
                .limit(LIST_CAP)
            )
            .scalars()
            .all()
        )
        phones = _first_phones(s, [p.id for p in rows])
    return [
        {
            "patient_id": p.id,
            "name": _name(p),
            "phone": phones.get(p.id, ""),
            "booking_attempt_at": utc(p.booking_attempt_at),
        }
        for p in rows
    ]


# -- patients -------------------------------------------------------------------------------------------------
def search_patients(store: Store, text: str) -> list[dict[str, Any]]:
    """By phone in any format, by patient id, or by name (every word, case-insensitive)."""
    text = " ".join((text or "").split())
    if not text:
        return []
    digits = sum(ch.isdigit() for ch in text)
    run = latest_run(store)
    with store.sessions() as s:
        q = select(Patient)
        if digits >= 7 and not any(ch.isalpha() for ch in text):
            try:
                number = to_e164(text)
            except InvalidPhone:
                return []
            q = q.join(PatientPhone, PatientPhone.patient_id == Patient.id).where(
                PatientPhone.phone == number
            )
        else:
            full = func.lower(Patient.first_name + " " + Patient.last_name)
            conds = [full.contains(word.lower(), autoescape=True) for word in text.split()]
            q = q.where(or_(Patient.id == text, and_(*conds)))
        rows = s.scalars(
            q.order_by(Patient.last_name, Patient.first_name, Patient.id).limit(SEARCH_CAP)
        ).all()
        ids = [p.id for p in rows]
        phones = _first_phones(s, ids)
        tiers = (
            dict(
                s.execute(
                    select(PatientScore.patient_id, PatientScore.tier).where(
                        PatientScore.run_id == run.id, PatientScore.patient_id.in_(ids)
                    )
                ).all()
            )
            if run and ids
            else {}
        )
    return [
        {
            "patient_id": p.id,
            "name": _name(p),
            "phone": phones.get(p.id, ""),
            "tier": tiers.get(p.id),
            "opted_out": p.opted_out,
            "deceased": p.status == "deceased",
        }
        for p in rows
    ]


def patient_exists(store: Store, patient_id: str) -> bool:
    with store.sessions() as s:
        return s.get(Patient, patient_id) is not None


def patient_detail(store: Store, patient_id: str) -> dict[str, Any] | None:
    run = latest_run(store)
    with store.sessions() as s:
        p = s.get(Patient, patient_id)
        if p is None:
            return None
        score = s.get(PatientScore, (run.id, patient_id)) if run else None
        phones = list(
            s.scalars(
                select(PatientPhone.phone)
                .where(PatientPhone.patient_id == patient_id)
                .order_by(PatientPhone.position, PatientPhone.phone)
            )
        )
        visits = s.execute(
            select(VisitLine.day, VisitLine.amount_cents, VisitLine.department)
            .where(VisitLine.patient_id == patient_id)
            .order_by(VisitLine.day)
        ).all()
        attempts = s.scalars(
            select(OutreachAttempt)
            .where(OutreachAttempt.patient_id == patient_id)
            .order_by(OutreachAttempt.id.desc())
            .limit(LIST_CAP)
        ).all()
        calls = s.scalars(
            select(Call).where(Call.patient_id == patient_id).order_by(Call.started_at.desc()).limit(LIST_CAP)
        ).all()
        events = s.scalars(
            select(OutcomeEvent)
            .where(OutcomeEvent.patient_id == patient_id)
            .order_by(OutcomeEvent.at.desc(), OutcomeEvent.id.desc())
            .limit(LIST_CAP)
        ).all()
        callbacks = s.scalars(
            select(Callback)
            .where(Callback.patient_id == patient_id)
            .order_by(Callback.created_at.desc())
            .limit(LIST_CAP)
        ).all()
    return {
        "patient": p,
        "name": _name(p),
        "phones": phones,
        "score": score,
        "run": run,
        "reasons": _reasons(score),
        "visits": [(d, c, dep) for d, c, dep in visits],
        "attempts": attempts,
        "calls": calls,
        "events": events,
        "callbacks": callbacks,
    }


def record_consent(store: Store, patient_id: str, kinds: list[str]) -> bool:
    """Staff record a consent the patient gave (voice, text, written); it also ends an opt-out, since the
    patient has just asked to hear from the practice again."""
    allowed = {"voice": "consent_voice", "sms": "consent_sms", "written": "consent_written"}
    with store.session() as s:
        p = s.get(Patient, patient_id)
        if p is None:
            return False
        for k in kinds:
            setattr(p, allowed[k], True)
        p.opted_out, p.opted_out_at = False, None
        return True


# -- calls ----------------------------------------------------------------------------------------------------
def _attempts_by_call(s: Any, sids: list[str]) -> dict[str, OutreachAttempt]:
    """The campaign attempt each outbound call placed (its provider id is the call's sid)."""
    if not sids:
        return {}
    return {
        a.provider_id: a
        for a in s.scalars(select(OutreachAttempt).where(OutreachAttempt.provider_id.in_(sids)))
        if a.provider_id
    }


def recent_calls(store: Store, limit: int = 100) -> dict[str, list[dict[str, Any]]]:
    """Recent calls, each naming its patient (for an outbound call nobody answered, the patient its campaign
    attempt dialled) and saying what happened (`callrecords.what_happened`)."""
    with store.sessions() as s:
        rows = s.execute(
            select(Call, Patient)
            .outerjoin(Patient, Patient.id == Call.patient_id)
            .order_by(Call.started_at.desc(), Call.sid)
            .limit(limit)
        ).all()
        attempts = _attempts_by_call(s, [c.sid for c, _ in rows if c.direction == "outbound"])
        missing = {a.patient_id for a in attempts.values()} - {c.patient_id for c, _ in rows}
        dialled = (
            {p.id: p for p in s.scalars(select(Patient).where(Patient.id.in_(missing)))} if missing else {}
        )
        numbers = _first_phones(s, list(missing))
    calls = []
    for c, p in rows:
        a = attempts.get(c.sid)
        pid = c.patient_id or (a.patient_id if a else None)
        who = p if p is not None else dialled.get(pid or "")
        calls.append(
            {
                "sid": c.sid,
                "direction": c.direction,
                "name": _name(who),
                "patient_id": pid,
                "number": c.caller or numbers.get(pid or ""),
                "tier": c.tier or (a.tier if a else None),
                "happened": what_happened(
                    c.direction, c.status, c.route, c.transfer, a.result if a else None, c.facts
                ),
                "route": c.route,
                "transfer": c.transfer,
                "outcome": c.outcome,
                "status": c.status,
                "duration": c.duration_seconds,
                "started_at": utc(c.started_at),
                "facts": c.facts or {},
                "live": c.status not in _ENDED and c.ended_at is None,
            }
        )
    return {"live": [c for c in calls if c["live"]], "recent": [c for c in calls if not c["live"]]}


def call_detail(store: Store, sid: str) -> dict[str, Any] | None:
    """One call: who (the dialled patient for an outbound call nobody answered), what happened, the turns;
    a voicemail's record says it was a voicemail (`voicemail`: True) so the page shows what was left."""
    with store.sessions() as s:
        c = s.get(Call, sid)
        if c is None:
            return None
        a = _attempts_by_call(s, [sid]).get(sid) if c.direction == "outbound" else None
        pid = c.patient_id or (a.patient_id if a else None)
        p = s.get(Patient, pid) if pid else None
        number = c.caller or (_first_phones(s, [pid]).get(pid) if pid else None)
        turns = s.scalars(select(CallTurn).where(CallTurn.call_sid == sid).order_by(CallTurn.seq)).all()
    result = a.result if a else None
    return {
        "call": c,
        "name": _name(p),
        "patient_id": pid,
        "number": number,
        "tier": c.tier or (a.tier if a else None),
        "turns": turns,
        "facts": c.facts or {},
        "happened": what_happened(c.direction, c.status, c.route, c.transfer, result, c.facts),
        "voicemail": result == "voicemail",
    }


# -- results --------------------------------------------------------------------------------------------------
def tier_mix(store: Store, run_id: str) -> list[dict[str, Any]]:
    """Per tier of a run: patients, lapsed, and the value at risk (the lapsed patients' yearly spend and their
    patient value, PLV, both per year), one GROUP BY on the run's scores."""
    lapsed = case((PatientScore.lapsed.is_(True), 1), else_=0)
    with store.sessions() as s:
        rows = s.execute(
            select(
                PatientScore.tier,
                func.count(),
                func.sum(lapsed),
                func.coalesce(
                    func.sum(case((PatientScore.lapsed.is_(True), PatientScore.annual_value), else_=0.0)), 0.0
                ),
                func.coalesce(
                    func.sum(case((PatientScore.lapsed.is_(True), PatientScore.plv), else_=0.0)), 0.0
                ),
                func.coalesce(func.sum(PatientScore.expected_value_12m), 0.0),
            )
            .where(PatientScore.run_id == run_id)
            .group_by(PatientScore.tier)
        ).all()
    order = {"high": 0, "mid": 1, "low": 2}
    return sorted(
        (
            {
                "tier": t,
                "patients": int(n),
                "lapsed": int(lp or 0),
                "annual_at_risk": float(a),
                "plv_at_risk": float(v),
                "expected_12m": float(e),
            }
            for t, n, lp, a, v, e in rows
        ),
        key=lambda r: order.get(r["tier"], 9),
    )


def cached_tier_mix(store: Store, redis: Any, run_id: str, ttl_s: int = 86400) -> list[dict[str, Any]]:
    """`tier_mix` of a run, kept in Redis: a kept run never changes, so its aggregate is computed once (the
    Results page must render in well under 200 ms at 100,000 patients). Without Redis it is computed."""
    key = keys.run_tier_mix(run_id)
    try:
        raw = redis.get(key)
        if raw is not None:
            return list(json.loads(raw))
    except (redis_lib.RedisError, OSError):
        return tier_mix(store, run_id)
    mix = tier_mix(store, run_id)
    try:
        redis.set(key, json.dumps(mix), ex=ttl_s)
    except (redis_lib.RedisError, OSError):
        pass
    return mix
