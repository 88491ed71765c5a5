"""The audit log of staff access to patient data (HIPAA audit controls): who opened which patient, call
transcript or export, and when. Entries are only ever added (the store refuses updates and deletes); a
manager reads them on the Audit page and exports them as CSV. Searches are logged with how many patients
they listed, never the words searched for.
"""

from __future__ import annotations

import datetime as dt
import getpass
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import select

from receptionist.clock import utc
from receptionist.store import AuditEvent, Store

COLUMNS = ("at", "username", "role", "action", "patient_id", "target", "detail")
PAGE = 200


@dataclass(frozen=True)
class Actor:
    uid: str
    username: str
    role: str


def cli_actor() -> Actor:
    """The command line's operator: the account that ran the command."""
    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = "unknown"
    return Actor("cli", f"cli:{who}"[:64], "operator")


def record(
    store: Store,
    actor: Actor,
    action: str,
    now: dt.datetime,
    *,
    patient_id: str | None = None,
    target: str = "",
    detail: str = "",
) -> None:
    with store.session() as s:
        s.add(
            AuditEvent(
                at=now,
                user_uid=actor.uid,
                username=actor.username,
                role=actor.role,
                action=action,
                patient_id=patient_id,
                target=target[:200],
                detail=detail[:200],
            )
        )


def recent(
    store: Store, *, patient_id: str | None = None, username: str | None = None, limit: int = PAGE
) -> list[AuditEvent]:
    """The newest entries first, optionally of one patient or one staff member."""
    q = select(AuditEvent)
    if patient_id:
        q = q.where(AuditEvent.patient_id == patient_id)
    if username:
        q = q.where(AuditEvent.username == username)
    with store.sessions() as s:
        return list(s.scalars(q.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)))


def export_rows(store: Store, *, patient_id: str | None = None) -> Iterator[list[object]]:
    """Every entry, oldest first, as CSV rows in `COLUMNS` order."""
    q = select(AuditEvent)
    if patient_id:
        q = q.where(AuditEvent.patient_id == patient_id)
    with store.sessions() as s:
        for e in s.scalars(q.order_by(AuditEvent.at, AuditEvent.id).execution_options(yield_per=5000)):
            at = utc(e.at)
            yield [
                at.isoformat() if at else "",
                e.username,
                e.role,
                e.action,
                e.patient_id or "",
                e.target,
                e.detail,
            ]
