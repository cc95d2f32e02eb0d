"""Helpers to run the Airflow components natively, as separate processes, for an end-to-end test.

Each component runs in a session (process group) of its own, so that it can be stopped with
everything it forked (uvicorn workers, celery pool processes, task supervisors, the log server):
SIGTERM to the group, then SIGKILL after a grace period.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_unavailable(host: str = "127.0.0.1", port: int = 6379) -> str | None:
    """None when Redis answers PING, else the reason it does not."""
    import redis

    try:
        client = redis.Redis(host=host, port=port, socket_connect_timeout=2, socket_timeout=2)
        client.ping()
        client.close()
    except (redis.RedisError, OSError) as error:
        return f"{type(error).__name__}: {error}"
    return None


def claim_empty_redis_db(host: str = "127.0.0.1", port: int = 6379) -> int:
    """A Redis logical database in 1..15 that holds no key (picked at random; DB 0 is left alone).

    A marker key is set at once, so that a concurrent run calling this function skips it.
    """
    import redis

    numbers = list(range(1, 16))
    random.shuffle(numbers)
    for number in numbers:
        client = redis.Redis(host=host, port=port, db=number, socket_timeout=5)
        try:
            if client.dbsize() != 0 or not client.set("parkops:e2e:claimed", str(os.getpid()), nx=True):
                continue
            if client.dbsize() == 1:
                return number
            client.delete("parkops:e2e:claimed")  # someone else wrote meanwhile: leave it to them
        finally:
            client.close()
    raise RuntimeError(f"no empty Redis database in 1..15 on {host}:{port}")


def flush_redis_db(number: int, host: str = "127.0.0.1", port: int = 6379) -> None:
    import redis

    client = redis.Redis(host=host, port=port, db=number, socket_timeout=5)
    try:
        client.flushdb()
    finally:
        client.close()


@dataclass
class Component:
    name: str
    command: list[str]
    log_path: Path
    process: subprocess.Popen | None = None
    session_id: int | None = None

    def start(self, env: dict[str, str], cwd: Path) -> None:
        log_file = self.log_path.open("wb")
        try:
            self.process = subprocess.Popen(
                self.command,
                env=env,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            log_file.close()  # the child holds its own descriptor
        self.session_id = self.process.pid

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def tail(self, lines: int = 60) -> str:
        if not self.log_path.exists():
            return "(no log)"
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])


def _session_members(session_ids: set[int]) -> list[psutil.Process]:
    members = []
    for process in psutil.process_iter():
        try:
            if os.getsid(process.pid) in session_ids and process.status() != psutil.STATUS_ZOMBIE:
                members.append(process)
        except (ProcessLookupError, PermissionError, psutil.Error):
            continue
    return members


@dataclass
class Topology:
    """The set of component processes started by one test."""

    components: list[Component] = field(default_factory=list)

    def start(self, component: Component, env: dict[str, str], cwd: Path) -> Component:
        component.start(env, cwd)
        self.components.append(component)
        return component

    def session_ids(self) -> set[int]:
        return {component.session_id for component in self.components if component.session_id is not None}

    def leftovers(self) -> list[psutil.Process]:
        """Live processes of the components' sessions or children of this process started by them."""
        found = {process.pid: process for process in _session_members(self.session_ids())}
        started = {component.process.pid for component in self.components if component.process is not None}
        for child in psutil.Process().children(recursive=True):
            try:
                if child.pid in started and child.status() != psutil.STATUS_ZOMBIE:
                    found[child.pid] = child
            except psutil.Error:
                continue
        return list(found.values())

    def stop(self, grace_seconds: float = 20.0) -> None:
        """SIGTERM every component's process group, SIGKILL what is left after the grace period."""
        for session_id in self.session_ids():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(session_id, signal.SIGTERM)
        deadline = time.monotonic() + grace_seconds
        while time.monotonic() < deadline and _session_members(self.session_ids()):
            for component in self.components:
                if component.process is not None:
                    component.process.poll()  # reap the group leader
            time.sleep(0.3)
        for process in _session_members(self.session_ids()):
            with contextlib.suppress(psutil.Error):
                process.kill()
        for session_id in self.session_ids():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(session_id, signal.SIGKILL)
        for component in self.components:
            if component.process is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    component.process.wait(timeout=10)
        # Members that left the session (setsid) cannot be found by session id: psutil is asked
        # for them among this process's descendants in leftovers().
        time.sleep(0.5)

    def diagnostics(self, lines: int = 60) -> str:
        parts = []
        for component in self.components:
            state = "running" if component.running() else f"exited {component.process.returncode}"
            parts.append(f"===== {component.name} ({state}), last {lines} lines of {component.log_path} =====")
            parts.append(component.tail(lines))
        return "\n".join(parts)
