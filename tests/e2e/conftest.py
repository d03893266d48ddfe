"""A live server on a free local port and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import socket
import threading

import pytest
from waitress.server import create_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def live_server(app):
    port = _free_port()
    # SERVER_NAME pins url_for to the test host; the live server answers on 127.0.0.1.
    # Module scope: the setting comes back before any other module's tests run.
    app.config["SERVER_NAME"] = None
    app.config["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{port}"  # where invitation links point
    server = create_server(app, host="127.0.0.1", port=port, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.close()
    thread.join(timeout=10)
    app.config["SERVER_NAME"] = "concord.test"
    app.config["PUBLIC_BASE_URL"] = None


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh page that answers confirmation questions with OK (Cancel for the next one
    when a test sets `page.decline_next`), and keeps the questions in `page.questions`."""
    context = browser.new_context()
    new_page = context.new_page()
    new_page.questions = []
    new_page.decline_next = False

    def answer(dialog) -> None:
        new_page.questions.append(dialog.message)
        if new_page.decline_next:
            new_page.decline_next = False
            dialog.dismiss()
        else:
            dialog.accept()

    new_page.on("dialog", answer)
    yield new_page
    context.close()
