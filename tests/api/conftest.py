"""Fixtures of the API behaviour tests.

These tests talk to the app only through the test client, one request at a time, so no
request context may stay pushed while they run (the root `session` fixture pushes one,
and Flask would then share `g`, hence the principal and the database session, between all
requests of a test). Arranging happens in `arrange`, a session outside any context; the
factories run inside a short-lived request context.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from concord.db import database
from flask import has_app_context

from tests import factories


@pytest.fixture
def arrange(app):
    """A database session for arranging and checking state (commits are real). Service
    calls that need the app go inside `with app.test_request_context():`."""
    db_session = database(app).sessionmaker()
    yield db_session
    db_session.close()


@pytest.fixture
def api(app):
    """The test client, with no context pushed: each request has its own `g`."""
    assert not has_app_context(), "a pushed app context would make every request share `g`"
    return app.test_client()


@dataclass
class Consortium:
    operator: factories.Member
    buyer: factories.Member
    supplier: factories.Member


@pytest.fixture
def consortium(app, arrange) -> Consortium:
    """The operator, an active buyer and an active supplier (not partners), each with an
    admin holding an API token."""
    with app.test_request_context():
        op = factories.operator(arrange)
        built = Consortium(
            operator=op,
            buyer=factories.member(arrange, op, "buyer", name="Buyer Alpha GmbH"),
            supplier=factories.member(arrange, op, "supplier", "financier", name="Supplier Beta BV"),
        )
    arrange.commit()  # end the read transaction (SQLite would keep its write lock)
    return built
