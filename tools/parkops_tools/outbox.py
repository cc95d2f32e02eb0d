"""A local SMTP server that keeps every message it receives as a ``.eml`` file (aiosmtpd).

``python -m parkops_tools.outbox --folder data/reports/outbox [--host H] [--port P]``

``make demo`` starts it on 127.0.0.1:8025 so the reports really go through SMTP without a mail
server on the machine; open the files with any mail client. Not for production: it accepts any
sender and recipient, without TLS or login, on loopback only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import email
import email.policy
import itertools
import signal
import sys
import threading
from pathlib import Path

from aiosmtpd.controller import Controller


class SaveToFolder:
    """aiosmtpd handler: writes each message, with its envelope as headers, to ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.counter = itertools.count(1)
        folder.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server, session, envelope) -> str:  # aiosmtpd calls the hook by this name
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        path = self.folder / f"{stamp}-{next(self.counter):03d}.eml"
        envelope_headers = (
            f"X-Envelope-From: {envelope.mail_from}\r\nX-Envelope-To: {', '.join(envelope.rcpt_tos)}\r\n"
        ).encode()
        path.write_bytes(envelope_headers + envelope.original_content)
        subject = email.message_from_bytes(envelope.original_content, policy=email.policy.default)["Subject"]
        print(f"outbox: {path.name} to {', '.join(envelope.rcpt_tos)}: {subject}", flush=True)
        return "250 Message accepted for delivery"


def serve(folder: Path, host: str = "127.0.0.1", port: int = 8025) -> None:
    """Run until SIGTERM or SIGINT."""
    controller = Controller(SaveToFolder(folder), hostname=host, port=port)
    controller.start()
    print(f"outbox: SMTP on {host}:{port}, saving to {folder}", flush=True)
    stopped = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopped.set())
    try:
        stopped.wait()
    finally:
        controller.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m parkops_tools.outbox", description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    args = parser.parse_args(argv)
    serve(args.folder, args.host, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
