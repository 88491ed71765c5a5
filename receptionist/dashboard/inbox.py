"""The staff inbox's reads and writes: text threads the AI handed over, paged (never capped), urgent first.

A thread is one item per patient (or per number for a sender not on file): every hand-over is merged into it
(`handovers` counts them), so a flood of texts from one patient is one line, and the order (urgent, then new,
then the latest message) keeps an urgent item on the first page whatever else arrives.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, select

from receptionist.store import Patient, Store, TextMessage, TextThread
from receptionist.store.texting import THREAD_STATES

PAGE_SIZE = 25
MESSAGES_PAGE = 100
FILTERS = ("open", "new", "in_progress", "done", "all")
STATE_LABELS = {"new": "New", "in_progress": "In progress", "done": "Done", "": "With the assistant"}


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    page: int
    pages: int
    total: int


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def threads(store: Store, state: str = "open", page: int = 1, size: int = PAGE_SIZE) -> Page:
    """One page of inbox threads; `state` is one of FILTERS ("open": new and in progress)."""
    wanted = {"open": ("new", "in_progress"), "all": THREAD_STATES}.get(state, (state,))
    where = TextThread.inbox_state.in_(wanted)
    with store.sessions() as s:
        total = s.scalar(select(func.count()).select_from(TextThread).where(where)) or 0
        pages = max(1, -(-total // size))
        page = min(max(1, page), pages)
        order = (
            case({"urgent": 0, "high": 1}, value=TextThread.priority, else_=2),
            case({"new": 0, "in_progress": 1}, value=TextThread.inbox_state, else_=2),
            TextThread.last_message_at.desc(),
            TextThread.id.desc(),
        )
        rows = s.execute(
            select(TextThread, Patient.first_name, Patient.last_name)
            .outerjoin(Patient, Patient.id == TextThread.patient_id)
            .where(where)
            .order_by(*order)
            .offset((page - 1) * size)
            .limit(size)
        ).all()
        ids = [t.id for t, _, _ in rows]
        counts = dict(
            s.execute(
                select(TextMessage.thread_id, func.count())
                .where(TextMessage.thread_id.in_(ids))
                .group_by(TextMessage.thread_id)
            ).all()
        )
        items = [_row(t, first, last, counts.get(t.id, 0)) for t, first, last in rows]
    return Page(items, page, pages, total)


def _row(t: TextThread, first: str | None, last: str | None, messages: int) -> dict[str, Any]:
    name = " ".join(p for p in (first, last) if p) or None
    return {
        "id": t.id,
        "patient_id": t.patient_id,
        "name": name,
        "phone": t.phone,
        "state": t.inbox_state,
        "state_label": STATE_LABELS.get(t.inbox_state, t.inbox_state),
        "priority": t.priority,
        "reason": t.reason,
        "handovers": t.handovers,
        "owner": t.owner,
        "language": t.language,
        "messages": messages,
        "last_message_at": _aware(t.last_message_at),
        "last_inbound_at": _aware(t.last_inbound_at),
    }


def thread(store: Store, thread_id: int, page: int = 0, size: int = MESSAGES_PAGE) -> dict[str, Any] | None:
    """One thread with a page of its messages, oldest first; page 0 is the latest page."""
    with store.sessions() as s:
        found = s.execute(
            select(TextThread, Patient.first_name, Patient.last_name)
            .outerjoin(Patient, Patient.id == TextThread.patient_id)
            .where(TextThread.id == thread_id)
        ).first()
        if found is None:
            return None
        t, first, last = found
        total = s.scalar(select(func.count()).where(TextMessage.thread_id == thread_id)) or 0
        pages = max(1, -(-total // size))
        page = pages if page <= 0 else min(page, pages)
        messages = s.scalars(
            select(TextMessage)
            .where(TextMessage.thread_id == thread_id)
            .order_by(TextMessage.at, TextMessage.id)
            .offset((page - 1) * size)
            .limit(size)
        ).all()
        out = _row(t, first, last, total)
        out["texts"] = [
            {
                "direction": m.direction,
                "author": m.author,
                "staff_user": m.staff_user,
                "body": m.body,
                "at": _aware(m.at),
                "status": m.status,
            }
            for m in messages
        ]
        out["page"], out["pages"] = page, pages
    return out


def set_state(
    store: Store, thread_id: int, state: str, *, owner: str | None = None, take: bool = False
) -> bool:
    """Move a thread to `state` (new, in progress, done); `take` makes `owner` its owner."""
    if state not in THREAD_STATES:
        return False
    with store.session() as s:
        t = s.get(TextThread, thread_id)
        if t is None:
            return False
        t.inbox_state = state
        if take and owner:
            t.owner = owner
    return True


def new_count(store: Store) -> int:
    with store.sessions() as s:
        return (
            s.scalar(select(func.count()).select_from(TextThread).where(TextThread.inbox_state == "new")) or 0
        )


def thread_of(store: Store, patient_id: str) -> dict[str, Any] | None:
    """The patient's text thread, for a link from their page (None when they never texted)."""
    with store.sessions() as s:
        t = s.scalars(
            select(TextThread).where(TextThread.patient_id == patient_id).order_by(TextThread.id)
        ).first()
        if t is None:
            return None
        count = s.scalar(select(func.count()).where(TextMessage.thread_id == t.id)) or 0
        return _row(t, None, None, count)
