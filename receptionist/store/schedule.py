"""Appointment slots per location and provider, and the appointments booked into them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from receptionist.store.models import Base, _now


class Slot(Base):
    """A bookable time with one provider at one location; `appointment_id` is set while it is taken."""

    __tablename__ = "slots"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    location_id: Mapped[str] = mapped_column(String(40))
    provider: Mapped[str] = mapped_column(String(100))
    start: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    minutes: Mapped[int] = mapped_column(Integer, default=60)
    # "cleaning" slots are hygienists', "exam" slots dentists'; a booking of another kind uses exam slots
    kind: Mapped[str] = mapped_column(String(20), default="cleaning")
    appointment_id: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        UniqueConstraint("location_id", "provider", "start"),
        Index("ix_slots_open", "location_id", "kind", "appointment_id", "start"),
    )


class Appointment(Base):
    __tablename__ = "appointments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # the practice-management system's id, when it pushed the appointment
    external_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    location_id: Mapped[str] = mapped_column(String(40))
    provider: Mapped[str] = mapped_column(String(100))
    start: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    minutes: Mapped[int] = mapped_column(Integer, default=60)
    kind: Mapped[str] = mapped_column(String(30), default="cleaning")
    status: Mapped[str] = mapped_column(String(12), default="booked")  # booked | cancelled
    slot_id: Mapped[int | None] = mapped_column(Integer)
    booked_via: Mapped[str] = mapped_column(String(12), default="ai")  # ai | staff | online | pms
    call_sid: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now, onupdate=_now)

    __table_args__ = (Index("ix_appointments_patient_start", "patient_id", "start"),)
