"""Lua scripts on the call path, each run as one EVALSHA on a connection the calling thread keeps.

redis-py's client checks a connection out of its pool for every command and returns it afterwards: a lock,
a readiness poll (a system call), observability counters, the retry wrapper. That costs about as much CPU
as sending the command and parsing its reply. An inbound call makes two commands (the routing read and
the state write), and at the load the inbound benchmark puts on it this bookkeeping was a fifth of the
app's own CPU per call.

`HotScript` keeps that bookkeeping to once per thread: each thread checks one connection out of the client's
own pool (same settings, same parser: hiredis when installed) and holds it. The pool still owns the
connection, so `client.close()` closes it. A thread that ends gives its connection back; a forked child
takes a fresh one. Error handling is redis-py's: a NOSCRIPT reply loads the script and runs it again; a
broken connection (Redis restarted) is reconnected and the command tried once more; a timeout is not
retried, because the caller is waiting and has a store to fall back on.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import redis
from redis.connection import ConnectionPool
from redis.exceptions import NoScriptError


class _Held:
    """A thread's connection; given back to the pool when the thread's locals are dropped."""

    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool
        self.pid = os.getpid()
        self.conn: Any = pool.get_connection()  # redis-py types its connections loosely

    def __del__(self) -> None:
        if self.pid == os.getpid():
            try:
                self.pool.release(self.conn)
            except Exception:  # noqa: BLE001 - interpreter shutdown: nothing left to give back to
                pass


class HotScript:
    def __init__(self, client: redis.Redis, source: str) -> None:
        self.client = client
        self.script = client.register_script(source)  # its SHA, and redis-py's loader for NOSCRIPT
        self._local = threading.local()

    def _held(self) -> _Held:
        held: _Held | None = getattr(self._local, "held", None)
        if held is None or held.pid != os.getpid():
            held = self._local.held = _Held(self.client.connection_pool)
        return held

    def __call__(self, keys: list[str], args: list[Any]) -> Any:
        conn = self._held().conn
        reconnected = loaded = False
        while True:
            try:
                conn.send_command("EVALSHA", self.script.sha, len(keys), *keys, *args)
                return conn.read_response()
            except NoScriptError:
                if loaded:
                    raise
                loaded = True
                self.client.script_load(self.script.script)
            except redis.TimeoutError:
                conn.disconnect()  # a late reply must not be read as the next command's
                raise
            except (redis.ConnectionError, OSError):
                conn.disconnect()
                if reconnected:
                    raise
                reconnected = True  # send_command connects again
