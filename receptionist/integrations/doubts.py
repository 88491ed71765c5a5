"""Data the integration API accepts but doubts: it is stored, and the response says why it may be wrong.

The rule (README, OpenAPI document): what cannot be stored truthfully is refused with a 422 naming the field
(a time without a UTC offset, an unknown location); what is plausible but unusual is accepted with a warning
naming the field, `{"field": "appointments[0].provider", "message": "..."}`, in the response's `warnings`:
- a provider the practice file does not name at that location (a new hire the file does not list yet);
- a phone number another patient already has (families share a number; the tier lookup prefers the first);
- a booking event whose patient is not known (a new patient booking online: stored, matched to no one).
Pure over what it is handed, plus one bounded read for shared phones; no patient data in the messages beyond
the ids the caller sent.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select

from receptionist.config.practice import Practice
from receptionist.store import PatientPhone

Doubt = dict[str, str]


def warning(field: str, message: str) -> Doubt:
    return {"field": field, "message": message}


def provider_doubt(practice: Practice, location_id: str, provider: str, field: str) -> Doubt | None:
    """A warning when `provider` is not one the practice file names at that location (none for no provider)."""
    if not provider:
        return None
    location = next((loc for loc in practice.locations if loc.id == location_id), practice.main)
    if provider in location.providers:
        return None
    known = ", ".join(location.providers) or "none"
    return warning(
        field,
        f"{provider!r} is not a provider of location {location.id} in the practice file (known: {known})",
    )


def shared_phones(conn: Any, patients: Iterable[tuple[str, tuple[str, ...]]], where: str) -> list[Doubt]:
    """A warning per phone that another patient (in the store or earlier in the batch) already has.

    `patients`: (patient id, its E.164 phones) in batch order; `where` names the batch list ("patients")."""
    batch = list(patients)
    numbers = sorted({ph for _, phones in batch for ph in phones})
    owners: dict[str, set[str]] = {}
    for start in range(0, len(numbers), 500):
        for pid, phone in conn.execute(
            select(PatientPhone.patient_id, PatientPhone.phone).where(
                PatientPhone.phone.in_(numbers[start : start + 500])
            )
        ):
            owners.setdefault(phone, set()).add(pid)
    out = []
    for i, (pid, phones) in enumerate(batch):
        for j, phone in enumerate(phones):
            others = sorted(owners.get(phone, set()) - {pid})
            if others:
                shown = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
                out.append(
                    warning(
                        f"{where}[{i}].phones[{j}]",
                        f"also the number of patient {shown}: stored for both (a shared family number?)",
                    )
                )
            owners.setdefault(phone, set()).add(pid)
    return out
