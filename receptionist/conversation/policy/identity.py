"""Identity before disclosure: caller ID alone never unlocks appointments.

A caller confirms the date of birth on file, with `MAX_TRIES` tries, before any appointment is read out, moved
or cancelled; with no date of birth on file nothing is read out and staff call back. Booking a new visit needs
no check (it discloses nothing). The tools enforce the same rule whatever an engine asks (`store_tools.py`).
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_TRIES = 3
NEEDS_IDENTITY = frozenset({"confirm", "reschedule", "cancel"})


@dataclass(frozen=True)
class Check:
    """Where an identity check stands for one record."""

    patient_id: str | None
    tries: int = 0
    verified: bool = False

    @property
    def exhausted(self) -> bool:
        return not self.verified and self.tries >= MAX_TRIES

    def after(self, ok: bool) -> Check:
        return Check(self.patient_id, self.tries + 1, ok)


def needs_identity(task: str) -> bool:
    return task in NEEDS_IDENTITY
