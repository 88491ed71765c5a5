"""Staff sign-in a HIPAA auditor accepts: sessions that end (sign-out, removal, new password, idle, absolute
lifetime), roles, a lock-out that cannot be raced or used to find accounts, strong session keys, and the
append-only audit log of access to patient data."""

from __future__ import annotations

import csv
import datetime as dt
import io
import statistics
import threading
import time

import pytest
from sqlalchemy import text

from receptionist.clock import utc
from receptionist.dashboard.accounts import (
    LOCKED_MESSAGE,
    MAX_FAILURES,
    REFUSED_MESSAGE,
    add_user,
    authenticate,
    remove_user,
    set_password,
)
from receptionist.store import AuditEvent, Patient
from receptionist.web import create_app
from tests.dashboard_helpers import PASSWORD, csrf, sign_in

T0 = dt.datetime(2026, 11, 30, 15, 0, tzinfo=dt.UTC)


class Clock:
    def __init__(self) -> None:
        self.at = T0

    def __call__(self) -> dt.datetime:
        return self.at


@pytest.fixture
def clock(services):
    c = Clock()
    services.now = c
    return c


@pytest.fixture
def app(services, clock):
    with services.store.session() as s:
        s.add(Patient(id="P1", first_name="Pat", last_name="Example", has_contact=True))
    return create_app(services=services)


def cookie_of(client) -> str:
    return client.get_cookie("receptionist_session").value


def stranger_with(app, cookie: str):
    """A new browser that presents a captured cookie."""
    other = app.test_client()
    other.set_cookie("receptionist_session", cookie)
    return other


def test_a_cookie_is_worthless_after_sign_out(app, store):
    """Sign-out ends the session on the server: the captured cookie signs nobody in."""
    client = sign_in(app.test_client(), store)
    captured = cookie_of(client)
    assert stranger_with(app, captured).get("/").status_code == 200
    client.post("/logout", data={"csrf_token": csrf(client)})
    assert stranger_with(app, captured).get("/").status_code == 302


def test_remove_and_add_again_never_revives_an_old_cookie(app, store):
    """`users remove` then `users add` with the same name (SQLite reuses the row id): the old cookie is dead."""
    client = sign_in(app.test_client(), store)
    captured = cookie_of(client)
    remove_user(store, "alice")
    add_user(store, "alice", PASSWORD + "!", role="manager")
    assert stranger_with(app, captured).get("/").status_code == 302


def test_a_new_password_ends_every_session(app, store, clock):
    """`users passwd` signs every browser of the account out."""
    one, two = sign_in(app.test_client(), store), sign_in(app.test_client(), store, create=False)
    assert set_password(store, "alice", "a brand new password", clock()) == 2
    assert one.get("/").status_code == 302 and two.get("/").status_code == 302


def test_idle_sessions_and_old_sessions_end(app, store, clock, services):
    """Inactive for the idle timeout: signed out. Active all along: still signed out at the absolute lifetime,
    and the cookie's expiry never slides."""
    idle = dt.timedelta(minutes=services.settings.dashboard_idle_minutes)
    client = sign_in(app.test_client(), store)
    clock.at += idle - dt.timedelta(seconds=5)
    assert client.get("/").status_code == 200
    clock.at += idle + dt.timedelta(seconds=1)
    assert client.get("/").status_code == 302
    client = sign_in(app.test_client(), store, create=False)
    first = client.get_cookie("receptionist_session").expires
    end = clock.at + dt.timedelta(hours=services.settings.dashboard_session_hours)
    while clock.at + idle / 2 < end:
        clock.at += idle / 2
        assert client.get("/").status_code == 200
    assert client.get_cookie("receptionist_session").expires == first
    clock.at = end + dt.timedelta(seconds=1)
    assert client.get("/").status_code == 302


@pytest.mark.parametrize("path", ["/results", "/results/tiers.csv", "/campaigns", "/audit", "/audit.csv"])
def test_front_desk_cannot_open_manager_pages(app, store, path):
    """Results, revenue, campaigns and the audit log are for managers: the front desk gets 403."""
    desk = sign_in(app.test_client(), store, "desk", role="front_desk")
    assert desk.get(path).status_code == 403
    assert desk.get("/").status_code == 200 and desk.get("/patients/P1").status_code == 200
    boss = sign_in(app.test_client(), store, "boss", role="manager")
    assert boss.get(path).status_code == 200


def test_front_desk_cannot_start_campaigns(app, store):
    desk = sign_in(app.test_client(), store, "desk", role="front_desk")
    assert desk.post("/campaigns/start", data={"csrf_token": csrf(desk)}).status_code == 403


