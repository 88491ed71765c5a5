"""Calls and what came of them: the call record, status events, transcript turns, callbacks, messages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, DateTime, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from receptionist.store.models import Base, _now


class Call(Base):
    """One call (one CallSid), inbound or outbound."""

    __tablename__ = "calls"

    sid: Mapped[str] = mapped_column(String(40), primary_key=True)
    direction: Mapped[str] = mapped_column(String(16))  # inbound | outbound
    location_id: Mapped[str | None] = mapped_column(String(40))
    patient_id: Mapped[str | None] = mapped_column(String(64))
    tier: Mapped[str | None] = mapped_column(String(4))
    # the caller's number is patient data: kept here for callbacks, never logged
    caller: Mapped[str | None] = mapped_column(String(20))
    route: Mapped[str | None] = mapped_column(String(12))  # staff | ai | message | emergency | closed
    transfer: Mapped[str | None] = mapped_column(String(12))  # accepted | declined | no-answer | busy
    outcome: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16), default="ringing")
    status_sequence: Mapped[int] = mapped_column(Integer, default=-1)
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    transfer_seconds: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # what the call achieved: appointment change, opt-out, message, callback, emergency (see voice outcome)
    facts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # the conversation state's durable copy (the newest drained or written while Redis was unreachable),
    # for resuming a call whose Redis state is lost or stale; cleared when the call ends
    state: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    __table_args__ = (Index("ix_calls_started", "started_at"), Index("ix_calls_patient", "patient_id"))


class CallEvent(Base):
    """Every status callback once: the same (CallSid, status, sequence) again is ignored."""

    __tablename__ = "call_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(40))
    leg_sid: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16))
    sequence: Mapped[int] = mapped_column(Integer)
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)

    __table_args__ = (UniqueConstraint("leg_sid", "status", "sequence"),)


class CallTurn(Base):
    """The transcript, for signed-in staff only; never written to logs."""

    __tablename__ = "call_turns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(40), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    caller: Mapped[str] = mapped_column(Text, default="")
    receptionist: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)

    __table_args__ = (UniqueConstraint("call_sid", "seq"),)


class Callback(Base):
    """Someone on staff should call this patient back; most urgent first."""

    __tablename__ = "callbacks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[str | None] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(20))
    call_sid: Mapped[str | None] = mapped_column(String(40))
    location_id: Mapped[str | None] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(String(200))
    # the whole request in the caller's words (a message's text), when there is more than the reason
    detail: Mapped[str | None] = mapped_column(Text)
    # message | emergency | urgent | transfer | late | callback
    kind: Mapped[str] = mapped_column(String(12), default="callback", server_default="callback")
    priority: Mapped[str] = mapped_column(String(8), default="normal")  # urgent | high | normal
    status: Mapped[str] = mapped_column(String(8), default="open")  # open | done
    # who on staff took it: an open callback with an owner is in progress, without one it is new
    owner: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    done_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("call_sid", "reason"),
        Index("ix_callbacks_open", "status", "priority", "created_at"),
    )


class Message(Base):
    """A message a caller left for the practice."""

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_sid: Mapped[str | None] = mapped_column(String(40))
    patient_id: Mapped[str | None] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(20))
    location_id: Mapped[str | None] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(8), default="new")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
