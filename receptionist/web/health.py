"""`GET /healthz`: the state of the store, the cache and the queue, for load balancers."""

from __future__ import annotations

import redis
from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue
from rq import Worker

from receptionist.web.extension import services_of

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    services = services_of(current_app)
    store_ok = services.store.ping()
    cache: dict[str, object] = {"state": "down"}
    queue: dict[str, object] = {"state": "down"}
    try:
        cache = {"state": "ok", "run": services.cache.current_run(), "entries": services.cache.size()}
        queue = {
            "state": "ok",
            "queued": services.queue.count,
            "workers": Worker.count(connection=services.queue_redis),
        }
    except (redis.RedisError, OSError, RuntimeError):
        pass
    status = "ok" if store_ok and cache["state"] == "ok" else ("degraded" if store_ok else "down")
    # Calls are still answered without Redis (lookups fall back to the store), so only a dead store is a 503.
    body = {
        "status": status,
        "store": {"state": "ok" if store_ok else "down", "dialect": services.store.dialect},
        "cache": cache,
        "queue": queue,
    }
    return jsonify(body), 200 if store_ok else 503
