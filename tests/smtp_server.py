"""A real SMTP server on 127.0.0.1 for the tests that send mail: aiosmtpd on a free port,
keeping every message it accepts (envelope and parsed message)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller


@dataclass
class Delivered:
    sender: str
    recipients: list[str]
    message: EmailMessage

    def part(self, subtype: str) -> str:
        """The body of the text/`subtype` part, decoded."""
        found = self.message.get_body(preferencelist=(subtype,))
        assert found is not None, f"no text/{subtype} part"
        return str(found.get_content())  # type: ignore[attr-defined]


@dataclass
class Mailbox:
    """What the server accepted, and replies it should give instead (one per DATA, in turn)."""

    host: str
    port: int
    delivered: list[Delivered] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)

    def env(self, **extra: str) -> dict[str, str]:
        """The settings that send to this server (plain SMTP: it is on this machine)."""
        return {
            "LESSONBANK_SMTP_HOST": self.host,
            "LESSONBANK_SMTP_PORT": str(self.port),
            "LESSONBANK_SMTP_SECURITY": "none",
            "LESSONBANK_SMTP_SENDER": "Lessonbank <lessonbank@example.org>",
            "LESSONBANK_PUBLIC_URL": "https://lessons.example.org",
            **extra,
        }

    def to(self, address: str) -> list[Delivered]:
        return [d for d in self.delivered if address in d.recipients]


class _Handler:
    def __init__(self, box: Mailbox) -> None:
        self.box = box

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.box.refusals:
            return self.box.refusals.pop(0)
        parsed = message_from_bytes(envelope.original_content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.box.delivered.append(Delivered(envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[Mailbox]:
    box = Mailbox("127.0.0.1", _free_port())
    controller = Controller(_Handler(box), hostname=box.host, port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()
