"""The tier cache: E.164 phone -> patient id, tier, run and first name, in Redis, read in one round trip.

Publishing fills a fresh hash and renames it over the live one inside MULTI/EXEC, so a reader sees the
old run or the new one, never a mix.

A published hash also says it is *complete* (the field `COMPLETE`): it holds every phone the store held when
the run was published, so a number it does not hold is not a patient's and needs no store query. Whoever
adds or changes patients or their phones in the store calls `phones_changed()` before and after committing:
that bumps an epoch and removes the mark, so misses go to the store again until the next publish. A publish
marks its hash complete only when nothing changed (the epoch stayed put) between reading the store and the
swap.

The same mark vouches for the first names the entries carry (for the AI's greeting): while the hash is
complete no patient changed since the publish read the store, so a hit's name is the store's; on a hash
that is not complete, a hit's name is not trusted and the caller's name is read from the store.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import redis

from receptionist.store import keys
from receptionist.store.scripts import HotScript

SEP = "\t"
COMPLETE = "~complete"  # a field no E.164 number can be: the run id of a complete hash


class CacheUnavailable(RuntimeError):
    """Redis did not answer; callers fall back to the store."""


@dataclass(frozen=True)
class CachedTier:
    patient_id: str
    tier: str
    run_id: str
    first_name: str | None = None  # None: the entry has none (published before names were carried)


@dataclass(frozen=True)
class Lookup:
    hit: CachedTier | None
    complete: bool  # a miss is authoritative: the number is no patient's
    also: list[Any]  # the values of the extra keys read in the same round trip


# The phone's entry, the completeness mark and GET of each further key, as one command with one reply (a
# pipeline of HMGET and GETs costs the client noticeably more per call). KEYS: tiers, extra keys...; ARGV: phone.
_READ = """
local found = redis.call('HMGET', KEYS[1], ARGV[1], ARGV[2])
local out = {found[1], found[2]}
for i = 2, #KEYS do out[i + 1] = redis.call('GET', KEYS[i]) end
return out
"""


class TierCache:
    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self._read = HotScript(client, _READ)

    def lookup(self, phone: str) -> CachedTier | None:
        return self.read(phone).hit

    def read(self, phone: str, *also: str) -> Lookup:
        """The phone's entry, whether the hash is complete, and GET of each key in `also`: one round trip."""
        try:
            raw, complete, *rest = self._read([keys.tiers(), *also], [phone, COMPLETE])
        except (redis.RedisError, OSError) as exc:
            raise CacheUnavailable(str(exc)) from None
        hit = None
        if raw is not None:
            tier, patient_id, run_id, *name = _text(raw).split(SEP, 3)
            hit = CachedTier(
                patient_id=patient_id, tier=tier, run_id=run_id, first_name=name[0] if name else None
            )
        return Lookup(hit, complete is not None, rest)

    def epoch(self) -> int:
        """Bumped by every change to the store's phones (see `phones_changed`)."""
        try:
            return int(self.client.get(keys.tiers_epoch()) or 0)
        except (redis.RedisError, OSError) as exc:
            raise CacheUnavailable(str(exc)) from None

    def phones_changed(self) -> None:
        """Phones are about to change (or just did) in the store: misses are no longer authoritative."""
        try:
            pipe = self.client.pipeline(transaction=True)
            pipe.incr(keys.tiers_epoch())
            pipe.hdel(keys.tiers(), COMPLETE)
            pipe.execute()
        except (redis.RedisError, OSError) as exc:
            raise CacheUnavailable(str(exc)) from None

    def forget(self, phone: str) -> None:
        """A number no longer belongs to the patient it was published for (staff found it wrong): drop its entry,
        and misses are no longer authoritative until the next publish."""
        try:
            pipe = self.client.pipeline(transaction=True)
            pipe.incr(keys.tiers_epoch())
            pipe.hdel(keys.tiers(), COMPLETE, phone)
            pipe.execute()
        except (redis.RedisError, OSError) as exc:
            raise CacheUnavailable(str(exc)) from None

    def current_run(self) -> str | None:
        try:
            raw = self.client.get(keys.tiers_run())
        except (redis.RedisError, OSError) as exc:
            raise CacheUnavailable(str(exc)) from None
        return None if raw is None else _text(raw)

    def size(self) -> int:
        pipe = self.client.pipeline(transaction=True)
        pipe.hlen(keys.tiers())
        pipe.hexists(keys.tiers(), COMPLETE)
        total, marked = pipe.execute()
        return int(total) - int(bool(marked))

    def publish(
        self,
        run_id: str,
        entries: Iterable[tuple[str, ...]],
        chunk: int = 20_000,
        complete_at: int | None = None,
    ) -> int:
        """Publish (phone, tier, patient_id[, first_name]) entries of one run atomically; returns how many.

        `complete_at`: the `epoch()` read before the entries were read from the store; the hash is marked
        complete if it has not moved since.
        """
        building = keys.tiers_building(run_id)
        self.client.delete(building)
        count = 0
        batch: dict[str, str] = {}
        pipe = self.client.pipeline(transaction=False)
        for phone, tier, patient_id, *name in entries:
            value = f"{tier}{SEP}{patient_id}{SEP}{run_id}"
            batch[phone] = f"{value}{SEP}{name[0]}" if name else value
            if len(batch) >= chunk:
                pipe.hset(building, mapping=batch)
                pipe.execute()
                count += len(batch)
                batch = {}
        if batch:
            pipe.hset(building, mapping=batch)
            pipe.execute()
            count += len(batch)
        with self.client.pipeline(transaction=True) as swap:
            swap.watch(keys.tiers_epoch())
            complete = complete_at is not None and int(swap.get(keys.tiers_epoch()) or 0) == complete_at
            swap.multi()
            if complete:
                swap.hset(building, COMPLETE, run_id)
            if count or complete:
                swap.rename(building, keys.tiers())
            else:
                swap.delete(keys.tiers())
            swap.set(keys.tiers_run(), run_id)
            try:
                swap.execute()
            except redis.WatchError:  # phones changed at the last moment: publish, but not as complete
                swap.reset()
                if count:
                    self.client.pipeline(transaction=True).hdel(building, COMPLETE).rename(
                        building, keys.tiers()
                    ).set(keys.tiers_run(), run_id).execute()
                else:
                    self.client.pipeline(transaction=True).delete(keys.tiers()).set(
                        keys.tiers_run(), run_id
                    ).execute()
        return count


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw
