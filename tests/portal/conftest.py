"""Fixtures of the portal page tests: a browser-like test client per user, signed in through
the real login form. The ledger (`chain_worker`, `funded`) comes from the plugin.

Like the security suite, the arranging session lives outside any request context (a pushed
context would make every test-client request share `g`, hence the signed-in principal)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from flask import has_app_context
from flask.testing import FlaskClient

from tests import factories
from tests.security.helpers import csrf_from, portal_login


@pytest.fixture
def session(detached_session):
    return detached_session


@pytest.fixture
def world(detached_world):
    return detached_world


@pytest.fixture
def client(detached_client):
    return detached_client


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
