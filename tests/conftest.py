"""Test harness: one migrated database per test session (SQLite by default, PostgreSQL
when CONCORD_TEST_DATABASE_URL names one, in a fresh schema), emptied after every test."""
from __future__ import annotations

import os
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from concord import clock, migrate
from concord.app import create_app
from concord.db import database
from concord.models import metadata

from tests import factories


def _database_url(tmp_path_factory) -> tuple[str, str | None]:
    url = os.environ.get("CONCORD_TEST_DATABASE_URL", "").strip()
    if not url:
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'concord-test.db'}", None
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(url)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options=-csearch_path%3D{schema}", schema


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    url, schema = _database_url(tmp_path_factory)
    instance = tmp_path_factory.mktemp("instance")
    application = create_app(
        {
            "SQLALCHEMY_DATABASE_URL": url,
            "SECRET_KEY": "test-secret-key-not-for-production",
            "INSTANCE_DIR": str(instance),
            "TESTING": True,
            "SERVER_NAME": "concord.test",
        }
    )
    migrate.upgrade(database(application).engine)
    yield application
    engine = database(application).engine
    engine.dispose()
    if schema:
        admin = sa.create_engine(url.split("?")[0] if "options=" in url else url)
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(autouse=True)
def _empty_database(request):
    yield
    if "app" not in request.fixturenames:
        return
    application = request.getfixturevalue("app")
    engine = database(application).engine
    with engine.begin() as connection:
        for table in reversed(metadata.sorted_tables):
            connection.execute(table.delete())


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def session(app):
    """A database session for arranging and checking state (commits are real)."""
    with app.test_request_context():
        db_session = database(app).sessionmaker()
        yield db_session
        db_session.close()


class FrozenClock:
    """Replaces concord.clock.utcnow; `advance()` moves time forward."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def frozen_clock(monkeypatch):
    fake = FrozenClock(datetime.now(timezone.utc).replace(microsecond=0))
    monkeypatch.setattr(clock, "utcnow", fake)
    return fake


@pytest.fixture
def world(app, session):
    """A small consortium: the operator, two buyers, two suppliers, a carrier, a financier
    and an auditor, each with an admin and an API token, and partnerships between some."""
    return factories.build_world(app, session)
