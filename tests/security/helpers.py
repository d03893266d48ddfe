"""What the security tests share: a portal login through the real form (with its CSRF
token), reading the session cookie, and reading the audit trail."""

from __future__ import annotations

import html
import re
from typing import Any

import sqlalchemy as sa
from concord.audit.models import AuditEntry
from concord.db import database
from flask import Flask, has_app_context
from flask.testing import FlaskClient

COOKIE = "concord_session"
HOST = "concord.test"  # the test app's SERVER_NAME: the cookie's host
_CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(response) -> str:
    """The CSRF token of the first form on a portal page."""
    found = _CSRF_FIELD.search(response.get_data(as_text=True))
    assert found, f"no csrf_token field on {response.request.path} ({response.status_code})"
    return html.unescape(found.group(1))


def csrf_token(client: FlaskClient, path: str = "/account/tokens") -> str:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code, response.headers.get("Location"))
    return csrf_from(response)


def login_form(client: FlaskClient, email: str, password: str):
    """Submit the portal sign-in form like a browser: fetch the form, post it with its token."""
    token = csrf_from(client.get("/login"))
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


def portal_login(client: FlaskClient, email: str, password: str) -> str:
    """Sign in and return a CSRF token valid for the new session's forms."""
    assert not has_app_context(), "a pushed app context would make every request share `g`"
    response = login_form(client, email, password)
    assert response.status_code == 302, (response.status_code, response.get_data(as_text=True)[:2000])
    return csrf_token(client)


def session_cookie(client: FlaskClient) -> str | None:
    cookie = client.get_cookie(COOKIE, domain=HOST)
    return cookie.value if cookie else None


def set_session_cookie(client: FlaskClient, value: str) -> None:
    client.set_cookie(COOKIE, value, domain=HOST)


def cookie_contents(app: Flask, value: str) -> dict[str, Any]:
    """What the signed session cookie carries (the server-side session id is `sid`)."""
    serializer = app.session_interface.get_signing_serializer(app)
    return serializer.loads(value)


def is_signed_in(client: FlaskClient) -> bool:
    response = client.get("/dashboard")
    if response.status_code == 302:
        assert "/login" in response.headers["Location"]
        return False
    assert response.status_code == 200, response.status_code
    return True


def audit_entries(app: Flask, *, after_seq: int = 0, action: str | None = None) -> list[AuditEntry]:
    query = sa.select(AuditEntry).where(AuditEntry.seq > after_seq).order_by(AuditEntry.seq)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    with database(app).sessionmaker() as session:
        return list(session.execute(query).scalars())


def audit_head(app: Flask) -> int:
    with database(app).sessionmaker() as session:
        return session.execute(sa.select(sa.func.coalesce(sa.func.max(AuditEntry.seq), 0))).scalar_one()


def fetch(app: Flask, model, object_id):
    """A fresh copy of a row, read outside any test session's identity map."""
    with database(app).sessionmaker() as session:
        return session.get(model, object_id)
