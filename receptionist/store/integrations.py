"""The integration API's own tables: per-integration API keys (hashed) and the events they delivered (once)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from receptionist.store.models import Base, _now


class ApiKey(Base):
    """One integration (online booking, intake forms, the practice-management system). The token is shown once
    and kept only as its SHA-256; the signing secret (HMAC of request and webhook bodies) must be kept to verify,
    so it is kept encrypted (`integrations.sealing`). `scopes`: what the key may do, space-separated."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64))
    signing_secret: Mapped[str] = mapped_column(String(400))
    require_signature: Mapped[bool] = mapped_column(default=False)
    webhook_url: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    scopes: Mapped[str] = mapped_column(String(200), default="")


class IntegrationEvent(Base):
    """A booking event or intake update as delivered: keyed by the sender's `event_id`, so a repeated delivery
    is recognised and changes nothing."""

    __tablename__ = "integration_events"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    key_id: Mapped[str] = mapped_column(String(24))
    event_id: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(40))
    patient_id: Mapped[str | None] = mapped_column(String(64))
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    result: Mapped[dict[str, Any]] = mapped_column(JSON)

    __table_args__ = (
        UniqueConstraint("key_id", "event_id"),
        Index("ix_integration_events_patient", "patient_id", "received_at"),
    )
