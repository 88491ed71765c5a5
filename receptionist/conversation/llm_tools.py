"""The function tools a model may call, their JSON schemas, strict argument checks, and their execution.

Every call is checked before anything happens: the arguments must be a JSON object with exactly the
documented fields and types; slot ids must be ones `find_open_slots` gave the model during this call, and
appointment ids ones `my_appointments` (after `verify_identity`) or a booking gave it. A bad or invented
argument comes back to the model as `{"error": ...}`; it never reaches the store. No tool takes a patient:
`Tools` is bound to the caller, so there is nothing to point at someone else.

Results carry the minimum: spoken times, providers and ids, never dates of birth or anything about value.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from receptionist.conversation.types import AppointmentView, CallContext, SlotView, ToolError, Tools
from receptionist.wording import spoken

log = logging.getLogger(__name__)

KINDS = ("cleaning", "checkup", "exam", "filling", "consultation")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MAX_REMEMBERED = 12
MAX_ID_ATTEMPTS = 3


def _fn(
    name: str, description: str, properties: dict[str, Any] | None = None, required: tuple[str, ...] = ()
) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {
                "type": "object",
                "properties": properties or {},
                "required": list(required),
                "additionalProperties": False,
            },
        },
    }


_ID = {"type": "integer"}
_DATE = {"type": "string", "description": "YYYY-MM-DD"}
_TEXT = {"type": "string"}

SPECS: list[dict[str, Any]] = [
    _fn(
        "find_open_slots",
        "Find the next open appointment times at this location.",
        {
            "kind": {"type": "string", "enum": list(KINDS)},
            "part_of_day": {"type": "string", "enum": ["morning", "afternoon"]},
            "weekday": {"type": "string", "enum": list(WEEKDAYS)},
            "on_or_after": _DATE,
        },
        ("kind",),
    ),
    _fn(
        "book_appointment",
        "Book one of the open slots find_open_slots returned, for the caller.",
        {"slot_id": _ID},
        ("slot_id",),
    ),
    _fn(
        "verify_identity",
        "Confirm the caller's identity with the date of birth they said.",
        {"date_of_birth": _DATE},
        ("date_of_birth",),
    ),
    _fn("my_appointments", "The caller's own upcoming appointments (identity must be verified first)."),
    _fn(
        "reschedule_appointment",
        "Move one of the caller's appointments to an open slot.",
        {"appointment_id": _ID, "slot_id": _ID},
        ("appointment_id", "slot_id"),
    ),
    _fn(
        "cancel_appointment",
        "Cancel one of the caller's appointments.",
        {"appointment_id": _ID},
        ("appointment_id",),
    ),
    _fn(
        "register_caller",
        "Create a record for a new caller before booking.",
        {"first_name": _TEXT, "last_name": _TEXT},
        ("first_name", "last_name"),
    ),
    _fn("take_message", "Pass a message from the caller to the team.", {"text": _TEXT}, ("text",)),
    _fn("request_callback", "Ask the team to call the caller back.", {"reason": _TEXT}, ("reason",)),
    _fn(
        "update_contact_preferences",
        "Record whether we may contact the caller on one channel (call, text or "
        "email), with an optional note such as a good time. To stop all contact use opt_out instead.",
        {
            "channel": {"type": "string", "enum": ["call", "text", "email"]},
            "allowed": {"type": "boolean"},
            "note": _TEXT,
        },
        ("channel", "allowed"),
    ),
    _fn("transfer_to_staff", "Put the caller through to the front desk (only while the office is open)."),
    _fn("opt_out", "Stop all calls, texts and emails to the caller."),
    _fn("end_call", "End the call after saying goodbye."),
]
NAMES = frozenset(spec["function"]["name"] for spec in SPECS)


class BadCall(Exception):
    """A tool call the model got wrong; the message goes back to the model."""


def _args(raw: str | None, spec: dict[str, Any]) -> dict[str, Any]:
    try:
        args = json.loads(raw or "{}")
    except ValueError:
        raise BadCall("arguments are not valid JSON") from None
    if not isinstance(args, dict):
        raise BadCall("arguments must be a JSON object")
    params = spec["function"]["parameters"]
    allowed, required = params["properties"], params["required"]
    unknown = sorted(set(args) - set(allowed))
    if unknown:
        raise BadCall(f"unknown argument(s): {', '.join(unknown)}")
    missing = [name for name in required if args.get(name) is None]
    if missing:
        raise BadCall(f"missing argument(s): {', '.join(missing)}")
    for name, value in list(args.items()):
        if value is None:
            del args[name]
            continue
        kind = allowed[name]
        if kind["type"] == "integer" and (isinstance(value, bool) or not isinstance(value, int)):
            raise BadCall(f"{name} must be an integer")
        if kind["type"] == "boolean" and not isinstance(value, bool):
            raise BadCall(f"{name} must be true or false")
        if kind["type"] == "string":
            if not isinstance(value, str) or not value.strip():
                raise BadCall(f"{name} must be a non-empty string")
            if "enum" in kind and value not in kind["enum"]:
                raise BadCall(f"{name} must be one of {', '.join(kind['enum'])}")
            if kind.get("description") == "YYYY-MM-DD":
                args[name] = _date(value, name)
    return args


def _date(value: str, name: str) -> dt.date:
    try:
        if len(value) != 10:
            raise ValueError
        return dt.date.fromisoformat(value)
    except ValueError:
        raise BadCall(f"{name} must be a date as YYYY-MM-DD") from None


class Executor:
    """Runs the model's tool calls for one turn; remembers offered ids in the engine's `state`."""

    def __init__(self, ctx: CallContext, tools: Tools, state: dict[str, Any]) -> None:
        self.ctx = ctx
        self.tools = tools
        self.st = state
        self.action: str | None = None  # "transfer" | "hangup" once such a tool ran
        self.errors = 0

    def run(self, name: str, raw_args: str | None) -> dict[str, Any]:
        """The JSON-able result for the model: the tool's answer or `{"error": ...}`."""
        spec = next((s for s in SPECS if s["function"]["name"] == name), None)
        try:
            if spec is None:
                raise BadCall(f"there is no tool named {str(name)[:40]!r}")
            args = _args(raw_args, spec)
            return getattr(self, "_" + name)(**args)
        except BadCall as error:
            self.errors += 1
            log.info("call %s: tool call %s rejected", self.ctx.call_sid, name if spec else "(unknown)")
            return {"error": str(error)}
        except ToolError as error:
            return {"error": str(error)}

    # -- memory of what the model was shown ---------------------------------------------------------------
    def _remember(self, key: str, items: list[dict[str, Any]]) -> None:
        known = {item["id"]: item for item in self.st.get(key, [])}
        for item in items:
            known.pop(item["id"], None)
            known[item["id"]] = item
        self.st[key] = list(known.values())[-MAX_REMEMBERED:]

    def _slot(self, slot_id: int) -> dict[str, Any]:
        for item in self.st.get("slots", []):
            if item["id"] == slot_id:
                return item
        raise BadCall("slot_id must be one of the slot ids find_open_slots returned in this call")

    def _appointment(self, appointment_id: int) -> dict[str, Any]:
        if not self.st.get("identified"):
            raise BadCall("verify the caller's identity with verify_identity first")
        for item in self.st.get("appts", []):
            if item["id"] == appointment_id:
                return item
        raise BadCall("appointment_id must be one of the ids my_appointments returned in this call")

    def _slot_view(self, slot: SlotView, kind: str) -> dict[str, Any]:
        return {
            "id": slot.id,
            "kind": kind,
            "when": spoken.slot_phrase(slot.start, slot.provider, self.ctx.now),
        }

    def _appt_view(self, a: AppointmentView) -> dict[str, Any]:
        return {
            "id": a.id,
            "kind": a.kind,
            "when": spoken.appointment_phrase(a.kind, a.start, a.provider, self.ctx.now),
        }

    # -- the tools ----------------------------------------------------------------------------------------
    def _find_open_slots(
        self,
        kind: str,
        part_of_day: str | None = None,
        weekday: str | None = None,
        on_or_after: dt.date | None = None,
    ) -> dict[str, Any]:
        after = None
        if on_or_after is not None:
            if on_or_after > self.ctx.now.date() + dt.timedelta(days=366):
                raise BadCall("on_or_after must be within a year")
            after = dt.datetime.combine(on_or_after, dt.time(0), tzinfo=self.ctx.now.tzinfo)
        slots = self.tools.open_slots(
            kind=kind,
            after=after,
            part_of_day=part_of_day,
            weekday=WEEKDAYS.index(weekday) if weekday else None,
            limit=3,
        )
        views = [self._slot_view(s, kind) for s in slots]
        self._remember("slots", views)
        return {"slots": [{"slot_id": v["id"], "when": v["when"]} for v in views]}

    def _book_appointment(self, slot_id: int) -> dict[str, Any]:
        slot = self._slot(slot_id)
        if self.tools.patient_id is None:
            raise BadCall("the caller is not registered: ask their name and call register_caller first")
        booked = self.tools.book(slot_id, slot["kind"])
        view = self._appt_view(booked)
        self._remember("appts", [view])
        self.st["slots"] = [s for s in self.st.get("slots", []) if s["id"] != slot_id]
        return {"booked": {"appointment_id": view["id"], "when": view["when"]}}

    def _verify_identity(self, date_of_birth: dt.date) -> dict[str, Any]:
        check = getattr(self.tools, "verify_identity", None)
        if check is None:
            raise ToolError("I can't confirm identity by phone; our front desk can help with that.")
        if self.st.get("identified"):
            return {"verified": True}
        attempts = self.st.get("id_attempts", 0)
        if attempts >= MAX_ID_ATTEMPTS:
            raise ToolError("Too many attempts; offer a message or a callback instead.")
        self.st["id_attempts"] = attempts + 1
        ok = bool(check(date_of_birth))
        if ok:
            self.st["identified"] = True
        return {"verified": ok}

    def _my_appointments(self) -> dict[str, Any]:
        if not self.st.get("identified"):
            raise BadCall("verify the caller's identity with verify_identity first")
        views = [self._appt_view(a) for a in self.tools.upcoming()[:6]]
        self._remember("appts", views)
        return {"appointments": [{"appointment_id": v["id"], "when": v["when"]} for v in views]}

    def _reschedule_appointment(self, appointment_id: int, slot_id: int) -> dict[str, Any]:
        self._appointment(appointment_id)
        self._slot(slot_id)
        moved = self.tools.reschedule(appointment_id, slot_id)
        view = self._appt_view(moved)
        self.st["appts"] = [a for a in self.st.get("appts", []) if a["id"] != appointment_id]
        self._remember("appts", [view])
        self.st["slots"] = [s for s in self.st.get("slots", []) if s["id"] != slot_id]
        return {"rescheduled": {"appointment_id": view["id"], "when": view["when"]}}

    def _cancel_appointment(self, appointment_id: int) -> dict[str, Any]:
        self._appointment(appointment_id)
        cancelled = self.tools.cancel(appointment_id)
        self.st["appts"] = [a for a in self.st.get("appts", []) if a["id"] != appointment_id]
        return {"cancelled": {"when": self._appt_view(cancelled)["when"]}}

    def _register_caller(self, first_name: str, last_name: str) -> dict[str, Any]:
        if self.tools.patient_id is not None:
            return {"registered": True}
        if len(first_name) > 60 or len(last_name) > 60:
            raise BadCall("names must be at most 60 characters")
        self.tools.register_caller(first_name, last_name)
        return {"registered": True}

    def _take_message(self, text: str) -> dict[str, Any]:
        self.tools.take_message(text[:1000])
        return {"message_taken": True}

    def _request_callback(self, reason: str) -> dict[str, Any]:
        self.tools.queue_callback(reason[:150], "normal")
        return {"callback_queued": True}

    def _update_contact_preferences(self, channel: str, allowed: bool, note: str = "") -> dict[str, Any]:
        setter = getattr(self.tools, "set_contact_preference", None)
        if setter is None:  # tools without a store behind them: the team gets it as a message
            self.tools.take_message(
                f"Contact preferences ({channel}): {'yes' if allowed else 'no'} {note[:300]}"
            )
            return {"passed_to_team": True}
        setter(channel, allowed, note)
        return {"recorded": True, "channel": channel, "allowed": allowed}

    def _transfer_to_staff(self) -> dict[str, Any]:
        if not self.ctx.is_open:
            raise ToolError("The office is closed; offer a message or a callback instead.")
        self.action = "transfer"
        return {"transferring": True}

    def _opt_out(self) -> dict[str, Any]:
        self.tools.opt_out()
        self.st["opted_out"] = True
        return {"opted_out": True}

    def _end_call(self) -> dict[str, Any]:
        self.action = "hangup"
        return {"ending": True}
