"""Durable store (SQLAlchemy 2 + Alembic): SQLite by default, PostgreSQL through `DATABASE_URL`."""

from .calls import Call, Callback, CallEvent, CallTurn, Message
from .db import Store, store_now
from .integrations import ApiKey, IntegrationEvent
from .models import Base, Patient, PatientPhone, PatientScore, ScoreRun, VisitLine
from .outcomes import OutcomeEvent
from .outreach import Campaign, OutreachAttempt
from .schedule import Appointment, Slot
from .staff import StaffUser

__all__ = [
    "Store",
    "store_now",
    "Base",
    "Patient",
    "PatientPhone",
    "PatientScore",
    "ScoreRun",
    "VisitLine",
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
]
