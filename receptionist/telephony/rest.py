"""Twilio's REST API behind a small interface: calls, texts, and the lookups that settle interrupted sends.

`TwilioApi` drives the real `twilio` package; `TWILIO_API_BASE_URL` points its REST requests somewhere other
than api.twilio.com (the local stand-in in local mode and in tests). `Refused` (the provider said no: a bad
number, a rejected address) is final; anything else is raised as is and the job is retried with back-off.
"""

from __future__ import annotations

import datetime as dt
import logging
import urllib.parse
from typing import Any

from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

TWILIO_API = "https://api.twilio.com"
# The SDK logs every request line at INFO, query strings (phone numbers) included: patient data stays out.
logging.getLogger("twilio.http_client").setLevel(logging.WARNING)


class Refused(RuntimeError):
    """The provider refused this contact for good (retrying cannot help)."""


class _Rebased(TwilioHttpClient):  # type: ignore[misc]  # the SDK ships no type information
    """Sends what the SDK would send to api.twilio.com to another base URL."""

    def __init__(self, base_url: str, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self.base_url = base_url.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        parts = urllib.parse.urlsplit(url)
        if parts.netloc.endswith("twilio.com"):
            url = self.base_url + parts.path + (f"?{parts.query}" if parts.query else "")
        return super().request(method, url, *args, **kwargs)


def _refusal(exc: TwilioRestException) -> bool:
    return 400 <= exc.status < 500 and exc.status not in (401, 408, 429)


class TwilioApi:
    def __init__(
        self, account_sid: str, auth_token: str, base_url: str | None, timeout: float = 10.0
    ) -> None:
        http = _Rebased(base_url, timeout) if base_url else TwilioHttpClient(timeout=timeout)
        self.client = Client(account_sid, auth_token, http_client=http)

    def warm(self) -> None:
        """Load the SDK's lazily imported REST modules now (a worker does this once before it forks jobs)."""
        self.client.calls  # noqa: B018
        self.client.messages  # noqa: B018

    def place_call(
        self, *, to: str, from_: str, url: str, status_callback: str, amd_callback: str, time_limit_s: int
    ) -> str:
        """An outbound call with asynchronous answering-machine detection; returns its CallSid."""
        try:
            call = self.client.calls.create(
                to=to,
                from_=from_,
                url=url,
                status_callback=status_callback,
                status_callback_event=["initiated", "ringing", "answered", "completed"],
                machine_detection="DetectMessageEnd",
                async_amd="true",
                async_amd_status_callback=amd_callback,
                time_limit=time_limit_s,
            )
        except TwilioRestException as exc:
            if _refusal(exc):
                raise Refused(f"Twilio refused the call: {exc.code or exc.status}") from None
            raise
        return str(call.sid)

    def bridge_call(self, *, to: str, from_: str, url: str, status_callback: str) -> str:
        """A call to a staff member's phone that, once they accept, dials the patient (no AMD: a person)."""
        try:
            call = self.client.calls.create(
                to=to,
                from_=from_,
                url=url,
                status_callback=status_callback,
                status_callback_event=["completed"],
            )
        except TwilioRestException as exc:
            if _refusal(exc):
                raise Refused(f"Twilio refused the call: {exc.code or exc.status}") from None
            raise
        return str(call.sid)

    def replace_twiml(self, call_sid: str, twiml: str) -> None:
        """Run new TwiML on a live call (the voicemail, once the machine's greeting has ended)."""
        self.client.calls(call_sid).update(twiml=twiml)

    def send_sms(self, *, to: str, from_: str, body: str, status_callback: str) -> str:
        try:
            message = self.client.messages.create(
                to=to, from_=from_, body=body, status_callback=status_callback
            )
        except TwilioRestException as exc:
            if _refusal(exc):
                raise Refused(f"Twilio refused the text: {exc.code or exc.status}") from None
            raise
        return str(message.sid)

    def find_call(self, *, to: str, since: dt.datetime) -> str | None:
        """A call to `to` created at or after `since`, if any (to settle an attempt whose worker died)."""
        for call in self.client.calls.list(to=to, start_time_after=since, limit=20):
            created = call.date_created
            if created is None or created >= since - dt.timedelta(seconds=5):
                return str(call.sid)
        return None

    def fetch_call(self, sid: str) -> tuple[str, int | None] | None:
        """(status, duration in seconds) of one call, as Twilio has it; None when Twilio does not know it."""
        try:
            call = self.client.calls(sid).fetch()
        except TwilioRestException as exc:
            if exc.status == 404:
                return None
            raise
        duration = str(call.duration or "").strip()
        return str(call.status), int(duration) if duration.isdigit() else None

    def find_message(self, *, to: str, since: dt.datetime) -> str | None:
        for message in self.client.messages.list(to=to, date_sent_after=since, limit=20):
            created = message.date_created
            if created is None or created >= since - dt.timedelta(seconds=5):
                return str(message.sid)
        return None
