"""Honouring an opt-out at once, across every channel: the patient's flag, every attempt still waiting, and
the consent ledger (`ConsentEvent`: when, how, which purposes; never the words).

Used by every door a patient can say stop through: a text in any reasonable words
(`conversation.revocation.revokes`),
the email unsubscribe link, "stop calling me" on a call (the conversation tools' `on_opt_out`), staff
recording it, the integration API. FCC 24-18 allows 10 business days; the product honours it at once: the
dispatcher re-reads the flag and the ledger under the patient's lock, and its claim of an attempt fails once
the patient is opted out.

Invariants: a revoking number gets at most one confirmation text, ever (`confirm_once`: the number is the
key of `ConsentConfirmation`, so two racing requests cannot both win), sent in the reply to the revoking
text itself (well inside the 5 minutes the rule allows) and carrying no marketing (`wording.contacts`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

from sqlalchemy import exists, select, update
from sqlalchemy.exc import IntegrityError

from receptionist.store import (
    ConsentConfirmation,
    ConsentEvent,
    OutreachAttempt,
    Patient,
    PatientPhone,
    Store,
)

log = logging.getLogger(__name__)
ALL_PURPOSES = "exempt marketing"  # a revocation covers both (the product's rule; see ConsentEvent)
CONFIRM_WITHIN = dt.timedelta(minutes=5)  # FCC 24-18: the one confirmation text, if any, within 5 minutes


def patients_with_phone(store: Store, phone: str) -> list[str]:
    with store.sessions() as s:
        return list(s.scalars(select(PatientPhone.patient_id).where(PatientPhone.phone == phone)))


def opt_out(store: Store, patient_ids: Iterable[str], *, how: str, now: dt.datetime, phone: str = "") -> int:
    """Opt these patients out of all outreach, on every channel and for every purpose; pending attempts are
    skipped; the ledger records it (one row per patient, or one for `phone` alone when it names none yet).
    Returns how many patients changed."""
    ids = list(dict.fromkeys(patient_ids))
    if not ids and not phone:
        return 0
    changed = 0
    with store.session() as s:
        targets: list[str | None] = list(ids) or [None]
        for pid in targets:
            s.add(
                ConsentEvent(
                    at=now, patient_id=pid, phone=phone, kind="revoked", purposes=ALL_PURPOSES, how=how[:40]
                )
            )
        if not ids:
            log.info("opt-out by %s: a number with no patient yet", how)
            return 0
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


def number_revoked(store: Store, phone: str | None) -> bool:
    """Whether this number ever revoked consent by text (it then gets no call or text from outreach)."""
    if not phone:
        return False
    with store.sessions() as s:
        return bool(s.scalar(select(exists().where(ConsentEvent.phone == phone))))


def confirm_once(store: Store, phone: str, revoked_at: dt.datetime, now: dt.datetime) -> bool:
    """Whether this number may get its one confirmation text now (and it is recorded as sent): only the
    first time it revokes, and only within `CONFIRM_WITHIN` of the revocation."""
    if not phone or now - revoked_at > CONFIRM_WITHIN:
        return False
    try:
        with store.session() as s:
            s.add(ConsentConfirmation(phone=phone, sent_at=now, revoked_at=revoked_at))
    except IntegrityError:
        return False  # confirmed before: no second text
    return True
