"""Email, the outreach channel that is not Twilio's (`receptionist.telephony.rest` is): `Mailer` speaks SMTP
with the standard library and says whether a failure is worth retrying, like the Twilio client: `Refused` (a
rejected address) is final; anything else is raised as is and the job is retried with back-off.

Transport security is required: `smtps://` is TLS from the first byte; `smtp://` must upgrade with STARTTLS
(a server that does not offer it, or a failed handshake, sends nothing and never sees the password), and the
server's certificate is verified either way. Plain text only when the URL asks for it (`?tls=none`) and the
host is this machine's loopback (a local relay).
"""

from __future__ import annotations

import email.message
import email.utils
import ipaddress
import smtplib
import ssl
import urllib.parse
from dataclasses import dataclass

from receptionist.telephony.rest import Refused


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    user: str | None
    password: str | None
    tls: bool  # smtps:// (TLS from the start); smtp:// must upgrade with STARTTLS
    sender: str
    plaintext: bool = False  # ?tls=none on a loopback host: no TLS at all (a local relay)

    @classmethod
    def parse(cls, url: str, default_sender: str) -> SmtpTarget:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("SMTP_URL must look like smtp://user:password@host:port or smtps://...")
        query = urllib.parse.parse_qs(parts.query)
        plaintext = query.get("tls", [""])[0].lower() == "none"
        if plaintext and (parts.scheme == "smtps" or not _loopback(parts.hostname)):
            raise ValueError(
                "SMTP_URL: ?tls=none (no encryption) is allowed only for smtp:// on this machine's loopback "
                "(127.0.0.1, ::1, localhost)"
            )
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if parts.scheme == "smtps" else 25),
            user=urllib.parse.unquote(parts.username) if parts.username else None,
            password=urllib.parse.unquote(parts.password) if parts.password else None,
            tls=parts.scheme == "smtps",
            sender=query.get("from", [default_sender])[0],
            plaintext=plaintext,
        )


class InsecureSmtp(smtplib.SMTPException):
    """The server would not upgrade the connection to TLS: nothing was sent, no password given."""


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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
                if not t.tls and not t.plaintext:
                    if not server.has_extn("starttls"):
                        raise InsecureSmtp(
                            f"the mail server {t.host} does not offer STARTTLS: not sending in plain text"
                        )
                    server.starttls(context=ssl.create_default_context())  # raises unless the handshake works
                    server.ehlo()
                if t.user:
                    server.login(t.user, t.password or "")
                server.send_message(msg)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused) as exc:
            raise Refused(f"the mail server refused the message: {type(exc).__name__}") from None
        return str(msg["Message-ID"])
