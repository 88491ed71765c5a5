"""One frozen settings object, read once from the environment (and `.env`), shared by CLI, web and workers."""

from __future__ import annotations

import datetime as dt
import math
import os
import secrets
from collections.abc import Callable
from functools import cached_property
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_PORT = 8000
SERVER_URL_FILE = "server_url"  # the running `receptionist up` writes its base URL here


class DataFolderError(RuntimeError):
    """The data folder cannot be created or written (read-only, not a folder, no permission)."""


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
    # Signs the dashboard's session cookies; needed only where web servers share no data folder. A weak one
    # (short, few distinct characters, a word) is refused at start.
    dashboard_secret_key: str | None = None
    # Encrypts the API keys' signing secrets in the store (a Fernet key); where servers share no data folder.
    receptionist_secrets_key: str | None = None
    # Dashboard sessions: signed out after this long without a request, and after this long in any case.
    dashboard_idle_minutes: int = Field(default=15, ge=1, le=24 * 60)
    dashboard_session_hours: int = Field(default=12, ge=1, le=7 * 24)
    # Start the product's clock at this instant (ISO 8601 with its offset); it then runs at real speed. For
    # trying another day or time of day with every process (web, worker, CLI) on the same time.
    receptionist_clock: dt.datetime | None = None

    @field_validator("receptionist_clock")
    @classmethod
    def _aware(cls, value: dt.datetime | None) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("RECEPTIONIST_CLOCK needs its UTC offset, e.g. 2026-11-30T10:00:00-05:00")
        return value

    @field_validator("dashboard_secret_key")
    @classmethod
    def _strong(cls, value: str | None) -> str | None:
        if value is not None:
            why = weak_secret(value)
            if why:
                raise ValueError(
                    f"DASHBOARD_SECRET_KEY is too weak ({why}): use at least 32 random characters, e.g. "
                    'python3 -c "import secrets; print(secrets.token_urlsafe(32))"'
                )
        return value

    @cached_property
    def home(self) -> Path:
        """The data folder, absolute, created on first use: readable by this account only (0700, every file in
        it 0600). From here on this process creates files owner-only (umask 077), so no PHI file (the SQLite
        database and its journal, the Redis append-only files, demo exports, secrets) is ever readable by
        another local user, not even for a moment."""
        home = self.receptionist_home.expanduser().resolve()
        private_files()
        try:
            home.mkdir(parents=True, exist_ok=True, mode=0o700)
            tighten(home)
            probe = home / f".write-check-{os.getpid()}"
            probe.touch()
            probe.unlink()
        except OSError as exc:
            raise DataFolderError(
                f"RECEPTIONIST_HOME: the data folder {home} cannot be used ({exc.strerror or exc}); "
                "point RECEPTIONIST_HOME at a folder this account can write"
            ) from None
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
    def dashboard_url(self) -> str:
        """Where staff sign in: `PUBLIC_BASE_URL`, else the address the running `receptionist up` serves on
        (it writes `server_url` into the data folder while it runs, whatever `--port` it was given), else
        `base_url`."""
        if self.public_base_url:
            return self.base_url
        try:
            return (self.home / SERVER_URL_FILE).read_text().strip().rstrip("/") or self.base_url
        except OSError:
            return self.base_url

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

    @cached_property
    def secrets_key(self) -> str:
        """Encrypts the API keys' signing secrets in the store: `RECEPTIONIST_SECRETS_KEY`, else a key generated
        once into the data folder (0600)."""
        if self.receptionist_secrets_key:
            return self.receptionist_secrets_key
        import base64

        return _local_secret(
            self.home / "secrets_key", lambda: base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
        )

    @property
    def secure_cookies(self) -> bool:
        """Cookies only over https when the public URL is https (local mode is plain http on the loopback)."""
        return self.base_url.startswith("https://")


_WEAK_WORDS = ("changeme", "secret", "password", "dashboard", "receptionist", "default", "example", "test")


def weak_secret(value: str) -> str:
    """Why a secret given by hand is too weak to sign sessions with, or "" when it is fine."""
    if len(value) < 32:
        return "shorter than 32 characters"
    if len(set(value)) < 10:
        return "fewer than 10 different characters"
    n = len(value)
    if any(value == (value[:p] * (n // p + 1))[:n] for p in range(1, n // 2 + 1)):
        return "a short pattern repeated"
    lowered = value.lower()
    if any(word in lowered for word in _WEAK_WORDS):
        return "it contains a common word"
    classes = sum(
        1 for test in (str.islower, str.isupper, str.isdigit) if any(test(ch) for ch in value)
    ) + any(not ch.isalnum() for ch in value)
    alphabet = {1: 16, 2: 36, 3: 62, 4: 90}.get(classes, 16)
    if len(value) * math.log2(min(alphabet, len(set(value)) * 2)) < 128:
        return "under 128 bits of randomness"
    return ""


def private_files() -> None:
    """Files and folders this process creates from now on are its account's only (umask 077)."""
    os.umask(0o077)


def tighten(folder: Path) -> None:
    """The data folder 0700, everything in it owner-only (folders 0700, files 0600): a folder made before this
    release, or by hand, is put right at start."""
    for path in (folder, *folder.rglob("*")):
        try:
            mode = path.lstat().st_mode
        except OSError:
            continue
        if path.is_symlink():
            continue
        if mode & 0o077:
            try:
                path.chmod(0o700 if path.is_dir() else (mode & 0o700) | 0o600)
            except OSError:
                pass  # a file another account owns: left as it is


def write_private(path: Path, text: str) -> None:
    """Write a file created owner-only (0600) from its first byte, then moved into place."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


def _local_secret(path: Path, make: Callable[[], str] | None = None) -> str:
    """Read a generated secret, creating it (owner-only, from the first byte) the first time."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        token = make() if make else secrets.token_urlsafe(32)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(token)
        try:
            os.link(tmp, path)  # in place whole, and only if no other process made it first
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
        return path.read_text().strip()


def load_settings(**overrides: object) -> Settings:
    """Read the settings once; callers pass the object on rather than reading the environment again."""
    return Settings(**overrides)  # type: ignore[arg-type]
