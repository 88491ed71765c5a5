"""How the web process is served: gunicorn's settings, read with `gunicorn -c python:receptionist.runtime.webserver`
by the Procfile and `receptionist up`.

The worker class is gevent's: every connection is a greenlet, so a client that sends its request slowly
(a few bytes of headers a minute, a body trickled in) holds a little memory and no thread; Twilio's webhooks
are answered meanwhile (a thread-per-connection worker was stalled by about eight such clients: calls went
unanswered). Blocking libraries are cooperative under gevent's monkey-patching (redis-py, psycopg, the Twilio
and OpenAI clients), so a slow LLM turn waits in its own greenlet as well. Each worker takes at most
`worker_connections` connections; in production put a buffering front in front of it (nginx, a load
balancer) that terminates TLS and buffers whole requests (README, Security).

The access log never shows an unsubscribe link's token (`RedactingLogger`).
"""

from __future__ import annotations

import os
import re
from typing import Any

from gunicorn.glogging import Logger

worker_class = "gevent"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_connections = 1000
timeout = 30
graceful_timeout = 20
keepalive = 5
# request line and headers: a webhook's are small; anything past these is refused before the app sees it
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
umask = 0o077
# gunicorn's runtime control socket (`gunicornc`) is not used: no socket shared by every gunicorn of the account
control_socket_disable = True
logger_class = "receptionist.runtime.webserver.RedactingLogger"

_SECRET_PATHS = re.compile(r"(/unsubscribe/)[^/?\s]+")


def on_starting(server: Any) -> None:
    """gunicorn's master, before it forks a worker: the understanding is trained (or read from the data
    folder's cache) here, once, so every worker is forked with it and no caller waits for it. Left to first
    use, the first caller of each worker waited for the training (seconds of CPU), and a worker busy with it
    past gunicorn's timeout was killed and restarted."""
    from receptionist.runtime.warmup import warm_understanding

    warm_understanding()


def redact(text: str) -> str:
    """A path or request line with an unsubscribe token replaced by `…`."""
    return _SECRET_PATHS.sub(r"\1…", text)


class RedactingLogger(Logger):  # type: ignore[misc]
    """gunicorn's logger, with the tokens of unsubscribe links left out of the access log."""

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        for key in ("r", "U", "f", "{referer}i"):
            if isinstance(atoms.get(key), str):
                atoms[key] = redact(atoms[key])
        return atoms
