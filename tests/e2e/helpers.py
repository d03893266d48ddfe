"""What the browser tests share: signing in and out, and the main navigation."""

from __future__ import annotations

from playwright.sync_api import expect

from tests import factories


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
