"""Real services for every test: a real Redis and a real SQL database.

Defaults are the product's embedded ones (SQLite file, the pip-installed Redis server binary). With
`DATABASE_URL` / `REDIS_URL` set, the suite runs against those servers instead (CI does both).
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest
import redis as redis_lib
from sqlalchemy import MetaData, text

from receptionist.config.settings import Settings
from receptionist.runtime.embedded_redis import EmbeddedRedis
from receptionist.runtime.sandbox import sandbox_redis_url
from receptionist.runtime.services import Services, build_services
from receptionist.store import Base, Store
from receptionist.store.staff import APPEND_ONLY

TEST_TOKEN = "test-auth-token-0123456789abcdef"


@pytest.fixture(scope="session")
def session_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="session")
def redis_url(session_home: Path):
    url = os.environ.get("REDIS_URL")
    if url:
        # Keep the tests in a database of their own on a shared server.
        # the same server and credentials (a production-like Redis needs its password), the test database
        parts = urllib.parse.urlsplit(url)
        db = int(os.environ.get("TEST_REDIS_DB", "15"))
        yield urllib.parse.urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, ""))
        return
    server = EmbeddedRedis(session_home)
    yield server.ensure_running()
    server.stop()


@pytest.fixture(scope="session")
def database_url(session_home: Path) -> str:
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{session_home / 'test.sqlite3'}"
    store = Store(Settings(database_url=url).store_url)
    if store.dialect != "sqlite":
        # Start from an empty schema on a shared server.
        meta = MetaData()
        meta.reflect(store.engine)
        with store.engine.begin() as conn:
            meta.drop_all(conn)
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    store.migrate()
    store.dispose()
    return store.url


@pytest.fixture
def redis_client(redis_url: str):
    client = redis_lib.Redis.from_url(redis_url)
    client.flushdb()
    sandbox = redis_lib.Redis.from_url(sandbox_redis_url(redis_url))  # Try it's database
    sandbox.flushdb()
    sandbox.close()
    yield client
    client.close()


def empty_tables(store: Store) -> None:
    """Every table emptied; the append-only audit log too (its guard triggers are lifted for the purpose)."""
    with store.engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name != "audit_events":
                conn.execute(table.delete())
        if store.dialect == "postgresql":
            conn.execute(text("TRUNCATE audit_events"))  # row triggers do not fire on TRUNCATE
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_delete"))
            conn.execute(text("DELETE FROM audit_events"))
            for statement in APPEND_ONLY["sqlite"]:
                conn.execute(text(statement))


@pytest.fixture
def store(database_url: str):
    store = Store(database_url)
    empty_tables(store)
    yield store
    store.dispose()


@pytest.fixture
def settings(tmp_path: Path, database_url: str, redis_url: str) -> Settings:
    return Settings(
        receptionist_home=tmp_path,
        database_url=database_url,
        redis_url=redis_url,
        twilio_auth_token=TEST_TOKEN,
        public_base_url="http://testserver",
    )


@pytest.fixture
def services(settings: Settings, store: Store, redis_client) -> Services:
    services = build_services(settings, migrate=False)
    yield services
    services.close()


@pytest.fixture
def run(tmp_path, database_url, redis_url, store, redis_client):
    """The `receptionist` command in a subprocess, as a user runs it, on this test's store and Redis."""
    env = {
        **os.environ,
        "RECEPTIONIST_HOME": str(tmp_path / "home"),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
    }
    env.pop("PRACTICE_FILE", None)

    def run(*args: str, timeout: float = 300, input: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "receptionist.cli", *args],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=timeout,
            input=input,
        )

    return run


@pytest.fixture
def fake():
    """A local OpenAI-compatible server, scripted per test, for the real `openai` client to talk to."""
    from tests.fake_openai import FakeOpenAI

    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def world(tmp_path, database_url, redis_url, store, redis_client):
    """Builds campaign worlds (`tests/outreach_helpers.make_world`): the app, its services on a fixed clock and
    the local Twilio stand-in wired to it; all stopped at the end of the test."""
    from tests.outreach_helpers import make_world

    made = []

    def build(**kwargs):
        w = make_world(tmp_path, database_url, redis_url, **kwargs)
        made.append(w)
        return w

    yield build
    for w in made:
        w.twilio.wait_idle()
        w.twilio.stop()
        w.services.close()
