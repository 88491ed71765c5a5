"""Calls whose final status callback never arrived: ask Twilio how they ended, and sum them up.

Twilio does not retry a status callback that failed (a network fault, a server down during a deploy), so a
call could stay "in-progress" in the store for good, with no outcome. The worker looks every few minutes at
calls that have not ended and began more than `OLDER_THAN` ago, asks Twilio for each (`TwilioApi.fetch_call`),
and applies what Twilio says as that call's final status callback would have been applied: the journal first,
then the forward-only status and the outcome (`CallFlow.status`), so nothing is counted twice and a final
status already applied stays as it is. A call Twilio still has in progress is left alone; one Twilio does not
know is closed only once its conversation state has long expired (`callstate.TTL_SECONDS`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Protocol

from sqlalchemy import select

from receptionist.clock import utc
from receptionist.store import Call, Store
from receptionist.telephony.params import TERMINAL, CallParams
from receptionist.voice.callstate import TTL_SECONDS

log = logging.getLogger(__name__)

OLDER_THAN = dt.timedelta(minutes=15)
EVERY = dt.timedelta(minutes=5)
BATCH = 50


class CallLookup(Protocol):
    def fetch_call(self, sid: str) -> tuple[str, int | None] | None:
        """(status, duration in seconds) of a call, or None when Twilio does not know it."""


def reconcile_calls(
    store: Store,
    twilio: CallLookup,
    apply_status: Callable[[CallParams], object],
    now: dt.datetime,
    *,
    older_than: dt.timedelta = OLDER_THAN,
    batch: int = BATCH,
) -> dict[str, int]:
    """Settle up to `batch` open inbound calls older than `older_than`; counts of what was done."""
    now = utc(now)
    with store.sessions() as s:
        open_calls = s.execute(
            select(Call.sid, Call.started_at)
            .where(
                Call.ended_at.is_(None),
                Call.direction == "inbound",
                Call.started_at < now - older_than,
            )
            .order_by(Call.started_at)
            .limit(batch)
        ).all()
    counts = {"settled": 0, "in_progress": 0, "unknown": 0, "closed": 0}
    for sid, started in open_calls:
        try:
            found = twilio.fetch_call(sid)
        except Exception:  # noqa: BLE001 - Twilio unreachable: the next round asks again
            log.warning("call reconcile: Twilio could not be asked; trying again later")
            break
        if found is None:
            if utc(started) < now - dt.timedelta(seconds=TTL_SECONDS):
                apply_status(CallParams(call_sid=sid, call_status="completed"))
                counts["closed"] += 1
            else:
                counts["unknown"] += 1
            continue
        status, duration = found
        if status not in TERMINAL:
            counts["in_progress"] += 1
            continue
        apply_status(CallParams(call_sid=sid, call_status=status, call_duration=duration))
        counts["settled"] += 1
    if counts["settled"] or counts["closed"]:
        log.info("reconciled inbound calls: %s", counts)
    return counts
