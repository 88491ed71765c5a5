"""A call's durable record as a list of write operations, and the one function that applies them to SQL.

The webhooks describe what a call's record should become (its routing, each transcript turn, what it
achieved) as small JSON-able operations. They normally travel through the Redis journal (`journal.py`) and
are applied later in batches; while Redis is unreachable the webhook applies them itself, at once. Both go
through `apply`, so a drained record is exactly what a direct write would have made.

`apply` is idempotent for a replayed batch: a call is upserted by CallSid and a turn is keyed by
(CallSid, seq), so entries applied again after a drain was interrupted change nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from receptionist.clock import utc
from receptionist.store import Call, CallTurn

# Record columns an operation may set; anything else in an entry is ignored rather than trusted.
RECORD_FIELDS = (
    "direction",
    "location_id",
    "caller",
    "patient_id",
    "tier",
    "route",
    "outcome",
    "transfer",
    "transfer_seconds",
)
_IN_CHUNK = 400  # bound parameters per IN (...) query


def record(sid: str, values: dict[str, Any], at: dt.datetime) -> dict[str, Any]:
    """The call's record as routing decided it (created, or reset when Twilio retries the first webhook)."""
    return {"op": "record", "sid": sid, "values": values, "at": at.isoformat()}


def state_snapshot(sid: str, rev: int, state: dict[str, Any]) -> dict[str, Any]:
    """The call's conversation state as saved the `rev`-th time: the call record's durable copy of it."""
    return {"op": "state", "sid": sid, "rev": rev, "state": state}


def state_entry(sid: str, rev: int, state_json: str) -> str:
    """`state_snapshot` already encoded for the journal, around the state's JSON (which the save has made)."""
    return f'{{"op":"state","sid":{json.dumps(sid)},"rev":{rev},"state":{state_json}}}'


def turn(
    sid: str,
    seq: int,
    caller: str,
    said: str,
    facts: dict[str, Any],
    patient_id: str | None,
    route: str | None,
    at: dt.datetime,
    values: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One transcript turn with the call's facts so far (and, on the call's first turn, its record)."""
    return {
        "op": "turn",
        "sid": sid,
        "seq": seq,
        "caller": caller,
        "said": said,
        "facts": facts,
        "patient_id": patient_id,
        "route": route,
        "values": values,
        "at": at.isoformat(),
    }


def facts(sid: str, found: dict[str, Any]) -> dict[str, Any]:
    """Facts merged into an existing record."""
    return {"op": "facts", "sid": sid, "facts": found}


def events(sid: str, happened: list[dict[str, Any]]) -> dict[str, Any]:
    """Tool events (a slow turn's, say) folded into an existing record's facts."""
    return {"op": "events", "sid": sid, "events": happened}


def update(sid: str, values: dict[str, Any]) -> dict[str, Any]:
    """Columns set on an existing record (a transfer's result, say)."""
    return {"op": "update", "sid": sid, "values": values}


def apply_event(found: dict[str, Any], event: dict[str, Any]) -> None:
    """What one tool event means for the call's facts (the outcome shown to staff and the simulator)."""
    action = event.get("action")
    before = found.get("appointment") or {}
    if (
        action == "cancelled"
        and before.get("action") == "booked"
        and before.get("start") == event.get("start")
        and before.get("patient_id") == event.get("patient_id")
    ):
        found["appointment"] = None  # a booking undone in the same call ("no wait, don't book it"): none made
    elif action in ("booked", "rescheduled", "cancelled"):
        found["appointment"] = {
            "action": action,
            "start": event.get("start"),
            **{k: event[k] for k in ("kind", "provider", "minutes", "patient_id") if k in event},
        }
    elif action == "opted_out":
        found["opted_out"] = True
    elif action == "message":
        found["message_taken"] = True
        if event.get("text"):
            found["messages"] = [*found.get("messages", []), event["text"]][-10:]
    elif action == "callback":
        found["callback_queued"] = True
        entry = {"reason": event.get("reason", ""), "priority": event.get("priority", "normal")}
        found["callbacks"] = [*found.get("callbacks", []), entry][-10:]
    elif action == "emergency":
        found["emergency"] = True
        found["callback_queued"] = True
        entry = {"reason": "emergency", "priority": "urgent"}
        found["callbacks"] = [*found.get("callbacks", []), entry][-10:]
    elif action == "triage":
        found["triage"] = event.get("level")
    elif action == "identity":
        found["identity"] = event.get("result")
    elif action == "language":
        found["language"] = event.get("language")


def apply(session: Session, entries: Sequence[dict[str, Any]]) -> None:
    """Apply operations in order inside the caller's transaction: two reads per batch, then plain inserts."""
    sids = list(dict.fromkeys(e["sid"] for e in entries if e.get("sid")))
    calls: dict[str, Call] = {}
    known_turns: set[tuple[str, int]] = set()
    for part in _parts(sids):
        calls.update((c.sid, c) for c in session.scalars(select(Call).where(Call.sid.in_(part))))
        known_turns.update(
            (sid, seq)
            for sid, seq in session.execute(
                select(CallTurn.call_sid, CallTurn.seq).where(CallTurn.call_sid.in_(part))
            )
        )
    for entry in entries:
        sid = entry.get("sid")
        if not sid:
            continue
        op = entry["op"]
        call = calls.get(sid)
        if op in ("record", "turn") and call is None:
            values = entry.get("values") if op == "turn" else entry["values"]
            call = Call(
                sid=sid, facts={}, **_when(entry, "started_at"), **_fields(values or {"direction": "inbound"})
            )
            session.add(call)
            calls[sid] = call
        elif op in ("record", "turn"):
            for key, value in _fields(entry.get("values") or {}).items():  # Twilio retried the first webhook
                setattr(call, key, value)
        if call is None:
            continue  # facts, events or an update for a call never recorded: nothing to attach them to
        if op == "turn":
            if (sid, entry["seq"]) not in known_turns:
                session.add(
                    CallTurn(
                        call_sid=sid,
                        seq=entry["seq"],
                        caller=entry["caller"],
                        receptionist=entry["said"],
                        **_when(entry, "created_at"),
                    )
                )
                known_turns.add((sid, entry["seq"]))
            # merged, never replaced: a slow turn that finished after its caller moved on added its own
            call.facts = {**(call.facts or {}), **entry["facts"]}
            if entry.get("patient_id") and not call.patient_id:
                call.patient_id = entry["patient_id"]
            if entry.get("route"):
                call.route = entry["route"]
        elif op == "facts":
            call.facts = {**(call.facts or {}), **entry["facts"]}
        elif op == "events":
            merged = dict(call.facts or {})
            for event in entry["events"]:
                apply_event(merged, event)
            call.facts = merged
        elif op == "update":
            for key, value in _fields(entry["values"]).items():
                setattr(call, key, value)
        elif op == "state":
            # only forward: a journal drained late (Redis back with older entries) never undoes a newer copy
            if call.ended_at is None and int(entry["rev"]) > int((call.state or {}).get("rev", -1)):
                call.state = entry["state"]


def _fields(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k in RECORD_FIELDS}


def _when(entry: dict[str, Any], column: str) -> dict[str, dt.datetime]:
    """The entry's own time for `column`; an entry without one (written by an older release) leaves the column
    to its default, the store's clock."""
    at = entry.get("at")
    return {column: utc(dt.datetime.fromisoformat(at))} if at else {}  # the store keeps UTC (`clock.utc`)


def _parts(items: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(items), _IN_CHUNK):
        yield items[start : start + _IN_CHUNK]
