"""Text threads: the two-way texting conversations and the staff inbox they hand over to.

One thread per patient (every number of theirs, and every practice number they text, lands in it), or per
number for a sender not on file; its messages both ways are kept as written, never logged. A thread that
the AI handed over (a person asked for, a message, something it could not help with) waits in the inbox
with an owner and a state (new, in progress, done); `handovers` counts the hand-overs merged into it.
`state` is the durable copy of the conversation state Redis holds between texts.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from receptionist.store.models import Base, _now

THREAD_STATES = ("new", "in_progress", "done")
PRIORITIES = ("urgent", "high", "normal")
DIRECTIONS = ("in", "out")
AUTHORS = ("patient", "ai", "staff")


class TextThread(Base):
    __tablename__ = "text_threads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[str | None] = mapped_column(String(64))  # None: a number not on file
    phone: Mapped[str] = mapped_column(String(20))  # the number last texted from (patient data: never logged)
    practice_phone: Mapped[str] = mapped_column(String(20))  # the practice number it texted
    location_id: Mapped[str | None] = mapped_column(String(40))
    # inbox: "" (the AI is handling it, not in the inbox) | new | in_progress | done (THREAD_STATES)
    inbox_state: Mapped[str] = mapped_column(String(12), default="")
    priority: Mapped[str] = mapped_column(String(8), default="normal")
    reason: Mapped[str] = mapped_column(String(200), default="")  # why the AI handed it over, last
    handovers: Mapped[int] = mapped_column(Integer, default=0)
    owner: Mapped[str | None] = mapped_column(String(64))  # the staff user who took it
    language: Mapped[str] = mapped_column(String(8), default="en")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    last_message_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    last_inbound_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    handed_over_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    state: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    state_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_text_threads_patient", "patient_id"),
        Index("ix_text_threads_phone", "phone"),
        Index("ix_text_threads_inbox", "inbox_state", "last_message_at"),
    )


class TextMessage(Base):
    __tablename__ = "text_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("text_threads.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(3))  # in | out
    author: Mapped[str] = mapped_column(String(8))  # patient | ai | staff
    staff_user: Mapped[str | None] = mapped_column(String(64))
    phone: Mapped[str] = mapped_column(String(20))  # the patient's side of this message
    body: Mapped[str] = mapped_column(Text)  # as written
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    provider_id: Mapped[str | None] = mapped_column(String(64))  # Twilio's MessageSid
    status: Mapped[str | None] = mapped_column(
        String(20)
    )  # a staff reply: sent | refused | failed | delivered

    __table_args__ = (Index("ix_text_messages_thread", "thread_id", "at"),)
