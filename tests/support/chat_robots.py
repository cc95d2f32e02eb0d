"""A real HTTP server on loopback playing 企业微信 and 钉钉 group robots, keeping what it receives.

``/wecom`` and ``/dingtalk`` answer ``{"errcode":0,"errmsg":"ok"}``; ``replies`` sets another
answer per path (e.g. 310000, what 钉钉 says when the signature or keywords do not match).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

OK = {"errcode": 0, "errmsg": "ok"}


@dataclass
class RobotRequest:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    payload: dict


@dataclass
class Robots:
    base_url: str
    received: list[RobotRequest] = field(default_factory=list)
    replies: dict[str, dict] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def at(self, path: str) -> list[RobotRequest]:
        return [request for request in self.received if request.path == path]


@contextmanager
def robot_server() -> Iterator[Robots]:
    robots: Robots

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # http.server dispatches on this name
            parts = urlsplit(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            robots.received.append(
                RobotRequest(parts.path, parse_qs(parts.query), dict(self.headers), json.loads(body.decode("utf-8")))
            )
            answer = json.dumps(robots.replies.get(parts.path, OK)).encode("utf-8")
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args) -> None:  # quiet: the tests assert on what arrived
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    robots = Robots(f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield robots
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
