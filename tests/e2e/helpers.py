"""What the browser tests share: signing in and out, and the main navigation."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from concord.ledger import runtime
from flask import Flask
from playwright.sync_api import expect
from waitress.server import create_server

from tests import factories
from tests.demo_instance import prepared
from tests.e2e.conftest import _free_port


def sign_in(page, base: str, email: str, password: str = factories.PASSWORD) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def go_to(page, section: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=section, exact=True).click()


def sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to Concord")).to_be_visible()


@contextmanager
def served_demo(instance: Path) -> Iterator[tuple[Flask, str]]:
    """A demo instance in `instance` as `concord run` prepares it (the worker has run),
    answering on a free local port: (app, base URL)."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    app = prepared(instance, base)  # links and proof bundles name the live server
    server = create_server(app, host="127.0.0.1", port=port, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield app, base
    finally:
        server.close()
        thread.join(timeout=10)
        runtime.close(app)
