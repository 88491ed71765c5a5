"""The tier cache: E.164 phone -> patient id, tier and run, in Redis, read in one round trip.

Publishing fills a fresh hash and renames it over the live one inside MULTI/EXEC, so a reader sees the
old run or the new one, never a mix.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import redis

from . import keys

SEP = "\t"


class CacheUnavailable(RuntimeError):
    """Redis did not answer; callers fall back to the store."""


@dataclass(frozen=True)
class CachedTier:
    patient_id: str
    tier: str
    run_id: str


class TierCache:
    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def lookup(self, phone: str) -> CachedTier | None:
        try:
            raw = self.client.hget(keys.tiers(), phone)
        except (redis.RedisError, OSError) as exc:
            raise CacheUnavailable(str(exc)) from None
        if raw is None:
            return None
        tier, patient_id, run_id = _text(raw).split(SEP)
        return CachedTier(patient_id=patient_id, tier=tier, run_id=run_id)

    def current_run(self) -> str | None:
        try:
            raw = self.client.get(keys.tiers_run())
        except (redis.RedisError, OSError) as exc:
            raise CacheUnavailable(str(exc)) from None
        return None if raw is None else _text(raw)

    def size(self) -> int:
        return int(self.client.hlen(keys.tiers()))

    def publish(self, run_id: str, entries: Iterable[tuple[str, str, str]], chunk: int = 20_000) -> int:
        """Publish (phone, tier, patient_id) entries of one run atomically; returns how many."""
        building = keys.tiers_building(run_id)
        self.client.delete(building)
        count = 0
        batch: dict[str, str] = {}
        pipe = self.client.pipeline(transaction=False)
        for phone, tier, patient_id in entries:
            batch[phone] = f"{tier}{SEP}{patient_id}{SEP}{run_id}"
            if len(batch) >= chunk:
                pipe.hset(building, mapping=batch)
                pipe.execute()
                count += len(batch)
                batch = {}
        if batch:
            pipe.hset(building, mapping=batch)
            pipe.execute()
            count += len(batch)
        swap = self.client.pipeline(transaction=True)
        if count:
            swap.rename(building, keys.tiers())
        else:
            swap.delete(keys.tiers())
        swap.set(keys.tiers_run(), run_id)
        swap.execute()
        return count


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw
