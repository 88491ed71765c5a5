"""Dashboard sign-in: hashed passwords, the users command, lock-out, CSRF, sessions, and every page behind it."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from receptionist.dashboard.accounts import LOCK_MINUTES, MAX_FAILURES, add_user, authenticate
from receptionist.store import StaffUser
from receptionist.web import create_app
from tests.dashboard_helpers import PASSWORD, csrf, sign_in, token_of

PAGES = [
    "/",
    "/patients",
    "/patients/P1",
    "/calls",
    "/calls/CA123",
    "/campaigns",
    "/results",
    "/results/tiers.csv",
    "/try",
]
POSTS = [
    "/today/call-now",
    "/today/outcome",
    "/today/callbacks/1/done",
    "/today/callbacks/done",
    "/patients",
    "/patients/P1/opt-out",
    "/patients/P1/consent",
    "/campaigns/start",
    "/campaigns/pause",
    "/campaigns/resume",
    "/try/start",
    "/try/say",
    "/try/hangup",
    "/logout",
]


@pytest.fixture
def app(services):
    return create_app(services=services)


@pytest.mark.parametrize("path", PAGES)
def test_every_page_sends_strangers_to_sign_in(app, path):
    """Not signed in: every dashboard page redirects to the sign-in page, naming where to come back to."""
    response = app.test_client().get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize("path", POSTS)
def test_every_form_refuses_strangers(app, path):
    """Not signed in (with a valid CSRF token): no form does anything; the answer is the sign-in page."""
    client = app.test_client()
    token = token_of(client.get("/login").get_data(as_text=True))
    response = client.post(path, data={"csrf_token": token}, headers={"X-CSRFToken": token})
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


@pytest.mark.parametrize("path", POSTS)
def test_every_form_needs_its_csrf_token(app, store, path):
    """Signed in but without the CSRF token: 400 with a message saying why, and nothing done."""
    client = sign_in(app.test_client(), store)
    response = client.post(path, data={"outcome": "booked", "attempt_id": "x"})
    assert response.status_code == 400
    assert "security token" in response.get_data(as_text=True)


def test_sign_in_without_csrf_token_is_refused(app, store):
    """Even the sign-in form is CSRF-protected (no login CSRF)."""
    add_user(store, "alice", PASSWORD)
    response = app.test_client().post("/login", data={"username": "alice", "password": PASSWORD})
    assert response.status_code == 400


def test_root_is_the_dashboard_and_passwords_are_hashed(app, store):
    """`GET /` after sign-in is Today; the store keeps a scrypt hash, never the password."""
    client = sign_in(app.test_client(), store)
    page = client.get("/")
    assert page.status_code == 200 and "<h1>Today</h1>" in page.get_data(as_text=True)
    with store.sessions() as s:
        user = s.scalar(select(StaffUser))
    assert user.password_hash.startswith("scrypt:") and PASSWORD not in user.password_hash


def test_session_cookie_flags(app, store):
    """The session cookie is HttpOnly and SameSite=Lax (and not Secure on plain-http local mode)."""
    add_user(store, "alice", PASSWORD)
    client = app.test_client()
    token = token_of(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"username": "alice", "password": PASSWORD, "csrf_token": token})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_secure_cookie_over_https(services, store):
    """With an https public URL the session cookie is Secure."""
    from receptionist.config.settings import Settings

    https = Settings(**{**services.settings.model_dump(), "public_base_url": "https://clinic.example"})
    services.settings = https
    app = create_app(services=services)
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_wrong_password_and_unknown_user_answer_alike(app, store):
    """A wrong password and a username that does not exist get the same answer and status."""
    add_user(store, "alice", PASSWORD)
    client = app.test_client()
    token = token_of(client.get("/login").get_data(as_text=True))
    wrong = client.post(
        "/login", data={"username": "alice", "password": "nope nope nope", "csrf_token": token}
    )
    nobody = client.post(
        "/login", data={"username": "mallory", "password": "nope nope nope", "csrf_token": token}
    )
    assert wrong.status_code == nobody.status_code == 401
    assert "Wrong username or password." in wrong.get_data(as_text=True)
    assert "Wrong username or password." in nobody.get_data(as_text=True)


def test_empty_sign_in_is_answered_with_a_message(app):
    """Bad input on the sign-in form: 400 and a message."""
    client = app.test_client()
    token = token_of(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"username": "", "password": "", "csrf_token": token})
    assert response.status_code == 400 and "Enter your username and password." in response.get_data(
        as_text=True
    )


def test_lock_out_after_five_failures(app, store, services):
    """Five failures in a row lock the account for 15 minutes, saying so; even the right password is refused."""
    add_user(store, "alice", PASSWORD)
    client = app.test_client()
    token = token_of(client.get("/login").get_data(as_text=True))
    for _ in range(MAX_FAILURES - 1):
        r = client.post(
            "/login", data={"username": "alice", "password": "bad password!", "csrf_token": token}
        )
        assert "Wrong username or password." in r.get_data(as_text=True)
    r = client.post("/login", data={"username": "alice", "password": "bad password!", "csrf_token": token})
    assert f"locked for {LOCK_MINUTES} minutes" in r.get_data(as_text=True)
    r = client.post("/login", data={"username": "alice", "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 401 and f"locked for {LOCK_MINUTES} minutes" in r.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_lock_expires_after_fifteen_minutes(store, redis_client):
    """After the lock, the right password works again and the count starts over."""
    add_user(store, "alice", PASSWORD)
    t0 = dt.datetime(2026, 11, 30, 15, 0, tzinfo=dt.UTC)
    for _ in range(MAX_FAILURES):
        assert authenticate(store, redis_client, "alice", "wrong wrong", t0).user_id is None
    assert authenticate(store, redis_client, "alice", PASSWORD, t0 + dt.timedelta(minutes=14)).user_id is None
    later = t0 + dt.timedelta(minutes=LOCK_MINUTES, seconds=1)
    assert authenticate(store, redis_client, "alice", PASSWORD, later).user_id is not None


def test_unknown_user_is_locked_out_too(store, redis_client):
    """Failures for a name that is no account lock out the same way: the lock-out does not tell who exists."""
    t0 = dt.datetime(2026, 11, 30, 15, 0, tzinfo=dt.UTC)
    messages = [authenticate(store, redis_client, "ghost", "x" * 12, t0).message for _ in range(MAX_FAILURES)]
    assert "locked" not in messages[0] and "locked" in messages[-1]


def test_a_success_resets_the_failure_count(store, redis_client):
    """Four failures, a success, four more failures: not locked."""
    add_user(store, "alice", PASSWORD)
    t0 = dt.datetime(2026, 11, 30, 15, 0, tzinfo=dt.UTC)
    for _ in range(MAX_FAILURES - 1):
        authenticate(store, redis_client, "alice", "wrong wrong", t0)
    assert authenticate(store, redis_client, "alice", PASSWORD, t0).user_id is not None
    for _ in range(MAX_FAILURES - 1):
        authenticate(store, redis_client, "alice", "wrong wrong", t0)
    assert authenticate(store, redis_client, "alice", PASSWORD, t0).user_id is not None


def test_sign_out_ends_the_session(app, store):
    """Sign-out (a CSRF-protected POST) ends the session: pages send the client to sign-in again."""
    client = sign_in(app.test_client(), store)
    response = client.post("/logout", data={"csrf_token": csrf(client)})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert client.get("/").status_code == 302


def test_removed_user_is_signed_out(app, store):
    """Deleting an account ends its sessions at their next request."""
    from receptionist.dashboard.accounts import remove_user

    client = sign_in(app.test_client(), store)
    remove_user(store, "alice")
    assert client.get("/").status_code == 302


def test_next_is_followed_only_on_this_site(app, store):
    """After sign-in the user goes back to the page asked for, never to another site."""
    add_user(store, "alice", PASSWORD)
    for target, expected in (("/calls", "/calls"), ("https://evil.example/", "/"), ("//evil.example", "/")):
        client = app.test_client()
        token = token_of(client.get("/login").get_data(as_text=True))
        r = client.post(
            f"/login?next={target}", data={"username": "alice", "password": PASSWORD, "csrf_token": token}
        )
        assert r.headers["Location"] == expected


def test_webhooks_health_and_api_need_neither_sign_in_nor_csrf(app):
    """The Twilio routes answer as before (403 for a bad signature, not 400 for CSRF); health stays open;
    statistics (revenue, cost) need a manager's sign-in or an API key with the stats scope."""
    client = app.test_client()
    assert client.post("/voice/inbound", data={"From": "+12025550143"}).status_code == 403
    assert client.get("/healthz").status_code == 200
    assert client.get("/api/stats").status_code == 401


