"""Honouring an opt-out at once, across every channel: the patient's flag, and every attempt still waiting.

Used by every door a patient can say stop through: a STOP text, the email unsubscribe link, "stop calling me"
on a call (the conversation tools' `on_opt_out`), and staff recording it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

from sqlalchemy import select, update

from receptionist.store import OutreachAttempt, Patient, PatientPhone, Store

log = logging.getLogger(__name__)
STOP_WORDS = {
    "stop",
    "stopall",
    "quit",
    "end",
    "revoke",
    "opt out",
    "optout",
    "cancel",
    "unsubscribe",
    "stop calling",
    "stop texting",
    "remove",
    "remove me",
}


def is_stop(text: str | None) -> bool:
    """The carrier-standard stop keywords and their obvious variants, alone in the message ("Stop.", "STOP ALL")."""
    words = " ".join("".join(ch if ch.isalnum() else " " for ch in (text or "").lower()).split())
    return (
        words in STOP_WORDS
        or words.replace(" ", "") in STOP_WORDS
        or words in {"stop all", "stop please", "please stop"}
    )


def patients_with_phone(store: Store, phone: str) -> list[str]:
    with store.sessions() as s:
        return list(s.scalars(select(PatientPhone.patient_id).where(PatientPhone.phone == phone)))


def opt_out(store: Store, patient_ids: Iterable[str], *, how: str, now: dt.datetime) -> int:
    """Opt these patients out of all outreach; pending attempts are skipped. Returns how many changed."""
    ids = list(dict.fromkeys(patient_ids))
    if not ids:
        return 0
    changed = 0
    with store.session() as s:
        for pid in ids:
            patient = s.get(Patient, pid)
            if patient is not None and not patient.opted_out:
                patient.opted_out, patient.opted_out_at = True, now
                changed += 1
        s.execute(
            update(OutreachAttempt)
            .where(
                OutreachAttempt.patient_id.in_(ids),
                OutreachAttempt.status.in_(("listed", "queued", "deferred")),
            )
            .values(status="skipped", reason=f"opted out ({how})", finished_at=now)
        )
    log.info("opt-out by %s: %d patient(s)", how, changed)
    return changed
