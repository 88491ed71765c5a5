"""The durable store: one SQLAlchemy engine, Alembic migrations, sessions."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from receptionist.clock import Clock, system_clock
from receptionist.store.models import CLOCK_OPTION

MIGRATIONS = Path(__file__).with_name("migrations")
# SQLite's busy timeout: how long a write waits for another's lock before it fails. Well inside Twilio's 15 s
# for a webhook (whose fallbacks then answer: a status callback is kept in the backlog, a caller hears
# TwiML); writers that hold the lock (imports, scoring) commit in batches far shorter than this.
SQLITE_BUSY_TIMEOUT_S = 4.0

_ENGINES: weakref.WeakSet[Engine] = weakref.WeakSet()


def _forget_parent_connections() -> None:
    """In a forked child (the job worker's work horse), never touch the parent's pooled connections: a
    shared SQLite handle or PostgreSQL socket used from two processes corrupts both (SQLAlchemy's advice)."""
    for engine in list(_ENGINES):
        engine.dispose(close=False)


os.register_at_fork(after_in_child=_forget_parent_connections)


def make_engine(url: str, clock: Clock = system_clock) -> Engine:
    """An engine tuned per dialect: SQLite in WAL mode with a busy timeout, so web and worker share it.

    `clock` stamps the columns whose default is "now" (`models.now_default`), through the engine's execution
    options, so rows written on another clock (tests, `call --at`) carry that clock's time."""
    options = {CLOCK_OPTION: clock}
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False},
            execution_options=options,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10, execution_options=options)


def store_now(conn: Connection) -> dt.datetime:
    """The store's clock, read on an open connection (bulk writes that stamp many rows with one instant)."""
    clock = conn.get_execution_options().get(CLOCK_OPTION)
    return clock() if clock is not None else system_clock()


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


class Store:
    """Handed to whoever needs the database; built once from the settings."""

    def __init__(self, url: str, clock: Clock = system_clock) -> None:
        self.url = url
        # Whoever builds the services points this at their clock (`Services.now`); rows stamped "now" use it.
        self.clock = clock
        self.engine = make_engine(url, self._now)
        _ENGINES.add(self.engine)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    def _now(self) -> dt.datetime:
        return self.clock()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def migrate(self) -> None:
        """Bring the schema to the newest migration (safe to call at every start)."""
        if self.url.startswith("sqlite:///"):
            Path(self.url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        with self.engine.begin() as conn:
            cfg = alembic_config(self.url)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed when the block ends, rolled back on error."""
        with self.sessions() as session, session.begin():
            yield session

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception:  # noqa: BLE001 - any failure means "not reachable" for health checks
            return False

    def dispose(self) -> None:
        self.engine.dispose()
