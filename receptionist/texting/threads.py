"""Text threads in the store and the conversation state between texts.

A thread is per patient (all their numbers and every practice number they text land in one), else per number
for a sender not on file. Its messages are kept as written, both ways (`TextMessage`); nothing of them is
logged. The conversation state (the offline engine's dialogue state, the records whose date of birth was
confirmed, the first name) lives in Redis under a digest of the practice number and the sender for
`STATE_TTL` after the last text, with a durable copy on the thread row, read when Redis has none or cannot be
read (a restart that lost it), and only while that copy is as fresh. After it a text starts a new conversation, and the date of birth is asked
again before any visit detail.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from receptionist.store import Store, TextMessage, TextThread, keys

log = logging.getLogger(__name__)

STATE_TTL = dt.timedelta(hours=4)
PRIORITY_ORDER = {"urgent": 0, "high": 1, "normal": 2}


@dataclass
class TextState:
    """What a text conversation keeps between messages."""

    engine: dict[str, Any] = field(default_factory=dict)  # the offline engine's DialogueState (JSON)
    verified: list[str] = field(default_factory=list)  # patients whose date of birth was confirmed
    first_name: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: object) -> TextState | None:
        if not isinstance(data, dict):
            return None
        engine = data.get("engine")
        verified = data.get("verified")
        first = data.get("first_name")
        return cls(
            engine=engine if isinstance(engine, dict) else {},
            verified=[str(v) for v in verified] if isinstance(verified, list) else [],
            first_name=first if isinstance(first, str) else None,
        )


def digest(practice_phone: str, sender: str) -> str:
    return hashlib.sha256(f"{practice_phone}|{sender}".encode()).hexdigest()[:32]


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


class Threads:
    def __init__(self, store: Store, redis_client: redis.Redis, now: Callable[[], dt.datetime]) -> None:
        self.store = store
        self.redis = redis_client
        self.now = now

    # -- the conversation state ---------------------------------------------------------------------------
    def load_state(self, practice_phone: str, sender: str) -> TextState | None:
        key = keys.text_thread_state(digest(practice_phone, sender))
        try:
            raw = self.redis.get(key)
            if raw is not None:
                return TextState.from_json(json.loads(raw))
        except (redis.RedisError, OSError, ValueError):
            log.warning("text conversation state not readable from Redis; using the store's copy")
        # Redis has none (expired, or lost in a restart) or cannot be read: the store's copy, while as fresh
        with self.store.sessions() as s:
            thread = self._by_number(s, sender)
            if thread is None or thread.state is None or thread.practice_phone != practice_phone:
                return None
            at = _aware(thread.state_at)
            if at is None or self.now() - at >= STATE_TTL:
                return None
            return TextState.from_json(thread.state)

    def save_state(self, practice_phone: str, sender: str, state: TextState | None) -> None:
        key = keys.text_thread_state(digest(practice_phone, sender))
        try:
            if state is None:
                self.redis.delete(key)
            else:
                self.redis.set(key, json.dumps(state.to_json()), ex=int(STATE_TTL.total_seconds()))
        except (redis.RedisError, OSError):
            log.warning("text conversation state not written to Redis; the store's copy stands")

    # -- threads ------------------------------------------------------------------------------------------
    def _by_number(self, s: Session, phone: str) -> TextThread | None:
        return s.scalars(
            select(TextThread).where(TextThread.phone == phone).order_by(TextThread.last_message_at.desc())
        ).first()

    def thread_for(
        self, s: Session, *, patient_id: str | None, phone: str, practice_phone: str, location_id: str | None
    ) -> TextThread:
        """The patient's thread (merged across numbers), else the number's; made when there is none."""
        if patient_id is not None:
            found = s.scalars(
                select(TextThread).where(TextThread.patient_id == patient_id).order_by(TextThread.id)
            ).first()
        else:
            found = s.scalars(
                select(TextThread)
                .where(TextThread.phone == phone, TextThread.patient_id.is_(None))
                .order_by(TextThread.id)
            ).first()
        now = self.now()
        if found is None:
            found = TextThread(
                patient_id=patient_id,
                phone=phone,
                practice_phone=practice_phone,
                location_id=location_id,
                inbox_state="",
                priority="normal",
                reason="",
                handovers=0,
                language="en",
                created_at=now,
                last_message_at=now,
            )
            s.add(found)
            s.flush()
        found.phone, found.practice_phone = phone, practice_phone
        return found

    def add(
        self,
        s: Session,
        thread: TextThread,
        direction: str,
        author: str,
        body: str,
        *,
        staff_user: str | None = None,
        provider_id: str | None = None,
        status: str | None = None,
    ) -> TextMessage:
        now = self.now()
        message = TextMessage(
            thread_id=thread.id,
            direction=direction,
            author=author,
            staff_user=staff_user,
            phone=thread.phone,
            body=body,
            at=now,
            provider_id=provider_id,
            status=status,
        )
        s.add(message)
        thread.last_message_at = now
        if direction == "in":
            thread.last_inbound_at = now
        return message

    def hand_over(self, thread: TextThread, reason: str, priority: str) -> None:
        """Into the staff inbox: a thread already there gains one more hand-over (merged, never a second
        item), keeps its owner, and rises to the higher priority; a done one opens again."""
        priority = priority if priority in PRIORITY_ORDER else "normal"
        if thread.inbox_state in ("", "done"):
            thread.inbox_state, thread.priority = "new", priority
        elif PRIORITY_ORDER[priority] < PRIORITY_ORDER.get(thread.priority, 2):
            thread.priority = priority
        thread.handovers = (thread.handovers or 0) + 1
        thread.reason = reason[:200]
        thread.handed_over_at = self.now()

    def settle(self, message_sid: str, status: str) -> None:
        """A delivery status for a staff reply (the `/sms/status` callback)."""
        if not message_sid or status not in ("delivered", "undelivered", "failed", "sent"):
            return
        with self.store.session() as s:
            message = s.scalars(select(TextMessage).where(TextMessage.provider_id == message_sid)).first()
            if message is not None:
                message.status = status
