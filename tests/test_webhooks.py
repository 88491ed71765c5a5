"""Outgoing webhooks: outcomes reach the practice's own system, signed, once per outcome, retried on failure."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from rq import SimpleWorker

from receptionist import jobs
from receptionist.integrations import signing
from receptionist.integrations.apikeys import create_key, revoke_key
from receptionist.runtime.worker import queues
from receptionist.store import Patient
from receptionist.web import create_app
from tests.api_helpers import Api


class Receiver:
    """A local HTTP server standing in for the practice's system; answers with the next scripted status."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.got: list[tuple[dict, bytes]] = []
        self.statuses = list(statuses or [])
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                outer.got.append((dict(self.headers), raw))
                self.send_response(outer.statuses.pop(0) if outer.statuses else 204)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def work(services) -> None:
    jobs.bind(services)
    SimpleWorker(queues(services), connection=services.queue_redis).work(burst=True, with_scheduler=True)


@pytest.fixture
def world(services):
    with services.store.session() as s:
        s.add(Patient(id="P1", first_name="Pat", has_contact=True))
    return services, create_app(services=services)


BOOKED = {
    "event_id": "b-1",
    "type": "completed",
    "patient_id": "P1",
    "appointment": {"id": "W-1", "start": "2030-01-07T15:00:00Z"},
}


def test_a_completed_booking_is_sent_signed_once(world):
    """The booking outcome reaches the key's webhook with a signature that verifies; a repeat sends nothing."""
    services, app = world
    with Receiver() as receiver:
        key = create_key(services.store, "pms", sealer=services.sealer, webhook_url=receiver.url)
        create_key(services.store, "no hook", sealer=services.sealer)  # keys without a URL get nothing
        api = Api(app.test_client(), key, services.now)
        assert api.send("POST", "/api/v1/booking-events", BOOKED).status_code == 201
        assert api.send("POST", "/api/v1/booking-events", BOOKED).status_code == 200
        work(services)
    assert len(receiver.got) == 1
    headers, raw = receiver.got[0]
    body = json.loads(raw)
    assert body["type"] == "outcome.booked" and body["patient_id"] == "P1" and body["id"]
    assert headers["X-Webhook-Id"] == body["id"]
    signing.verify(
        key.signing_secret, headers["X-Signature"], "POST", "/hook", raw, services.now().timestamp()
    )


def test_a_failing_receiver_is_retried_with_back_off_and_revoked_keys_get_nothing(world):
    """A 500 leaves the delivery scheduled again (RQ Retry); the retry delivers it; a revoked key's
    deliveries are dropped."""
    services, app = world
    with Receiver(statuses=[500]) as receiver:
        key = create_key(services.store, "pms", sealer=services.sealer, webhook_url=receiver.url)
        api = Api(app.test_client(), key, services.now)
        api.send("POST", "/api/v1/booking-events", BOOKED)
        jobs.bind(services)
        SimpleWorker(queues(services), connection=services.queue_redis).work(burst=True)
        assert len(receiver.got) == 1
        scheduled = services.queue.scheduled_job_registry.get_job_ids()
        assert len(scheduled) == 1
        job = services.queue.fetch_job(scheduled[0])
        assert job.retries_left == 4
        services.queue.enqueue_job(job)  # what the scheduler does when the back-off is over
        SimpleWorker(queues(services), connection=services.queue_redis).work(burst=True)
        assert len(receiver.got) == 2
        revoke_key(services.store, key.id, services.now())
        from receptionist.integrations.webhooks import deliver

        assert deliver(services.store, services.sealer, key.id, {"id": "x"}, services.now()).startswith(
            "dropped"
        )
        assert len(receiver.got) == 2


def test_a_dead_webhook_url_logs_one_line_a_try_and_shows_on_the_dashboard(world, caplog):
    """A URL nothing listens on: each try is one warning line (which try, when the next), no traceback and no
    job arguments in the log; the failure is listed on the dashboard's audit page with its integration."""
    import logging
    import socket

    from receptionist.integrations.webhooks import recent_failures
    from receptionist.runtime.worker import QuietFailures
    from tests.dashboard_helpers import sign_in

    services, app = world
    with socket.socket() as probe:  # a free port, closed again: connections to it are refused
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}/hook"
    key = create_key(services.store, "billing system", sealer=services.sealer, webhook_url=dead)
    Api(app.test_client(), key, services.now).send("POST", "/api/v1/booking-events", BOOKED)
    jobs.bind(services)

    class InProcess(QuietFailures, SimpleWorker):  # the job runs in this process, where caplog sees its lines
        pass

    with caplog.at_level(logging.DEBUG):
        InProcess(queues(services), connection=services.queue_redis).work(burst=True)
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.getMessage() for r in warnings] == [
        f"webhook {key.id}: URLError: try 1 failed; retrying in 10 s"
    ]
    assert not any(r.exc_info for r in caplog.records)
    assert "Traceback" not in caplog.text
    failures = recent_failures(services.redis)
    assert [(f["key_id"], f["retry_in"]) for f in failures] == [(key.id, 10)]
    client = sign_in(app.test_client(), services.store)
    html = client.get("/audit").get_data(as_text=True)
    assert "Webhook deliveries that failed" in html and "billing system" in html and "URLError" in html
    assert "retry in 0:10" in html