def test_patient_pages_are_not_cached(app, store):
    """Pages with patient data say no-store, and all dashboard pages carry a same-origin-only CSP."""
    client = sign_in(app.test_client(), store)
    r = client.get("/")
    assert r.headers["Cache-Control"] == "no-store"
    assert "default-src 'self'" in r.headers["Content-Security-Policy"]


def test_users_command(run):
    """`receptionist users add NAME --password-stdin`, `users list`, `users remove`: one-line errors, exit 1."""
    added = run_with_input(run, ["users", "add", "frontdesk", "--password-stdin"], PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    assert "added frontdesk" in added.stdout and "/login" in added.stdout
    again = run_with_input(run, ["users", "add", "frontdesk", "--password-stdin"], PASSWORD + "\n")
    assert again.returncode == 1 and "already a user" in again.stderr and "Traceback" not in again.stderr
    short = run_with_input(run, ["users", "add", "bob", "--password-stdin"], "short\n")
    assert short.returncode == 1 and "at least 10 characters" in short.stderr
    bad = run_with_input(run, ["users", "add", "no spaces please", "--password-stdin"], PASSWORD + "\n")
    assert bad.returncode == 1 and "username" in bad.stderr
    listed = run("users", "list")
    assert listed.returncode == 0 and "frontdesk" in listed.stdout and "bob" not in listed.stdout
    removed = run("users", "remove", "frontdesk")
    assert removed.returncode == 0 and "removed frontdesk" in removed.stdout
    assert run("users", "remove", "frontdesk").returncode == 1


def run_with_input(run, args: list[str], text: str):
    """The `run` fixture's command with standard input."""
    return run(*args, input=text)


def test_secret_key_is_kept_in_the_data_folder_or_set(tmp_path):
    """The session key is generated once into the data folder (every web worker shares it), or taken from
    `DASHBOARD_SECRET_KEY`."""
    from receptionist.config.settings import Settings

    a = Settings(receptionist_home=tmp_path).secret_key
    assert len(a) >= 32 and a == Settings(receptionist_home=tmp_path).secret_key
    assert (tmp_path / "dashboard_secret_key").read_text().strip() == a
    strong = "Qm3v8-TfL2pZ9wXc4Rb7Yh1Nj6Ks0Ad5Ge"
    assert Settings(receptionist_home=tmp_path, dashboard_secret_key=strong).secret_key == strong


def test_webhooks_and_apis_neither_read_nor_set_the_session_cookie(app, store):
    """Twilio's webhooks, the health check and the APIs get no cookie and no session, even from a signed-in client."""
    from flask import request
    from twilio.request_validator import RequestValidator

    from receptionist.web import services_of
    from receptionist.web.dashboard import DashboardSessions

    client = sign_in(app.test_client(), store)
    settings = services_of(app).settings
    url = settings.base_url + "/voice/inbound"
    params = {"CallSid": "CA" + "1" * 32, "From": "+13125550123", "To": "+12025550100"}
    signature = RequestValidator(settings.auth_token).compute_signature(url, params)
    for response in (
        client.post("/voice/inbound", data=params, headers={"X-Twilio-Signature": signature}),
        client.get("/healthz"),
        client.get("/api/stats"),
        client.get("/api/v1/openapi.json"),
    ):
        assert response.status_code in (200, 503), response.status_code
        assert "Set-Cookie" not in response.headers
    with app.test_request_context("/voice/gather", method="POST"):
        assert isinstance(app.session_interface, DashboardSessions)
        assert isinstance(
            app.session_interface.open_session(app, request), DashboardSessions.null_session_class
        )
    assert client.get("/").status_code == 200  # the dashboard's session survived them all
