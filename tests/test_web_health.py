from receptionist.runtime.services import Services
from receptionist.web import create_app


def test_healthz_reports_store_cache_and_queue(services):
    """/healthz answers 200 with the state of the store, the cache and the queue."""
    client = create_app(services=services).test_client()
    r = client.get("/healthz")
    assert r.status_code == 200
    body = r.get_json()
    assert body["status"] == "ok"
    assert (
        body["store"]["state"] == "ok" and body["cache"]["state"] == "ok" and body["queue"]["state"] == "ok"
    )


def test_healthz_with_redis_down_is_degraded_not_failed(services, settings):
    """With Redis unreachable the app still reports 200 (calls fall back to the store), marked degraded."""
    broken = Services(
        settings=settings, practice=services.practice, store=services.store, redis_url="redis://127.0.0.1:1/0"
    )
    r = create_app(services=broken).test_client().get("/healthz")
    assert r.status_code == 200
    body = r.get_json()
    assert body["status"] == "degraded" and body["cache"]["state"] == "down"


def test_healthz_with_store_down_is_503(services, settings):
    """A store that cannot be reached makes /healthz answer 503."""
    from receptionist.store import Store

    broken = Services(
        settings=settings,
        practice=services.practice,
        store=Store("postgresql+psycopg://nobody@127.0.0.1:1/none"),
        redis_url=services.redis_url,
    )
    r = create_app(services=broken).test_client().get("/healthz")
    assert r.status_code == 503 and r.get_json()["store"]["state"] == "down"
