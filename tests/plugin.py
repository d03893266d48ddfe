"""The fixtures every suite shares, registered once by the root conftest (`pytest_plugins`).

Isolation, cheapest first:

* The database: one migrated database per test session (SQLite by default, PostgreSQL when
  CONCORD_TEST_DATABASE_URL names one, in a fresh schema). Each test runs inside one
  connection-level transaction that is rolled back afterwards: every session, the test's
  and the app's, is bound to that connection and commits only a SAVEPOINT. Tests marked
  `real_commits` (worker threads, a live server, concurrent connections) commit for real
  and have every table emptied afterwards.
* The chain: the app's embedded chain is checkpointed (py-evm snapshot plus its on-disk
  journal) before each test that uses it and restored afterwards.
* Expensive states (the world with contracts deployed and the first buyer funded:
  `funded_world`) are built once per module, committed, and restored per test by the two
  mechanisms above.
* Passwords are hashed with a cheap argon2id in tests, except those marked
  `production_password_hashing`, which check the production parameters.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher, Type
from concord import clock, migrate
from concord.app import create_app
from concord.auth import passwords
from concord.db import Unit, database
from concord.ledger import runtime
from concord.ledger.embedded import EmbeddedChain
from concord.models import metadata
from flask import has_app_context

from tests import factories, orders_factory
from tests.ledger_helpers import ChainCheckpoint, deploy_contracts, fund_buyer

# argon2id at its lowest cost: the same code path as production at a fraction of the time.
_CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1, hash_len=32, salt_len=16, type=Type.ID)


def pytest_configure(config):
    config.addinivalue_line("markers", "real_commits: commits for real (threads, a live server, concurrent connections); tables are emptied afterwards")
    config.addinivalue_line("markers", "production_password_hashing: hashes passwords with the production argon2id parameters")


# --- the app and its database -------------------------------------------------------------


def _database_url(tmp_path_factory) -> tuple[str, str | None]:
    url = os.environ.get("CONCORD_TEST_DATABASE_URL", "").strip()
    if not url:
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'concord-test.db'}", None
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
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


def empty_database(app) -> None:
    with database(app).engine.begin() as connection:
        for table in reversed(metadata.sorted_tables):
            connection.execute(table.delete())


@pytest.fixture(autouse=True)
def _database_isolation(request):
    """Roll back what a test wrote (see the module's docstring); `real_commits` tests empty
    every table instead. Session- and module-scoped states are built before this runs."""
    if "app" not in request.fixturenames:
        yield
        return
    application = request.getfixturevalue("app")
    db = database(application)
    if request.node.get_closest_marker("real_commits"):
        yield
        empty_database(application)
        for state in _committed_states:
            state.rebuild()
        return
    connection = db.engine.connect()
    transaction = connection.begin()
    original = dict(db.sessionmaker.kw)
    db.sessionmaker.configure(bind=connection, join_transaction_mode="create_savepoint")
    # A request's own transaction (an idempotent POST) becomes a savepoint of the test's.
    db.begin_unit = lambda: Unit(connection, connection.begin_nested(), owns_connection=False)
    try:
        yield
    finally:
        del db.begin_unit
        db.sessionmaker.kw.clear()
        db.sessionmaker.kw.update(original)
        if transaction.is_active:
            transaction.rollback()
        connection.close()


_CHAIN_FIXTURES = {"chain_worker", "funded", "funded_world", "ledger"}


@pytest.fixture(autouse=True)
def _chain_isolation(request):
    """Every test that opened the app's embedded chain finds it as it was before the test."""
    if "app" not in request.fixturenames:
        yield
        return
    application = request.getfixturevalue("app")
    if _CHAIN_FIXTURES.intersection(request.fixturenames):
        runtime.chain(application)
    opened = application.extensions.get("concord.chain")
    checkpoint = ChainCheckpoint(opened) if isinstance(opened, EmbeddedChain) else None
    yield
    if checkpoint is not None and application.extensions.get("concord.chain") is opened:
        checkpoint.restore()


@pytest.fixture(autouse=True)
def _cheap_password_hashing(request, monkeypatch):
    if not request.node.get_closest_marker("production_password_hashing"):
        monkeypatch.setattr(passwords, "_hasher", _CHEAP_HASHER)


# --- sessions, clients, the clock ---------------------------------------------------------


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def session(app):
    """A database session for arranging and checking state, inside a pushed request context."""
    with app.test_request_context():
        db_session = database(app).sessionmaker()
        yield db_session
        db_session.close()


@pytest.fixture
def detached_session(app):
    """A session outside any request context. The root `session` keeps a request context
    pushed, and Flask reuses a pushed app context for every test-client request, so `g`
    (the principal, the request's database session) would be shared by all requests of a
    test. Suites that must see each request on its own (security, portal, notifications,
    api) arrange here and push a context only while the factories run."""
    db_session = database(app).sessionmaker()
    yield db_session
    db_session.close()


@pytest.fixture
def detached_client(app):
    assert not has_app_context(), "a pushed app context would make every request share `g`"
    return app.test_client()


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
    fake = FrozenClock(datetime.now(UTC).replace(microsecond=0))
    monkeypatch.setattr(clock, "utcnow", fake)
    return fake


# --- the world ----------------------------------------------------------------------------


@pytest.fixture
def world(app, session):
    """A small consortium: the operator, two buyers, two suppliers, a carrier, a financier
    and an auditor, each with an admin and an API token, and partnerships between some."""
    return factories.build_world(app, session)


@pytest.fixture
def detached_world(app, detached_session):
    with app.test_request_context():
        built = factories.build_world(app, detached_session)
    detached_session.commit()  # end the read transaction (SQLite would keep its write lock)
    return built


# --- the ledger: contracts deployed, the first buyer funded --------------------------------


@pytest.fixture
def chain_worker(app, world):
    """Concord's contracts deployed on the app's embedded chain (the world admitted)."""
    return deploy_contracts(app)


@pytest.fixture
def funded(app, session, world, chain_worker):
    """Contracts deployed on the test chain and the first buyer holding 50,000 EUR."""
    fund_buyer(app, session, world, chain_worker)
    return chain_worker


class FundedWorld:
    """The world, Concord's contracts deployed on the app's chain and the first buyer funded:
    built once per module and committed. Each test starts from it (its database work is
    rolled back and the chain restored afterwards). A `real_commits` test empties the
    tables: the state is then built again (new ids) before the next test."""

    def __init__(self, app) -> None:
        self.app = app
        self.before = ChainCheckpoint(runtime.chain(app))
        self.ids: dict[str, factories.MemberIds] = {}
        self.build()

    def build(self) -> None:
        app = self.app
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(passwords, "_hasher", _CHEAP_HASHER)
            with app.test_request_context():
                db_session = database(app).sessionmaker()
                built = factories.build_world(app, db_session)
                db_session.commit()
            worker = deploy_contracts(app)
            fund_buyer(app, db_session, built, worker)
            db_session.close()
        self.ids = factories.world_ids(built)

    def rebuild(self) -> None:
        self.before.restore()
        self.build()

    def close(self) -> None:
        empty_database(self.app)
        self.before.restore()


_committed_states: list[FundedWorld] = []


@pytest.fixture(scope="module")
def funded_world(app):
    state = FundedWorld(app)
    _committed_states.append(state)
    yield state
    _committed_states.remove(state)
    state.close()


# --- catalog ------------------------------------------------------------------------------


@pytest.fixture
def shop(app, session, world):
    """Three products and a location of the first buyer (as ids)."""
    with app.test_request_context():
        products, location = orders_factory.catalog_of(session, world.buyer, count=3)
    session.commit()
    return {"products": [str(p.id) for p in products], "location": str(location.id)}
