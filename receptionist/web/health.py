"""`GET /healthz`: the state of the store, the cache, the queue and its workers, for load balancers.

503 when calls would be affected: the store is down, or no worker is alive while call records or status
callbacks wait to be drained into SQL (their outcomes would never be summed up). A worker is alive while its
drain loop beats (`runtime.worker.beat`); one rq still lists without a beat is reported dead.
"""

from __future__ import annotations

import redis
from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue
from rq import Worker

from receptionist.store import keys
from receptionist.voice import journal
from receptionist.web.extension import services_of

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    services = services_of(current_app)
    store_ok = services.store.ping()
    cache: dict[str, object] = {"state": "down"}
    queue: dict[str, object] = {"state": "down"}
    waiting = 0
    alive = 0
    try:
        cache = {"state": "ok", "run": services.cache.current_run(), "entries": services.cache.size()}
        names = [w.name for w in Worker.all(connection=services.queue_redis)]
        beating = services.queue_redis.mget([keys.worker_alive(n) for n in names]) if names else []
        alive = sum(1 for b in beating if b is not None)
        waiting = journal.backlog(services.queue_redis) + max(0, services.statuses.size())
        queue = {
            "state": "ok",
            "queued": services.queue.count,
            "workers": alive,
            "dead_workers": len(names) - alive,
            "waiting_for_sql": waiting,
        }
    except (redis.RedisError, OSError, RuntimeError):
        pass
    stalled = queue["state"] == "ok" and alive == 0 and waiting > 0
    if not store_ok:
        status = "down"
    elif stalled:
        status = "no worker"
    else:
        status = "ok" if cache["state"] == "ok" else "degraded"
    # Calls are still answered without Redis (lookups fall back to the store): that alone is no 503.
    body = {
        "status": status,
        "store": {"state": "ok" if store_ok else "down", "dialect": services.store.dialect},
        "cache": cache,
        "queue": queue,
    }
    return jsonify(body), 200 if store_ok and not stalled else 503
