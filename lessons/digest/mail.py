"""Sending digests over SMTP with the standard library (smtplib, email.message): one
connection for a run, STARTTLS or implicit TLS with the system's certificate checks, and a
sign-in only over an encrypted connection."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path
from types import TracebackType

from lessons.digest import render
from lessons.digest.compose import Digest
from lessons.errors import ValidationFailed
from lessons.storage.settings import Settings


class MailNotConfigured(Exception):
    """The settings do not say how to send mail (no host, or no sender)."""


def message(digest: Digest, *, sender: str, site: str) -> EmailMessage:
    """The digest as an e-mail: plain text first, the HTML alternative after it."""
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = digest.address
    mail["Subject"] = render.subject(digest)
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = make_msgid(domain=_domain(sender))
    mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: out-of-office replies stay quiet
    mail.set_content(render.text(digest, site=site))
    mail.add_alternative(render.html(digest, site=site), subtype="html")
    return mail


def _domain(sender: str) -> str | None:
    address = parseaddr(sender)[1]
    return address.rpartition("@")[2] or None


def check(settings: Settings) -> None:
    """Refuse settings that cannot send: MailNotConfigured when mail is off (no host),
    ValidationFailed for a missing sender or credentials on an unencrypted connection."""
    if not settings.smtp_host.strip():
        raise MailNotConfigured("LESSONBANK_SMTP_HOST is empty: mail is off.")
    if "@" not in parseaddr(settings.smtp_sender)[1]:
        raise ValidationFailed(
            "Set LESSONBANK_SMTP_SENDER to the address digests come from.",
            {"smtp_sender": "not an e-mail address"},
        )
    if settings.smtp_username and settings.smtp_security == "none":
        raise ValidationFailed(
            "An SMTP password is never sent unencrypted: set LESSONBANK_SMTP_SECURITY to "
            "starttls or tls, or leave LESSONBANK_SMTP_USERNAME empty.",
            {"smtp_security": "none, with a user name"},
        )


def _password(settings: Settings) -> str:
    if settings.smtp_password or not settings.smtp_password_file:
        return settings.smtp_password
    return Path(settings.smtp_password_file).read_text(encoding="utf-8").strip()


class Mailer:
    """An SMTP connection opened on the first message and closed at the end of the block."""

    def __init__(self, settings: Settings) -> None:
        check(settings)
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> Mailer:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except smtplib.SMTPException:
                self._smtp.close()
            self._smtp = None

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if s.smtp_security == "tls":
            smtp = smtplib.SMTP_SSL(
                s.smtp_host, s.smtp_port, timeout=s.smtp_timeout, context=context
            )
        else:
            smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout)
        try:
            if s.smtp_security == "starttls":
                smtp.starttls(context=context)  # raises when the server cannot: never plain
            if s.smtp_username:
                smtp.login(s.smtp_username, _password(s))
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(self, mail: EmailMessage) -> None:
        """Send one message; raises smtplib.SMTPException or OSError when it was not accepted."""
        if self._smtp is None:
            self._smtp = self._connect()
        self._smtp.send_message(mail)
