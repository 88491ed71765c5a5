"""The outside services outreach sends through, behind small interfaces: Twilio (calls, texts) and SMTP (email).

`TwilioApi` drives the real `twilio` package; `TWILIO_API_BASE_URL` points its REST requests somewhere other
than api.twilio.com (the local stand-in in local mode and in tests). `Mailer` speaks SMTP with the standard
library. Both say whether a failure is worth retrying: `Refused` (the provider said no: a bad number, a
rejected address) is final; anything else is raised as is and the job is retried with back-off.
"""

from __future__ import annotations

import datetime as dt
import email.message
import email.utils
import logging
import smtplib
import ssl
import urllib.parse
from dataclasses import dataclass
from typing import Any

from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

TWILIO_API = "https://api.twilio.com"
# The SDK logs every request line at INFO, query strings (phone numbers) included: patient data stays out.
logging.getLogger("twilio.http_client").setLevel(logging.WARNING)


class Refused(RuntimeError):
    """The provider refused this contact for good (retrying cannot help)."""


class _Rebased(TwilioHttpClient):
    """Sends what the SDK would send to api.twilio.com to another base URL."""

    def __init__(self, base_url: str, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self.base_url = base_url.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any):
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

    def find_message(self, *, to: str, since: dt.datetime) -> str | None:
        for message in self.client.messages.list(to=to, date_sent_after=since, limit=20):
            created = message.date_created
            if created is None or created >= since - dt.timedelta(seconds=5):
                return str(message.sid)
        return None


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    user: str | None
    password: str | None
    tls: bool  # smtps:// (TLS from the start); smtp:// uses STARTTLS when the server offers it
    sender: str

    @classmethod
    def parse(cls, url: str, default_sender: str) -> SmtpTarget:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("SMTP_URL must look like smtp://user:password@host:port or smtps://...")
        query = urllib.parse.parse_qs(parts.query)
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if parts.scheme == "smtps" else 25),
            user=urllib.parse.unquote(parts.username) if parts.username else None,
            password=urllib.parse.unquote(parts.password) if parts.password else None,
            tls=parts.scheme == "smtps",
            sender=query.get("from", [default_sender])[0],
        )


class Mailer:
    def __init__(self, target: SmtpTarget, timeout: float = 15.0) -> None:
        self.target = target
        self.timeout = timeout

    def send(self, *, to: str, subject: str, text: str, unsubscribe_url: str) -> str:
        """Send one plain-text email; returns its Message-ID."""
        t = self.target
        msg = email.message.EmailMessage()
        msg["From"] = t.sender
        msg["To"] = to
        msg["Subject"] = subject
        msg["Date"] = email.utils.formatdate(localtime=False)
        msg["Message-ID"] = email.utils.make_msgid(domain=t.sender.rpartition("@")[2] or None)
        msg["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        msg.set_content(text)
        try:
            if t.tls:
                server: smtplib.SMTP = smtplib.SMTP_SSL(
                    t.host, t.port, timeout=self.timeout, context=ssl.create_default_context()
                )
            else:
                server = smtplib.SMTP(t.host, t.port, timeout=self.timeout)
            with server:
                server.ehlo()
                if not t.tls and server.has_extn("starttls"):
                    server.starttls(context=ssl.create_default_context())
                    server.ehlo()
                if t.user:
                    server.login(t.user, t.password or "")
                server.send_message(msg)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused) as exc:
            raise Refused(f"the mail server refused the message: {type(exc).__name__}") from None
        return str(msg["Message-ID"])
