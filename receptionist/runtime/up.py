"""`receptionist up`: store, Redis, demo practice when empty, web server and worker, until Ctrl-C."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
import urllib.request
from typing import TYPE_CHECKING, Any

import click

from receptionist.config.settings import SERVER_URL_FILE, Settings
from receptionist.runtime.embedded_redis import EmbeddedRedis, EmbeddedRedisError

if TYPE_CHECKING:
    from receptionist.store import Store


def run_up(settings: Settings, *, port: int | None, demo: bool, fail: type[click.ClickException]) -> None:
    from receptionist.clock import clock_from
    from receptionist.config.practice import PracticeFileError, load_practice
    from receptionist.patients.export import latest_run_id
    from receptionist.patients.scorer import run_scoring
    from receptionist.runtime.services import Services
    from receptionist.scheduling.schedule import ensure_schedule
    from receptionist.simulation.demo import load_demo, patient_count
    from receptionist.store import Store

    port = port or settings.port
    embedded = EmbeddedRedis(settings.home)
    started_redis = False
    if settings.redis_url:
        redis_url = settings.redis_url
    else:
        try:
            already = embedded.url
            redis_url = embedded.ensure_running()
        except EmbeddedRedisError as exc:
            raise fail(str(exc)) from None
        started_redis = already is None
    try:
        practice = load_practice(settings.practice_file)
    except PracticeFileError as exc:
        raise fail(str(exc)) from None
    store = Store(settings.store_url)
    store.migrate()
    services = Services(
        settings=settings,
        practice=practice,
        store=store,
        redis_url=redis_url,
        now=clock_from(settings.receptionist_clock),
    )
    today = practice.today(services.now())
    if demo and patient_count(store) == 0:
        click.echo("empty store: loading the demo practice ...")
        report = load_demo(
            store,
            settings.home,
            as_of=today,
            progress=sys.stderr.isatty(),
            practice_file=settings.practice_file,
            cache=services.publish_cache,
        )
        click.echo("  " + report.patients.summary())
        click.echo("  " + report.visits.summary())
    ensure_schedule(store, practice, today, weeks=8)  # the schedule rolls forward at every start
    if latest_run_id(store) is None and patient_count(store):
        summary = run_scoring(store, services.publish_cache, practice, today)
        click.echo(f"  scored {summary.patients} patients: {summary.tiers}")
    from receptionist.dashboard.accounts import list_users

    has_users = bool(list_users(store))
    high_phone = example_phone(store, "high") or "+12025550143"
    low_phone = example_phone(store, "low") or "+12025550177"
    services.close()

    env = {**os.environ, "REDIS_URL": redis_url, "PORT": str(port), "RECEPTIONIST_HOME": str(settings.home)}
    if not settings.public_base_url:
        env["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{port}"
    children: list[_Child] = []
    local_twilio = None
    if not settings.twilio_account_sid and not settings.twilio_api_base_url:
        # Local mode: campaigns' calls and texts go to a local stand-in of Twilio that plays the patients.
        twilio_port = _free_port()
        local_twilio = f"http://127.0.0.1:{twilio_port}"
        env["TWILIO_API_BASE_URL"] = local_twilio
        children.append(
            _Child(
                "the local Twilio stand-in",
                [sys.executable, "-m", "receptionist.simulation.localtwilio", "--port", str(twilio_port)],
                env,
                quiet=True,
            )
        )
    web_child = _Child(
        "the web server",
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "python:receptionist.runtime.webserver",  # gevent workers: slow clients hold no thread
            "--bind",
            f"127.0.0.1:{port}",
            "--access-logfile",
            "-",
            "receptionist.web:create_app()",
        ],
        env,
    )
    children += [
        web_child,
        _Child("the job worker", [sys.executable, "-m", "receptionist.cli", "worker"], env),
    ]
    web = web_child.proc
    stopping = False

    def stop(*_args: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    server_url = settings.home / SERVER_URL_FILE
    try:
        base = f"http://127.0.0.1:{port}"
        if not _wait_healthy(base + "/healthz", web):
            raise fail(f"the web server did not answer on {base}/healthz (is port {port} in use?)")
        public = settings.public_base_url or base
        server_url.write_text(public + "\n")  # `users add` prints the sign-in URL this server really uses
        click.echo(f"""
receptionist is up ({practice.name}, {practice.main.phone})
  dashboard:   {public}/   (staff sign-in){_first_user_line(has_users)}
  health:      {base}/healthz
  webhook:     {public}/voice/inbound   (Twilio: the Voice URL of your number, HTTP POST;
               expose it publicly, e.g. with a tunnel, and set PUBLIC_BASE_URL to that https URL)
  data folder: {settings.home}

