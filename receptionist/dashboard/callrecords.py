"""What happened on a call, in words for staff: one pure decision over the call's row and, for a campaign's
outbound call, its attempt's result (the provider's final word: voicemail, no-answer, busy, ...).

An outbound call a machine answered is "Voicemail left", never "answered"; a call nobody picked up is
"No answer"; a transfer staff declined says so and what the caller got instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_OUTBOUND = {
    "voicemail": "Voicemail left",
    "no-answer": "No answer",
    "busy": "Line busy: not answered",
    "failed": "Could not be placed",
    "canceled": "Cancelled before it was answered",
}
_TRANSFER = {
    "declined": "Staff declined the transfer",
    "no-answer": "Staff did not answer the transfer",
    "busy": "The staff line was busy",
}
_ROUTE = {
    "staff": "Put through to staff",
    "ai": "Handled by the AI receptionist",
    "message": "Message taken",
    "emergency": "Emergency: told to call 911",
    "closed": "Closed: after-hours message",
}


def what_happened(
    direction: str,
    status: str,
    route: str | None,
    transfer: str | None,
    attempt_result: str | None = None,
    facts: Mapping[str, Any] | None = None,
) -> str:
    """One line: "Voicemail left", "No answer", "Staff declined the transfer; message taken", ..."""
    facts = facts or {}
    if direction == "outbound":
        for word in (attempt_result, status):
            if word in _OUTBOUND:
                return _OUTBOUND[word]
        if status in ("ringing", "queued", "initiated"):
            return "Ringing"
        head = "Answered: talked with the patient"
    elif transfer == "accepted":
        head = "Put through to staff"
    elif transfer in _TRANSFER:
        head = _TRANSFER[transfer]
        if not (facts.get("message_taken") or facts.get("callback_queued") or facts.get("appointment")):
            head += "; the AI receptionist carried on"
    elif status in _OUTBOUND and status != "voicemail":
        return "Missed: " + _OUTBOUND[status].lower()
    else:
        head = _ROUTE.get(route or "", "In progress" if status in ("ringing", "in-progress") else "Ended")
    extra = []
    appointment = facts.get("appointment")
    if isinstance(appointment, Mapping) and appointment.get("action"):
        extra.append(f"appointment {appointment['action']}")
    if facts.get("message_taken") and route != "message":
        extra.append("message taken")
    if facts.get("callback_queued"):
        extra.append("callback queued")
    if facts.get("opted_out"):
        extra.append("opted out")
    return head + ("; " + ", ".join(extra) if extra else "")
