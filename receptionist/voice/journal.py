"""The call journal: call-record writes kept in Redis by the webhooks, drained into SQL in batches.

Why: an SQL transaction per webhook cost the caller-facing request more than everything else it did. The
webhook instead appends its record operations (`callrecord.py`) to a Redis list in the same atomic write
that saves the call's state (`callstate.py`), so a call's state and its record writes are kept together or not at all, in one
round trip. Embedded Redis runs with append-only persistence.

Draining moves the whole journal to a "draining" list in one RENAME, then applies it to SQL in chunks,
trimming each chunk only after its transaction has committed: a drain that dies half-way leaves the rest
(and at worst one committed chunk, which applies again as a no-op) for the next drain. One drain runs at a
time, under a lock, so entries reach SQL in the order the webhooks wrote them.

Who drains: the worker every few seconds, a call's final status callback (never waiting: when another drain holds
the lock, the callback waits in the status backlog, `statuses.py`), and anything that reads call
records (`CallFlow.outcome`), so a reader sees its own writes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

import redis
from redis.exceptions import LockError
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from receptionist.store import Store, keys
from receptionist.voice import callrecord

log = logging.getLogger(__name__)

CHUNK = 500
# The drain's lease, renewed before and after every chunk: a drainer killed mid-drain holds the journal up
# for at most this long, and no webhook ever waits on it (a final status goes to the backlog instead).
LOCK_SECONDS = 8


def encode(entries: Sequence[dict[str, Any]]) -> list[str]:
    """Entries as the journal holds them; the caller RPUSHes them to `keys.journal()` with the call state."""
    return [json.dumps(e, separators=(",", ":")) for e in entries]


def write_direct(store: Store, entries: Sequence[dict[str, Any]]) -> None:
    """Redis is unreachable: the same operations, applied to SQL now."""
    if entries:
        with store.session() as session:
            callrecord.apply(session, entries)


def backlog(client: redis.Redis) -> int:
    """Entries not yet in SQL (for health checks and tests)."""
    pipe = client.pipeline(transaction=False)
    pipe.llen(keys.journal())
    pipe.llen(keys.journal_draining())
    return sum(pipe.execute())


def drain(client: redis.Redis, store: Store, *, wait_s: float = 0.0, chunk: int = CHUNK) -> int | None:
    """Apply every journal entry to SQL; returns how many, or None when another drain held the lock past `wait_s`.

    A reader that needs its own writes passes `wait_s`: it then waits for a running drain to finish (and
    commit) and drains what is left itself.
    """
    lock = client.lock(
        keys.journal_lock(),
        timeout=LOCK_SECONDS,
        sleep=0.01,
        blocking=wait_s > 0,
        blocking_timeout=wait_s if wait_s > 0 else None,
    )
    if not lock.acquire():
        return None
    done = 0
    try:
        while True:
            lock.extend(LOCK_SECONDS, replace_ttl=True)
            raw = client.lrange(keys.journal_draining(), 0, chunk - 1)
            if not raw:
                if not client.exists(keys.journal()):
                    return done
                client.rename(keys.journal(), keys.journal_draining())
                continue
            _apply_chunk(client, store, raw)
            client.ltrim(keys.journal_draining(), len(raw), -1)
            done += len(raw)
    finally:
        try:
            lock.release()
        except LockError:
            log.warning("call journal: the drain lock expired during a drain")


def _apply_chunk(client: redis.Redis, store: Store, raw: list[bytes | str]) -> None:
    """One transaction for the chunk; if SQL refuses it for its content, entry by entry, setting aside bad ones."""
    entries = [_decode(r) for r in raw]
    if all(e is not None for e in entries):
        try:
            write_direct(store, entries)  # type: ignore[arg-type]
            return
        except OperationalError:
            raise  # SQL is down: everything stays in the journal for the next drain
        except (SQLAlchemyError, KeyError, TypeError, ValueError):
            log.exception("call journal: a chunk was refused; applying its entries one by one")
    for body, entry in zip(raw, entries, strict=True):
        try:
            if entry is None:
                raise ValueError("unreadable entry")
            write_direct(store, [entry])
        except OperationalError:
            raise
        except (SQLAlchemyError, ValueError, KeyError, TypeError):
            log.error("call journal: an entry was refused by the store; kept in %s", keys.journal_failed())
            client.rpush(keys.journal_failed(), body)


def _decode(body: bytes | str) -> dict[str, Any] | None:
    try:
        entry = json.loads(body)
    except ValueError:
        return None
    return entry if isinstance(entry, dict) and "op" in entry else None
