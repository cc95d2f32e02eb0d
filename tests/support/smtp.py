"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, for the report tests."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller


@dataclass
class ReceivedMessage:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.raw, _class=EmailMessage, policy=policy.default)


@dataclass
class Inbox:
    host: str
    port: int
    received: list[ReceivedMessage] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope) -> str:  # aiosmtpd calls the hook by this name
        self.received.append(ReceivedMessage(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 OK"

    def connection_env(self) -> dict[str, str]:
        """``AIRFLOW_CONN_SMTP_DEFAULT`` pointing at this server (plain SMTP, no login)."""
        connection = {
            "conn_type": "smtp",
            "host": self.host,
            "port": self.port,
            "extra": {"disable_ssl": True, "disable_tls": True, "timeout": 10, "retry_limit": 1},
        }
        return {"AIRFLOW_CONN_SMTP_DEFAULT": json.dumps(connection)}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def smtp_server() -> Iterator[Inbox]:
    inbox = Inbox("127.0.0.1", free_port())
    controller = Controller(inbox, hostname=inbox.host, port=inbox.port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()
