"""The integration API's request bodies: strict (unknown fields are refused), documented from these models.

`openapi.py` builds the OpenAPI document's schemas from them, so the document and the checks cannot drift.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from receptionist.integrations.errors import has_nul

EARLIEST, LATEST = dt.datetime(1900, 1, 1, tzinfo=dt.UTC), dt.datetime(2200, 1, 1, tzinfo=dt.UTC)


def _instant(value: dt.datetime) -> dt.datetime:
    """An instant in UTC, between 1900 and 2200. A time without a UTC offset is refused (422 naming the field):
    the practice's systems run in local time, so taking it as UTC would move an appointment by hours."""
    if value.tzinfo is None:
        raise ValueError("needs a UTC offset (e.g. 2026-12-08T14:00:00-05:00 or 2026-12-08T19:00:00Z)")
    if not EARLIEST + dt.timedelta(days=1) <= value <= LATEST - dt.timedelta(days=1):
        raise ValueError("must be between 1900 and 2200")
    return value.astimezone(dt.UTC)


def _day(value: dt.date) -> dt.date:
    if not EARLIEST.date() <= value <= LATEST.date():
        raise ValueError("must be between 1900 and 2200")
    return value


Instant = Annotated[dt.datetime, AfterValidator(_instant)]
Day = Annotated[dt.date, AfterValidator(_day)]

Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:\-]*$")]
EventId = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:\-]*$")]
Name = Annotated[str, Field(max_length=100)]
Phone = Annotated[str, Field(min_length=1, max_length=40)]
Email = Annotated[str, Field(max_length=254)]
Zip = Annotated[str, Field(pattern=r"^\d{5}(-\d{4})?$")]
Money = Annotated[float, Field(ge=-1_000_000, le=1_000_000, allow_inf_nan=False)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: object) -> object:
        if has_nul(data):
            raise ValueError("text may not contain NUL characters")
        return data


class OnlineAppointment(Strict):
    id: Id = Field(description="the booking system's appointment id")
    start: Instant = Field(description="ISO 8601 with a UTC offset (a time without one is refused)")
    minutes: int = Field(default=60, ge=5, le=600)
    location_id: Annotated[str, Field(max_length=40)] = ""
    provider: Name = Field(default="", description="a provider the practice file names; another is a warning")
    kind: Annotated[str, Field(max_length=30)] = "cleaning"


class BookingEvent(Strict):
    """An online booking attempt: started, abandoned or completed. The patient is found by `patient_id`, else by
    `phone`, else by `email`."""

    event_id: EventId = Field(
        description="the sender's id for this event; a repeated delivery is stored once"
    )
    type: Literal["started", "abandoned", "completed"]
    occurred_at: Instant | None = Field(default=None, description="default: when it is received")
    patient_id: Id | None = None
    phone: Phone | None = None
    email: Email | None = None
    appointment: OnlineAppointment | None = Field(default=None, description="required when type is completed")


class Address(Strict):
    line1: Annotated[str, Field(max_length=200)] = ""
    city: Annotated[str, Field(max_length=100)] = ""
    state: Annotated[str, Field(max_length=40)] = ""
    zip: Zip


class Preferences(Strict):
    call: bool | None = None
    text: bool | None = None
    email: bool | None = None
    note: Annotated[str, Field(max_length=200)] | None = None


class Consents(Strict):
    """Consent given (true) or withdrawn (false); withdrawing every outreach consent is an opt-out."""

    voice: bool | None = None
    sms: bool | None = None
    written: bool | None = None
    outreach: bool | None = Field(default=None, description="false: opt out of all outreach, at once")


class LifeEvent(Strict):
    type: Literal["moved", "new_insurance", "pregnancy", "new_baby", "retired", "deceased", "other"]
    date: Day | None = None
    note: Annotated[str, Field(max_length=200)] = ""


class IntakeUpdate(Strict):
    """What a patient told a digital intake form; only the fields present change."""

    event_id: EventId
    patient_id: Id
    occurred_at: Instant | None = None
    first_name: Name | None = None
    last_name: Name | None = None
    phones: Annotated[list[Phone], Field(max_length=5)] | None = None
    email: Email | None = None
    address: Address | None = None
    contact_preferences: Preferences | None = None
    consents: Consents | None = None
    life_events: Annotated[list[LifeEvent], Field(max_length=20)] | None = None


class PmsPatient(Strict):
    id: Id
    first_name: Name = ""
    last_name: Name = ""
    phones: Annotated[list[Phone], Field(max_length=5)] = []
    email: Email = ""
    zip: Zip | Literal[""] = ""
    date_of_birth: Day | None = None
    consent_voice: bool = False
    consent_sms: bool = False
    consent_written: bool = False
    opted_out: bool = False
    status: Literal["active", "inactive", "deceased"] | None = Field(
        default=None,
        description="the PMS's patient status; absent keeps what is known, and a recorded death is never undone",
    )
    deceased_on: Day | None = Field(
        default=None, description="the day of death, when known (implies deceased)"
    )


class PmsVisit(Strict):
    id: Id = Field(description="the practice-management system's id of this visit line")
    patient_id: Id
    date: Day
    amount: Money
    paid: Money | None = None
    department: Annotated[str, Field(min_length=1, max_length=60)]
    provider: Name = ""


class PmsAppointment(Strict):
    id: Id
    patient_id: Id
    start: Instant = Field(description="ISO 8601 with a UTC offset (a time without one is refused)")
    minutes: int = Field(default=60, ge=5, le=600)
    location_id: Annotated[str, Field(max_length=40)] = ""
    provider: Name = Field(default="", description="a provider the practice file names; another is a warning")
    kind: Annotated[str, Field(max_length=30)] = "cleaning"
    status: Literal["booked", "cancelled"] = "booked"


BATCH = 5_000


class PatientsBatch(Strict):
    patients: Annotated[list[PmsPatient], Field(min_length=1, max_length=BATCH)]


class VisitsBatch(Strict):
    visits: Annotated[list[PmsVisit], Field(min_length=1, max_length=BATCH)]


class AppointmentsBatch(Strict):
    appointments: Annotated[list[PmsAppointment], Field(min_length=1, max_length=BATCH)]


class AsapRequestIn(Strict):
    """A patient asks for an earlier time: they are texted when one opens that fits."""

    patient_id: Id
    visit_type: Annotated[str, Field(max_length=40)] = Field(
        default="", description="a visit type id of the practice file; empty: any that fits the patient"
    )
    location_id: Annotated[str, Field(max_length=40)] = Field(default="", description="empty: any location")
    since: Instant | None = Field(default=None, description="no visit before this")
    until: Instant | None = Field(default=None, description="only visits before this")
    appointment_id: Id | None = Field(
        default=None,
        description="the PMS id of the later visit the patient has: taking an earlier time moves it "
        "(until defaults to its start)",
    )


class Opening(Strict):
    """A time that opened in the schedule (the PMS's own cancellation, a provider's free hour)."""

    location_id: Annotated[str, Field(min_length=1, max_length=40)]
    provider: Name
    start: Instant = Field(description="ISO 8601 with a UTC offset; a 30-minute unit's start")
    visit_type: Annotated[str, Field(min_length=1, max_length=40)] = Field(
        description="the visit type id to offer it as"
    )


REQUESTS: dict[str, type[Strict]] = {
    "BookingEvent": BookingEvent,
    "IntakeUpdate": IntakeUpdate,
    "PatientsBatch": PatientsBatch,
    "VisitsBatch": VisitsBatch,
    "AppointmentsBatch": AppointmentsBatch,
    "AsapRequestIn": AsapRequestIn,
    "Opening": Opening,
}
