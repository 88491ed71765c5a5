"""The function tools a model may call, their JSON schemas, strict argument checks, and their execution.

Every call is checked before anything happens: the arguments must be a JSON object with exactly the
documented fields and types; slot ids must be ones `find_open_slots` gave the model during this call, and
appointment ids ones `my_appointments` (after `verify_identity`) or a booking gave it. A bad or invented
argument comes back to the model as `{"error": ...}`; it never reaches the store. No tool takes a patient:
`Tools` is bound to the caller, so there is nothing to point at someone else (turns about a family member go
to the offline engine, where family links and identity checks are code).

Results carry the minimum: spoken times, providers and ids, never dates of birth or anything about value.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from receptionist.config import visit_types
from receptionist.conversation.nlu import understand
from receptionist.conversation.policy.family import match_member
from receptionist.conversation.policy.identity import MAX_TRIES
from receptionist.conversation.types import AppointmentView, CallContext, SlotView, ToolError, Tools
from receptionist.scheduling.schedule import Wanted
from receptionist.wording import spoken

log = logging.getLogger(__name__)

# what callers ask for (the practice file maps each to its own visit type); emergencies are triaged in code
KINDS = tuple(k for k in visit_types.KINDS if k != "emergency")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MAX_REMEMBERED = 12
MAX_ID_ATTEMPTS = MAX_TRIES  # the shared identity policy


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
_TIME = {"type": "string", "description": "HH:MM"}
_FOR = {
    "type": "string",
    "description": "a family member on the caller's record, by first name as listed; leave out for the caller",
}
_WEEKDAY = {"type": "string", "enum": list(WEEKDAYS)}

SPECS: list[dict[str, Any]] = [
    _fn(
        "find_open_slots",
        "Find the earliest open times at this location for what the caller asks (the practice picks the visit "
        "type: a new patient gets a new-patient exam, a child a child's visit), honouring what they can't do.",
        {
            "kind": {"type": "string", "enum": list(KINDS)},
            "for_person": _FOR,
            "part_of_day": {"type": "string", "enum": ["morning", "afternoon"]},
            "weekday": _WEEKDAY,
            "not_weekdays": {"type": "array", "items": _WEEKDAY},
            "on_or_after": _DATE,
            "not_on": {"type": "array", "items": _DATE},
            "after_time": _TIME,
            "before_time": _TIME,
            "provider": _TEXT,
            "not_provider": _TEXT,
        },
        ("kind",),
    ),
    _fn(
        "book_appointment",
        "Book one of the open slots find_open_slots returned, for the caller or the family member it was "
        "found for.",
        {"slot_id": _ID},
        ("slot_id",),
    ),
    _fn(
        "verify_identity",
        "Confirm the date of birth on file for the caller, or for a family member on their record, before "
        "their appointments are read, moved or cancelled.",
        {"date_of_birth": _DATE, "for_person": _FOR},
        ("date_of_birth",),
    ),
    _fn(
        "my_appointments",
        "Upcoming appointments of the caller, or of a family member (identity verified first).",
        {"for_person": _FOR},
    ),
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
        if kind["type"] == "array":
            if not isinstance(value, list) or len(value) > 14:
                raise BadCall(f"{name} must be a list of at most 14 items")
            item = {"type": "string", **kind["items"]}
            args[name] = [_value(name, v, item) for v in value]
            continue
        args[name] = _value(name, value, kind)
    return args


def _value(name: str, value: Any, kind: dict[str, Any]) -> Any:
    """One argument checked against its schema: the value to use, or BadCall."""
    if kind["type"] == "integer" and (isinstance(value, bool) or not isinstance(value, int)):
        raise BadCall(f"{name} must be an integer")
    if kind["type"] == "boolean" and not isinstance(value, bool):
        raise BadCall(f"{name} must be true or false")
    if kind["type"] == "string":
        if not isinstance(value, str) or not value.strip():
            raise BadCall(f"{name} must be a non-empty string")
        if "enum" in kind and value not in kind["enum"]:
            raise BadCall(f"{name} must be one of {', '.join(kind['enum'])}")
        if len(value) > 200:
            raise BadCall(f"{name} must be at most 200 characters")
        if kind.get("description") == "YYYY-MM-DD":
            return _date(value, name)
        if kind.get("description") == "HH:MM":
            return _minute(value, name)
    return value


def _minute(value: str, name: str) -> int:
    try:
        t = dt.time.fromisoformat(value)
    except ValueError:
        raise BadCall(f"{name} must be a time as HH:MM") from None
    return t.hour * 60 + t.minute


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
        for item in self.st.get("appts", []):
            if item["id"] == appointment_id:
                return item
        if not self.st.get("identified"):
            raise BadCall("verify the caller's identity with verify_identity first")
        raise BadCall("appointment_id must be one of the ids my_appointments returned in this call")

    def _person(self, for_person: str | None) -> str | None:
        """The patient id of a family member on the caller's record named `for_person` (None: the caller)."""
        if for_person is None or for_person.strip().lower() in ("me", "myself", "caller", "self"):
            return None
        caller = self.tools.caller()
        if caller.first_name and for_person.strip().lower() == caller.first_name.lower():
            return None
        member = match_member(caller, for_person)
        if member is None:
            raise BadCall(
                "no family member by that name on the caller's record; only the caller's own family can be "
                "helped here: offer a callback from the front desk"
            )
        return member.patient_id

    def _verified(self, pid: str | None) -> bool:
        return bool(self.st.get("identified")) if pid is None else pid in self.tools.verified

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
        for_person: str | None = None,
        part_of_day: str | None = None,
        weekday: str | None = None,
        not_weekdays: list[str] | None = None,
        on_or_after: dt.date | None = None,
        not_on: list[dt.date] | None = None,
        after_time: int | None = None,
        before_time: int | None = None,
        provider: str | None = None,
        not_provider: str | None = None,
    ) -> dict[str, Any]:
        pid = self._person(for_person)
        after = None
        if on_or_after is not None:
            if on_or_after > self.ctx.now.date() + dt.timedelta(days=366):
                raise BadCall("on_or_after must be within a year")
            after = dt.datetime.combine(on_or_after, dt.time(0), tzinfo=self.ctx.now.tzinfo)
        earliest = max(
            x for x in (after_time, 720 if part_of_day == "afternoon" else None, 0) if x is not None
        )
        latest = min(
            x for x in (before_time, 720 if part_of_day == "morning" else None, 1440) if x is not None
        )
        wanted = Wanted(
            after=after,
            weekdays=frozenset({WEEKDAYS.index(weekday)}) if weekday else frozenset(),
            excluded_weekdays=frozenset(WEEKDAYS.index(w) for w in not_weekdays or ()),
            excluded_days=frozenset(not_on or ()),
            earliest_minute=earliest or None,
            latest_minute=latest if latest < 1440 else None,
            providers=self._providers(provider),
            excluded_providers=self._providers(not_provider),
        )
        slots = self.tools.openings(kind, wanted, for_patient=pid, limit=3)
        views = [{**self._slot_view(s, kind), "for": pid} for s in slots]
        self._remember("slots", views)
        return {"slots": [{"slot_id": v["id"], "when": v["when"]} for v in views]}

    def _providers(self, said: str | None) -> tuple[str, ...]:
        """The location's providers a name or role matches ("Dr. Chen", "Chen", "the hygienist"), read the
        way the offline engine reads them."""
        if said is None:
            return ()
        known = tuple(self.ctx.location.providers) if self.ctx.location is not None else ()
        ref = understand(said, now=self.ctx.now, language="en", providers=known).entities.provider
        if ref is not None and ref.name in known:
            return (str(ref.name),)
        if ref is not None and ref.name is None and ref.heard is None and ref.role:
            title = {"dentist": "dr", "hygienist": "hygienist"}.get(ref.role, ref.role)
            matching = tuple(p for p in known if p.lower().replace(".", "").split()[0] == title)
            if matching:
                return matching
        raise BadCall(f"provider must be one of: {', '.join(known) or 'none listed'}")

    def _book_appointment(self, slot_id: int) -> dict[str, Any]:
        slot = self._slot(slot_id)
        if self.tools.patient_id is None:
            raise BadCall("the caller is not registered: ask their name and call register_caller first")
        booked = self.tools.book(slot_id, slot["kind"], for_patient=slot.get("for"))
        view = self._appt_view(booked)
        self._remember("appts", [view])
        self.st["slots"] = [s for s in self.st.get("slots", []) if s["id"] != slot_id]
        return {"booked": {"appointment_id": view["id"], "when": view["when"]}}

    def _verify_identity(self, date_of_birth: dt.date, for_person: str | None = None) -> dict[str, Any]:
        pid = self._person(for_person)
        if self._verified(pid):
            return {"verified": True}
        attempts = self.st.get("id_attempts", 0)
        if attempts >= MAX_ID_ATTEMPTS:
            raise ToolError("Too many attempts; offer a message or a callback instead.")
        self.st["id_attempts"] = attempts + 1
        ok = bool(self.tools.verify_identity(date_of_birth, for_patient=pid))
        if ok and pid is None:
            self.st["identified"] = True
        return {"verified": ok}

    def _my_appointments(self, for_person: str | None = None) -> dict[str, Any]:
        pid = self._person(for_person)
        if not self._verified(pid):
            raise BadCall("verify the identity with verify_identity first (for the same person)")
        views = [self._appt_view(a) for a in self.tools.upcoming(for_patient=pid)[:6]]
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
