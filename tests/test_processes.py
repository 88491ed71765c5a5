"""The Procfile's processes and `receptionist up`, run as real processes."""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import redis
from rq import Queue

from receptionist.runtime.embedded_redis import EmbeddedRedis
from receptionist.runtime.worker import run_worker
from tests.voice_helpers import load_small_practice

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, proc: subprocess.Popen, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "process exited early"
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                return json.loads(resp.read())
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer")


def test_worker_runs_a_scoring_job(services, store, redis_client, tmp_path):
    """A job enqueued on the default queue is carried out by the worker (burst mode) and returns its run."""
    load_small_practice(store, redis_client, tmp_path)
    queue = Queue("default", connection=services.queue_redis)
    job = queue.enqueue("receptionist.jobs.score_job", "2026-06-01")
    assert run_worker(services, burst=True)
    job.refresh()
    assert job.is_finished, job.latest_result().exc_string
    assert job.return_value()["as_of"] == "2026-06-01"


@contextlib.contextmanager
def procfile_web(tmp_path: Path, port: int, **env: str) -> Iterator[subprocess.Popen]:
    """The Procfile's web command as a process group on `port`, with these environment variables; stopped after."""
    line = next(x for x in (ROOT / "Procfile").read_text().splitlines() if x.startswith("web:"))
    full = {
        **os.environ,
        "PORT": str(port),
        "RECEPTIONIST_HOME": str(tmp_path),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        **env,
    }
    with (tmp_path / "web.log").open("w") as log:
        proc = subprocess.Popen(
            ["sh", "-c", "exec " + line.split(":", 1)[1].strip()],
            env=full,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield proc
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)


def test_procfile_web_process_answers_healthz(tmp_path, database_url, redis_url, store):
    """The Procfile's web command (gunicorn on the app factory, bound to $PORT) serves /healthz."""
    port = free_port()
    with procfile_web(tmp_path, port, DATABASE_URL=database_url, REDIS_URL=redis_url) as proc:
        body = wait_for(f"http://127.0.0.1:{port}/healthz", proc)
        assert body["store"]["state"] == "ok" and body["cache"]["state"] == "ok"


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:  # loopback
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_up_on_embedded_defaults(tmp_path):
    """`receptionist up` on a fresh data folder: embedded Redis and SQLite, demo scored, /healthz, clean stop."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "PRACTICE_FILE")}
    env.update(RECEPTIONIST_HOME=str(tmp_path / "var"), PORT=str(port))
    proc = subprocess.Popen(
        [sys.executable, "-m", "receptionist.cli", "up"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 240
        while not any("Press Ctrl-C" in line for line in lines):  # what a user waits for
            assert proc.poll() is None and time.monotonic() < deadline, "".join(lines)
            time.sleep(0.2)
        body = wait_for(f"http://127.0.0.1:{port}/healthz", proc)
        assert body["status"] == "ok"
        assert body["cache"]["run"] and body["cache"]["entries"] > 1000
        assert (tmp_path / "var" / "receptionist.sqlite3").exists()
        # the web master trained the understanding before forking its workers: no caller waits for it
        assert any((tmp_path / "var" / "models").iterdir())
        redis_url = EmbeddedRedis(tmp_path / "var").url
        assert redis_url is not None
        deadline = time.monotonic() + 30
        while body["queue"]["workers"] < 1 and time.monotonic() < deadline:
            time.sleep(0.5)
            body = wait_for(f"http://127.0.0.1:{port}/healthz", proc)
        assert body["queue"]["workers"] >= 1
        # the call example `up` prints, against the running server
        r = subprocess.run(
            [
                sys.executable,
                "-m",
                "receptionist.cli",
                "call",
                "--url",
                f"http://127.0.0.1:{port}",
                "--from",
                "+13125550123",
                "--say",
                "what are your hours",
                "--say",
                "bye",
                "--json",
            ],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert r.returncode == 0, r.stderr
        outcome = json.loads(r.stdout)
        assert (
            outcome["route"] in ("ai", "closed") and "Monday to Friday" in outcome["turns"][1]["receptionist"]
        )
        # a killed worker is started again, and the web server keeps answering meanwhile
        from rq import Worker

        queue_redis = redis.Redis.from_url(redis_url)
        first = {w.pid for w in Worker.all(connection=queue_redis)}
        assert len(first) == 1
        killed = first.pop()
        os.kill(killed, signal.SIGKILL)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert proc.poll() is None, "".join(lines)
            assert _status(f"http://127.0.0.1:{port}/healthz") in (200, 503)  # answering, honest
            if any(w.pid != killed and _alive(w.pid) for w in Worker.all(connection=queue_redis)):
                break
            time.sleep(0.5)
        else:
            raise AssertionError("no worker came back:\n" + "".join(lines))
        assert "the job worker stopped (exit status -9); starting it again" in "".join(lines)
        # the dashboard URL it prints opens the sign-in page (served by gunicorn, assets and all)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as page:  # loopback
            assert "/login?next=" in page.url and "Sign in" in page.read().decode()
        with urllib.request.urlopen(
            f"http://127.0.0.1:{port}/static/vendor/chart.umd.min.js", timeout=10
        ) as js:
            assert js.status == 200
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        reader.join(timeout=10)
        proc.stdout.close()
    out = "".join(lines)
    assert proc.returncode == 0, out
    assert f"http://127.0.0.1:{port}/healthz" in out and "/voice/inbound" in out
    assert f"dashboard:   http://127.0.0.1:{port}/" in out and "receptionist users add NAME" in out
    assert "stopped" in out
    assert EmbeddedRedis(tmp_path / "var").url is None  # the Redis it started is stopped too
