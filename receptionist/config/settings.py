"""One frozen settings object, read once from the environment (and `.env`), shared by CLI, web and workers."""

from __future__ import annotations

import datetime as dt
import secrets
from functools import cached_property
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_PORT = 8000


class Settings(BaseSettings):
    """The contract's configuration variables; names are the environment variables, lower-cased."""

    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", frozen=True, case_sensitive=False, populate_by_name=True
    )

    receptionist_home: Path = Path("./var")
    database_url: str | None = None
    redis_url: str | None = None
    practice_file: Path | None = None
    public_base_url: str | None = None
    port: int = Field(default=DEFAULT_PORT, alias="PORT")
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_api_base_url: str | None = None
    smtp_url: str | None = None
    openai_api_key: str | None = None
    openai_base_url: str | None = None
    openai_model: str = "gpt-4o-mini"
    # The most one caller turn may wait on the model before the offline engine answers it (seconds).
    openai_timeout_s: float = 6.0
    # Signs the dashboard's session cookies; needed only where web servers share no data folder.
    dashboard_secret_key: str | None = None
    # Start the product's clock at this instant (ISO 8601 with its offset); it then runs at real speed. For
    # trying another day or time of day with every process (web, worker, CLI) on the same time.
    receptionist_clock: dt.datetime | None = None

    @field_validator("receptionist_clock")
    @classmethod
    def _aware(cls, value: dt.datetime | None) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("RECEPTIONIST_CLOCK needs its UTC offset, e.g. 2026-11-30T10:00:00-05:00")
        return value

    @cached_property
    def home(self) -> Path:
        """The data folder, absolute and created on first use."""
        home = self.receptionist_home.expanduser().resolve()
        home.mkdir(parents=True, exist_ok=True)
        return home

    @property
    def store_url(self) -> str:
        """SQLAlchemy URL of the durable store: `DATABASE_URL`, else a SQLite file in the data folder."""
        if self.database_url:
            url = self.database_url
            # Heroku-style URLs name no driver; psycopg 3 is the one installed.
            if url.startswith("postgres://"):
                url = "postgresql+psycopg://" + url[len("postgres://") :]
            elif url.startswith("postgresql://"):
                url = "postgresql+psycopg://" + url[len("postgresql://") :]
            return url
        return f"sqlite:///{self.home / 'receptionist.sqlite3'}"

    @property
    def base_url(self) -> str:
        """The base URL Twilio reaches (and signs); local mode uses the loopback address."""
        return (self.public_base_url or f"http://127.0.0.1:{self.port}").rstrip("/")

    @property
    def account_sid(self) -> str:
        return self.twilio_account_sid or "AC" + "0" * 32

    @property
    def twilio_api(self) -> str | None:
        """Where the Twilio REST client goes: `TWILIO_API_BASE_URL`; in local mode (no account) the local
        stand-in that `receptionist up` started, if it is running; else None (Twilio's own API)."""
        if self.twilio_api_base_url:
            return self.twilio_api_base_url
        if not self.twilio_account_sid:
            try:
                return (self.home / "local_twilio_url").read_text().strip() or None
            except OSError:
                return None
        return None

    @cached_property
    def auth_token(self) -> str:
        """`TWILIO_AUTH_TOKEN`, else a token generated once and kept in the data folder (local mode)."""
        if self.twilio_auth_token:
            return self.twilio_auth_token
        return _local_secret(self.home / "twilio_auth_token")

    @cached_property
    def secret_key(self) -> str:
        """Signs the dashboard's session cookies and CSRF tokens: generated once, kept in the data folder, so
        every web worker (and a restart) shares it; `DASHBOARD_SECRET_KEY` where servers share no data folder."""
        return self.dashboard_secret_key or _local_secret(self.home / "dashboard_secret_key")

    @property
    def secure_cookies(self) -> bool:
        """Cookies only over https when the public URL is https (local mode is plain http on the loopback)."""
        return self.base_url.startswith("https://")


def _local_secret(path: Path) -> str:
    """Read a generated secret, creating it (owner-only) the first time."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        token = secrets.token_hex(16)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(token)
        tmp.chmod(0o600)
        tmp.replace(path)
        return path.read_text().strip()


def load_settings(**overrides: object) -> Settings:
    """Read the settings once; callers pass the object on rather than reading the environment again."""
    return Settings(**overrides)  # type: ignore[arg-type]
