"""The ASAP list: patients who asked for an earlier time, and the opened slots offered to them by text.

An `AsapRequest` stays open until the patient takes an earlier visit (filled) or no longer wants one
(withdrawn). An `AsapOffer` is one opened run of schedule units offered in batches: its texts are outreach
attempts (`OutreachAttempt`, id `<offer id>:<patient id>`, campaign id the offer's id), so they count towards
every cap with all other contacts. The offer's status moves once, by one conditional UPDATE, from `open` to
`booked` (the first yes), `expired` (its time passed) or `gone` (the slot was taken elsewhere): two yeses at
the same instant cannot both win it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, DateTime, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from receptionist.store.models import Base, _now

REQUEST_STATUSES = ("open", "filled", "withdrawn")
OFFER_STATUSES = ("open", "booked", "expired", "gone")
OFFER_PREFIX = "asap-"  # an offer's id, and so the campaign id of its attempts, starts with this


class AsapRequest(Base):
    __tablename__ = "asap_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    patient_id: Mapped[str] = mapped_column(String(64))
    visit_type: Mapped[str] = mapped_column(String(40), default="")  # "": any type that fits the patient
    location_id: Mapped[str] = mapped_column(String(40), default="")  # "": any location
    since: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))  # no visit before this
    until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))  # only visits before this
    # the later visit the patient has: taking an earlier one moves it (its time is offered on in turn)
    appointment_id: Mapped[int | None] = mapped_column(Integer)
    via: Mapped[str] = mapped_column(String(12), default="staff")  # call | api | staff
    status: Mapped[str] = mapped_column(String(10), default="open")  # REQUEST_STATUSES
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_asap_requests_status_patient", "status", "patient_id"),)


class AsapOffer(Base):
    __tablename__ = "asap_offers"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # "asap-<hex>"
    location_id: Mapped[str] = mapped_column(String(40))
    provider: Mapped[str] = mapped_column(String(100))
    unit_id: Mapped[int] = mapped_column(Integer)  # the run's first schedule unit
    start: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    minutes: Mapped[int] = mapped_column(Integer)
    visit_type: Mapped[str] = mapped_column(String(40))
    why: Mapped[str] = mapped_column(String(20), default="cancelled")  # cancelled | api | staff
    status: Mapped[str] = mapped_column(String(10), default="open")  # OFFER_STATUSES
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # the ranked candidates, best first: [{"patient": id, "request": id or null}], ids only
    ranked: Mapped[list[Any]] = mapped_column(JSON, default=list)
    offered: Mapped[int] = mapped_column(Integer, default=0)  # how many of `ranked` have been texted
    patient_id: Mapped[str | None] = mapped_column(String(64))  # who took it
    appointment_id: Mapped[int | None] = mapped_column(Integer)  # the visit it became

    __table_args__ = (Index("ix_asap_offers_status_start", "status", "start"),)
