"""`receptionist score`: load visits from the store, score with `scoring`, keep the run, publish the cache."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import func, insert, select, update

import scoring
from receptionist.config.practice import Practice
from receptionist.patients.cache import TierCache
from receptionist.store import Patient, PatientPhone, PatientScore, ScoreRun, Store
from scoring import ReactivationSignals, ScoreResult, VisitArrays, service_lines

EPOCH = dt.date(1970, 1, 1)
FETCH = 200_000
SIGNAL_WINDOW_DAYS = 365
BOOKING_WINDOW_DAYS = 30


@dataclass(frozen=True)
class LoadedPractice:
    """Everything scoring needs, as arrays indexed like `patient_ids`."""

    patient_ids: list[str]
    visits: VisitArrays
    signals: ReactivationSignals
    departments: list[str]  # the name of each department bit: the service lines (`scoring.service_lines`)


def _day_sql(dialect: str) -> str:
    if dialect == "sqlite":
        return "CAST(julianday(day) - 2440587.5 AS INTEGER)"
    return "(day - DATE '1970-01-01')"


def _timestamp_day(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if isinstance(value, dt.datetime):
        return (value.date() - EPOCH).days
    if isinstance(value, dt.date):
        return (value - EPOCH).days
    return None


def load_practice_data(store: Store, as_of: dt.date) -> LoadedPractice:
    as_of_day = (as_of - EPOCH).days
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(
                Patient.id,
                Patient.opted_out,
                Patient.moved_away,
                Patient.zip_changed_on,
                Patient.booking_attempt_at,
                Patient.status,
            ).order_by(Patient.id)
        ).all()
        ids = [r[0] for r in rows]
        index = {pid: i for i, pid in enumerate(ids)}
        n = len(ids)
        opted = np.fromiter((bool(r[1]) for r in rows), dtype=bool, count=n)
        moved = np.fromiter((bool(r[2]) for r in rows), dtype=bool, count=n)
        zip_day = np.fromiter((_timestamp_day(r[3]) or -(10**9) for r in rows), dtype=np.int64, count=n)
        booking_day = np.fromiter((_timestamp_day(r[4]) or -(10**9) for r in rows), dtype=np.int64, count=n)
        deceased = np.fromiter((r[5] == "deceased" for r in rows), dtype=bool, count=n)
        del rows
        signals = ReactivationSignals(
            zip_changed=(zip_day > as_of_day - SIGNAL_WINDOW_DAYS) & (zip_day <= as_of_day),
            moved_away=moved,
            booking_attempt=(booking_day > as_of_day - BOOKING_WINDOW_DAYS) & (booking_day <= as_of_day),
            opted_out=opted,
            deceased=deceased,
        )
        raw = conn.connection.driver_connection
        cur = raw.cursor()
        mark = "?" if store.dialect == "sqlite" else "%s"
        cur.execute(
            f"SELECT patient_id, {_day_sql(store.dialect)}, amount_cents, paid_cents, department "
            f"FROM visit_lines WHERE day <= {mark}",
            (as_of.isoformat() if store.dialect == "sqlite" else as_of,),
        )
        patient_parts, day_parts, amount_parts, paid_parts, dept_parts = [], [], [], [], []
        # each distinct raw department text is classified once; its bit is its service line's
        table = service_lines.default_table()
        dept_codes: dict[str, int] = {}

        def line_of(text: str) -> int:
            code = dept_codes.get(text)
            if code is None:
                code = dept_codes[text] = table.index(service_lines.classify(text or "", table))
            return code

        while True:
            batch = cur.fetchmany(FETCH)
            if not batch:
                break
            pids, days, amounts, paids, depts = zip(*batch, strict=True)
            patient_parts.append(np.fromiter((index[p] for p in pids), dtype=np.int64, count=len(batch)))
            day_parts.append(np.asarray(days, dtype=np.int64))
            amount_parts.append(np.asarray(amounts, dtype=np.int64))
            paid_parts.append(np.asarray(paids, dtype=np.int64))
            dept_parts.append(np.fromiter((line_of(d) for d in depts), dtype=np.int64, count=len(batch)))
        cur.close()
    departments = list(table.lines)
    visits = _merge_days(
        _cat(patient_parts), _cat(day_parts), _cat(amount_parts), _cat(paid_parts), _cat(dept_parts)
    )
    return LoadedPractice(ids, visits, signals, departments)


def _cat(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def _merge_days(
    patient: np.ndarray, day: np.ndarray, amount: np.ndarray, paid: np.ndarray, dept: np.ndarray
) -> VisitArrays:
    """Lines -> one row per patient and calendar day (amounts summed, departments OR-ed), sorted."""
    if patient.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return VisitArrays(empty, empty, empty.astype(float), empty.astype(float), empty.astype(np.uint32))
    key = patient * 1_000_000 + day
    order = np.argsort(key, kind="stable")
    key = key[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    bits = np.left_shift(np.uint32(1), np.minimum(dept[order], 31).astype(np.uint32))
    return VisitArrays(
        patient=patient[order][starts],
        day=day[order][starts],
        amount=np.add.reduceat(amount[order], starts).astype(np.float64) / 100.0,
        paid=np.add.reduceat(paid[order], starts).astype(np.float64) / 100.0,
        departments=np.bitwise_or.reduceat(bits, starts).astype(np.uint32),
    )


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    as_of: dt.date
    patients: int
    result: ScoreResult
    tiers: dict[str, int]
    lapsed: int
    seconds: float
    published: int
    deceased: int = 0

    def notes(self) -> list[str]:
        """What a reader of the run should know about how it was scored (plain words)."""
        return [SPEND_FALLBACK_NOTE] if self.result.spend_model == scoring.OWN_MEAN else []

    def as_json(self) -> dict[str, Any]:
        b, g = self.result.bgnbd, self.result.gamma_gamma
        return {
            "run_id": self.run_id,
            "as_of": self.as_of.isoformat(),
            "patients": self.patients,
            "model": {
                "time_unit": "days",
                "bgnbd": {"r": b.r, "alpha": b.alpha, "a": b.a, "b": b.b, "log_likelihood": b.log_likelihood},
                "gamma_gamma": None if g is None else {"p": g.p, "q": g.q, "v": g.v},
                "spend_model": self.result.spend_model,
            },
            "notes": self.notes(),
            "tiers": self.tiers,
            "lapsed": self.lapsed,
            "deceased": self.deceased,
            "seconds": round(self.seconds, 3),
        }


SPEND_FALLBACK_NOTE = (
    "nobody has a repeat visit yet: expected spend per visit is each patient's own mean spend "
    "(the Gamma-Gamma spend model needs repeat visits to learn from)"
)


class NothingToScore(LookupError):
    """The store holds no visits to learn from."""


def run_scoring(store: Store, cache: TierCache | None, practice: Practice, as_of: dt.date) -> RunSummary:
    """Score every patient as of a day (the practice's, `Practice.today`), keep the run and its scores, then
    publish the tier cache. The run's own times come from the store's clock."""
    started = time.perf_counter()
    data = load_practice_data(store, as_of)
    if data.visits.patient.size == 0:
        raise NothingToScore(f"no visits on or before {as_of.isoformat()}: import visits first")
    try:
        result = scoring.score_patients(
            data.visits,
            len(data.patient_ids),
            (as_of - EPOCH).days,
            rules=practice.tiers,
            lapsed_after_days=practice.lapsed_after_days,
            signals=data.signals,
            department_names=data.departments,
        )
    except ValueError as exc:  # bad input only: a practice without repeat visits is scored (own mean spend)
        raise NothingToScore(f"cannot score as of {as_of.isoformat()}: {exc}") from None
    tier_names = np.asarray(scoring.TIERS)[result.tier]
    tiers = {name: int(np.count_nonzero(result.tier == code)) for code, name in enumerate(scoring.TIERS)}
    run_id = uuid.uuid4().hex
    deceased = int(data.signals.deceased_flags(len(data.patient_ids)).sum())
    summary = RunSummary(
        run_id, as_of, len(data.patient_ids), result, tiers, int(result.lapsed.sum()), 0.0, 0, deceased
    )
    _store_run(store, summary, data, tier_names)
    published = (
        publish(store, cache, run_id, data.patient_ids, result, data.signals.deceased)
        if cache is not None
        else 0
    )
    seconds = time.perf_counter() - started
    with store.session() as session:
        session.execute(
            update(ScoreRun)
            .where(ScoreRun.id == run_id)
            .values(seconds=seconds, published_at=store.clock() if cache is not None else None)
        )
    return RunSummary(
        run_id, as_of, summary.patients, result, tiers, summary.lapsed, seconds, published, deceased
    )


def _store_run(store: Store, summary: RunSummary, data: LoadedPractice, tier_names: np.ndarray) -> None:
    r = summary.result
    f = r.features
    last_day = np.where(f.has_visits, (summary.as_of - EPOCH).days - f.days_since_last, -1)
    columns = {
        "tier": tier_names.tolist(),
        "plv": np.round(r.plv, 2).tolist(),
        "annual_value": np.round(f.annual_value, 2).tolist(),
        "years_active": np.round(f.years_active, 2).tolist(),
        "departments": f.departments.astype(int).tolist(),
        "p_alive": np.round(r.p_alive, 4).tolist(),
        "expected_visits_12m": np.round(r.expected_visits_12m, 3).tolist(),
        "expected_value_12m": np.round(r.expected_value_12m, 2).tolist(),
        "lapsed": r.lapsed.tolist(),
        "reactivation_score": np.round(r.reactivation_score, 2).tolist(),
        "last_day": last_day.astype(int).tolist(),
    }
    with store.session() as session:
        conn = session.connection()
        conn.execute(
            insert(ScoreRun),
            [
                {
                    "id": summary.run_id,
                    "as_of": summary.as_of,
                    "patients": summary.patients,
                    "lapsed": summary.lapsed,
                    "tiers": summary.tiers,
                    "model": summary.as_json()["model"],
                    "seconds": 0.0,
                    "created_at": store.clock(),
                }
            ],
        )
        for rows in _score_rows(summary.run_id, data.patient_ids, columns, r.reasons):
            conn.execute(insert(PatientScore), rows)


def _score_rows(
    run_id: str, ids: list[str], c: dict[str, list[Any]], reasons: list[str], size: int = 20_000
) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(ids), size):
        stop = min(start + size, len(ids))
        yield [
            {
                "run_id": run_id,
                "patient_id": ids[i],
                "tier": c["tier"][i],
                "plv": c["plv"][i],
                "annual_value": c["annual_value"][i],
                "years_active": c["years_active"][i],
                "departments": c["departments"][i],
                "p_alive": c["p_alive"][i],
                "expected_visits_12m": c["expected_visits_12m"][i],
                "expected_value_12m": c["expected_value_12m"][i],
                "lapsed": c["lapsed"][i],
                "reactivation_score": c["reactivation_score"][i],
                "reasons": reasons[i],
                "last_visit": EPOCH + dt.timedelta(days=c["last_day"][i]) if c["last_day"][i] >= 0 else None,
            }
            for i in range(start, stop)
        ]


def publish(
    store: Store,
    cache: TierCache,
    run_id: str,
    patient_ids: list[str],
    result: ScoreResult,
    deceased: np.ndarray | None = None,
) -> int:
    """Phone -> (tier, patient, run) for every phone; a shared household number names its most valuable patient.

    A deceased patient's record never answers for a number: a shared number names a living member of the
    household, and a number only the deceased had is left out (a caller on it is looked up and asked as any
    unknown caller; the store's lookup skips the deceased too), so nobody is greeted by the name of the dead."""
    index = {pid: i for i, pid in enumerate(patient_ids)}
    dead = np.zeros(len(patient_ids), dtype=bool) if deceased is None else np.asarray(deceased, dtype=bool)
    epoch = (
        cache.epoch()
    )  # before reading phones: a change from here on keeps the hash from being marked complete
    best: dict[str, int] = {}
    dead_phones: set[str] = set()
    tier, plv = result.tier, result.plv
    first: list[str] = [""] * len(patient_ids)  # each patient's first name, for the AI's greeting
    with store.engine.connect() as conn:
        for phone, pid in conn.execute(select(PatientPhone.phone, PatientPhone.patient_id)):
            i = index.get(pid)
            if i is None:
                continue
            if dead[i]:
                dead_phones.add(phone)
                continue
            j = best.get(phone)
            if j is None or (tier[i], -plv[i]) < (tier[j], -plv[j]):
                best[phone] = i
        spelled: dict[str, str] = {}  # one string per distinct name, not one per patient
        for pid, name in conn.execute(select(Patient.id, Patient.first_name)):
            i = index.get(pid)
            if i is not None and name:
                first[i] = spelled.setdefault(name, name)
    names = scoring.TIERS
    # Every phone of the store is in `best` unless its patient was added after `load_practice_data`, which
    # an import marks with `phones_changed` (so the epoch moves and the hash is not marked complete).
    complete = len(best) + len(dead_phones - best.keys()) == _phone_count(store)
    return cache.publish(
        run_id,
        ((phone, names[tier[i]], patient_ids[i], first[i]) for phone, i in best.items()),
        complete_at=epoch if complete else None,
    )


def _phone_count(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(conn.scalar(select(func.count(func.distinct(PatientPhone.phone)))) or 0)
