"""Engine, sessions, the declarative base and tenant-scoped query helpers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import Flask, current_app, g
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, Transaction
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from concord import clock
from concord.errors import Conflict

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(sa.types.TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone)."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where UTC is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def load_dialect_impl(self, dialect):
        return dialect.type_descriptor(sa.DateTime(timezone=dialect.name != "sqlite"))


class _StoredAsIs(sa.Numeric):
    """NUMERIC in the schema, its values passed to and from the driver untouched (SQLAlchemy's
    own SQLite conversion goes through a float)."""

    def bind_processor(self, dialect):
        return None

    def result_processor(self, dialect, coltype):
        return None


class ExactDecimal(sa.types.TypeDecorator):
    """An exact decimal of at most `precision` digits, `scale` of them after the point, on
    every database.

    PostgreSQL stores NUMERIC(precision, scale). SQLite has no exact decimal: its NUMERIC
    keeps any value that is not a whole number as a binary float. There the column holds the
    value as a whole count of its smallest step (10^-scale), which SQLite's 64-bit integers
    keep exactly for up to 18 digits; comparisons and sums between columns of one scale, and
    CHECK constraints against zero, mean the same on both. A value with more decimals than
    `scale`, or too large for `precision`, is refused rather than rounded: the services
    round (half to even, as invoices do) and the API bounds what a client may send.
    """

    impl = sa.Numeric
    cache_ok = True

    def __init__(self, precision: int, scale: int) -> None:
        if not 0 <= scale <= precision <= 18:
            raise ValueError("ExactDecimal holds at most 18 digits (SQLite's 64-bit integers)")
        super().__init__(precision=precision, scale=scale, asdecimal=True)
        self.precision, self.scale = precision, scale
        self.step = Decimal(1).scaleb(-scale)
        self.limit = Decimal(10) ** (precision - scale)

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return _StoredAsIs(self.precision, self.scale)
        return dialect.type_descriptor(sa.Numeric(self.precision, self.scale, asdecimal=True))

    def exact(self, value: Decimal | int) -> Decimal:
        value = Decimal(value)
        if not value.is_finite():
            raise ValueError(f"{value} is not a finite decimal")
        if value.quantize(self.step) != value:
            raise ValueError(f"{value} has more than {self.scale} decimal places")
        if abs(value) >= self.limit:
            raise ValueError(f"{value} does not fit NUMERIC({self.precision}, {self.scale})")
        return value.quantize(self.step)

    def process_bind_param(self, value: Decimal | int | None, dialect) -> Decimal | int | None:
        if value is None:
            return None
        value = self.exact(value)
        return int(value.scaleb(self.scale)) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            if isinstance(value, float):
                raise ValueError(f"{value!r}: a float where an exact decimal is stored (run `concord init`)")
            return Decimal(int(value)).scaleb(-self.scale).quantize(self.step)
        return Decimal(value).quantize(self.step)


class TokenUnits(sa.types.TypeDecorator):
    """A whole number of token units up to 2^256 (a uint256 balance): NUMERIC(78, 0) on
    PostgreSQL, decimal text on SQLite, whose integers stop at 2^63."""

    impl = sa.Numeric
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.String(78))
        return dialect.type_descriptor(sa.Numeric(78, 0, asdecimal=True))

    def process_bind_param(self, value: int | None, dialect) -> Any:
        if value is None:
            return None
        if isinstance(value, bool) or int(value) != value or not 0 <= value < 2**256:
            raise ValueError(f"{value!r} is not a uint256")
        return str(int(value)) if dialect.name == "sqlite" else Decimal(int(value))

    def process_result_value(self, value: Any, dialect) -> int | None:
        if value is None:
            return None
        if isinstance(value, float):
            raise ValueError(f"{value!r}: a float where token units are stored (run `concord init`)")
        return int(value)


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime, uuid.UUID: sa.Uuid}


def new_id() -> uuid.UUID:
    return uuid.uuid4()


class IdMixin:
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)


def _now() -> datetime:
    return clock.utcnow()  # looked up at call time, so tests can move the clock


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=_now)
    updated_at: Mapped[datetime] = mapped_column(default=_now, onupdate=_now)


def _enable_sqlite_transactions(engine: Engine) -> None:
    """Let SQLAlchemy, not pysqlite, open transactions (so SAVEPOINT and locking behave),
    enforce foreign keys, and wait for a busy database instead of failing at once."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        # IMMEDIATE takes the write lock up front: two writers queue instead of deadlocking
        # on a lock upgrade, which matters for the audit hash chain.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 10}, **kwargs)
        _enable_sqlite_transactions(engine)
        return engine
    return sa.create_engine(url, pool_pre_ping=True, **kwargs)


class Unit:
    """One database transaction a whole request commits or rolls back as one: the request's
    session joins it, so the services' commits only release savepoints inside it."""

    def __init__(self, connection: Connection, transaction: Transaction, *, owns_connection: bool = True) -> None:
        self.connection = connection
        self.transaction = transaction
        self.owns_connection = owns_connection

    def session(self, maker: sessionmaker) -> Session:
        return maker(bind=self.connection, join_transaction_mode="create_savepoint")

    def commit(self) -> None:
        self.transaction.commit()
        self._close()

    def rollback(self) -> None:
        if self.transaction.is_active:
            self.transaction.rollback()
        self._close()

    def _close(self) -> None:
        if self.owns_connection:
            self.connection.close()


class Database:
    """The engine and session factory of one app."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

    def begin_unit(self) -> Unit:
        """A connection of its own in a transaction (see Unit)."""
        connection = self.engine.connect()
        return Unit(connection, connection.begin())

    def init_app(self, app: Flask) -> None:
        app.extensions["concord.db"] = self
        # Code given only a session (the ledger's verify) finds its app's wiring through it.
        self.sessionmaker.configure(info={"concord.app": app})

        def _close_session(_exc):
            session = g.pop("db_session", None)
            if session is not None:
                session.close()

        # At the end of each request (an app context may outlive several, as in tests and
        # CLI commands) and of each app context, so no transaction stays open after either.
        app.teardown_request(_close_session)
        app.teardown_appcontext(_close_session)


def database(app: Flask | None = None) -> Database:
    return (app or current_app).extensions["concord.db"]


def session() -> Session:
    """The request's session, opened on first use and closed at teardown."""
    if "db_session" not in g:
        g.db_session = database().sessionmaker()
    return g.db_session


_Row = TypeVar("_Row")


def get_or_raise(session_: Session, model: type[_Row], ident: Any, **kwargs: Any) -> _Row:
    """`session.get` for a row that must exist (a foreign key, a row this code just wrote):
    its absence is a bug, not a 404, and raises LookupError."""
    found = session_.get(model, ident, **kwargs)
    if found is None:
        raise LookupError(f"No {model.__name__} {ident}")
    return found


def is_postgresql(session_: Session) -> bool:
    return session_.get_bind().dialect.name == "postgresql"


def commit_or_conflict(
    session_: Session, message: str = "This conflicts with a record that was just created; reload and try again.", errors: dict | None = None
) -> None:
    """Commit; a unique constraint hit by a concurrent request becomes a 409."""
    try:
        session_.commit()
    except IntegrityError:
        session_.rollback()
        raise Conflict(message, errors=errors) from None


def locked(session: Session, model: type[_Row], object_id: Any) -> _Row:
    """The row, locked, and read afresh (an object loaded earlier in this session keeps its
    old values unless told otherwise, which would hide a concurrent change)."""
    return session.execute(
        sa.select(model).where(model.id == object_id).with_for_update().execution_options(populate_existing=True)  # type: ignore[attr-defined]
    ).scalar_one()
