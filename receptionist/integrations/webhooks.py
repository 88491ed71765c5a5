"""Outgoing webhooks: outcomes (bookings, callbacks, messages, opt-outs, responses, reactivations) sent to each
integration that has a webhook URL, signed like requests in, each delivery its own RQ job retried with back-off.

Body: `{"id": <the outcome's key, unique: use it to drop repeats>, "type": "outcome.<kind>", "patient_id",
"channel", "at", "amount_cents"}` with `X-Signature: t=...,v2=...` under the key's signing secret, over
`POST`, the webhook URL's path (with its query) and the body, as requests in are signed. A revoked key's
deliveries are dropped. Tiers and scores are not sent.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from typing import Any

from redis import Redis
from rq import Retry
from sqlalchemy import select

from receptionist import jobqueue
from receptionist.integrations import signing
from receptionist.integrations.sealing import Sealer
from receptionist.jobqueue import Jobs
from receptionist.outcomes.events import Event
from receptionist.store import ApiKey, Store, keys

log = logging.getLogger(__name__)

KINDS = {"booked", "rescheduled", "cancelled", "callback", "message", "opted_out", "responded", "reactivated"}
TIMEOUT_S = 10
BACKOFF = [10, 60, 300, 1800, 7200]


FAILURES_KEPT = 200  # the dashboard's list of failed deliveries keeps the newest this many


class DeliveryFailed(Exception):
    """A delivery that did not get a 2xx: an expected failure, retried; logged as one line, no traceback."""


def record_failure(
    redis: Redis, key_id: str, delivery_id: str, reason: str, at: dt.datetime, *, retry_in: int | None
) -> None:
    """Keep a failed delivery for the dashboard (ids and the reason only: no patient data); `retry_in` None
    means it was the last try."""
    entry = {
        "key_id": key_id,
        "id": delivery_id,
        "reason": reason,
        "at": at.isoformat(),
        "retry_in": retry_in,
    }
    pipe = redis.pipeline()
    pipe.lpush(keys.webhook_failures(), json.dumps(entry))
    pipe.ltrim(keys.webhook_failures(), 0, FAILURES_KEPT - 1)
    pipe.execute()


def recent_failures(redis: Redis, limit: int = 50) -> list[dict[str, Any]]:
    """The newest failed deliveries first; unreadable entries are skipped."""
    out = []
    for raw in redis.lrange(keys.webhook_failures(), 0, limit - 1):
        try:
            entry = json.loads(raw)
            entry["at"] = dt.datetime.fromisoformat(entry["at"])
        except (ValueError, KeyError, TypeError):
            continue
        out.append(entry)
    return out


def payload(event: Event) -> dict[str, Any]:
    return {
        "id": event.key,
        "type": f"outcome.{event.kind}",
        "patient_id": event.patient_id,
        "channel": event.channel,
        "at": event.at.isoformat(),
        "amount_cents": int(event.amount_cents),
    }


def targets(store: Store) -> list[str]:
    with store.sessions() as s:
        return list(s.scalars(select(ApiKey.id).where(ApiKey.revoked_at.is_(None), ApiKey.webhook_url != "")))


def notify(store: Store, jobs: Jobs, events: Iterable[Event]) -> int:
    """Enqueue one delivery per webhook and outcome worth telling; returns how many."""
    chosen = [payload(e) for e in events if e.kind in KINDS]
    if not chosen:
        return 0
    keys = targets(store)
    for key_id in keys:
        for body in chosen:
            jobs.enqueue(
                jobqueue.DELIVER_WEBHOOK,
                key_id,
                body,
                retry=Retry(max=len(BACKOFF), interval=BACKOFF),
                job_timeout=60,
                result_ttl=3600,
                failure_ttl=7 * 86400,
            )
    return len(keys) * len(chosen)


def listener(store: Store, jobs: Jobs) -> Callable[[list[Event]], None]:
    """What the outcome log calls with its new events (the services wire it): deliveries, enqueued."""

    def on_new(events: list[Event]) -> None:
        try:
            notify(store, jobs, events)
        except Exception:  # a webhook never breaks the outcome it reports
            log.exception("webhooks for %d outcome(s) not enqueued", len(events))

    return on_new


def url_path(url: str) -> str:
    """The path a webhook's signature covers: the URL's path (at least `/`), with `?query` when it has one."""
    parts = urllib.parse.urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def deliver(store: Store, sealer: Sealer, key_id: str, body: dict[str, Any], now: dt.datetime) -> str:
    """POST one outcome to the key's URL, signed and dated `now`; raises `DeliveryFailed` for RQ to retry on
    anything but 2xx."""
    with store.sessions() as s:
        key = s.get(ApiKey, key_id)
    if key is None or key.revoked_at is not None or not key.webhook_url:
        return "dropped: key revoked or without a webhook URL"
    raw = json.dumps(body, separators=(",", ":")).encode()
    request = urllib.request.Request(
        key.webhook_url,
        data=raw,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "receptionist-webhooks/1",
            "X-Signature": signing.sign(
                sealer.open(key.signing_secret), "POST", url_path(key.webhook_url), raw, int(now.timestamp())
            ),
            "X-Webhook-Id": str(body.get("id", "")),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # the operator's URL
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (urllib.error.URLError, OSError) as exc:
        raise DeliveryFailed(f"webhook {key_id}: {type(exc).__name__}") from None
    if not 200 <= status < 300:
        raise DeliveryFailed(f"webhook {key_id}: HTTP {status}")
    return f"delivered: HTTP {status}"
