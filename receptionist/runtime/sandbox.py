"""The services of Try it's sandbox (`simulation.sandbox`): the same settings, practice, clock and conversation
engine as the app's, but a store of its own (a SQLite file in the data folder's `tryit/`) and another database
of the same Redis server, so its calls, call records, outcomes and job queue never meet the practice's."""

from __future__ import annotations

import urllib.parse

from receptionist.config.settings import Settings
from receptionist.runtime.services import Services
from receptionist.store import Store


def sandbox_redis_url(url: str) -> str:
    """The same server, the next database (the one before for database 15)."""
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qs(parts.query)
    if parts.scheme == "unix":
        db = int(query.get("db", ["0"])[0] or 0)
        query["db"] = [str(db + 1 if db < 15 else db - 1)]
        return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query, doseq=True)))
    db = int(parts.path.strip("/") or 0)
    return urllib.parse.urlunsplit(parts._replace(path=f"/{db + 1 if db < 15 else db - 1}"))


def build_sandbox(services: Services) -> Services:
    folder = services.settings.home / "tryit"
    folder.mkdir(mode=0o700, exist_ok=True)
    url = f"sqlite:///{folder / 'sandbox.sqlite3'}"
    redis_url = sandbox_redis_url(services.redis_url)
    settings = Settings(**{**services.settings.model_dump(), "database_url": url, "redis_url": redis_url})
    store = Store(url)
    store.migrate()
    return Services(
        settings=settings, practice=services.practice, store=store, redis_url=redis_url, now=services.clock
    )
