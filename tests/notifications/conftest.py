"""Fixtures of the notification tests: requests one at a time (no pushed context, as in the
security suite), and a real HTTP receiver on 127.0.0.1 that checks each delivery's
signature and timestamp with the verification code the README gives subscribers."""

from __future__ import annotations

import re
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from concord import clock

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_verify():
    """The `verify` function of the README's "Notifications and webhooks" section, with its
    `time.time()` answering the platform's clock (which the tests move)."""
    section = README.read_text().split("## Notifications and webhooks", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)
    namespace: dict[str, Any] = {}
    exec(code, namespace)  # noqa: S102 - our own README
    namespace["time"] = type("PlatformTime", (), {"time": staticmethod(lambda: clock.utcnow().timestamp())})
    return namespace["verify"]


@dataclass
class Received:
    path: str
    headers: Any  # case-insensitive, like any web framework's
    body: bytes
    valid: bool


@dataclass
class Receiver:
    """Answers each POST with the next of `replies` (default 200), or 401 when the signature
    or timestamp does not verify with `secret`."""

    url: str
    received: list[Received] = field(default_factory=list)
    replies: list[int] = field(default_factory=list)
    secret: str = ""
    delay: float = 0.0


@pytest.fixture
def session(detached_session):
    return detached_session


@pytest.fixture
def world(detached_world):
    return detached_world


@pytest.fixture
def client(detached_client):
    return detached_client


@pytest.fixture
def receiver():
    verify = readme_verify()
    lock = threading.Lock()
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            valid = bool(state.secret) and verify(state.secret, self.headers, body)
            with lock:
                state.received.append(Received(self.path, self.headers, body, valid))
                status = state.replies.pop(0) if state.replies else 200
            if state.delay:
                threading.Event().wait(state.delay)
            status = status if valid else 401
            text = b"boom" if status >= 500 else b"ok"
            self.send_response(status)
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)

        def log_message(self, *_args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/concord"
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def private_hosts_allowed(app, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOKS_ALLOW_PRIVATE_HOSTS", True)
