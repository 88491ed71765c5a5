"""Who is calling: E.164 number -> patient and tier, from the cache, else from the store.

A number missing from a complete cache (see `cache.py`) is nobody's: no store query for unknown callers.
A deceased patient's record never answers for a number, in the cache (see `scorer.publish`) or the store: a
caller on a number only the deceased had is an unknown caller, never greeted by the dead patient's name.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, select

from receptionist.patients.cache import CacheUnavailable, TierCache
from receptionist.store import Patient, PatientPhone, PatientScore, ScoreRun, Store

log = logging.getLogger(__name__)

TIER_RANK = case({"high": 0, "mid": 1, "low": 2}, value=PatientScore.tier, else_=3)


@dataclass(frozen=True)
class Caller:
    patient_id: str
    tier: str | None  # None: a known patient not scored yet
    run_id: str | None
    source: str  # "cache" or "store"
    first_name: str | None = (
        None  # the store's first name, when the cache vouches for it; None: ask the store
    )


class CallerDirectory:
    def __init__(self, store: Store, cache: TierCache | None) -> None:
        self.store = store
        self.cache = cache

    def find(self, phone: str) -> Caller | None:
        return self.find_with(phone)[0]

    def find_with(self, phone: str, *also: str) -> tuple[Caller | None, list[Any]]:
        """The caller, and the Redis values of `also` read in the same round trip (None when Redis is down)."""
        if self.cache is not None:
            try:
                read = self.cache.read(phone, *also)
            except CacheUnavailable:
                log.warning("tier cache unavailable; looking the caller up in the store")
            else:
                if read.hit is not None:
                    # a name is current only while the hash is complete (see cache.py)
                    return Caller(
                        read.hit.patient_id,
                        read.hit.tier,
                        read.hit.run_id,
                        "cache",
                        read.hit.first_name if read.complete else None,
                    ), read.also
                if read.complete:
                    return None, read.also
                return self.find_in_store(phone), read.also
        return self.find_in_store(phone), [None] * len(also)

    def find_in_store(self, phone: str) -> Caller | None:
        """One indexed query for the common case (a number we do not know); the score only when known."""
        with self.store.engine.connect() as conn:
            patients = conn.scalars(
                select(PatientPhone.patient_id)
                .join(Patient, Patient.id == PatientPhone.patient_id)
                .where(PatientPhone.phone == phone, Patient.status != "deceased")
                .order_by(PatientPhone.patient_id)
            ).all()
            if not patients:
                return None
            run_id = conn.scalar(
                select(ScoreRun.id)
                .where(ScoreRun.published_at.is_not(None))
                .order_by(ScoreRun.published_at.desc())
                .limit(1)
            )
            if run_id is not None:
                row = conn.execute(
                    select(PatientScore.patient_id, PatientScore.tier)
                    .where(PatientScore.run_id == run_id, PatientScore.patient_id.in_(patients))
                    .order_by(TIER_RANK, PatientScore.plv.desc())
                    .limit(1)
                ).first()
                if row is not None:
                    return Caller(row.patient_id, row.tier, run_id, "store")
        return Caller(patients[0], None, None, "store")
