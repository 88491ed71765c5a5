"""The web process as the Procfile serves it: slow clients cannot starve Twilio's webhooks; the access log
never shows an unsubscribe token."""

from __future__ import annotations

import socket
import time
import urllib.parse
import urllib.request

from twilio.request_validator import RequestValidator

from receptionist.runtime.webserver import redact
from tests.conftest import TEST_TOKEN
from tests.test_processes import free_port, procfile_web, wait_for

SLOW_CLIENTS = 60  # well over the ~8 that stalled a thread-per-connection server


def test_slow_half_open_connections_do_not_starve_voice_inbound(tmp_path, database_url, redis_url, store):
    """Sixty clients trickling half-sent requests hold the server's connections; a signed /voice/inbound
    is still answered at once."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    slow: list[socket.socket] = []
    with procfile_web(
        tmp_path,
        port,
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        PUBLIC_BASE_URL=base,
        TWILIO_AUTH_TOKEN=TEST_TOKEN,
    ) as proc:
        try:
            wait_for(f"{base}/healthz", proc)
            for i in range(SLOW_CLIENTS):
                s = socket.create_connection(("127.0.0.1", port), timeout=5)
                path = "/voice/inbound" if i % 2 else "/login"
                s.sendall(
                    f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\nX-A: ".encode()
                )
                slow.append(s)
            time.sleep(1.0)
            for s in slow:  # still trickling: each a byte more, never the end of its headers
                s.sendall(b"a")
            status, body, took = _signed_inbound(base)
            assert status == 200 and "<Response>" in body
            assert took < 2.0, f"/voice/inbound took {took:.1f} s behind {SLOW_CLIENTS} slow clients"
        finally:
            for s in slow:
                s.close()


def _signed_inbound(base: str) -> tuple[int, str, float]:
    """POST /voice/inbound signed as Twilio signs it: (status, body, seconds taken)."""
    params = {
        "CallSid": "CA" + "5" * 32,
        "AccountSid": "AC" + "0" * 32,
        "From": "+13125550123",
        "To": "+12025550100",
        "CallStatus": "ringing",
        "Direction": "inbound",
    }
    url = f"{base}/voice/inbound"
    signature = RequestValidator(TEST_TOKEN).compute_signature(url, params)
    request = urllib.request.Request(
        url,
        data=urllib.parse.urlencode(params).encode(),
        headers={"X-Twilio-Signature": signature, "Content-Type": "application/x-www-form-urlencoded"},
    )
    started = time.monotonic()
    with urllib.request.urlopen(request, timeout=10) as resp:  # loopback
        return resp.status, resp.read().decode(), time.monotonic() - started


def test_access_log_leaves_unsubscribe_tokens_out():
    """The access log's request line, path and referrer show `/unsubscribe/…`, never the token."""
    assert redact("GET /unsubscribe/AbC-123_xyz HTTP/1.1") == "GET /unsubscribe/… HTTP/1.1"
    assert redact("/unsubscribe/AbC-123_xyz?x=1") == "/unsubscribe/…?x=1"
    assert redact("/voice/inbound") == "/voice/inbound"
