"""Fixtures of the portal page tests: a browser-like test client per user, signed in through
the real login form, and the ledger with the world's first buyer funded where a page needs it.

Like the security suite, the arranging session lives outside any request context (a pushed
context would make every test-client request share `g`, hence the signed-in principal)."""
from __future__ import annotations

import html
import re
from dataclasses import dataclass
from decimal import Decimal

import pytest
from flask import has_app_context
from flask.testing import FlaskClient

from concord.ledger import service as ledger_service
from tests import factories
from tests.orders.conftest import chain_worker, settle  # noqa: F401  (fixtures and helpers shared with the order tests)
# The security tests' session, world and client: commits are real and no request context is held open.
from tests.security.conftest import client, session, world  # noqa: F401
from tests.security.helpers import csrf_from, portal_login

BUYER_FUNDS = Decimal("50000")


@dataclass
class Browser:
    """A signed-in test client and the CSRF token of its session."""

    client: FlaskClient
    csrf: str

    def get(self, path: str, **kwargs):
        return self.client.get(path, **kwargs)

    def post(self, path: str, data: dict | None = None, **kwargs):
        return self.client.post(path, data={**(data or {}), "csrf_token": self.csrf}, **kwargs)

    def form_of(self, path: str) -> str:
        """A page's CSRF token (same for every form of one session)."""
        return csrf_from(self.client.get(path))


@pytest.fixture
def signed_in(app):
    """signed_in(user) -> a Browser signed in as that user (a User, or a Member's admin)."""

    def sign_in(who) -> Browser:
        assert not has_app_context(), "a pushed app context would make every request share `g`"
        user = getattr(who, "admin", who)
        client = app.test_client()
        return Browser(client, portal_login(client, user.email, factories.PASSWORD))

    return sign_in


@pytest.fixture
def funded(app, session, world, chain_worker):  # noqa: F811
    """Contracts deployed on the test chain and the first buyer holding 50,000 EUR."""
    with app.test_request_context():
        ledger_service.mint(session, world.operator.principal, world.buyer.org.id, "EUR", BUYER_FUNDS)
    session.commit()
    settle(app, chain_worker)
    return chain_worker


def text(response) -> str:
    """The page as a reader sees it: tags dropped, entities decoded, whitespace collapsed."""
    body = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return re.sub(r"\s+", " ", html.unescape(body)).strip()


def field_error(response, field_id: str) -> list[str]:
    """The messages listed under a form field (`<ul class="field-errors" id="{id}-error">`)."""
    page = response.get_data(as_text=True)
    found = re.search(rf'<ul class="field-errors" id="{re.escape(field_id)}-error">(.*?)</ul>', page, re.S)
    return [html.unescape(m).strip() for m in re.findall(r"<li>(.*?)</li>", found.group(1), re.S)] if found else []
