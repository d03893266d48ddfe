"""What the API behaviour tests share: problem+json checks, row counts and payloads."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

import sqlalchemy as sa
from concord.db import database
from concord.errors import PROBLEM_MIMETYPE
from concord.models import metadata
from flask import Flask

from tests.factories import PASSWORD

_numbers = itertools.count(1)


def assert_problem(response, status: int, **fields: Any) -> dict[str, Any]:
    """The response is an RFC 9457 problem document with `status` and the given fields."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:2000])
    assert response.mimetype == PROBLEM_MIMETYPE, response.mimetype
    body = response.get_json()
    assert body["status"] == status, body
    assert body["type"] == "about:blank", body
    assert body["title"], body
    assert body["instance"] == response.request.path, body
    for name, expected in fields.items():
        assert body.get(name) == expected, (name, body.get(name), expected)
    return body


def row_counts(app: Flask) -> dict[str, int]:
    """Rows in every table of the platform."""
    with database(app).sessionmaker() as session:
        return {table.name: session.execute(sa.select(sa.func.count()).select_from(table)).scalar_one() for table in metadata.sorted_tables}


def fetch(app: Flask, model, object_id):
    """A fresh copy of a row, read outside any other session's identity map."""
    with database(app).sessionmaker() as session:
        return session.get(model, object_id)


def select_all(app: Flask, query: sa.Select) -> list:
    with database(app).sessionmaker() as session:
        return list(session.execute(query).scalars())


def registration(**overrides: Any) -> dict[str, Any]:
    """A valid registration body; `organization` and `admin` overrides are merged in."""
    n = next(_numbers)
    tag = uuid.uuid4().hex[:8]
    body = {
        "organization": {
            "legal_name": f"Newco {n} GmbH",
            "registration_number": f"HRB-{n}-{tag}",
            "country": "DE",
            "contact_name": "Nora Newco",
            "contact_email": f"contact-{tag}@newco.test",
            "capabilities": ["buyer"],
        },
        "admin": {"full_name": "Nora Newco", "email": f"nora-{tag}@newco.test", "password": PASSWORD},
    }
    for part in ("organization", "admin"):
        body[part].update(overrides.pop(part, {}))
    body.update(overrides)
    return body


def login(client, email: str, password: str = PASSWORD, **extra: Any) -> str:
    """A bearer token from POST /api/v1/auth/token."""
    response = client.post("/api/v1/auth/token", json={"email": email, "password": password, **extra})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["token"]