Place a simulated call (in another terminal, from this folder):
  a high-value demo patient, put through to staff (a weekday morning):
    .venv/bin/receptionist call --from {high_phone} --at {_next_weekday_10am(practice.today(services.now()))}
  a routine caller booking a cleaning with the AI receptionist, against this server:
    .venv/bin/receptionist call --url {base} --from {low_phone} --say "I'd like to book a cleaning" --say "the first one" --say "yes" --say "that's all"
  an unknown caller asking for the hours:
    .venv/bin/receptionist call --url {base} --from +13125550123 --say "what are your hours" --say "bye"
{_outreach_lines(local_twilio)}
Press Ctrl-C to stop.""")
        while not stopping:
            for child in children:
                if not child.alive() and not child.restart():
                    stopping = True  # it keeps dying: stop everything rather than run without it
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server_url.unlink(missing_ok=True)
        for child in children:
            child.signal(signal.SIGTERM)
        for child in children:
            child.wait_or_kill(15)
        if started_redis:
            embedded.stop()
        click.echo("stopped")


RESTARTS = 5  # a process that died this often within RESTART_WINDOW_S is not started again
RESTART_WINDOW_S = 120.0


class _Child:
    """One process `up` runs and watches: started in a process group of its own, so that stopping it stops
    what it started too (the worker's scheduler, gunicorn's workers); started again when it dies, so a killed
    worker never takes the web server down with it."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], *, quiet: bool = False) -> None:
        self.name, self.argv, self.env, self.quiet = name, argv, env, quiet
        self.deaths: list[float] = []
        self.proc = self._start()

    def _start(self) -> subprocess.Popen[Any]:
        return subprocess.Popen(
            self.argv,
            env=self.env,
            stdout=subprocess.DEVNULL if self.quiet else None,
            start_new_session=True,
        )

    def alive(self) -> bool:
        return self.proc.poll() is None

    def restart(self) -> bool:
        """Start it again (what it left behind in its group is stopped first); False once it died too often."""
        now = time.monotonic()
        self.deaths = [t for t in self.deaths if now - t < RESTART_WINDOW_S] + [now]
        self.signal(signal.SIGKILL)  # an orphan of the dead one (the worker's scheduler) would hold its locks
        if len(self.deaths) > RESTARTS:
            click.echo(f"{self.name} stopped {len(self.deaths)} times in a row; stopping", err=True)
            return False
        click.echo(f"{self.name} stopped (exit status {self.proc.returncode}); starting it again", err=True)
        self.proc = self._start()
        return True

    def signal(self, sig: int) -> None:
        try:
            os.killpg(self.proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass  # the group is gone already

    def wait_or_kill(self, timeout: float) -> None:
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.proc.wait(timeout=5)


def _first_user_line(has_users: bool) -> str:
    if has_users:
        return ""
    return (
        "\n               no staff account yet: make the first one (in another terminal, from this folder) with\n"
        "                 .venv/bin/receptionist users add NAME"
    )


def _outreach_lines(local_twilio: str | None) -> str:
    where = (
        f"a local stand-in of Twilio ({local_twilio}) plays the patients: most answer, some are voicemail"
        if local_twilio
        else "your Twilio account places them"
    )
    return f"""
Reactivation campaigns (calls and texts: {where}):
    .venv/bin/receptionist campaign plan
    .venv/bin/receptionist campaign run
    .venv/bin/receptionist campaign status"""


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def example_phone(store: Store, tier: str) -> str | None:
    """A phone number of a patient of this tier in the latest run (the demo's Margaret for high)."""
    from sqlalchemy import select

    from receptionist.patients.export import latest_run_id
    from receptionist.store import PatientPhone, PatientScore

    run_id = latest_run_id(store)
    if run_id is None:
        return None
    with store.engine.connect() as conn:
        phone: str | None = conn.scalar(
            select(PatientPhone.phone)
            .join(PatientScore, PatientScore.patient_id == PatientPhone.patient_id)
            .where(PatientScore.run_id == run_id, PatientScore.tier == tier)
            .order_by(PatientScore.patient_id, PatientPhone.position)
            .limit(1)
        )
        return phone


def _next_weekday_10am(today: dt.date) -> str:
    day = today + dt.timedelta(days=1)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return f"{day.isoformat()}T10:00"


# The web master trains the understanding before it answers (about 8 s of CPU the first time, read from the
# data folder's cache afterwards): on a slow or busy machine the first start takes a while.
HEALTHY_WITHIN_S = 120.0


def _wait_healthy(url: str, proc: subprocess.Popen[Any], timeout: float = HEALTHY_WITHIN_S) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:  # loopback only
                if resp.status == 200:
                    return True
        except OSError:
            time.sleep(0.3)
    return False