def test_parallel_sign_ins_get_no_more_password_checks_than_the_limit(store, redis_client):
    """Twenty-five wrong passwords at once: at most five are checked (four refused, then locked)."""
    add_user(store, "alice", PASSWORD)
    answers: list[str] = []
    gate = threading.Barrier(25)

    def attempt() -> None:
        gate.wait()
        answers.append(authenticate(store, redis_client, "alice", "wrong password!", T0).message)

    threads = [threading.Thread(target=attempt) for _ in range(25)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers.count(REFUSED_MESSAGE) == MAX_FAILURES - 1
    assert answers.count(LOCKED_MESSAGE) == 25 - (MAX_FAILURES - 1)
    assert authenticate(store, redis_client, "alice", PASSWORD, T0).user_id is None  # locked


def _locked_timing(store, redis_client, name: str) -> float:
    for _ in range(MAX_FAILURES):
        authenticate(store, redis_client, name, "wrong password!", T0)
    times = []
    for _ in range(5):
        started = time.perf_counter()
        assert authenticate(store, redis_client, name, "wrong password!", T0).message == LOCKED_MESSAGE
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def test_locked_real_and_unknown_accounts_answer_alike(store, redis_client):
    """A locked account and a locked name that is no account cost the same (one scrypt each) and say the
    same; a case variant of a locked account's name is locked too."""
    add_user(store, "alice", PASSWORD)
    real = _locked_timing(store, redis_client, "alice")
    ghost = _locked_timing(store, redis_client, "nobody-here")
    assert 1 / 3 < real / ghost < 3, (real, ghost)  # the old code: about 40 times apart
    assert authenticate(store, redis_client, "ALICE", PASSWORD, T0).message == LOCKED_MESSAGE
    with pytest.raises(ValueError):
        add_user(store, "Alice", PASSWORD)  # one account per name, whatever its case


@pytest.mark.parametrize(
    "weak", ["changeme", "x" * 40, "0123456789" * 4, "receptionist-dashboard-secret-key-2026"]
)
def test_a_weak_dashboard_secret_key_is_refused_at_start(tmp_path, weak):
    """A short, repetitive or wordy DASHBOARD_SECRET_KEY stops the settings from loading."""
    from pydantic import ValidationError

    from receptionist.config.settings import Settings

    with pytest.raises(ValidationError, match="DASHBOARD_SECRET_KEY"):
        Settings(receptionist_home=tmp_path, dashboard_secret_key=weak)


def test_a_weak_dashboard_secret_key_stops_the_cli_with_one_line(run, tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "DASHBOARD_SECRET_KEY": "changeme", "RECEPTIONIST_HOME": str(tmp_path / "h")}
    got = subprocess.run(
        [sys.executable, "-m", "receptionist.cli", "users", "list"], env=env, capture_output=True, text=True
    )
    assert got.returncode == 1 and "DASHBOARD_SECRET_KEY" in got.stderr and "Traceback" not in got.stderr


def test_access_to_patient_data_is_audited(app, store, services):
    """Opening a patient, a call transcript, a search and an export each add an entry: who, what, when."""
    client = sign_in(app.test_client(), store, "desk", role="front_desk")
    client.get("/patients/P1")
    client.post("/patients", data={"q": "Pat", "csrf_token": csrf(client, "/patients")})
    boss = sign_in(app.test_client(), store, "boss")
    boss.get("/results/tiers.csv")
    with store.sessions() as s:
        events = list(s.query(AuditEvent).order_by(AuditEvent.id))
    seen = {(e.username, e.action, e.patient_id) for e in events}
    assert ("desk", "patient.view", "P1") in seen
    assert any(e.action == "patients.search" and "Pat" not in e.detail for e in events)
    assert ("boss", "export", None) in seen
    assert all(utc(e.at) == services.now() and e.role in ("front_desk", "manager") for e in events)
    page = boss.get("/audit?patient=P1").get_data(as_text=True)
    assert "patient.view" in page and "desk" in page
    rows = list(csv.DictReader(io.StringIO(boss.get("/audit.csv").get_data(as_text=True))))
    assert {"desk", "boss"} <= {r["username"] for r in rows}
    assert rows[-1]["action"] == "audit.export"  # exporting the log is itself recorded


def test_the_audit_log_is_append_only(app, store):
    """The store refuses to change or delete an audit entry."""
    client = sign_in(app.test_client(), store)
    client.get("/patients/P1")
    for statement in ("UPDATE audit_events SET username = 'someone else'", "DELETE FROM audit_events"):
        with pytest.raises(Exception, match="append-only"), store.engine.begin() as conn:
            conn.execute(text(statement))


def test_users_passwd_unlock_and_role_commands(run):
    """`users add --role`, `users passwd` (ends sessions), `users unlock`, `users role`; the first is a manager."""
    assert run("users", "add", "boss", "--password-stdin", input=PASSWORD + "\n").returncode == 0
    listed = run("users", "list").stdout
    assert "boss  manager" in listed
    added = run("users", "add", "desk", "--password-stdin", input=PASSWORD + "\n")
    assert "(front_desk)" in added.stdout
    changed = run("users", "passwd", "desk", "--password-stdin", input="another good password\n")
    assert changed.returncode == 0 and "session(s) signed out" in changed.stdout
    assert run("users", "passwd", "desk", "--password-stdin", input="short\n").returncode == 1
    assert run("users", "unlock", "desk").returncode == 0
    assert run("users", "role", "desk", "manager").returncode == 0
    assert "desk  manager" in run("users", "list").stdout
    missing = run("users", "unlock", "nobody")
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
