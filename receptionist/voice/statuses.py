"""Status callbacks that never fail: applied forward-only, or kept durably and applied later.

Twilio does not retry a status callback, so `/voice/status` always answers 2xx. A callback SQL cannot take
now (the store is down or locked, or the call's journal could not be brought into SQL first, so its outcome
would be summed up without its facts) is kept in the backlog: a Redis list, or, while Redis is unreachable
too, a local spool file (one JSON line per callback, appended and fsynced). The worker drains both after each
journal drain (`drain`), oldest first, each batch sorted by the call's own order (`order`).

Order is finally the store's guarantee: a call's status moves only forward (`forward`), by the status's
place in a call's life (queued < ringing < in-progress < a final status) and then by Twilio's SequenceNumber,
in one conditional UPDATE. So a late, replayed or simultaneous earlier status can never overwrite a later one,
and applying a callback twice changes nothing (its event row is unique).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import redis
from redis.exceptions import LockError
from sqlalchemy import ColumnElement, and_, case, or_

from receptionist.store import Call, keys
from receptionist.telephony.params import STATUS_ORDER, CallParams

log = logging.getLogger(__name__)

LOCK_SECONDS = 10  # the backlog drain's lease: a killed drainer holds nobody up for longer
CHUNK = 200

Apply = Callable[[CallParams, "str | None"], None]


def rank(status: str) -> int:
    """A status's place in a call's life: queued 0 ... in-progress 3, any final status 4."""
    return STATUS_ORDER.get(status, 0)


def order(item: Mapping[str, Any]) -> tuple[str, int, int]:
    """A queued callback's place: by call, then the status's rank, then Twilio's SequenceNumber."""
    p = CallParams.parse(item["form"])
    return p.call, rank(p.call_status), p.status_sequence


def forward(status: str, sequence: int) -> ColumnElement[bool]:
    """The condition under which a call's status may become `status` (the only direction is forward)."""
    current = case({name: value for name, value in STATUS_ORDER.items()}, value=Call.status, else_=0)
    new = rank(status)
    return or_(current < new, and_(current == new, Call.status_sequence < sequence))


class StatusBacklog:
    """Callbacks waiting to be applied: the Redis list first, the spool file when Redis is unreachable."""

    def __init__(self, client: redis.Redis, spool: Path) -> None:
        self.client = client
        self.spool = spool

    def put(self, form: Mapping[str, str], attempt: str | None) -> str:
        """Keep one callback; returns where ("redis" or "spool"). Raises only if neither can take it."""
        body = json.dumps({"form": dict(form), "attempt": attempt}, separators=(",", ":"))
        try:
            self.client.rpush(keys.status_backlog(), body)
            return "redis"
        except (redis.RedisError, OSError):
            log.warning("status backlog: Redis unavailable; spooling the callback to disk")
        self.spool.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.spool, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (body + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        return "spool"

    def size(self) -> int:
        """Callbacks not yet applied (Redis list and spool file); -1 where Redis cannot be asked."""
        spooled = sum(len(path.read_bytes().splitlines()) for path in self._spool_files())
        try:
            return int(self.client.llen(keys.status_backlog())) + spooled
        except (redis.RedisError, OSError):
            return -1

    def drain(self, apply: Apply) -> int:
        """Apply what is kept, spool first (it is older than Redis's entries once Redis is back); returns how
        many. A batch that fails (SQL still down) stays, whole, for the next drain: re-applying the part that
        succeeded changes nothing."""
        done = self._drain_spool(apply)
        lock = self.client.lock(keys.status_backlog_lock(), timeout=LOCK_SECONDS, blocking=False)
        if not lock.acquire():
            return done
        try:
            while True:
                raw = self.client.lrange(keys.status_backlog(), 0, CHUNK - 1)
                if not raw:
                    return done
                _apply_sorted([_decode(r) for r in raw], apply)
                self.client.ltrim(keys.status_backlog(), len(raw), -1)
                done += len(raw)
                lock.extend(LOCK_SECONDS, replace_ttl=True)
        finally:
            with contextlib.suppress(LockError):
                lock.release()

    def _spool_files(self) -> list[Path]:
        taken = self.spool.with_name(self.spool.name + ".draining")
        return [p for p in (taken, self.spool) if p.exists()]

    def _drain_spool(self, apply: Apply) -> int:
        if not self._spool_files():
            return 0
        done = 0
        with self._spool_lock() as held:
            if not held:
                return 0
            taken = self.spool.with_name(self.spool.name + ".draining")
            if not taken.exists() and self.spool.exists():
                self.spool.rename(taken)  # writers start a new spool; what was in it is this drain's
            if taken.exists():
                lines = [line for line in taken.read_text().splitlines() if line.strip()]
                _apply_sorted([_decode(line) for line in lines], apply)
                taken.unlink()
                done = len(lines)
        return done

    @contextlib.contextmanager
    def _spool_lock(self) -> Iterator[bool]:
        path = self.spool.with_name(self.spool.name + ".lock")
        with path.open("a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _apply_sorted(items: list[dict[str, Any] | None], apply: Apply) -> None:
    readable = [i for i in items if i is not None]
    if len(readable) < len(items):
        log.error("status backlog: %d unreadable entries dropped", len(items) - len(readable))
    for item in sorted(readable, key=order):
        apply(CallParams.parse(item["form"]), item.get("attempt"))


def _decode(body: bytes | str) -> dict[str, Any] | None:
    try:
        item = json.loads(body)
    except ValueError:
        return None
    return item if isinstance(item, dict) and isinstance(item.get("form"), dict) else None
