"""Fixtures of the security suite.

The root `session` fixture keeps a request context pushed for the whole test. Flask reuses
an already pushed application context for every test-client request, so `g` would be
shared by all requests of a test: the principal and database session of one request would
still be there in the next (a portal request without a cookie would run as whoever made the
previous request, and teardown would never close the request's session). Security tests
must see each request on its own, so here the arranging session lives outside any context,
and a context is pushed only while the factories run.
"""
from __future__ import annotations

import pytest
from flask import has_app_context

from concord.db import database
from tests import factories


@pytest.fixture
def session(app):
    """A database session for arranging and checking state (commits are real). Service
    calls that need the app go inside `with app.test_request_context():`."""
    db_session = database(app).sessionmaker()
    yield db_session
    db_session.close()


@pytest.fixture
def world(app, session):
    with app.test_request_context():
        built = factories.build_world(app, session)
    session.commit()  # end the read transaction (SQLite would keep its write lock)
    return built


@pytest.fixture
def client(app):
    assert not has_app_context(), "a pushed app context would make every request share `g`"
    return app.test_client()
