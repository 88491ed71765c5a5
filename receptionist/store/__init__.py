"""Durable store (SQLAlchemy 2 + Alembic): SQLite by default, PostgreSQL through `DATABASE_URL`."""

from receptionist.store.asap import AsapOffer, AsapRequest
from receptionist.store.calls import Call, Callback, CallEvent, CallTurn, Message
from receptionist.store.db import Store, store_now
from receptionist.store.integrations import ApiKey, IntegrationEvent
from receptionist.store.models import Base, Patient, PatientPhone, PatientScore, ScoreRun, SyncMark, VisitLine
from receptionist.store.outcomes import OutcomeEvent
from receptionist.store.outreach import (
    Campaign,
    ConsentConfirmation,
    ConsentEvent,
    OutreachAttempt,
    UnsubscribeLink,
)
from receptionist.store.schedule import Appointment, Slot
from receptionist.store.staff import AuditEvent, StaffSession, StaffUser
from receptionist.store.texting import TextMessage, TextThread

__all__ = [
    "Store",
    "store_now",
    "Base",
    "Patient",
    "PatientPhone",
    "PatientScore",
    "ScoreRun",
    "VisitLine",
    "SyncMark",
    "Appointment",
    "Slot",
    "Call",
    "CallEvent",
    "CallTurn",
    "Callback",
    "Message",
    "Campaign",
    "OutreachAttempt",
    "OutcomeEvent",
    "ApiKey",
    "IntegrationEvent",
    "StaffUser",
    "StaffSession",
    "AuditEvent",
    "UnsubscribeLink",
    "ConsentEvent",
    "ConsentConfirmation",
    "TextThread",
    "TextMessage",
    "AsapRequest",
    "AsapOffer",
]
