"""The schema comes from Alembic migrations; the models must not drift from them."""

import functools

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from concord import migrate
from concord.db import database
from concord.models import metadata

# Inspects the schema on connections of its own: commits are real.
pytestmark = pytest.mark.real_commits


def test_migrations_create_exactly_the_schema_the_models_describe(app):
    engine = database(app).engine
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), metadata)
    assert differences == []


def test_database_is_at_the_migrations_head(app):
    assert migrate.is_current(database(app).engine)


def test_exact_money_migration_converts_floats_stored_by_sqlite(tmp_path):
    """Rows written while SQLite kept NUMERIC as floats come back exact after 0010."""
    import sqlite3
    from decimal import Decimal

    import sqlalchemy as sa
    from concord.db import make_engine
    from concord.ledger.models import TokenBalance
    from concord.orders.models import OrderLine, PurchaseOrder

    path = tmp_path / "old.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine, "0009_arbiters")
    raw = sqlite3.connect(path)  # no foreign keys: only the converted columns matter here
    insert = functools.partial(_insert, raw)

    order_id, line_id = "a" * 32, "b" * 32
    insert("purchase_orders", id=order_id, buyer_org_id="1" * 32, supplier_org_id="2" * 32, state="acknowledged", total=308.62, confirmed_total=None)
    insert("order_lines", id=line_id, order_id=order_id, line_no=1, quantity=250.0, unit_price=1.2345, amount=308.62, confirmed_quantity=0.1)
    insert("token_balances", chain_id=1, token="SettlementToken.EUR", address="0x" + "1" * 40, units=123456789012, updated_block=1)
    raw.commit()
    raw.close()

    migrate.upgrade(engine)
    with engine.connect() as connection:
        assert connection.execute(sa.select(PurchaseOrder.total, PurchaseOrder.confirmed_total)).one() == (Decimal("308.62"), None)
        line = connection.execute(sa.select(OrderLine.quantity, OrderLine.unit_price, OrderLine.amount, OrderLine.confirmed_quantity)).one()
        assert tuple(line) == (Decimal("250.000"), Decimal("1.2345"), Decimal("308.62"), Decimal("0.100"))
        assert connection.execute(sa.select(TokenBalance.units)).scalar_one() == 123456789012
        assert connection.exec_driver_sql("SELECT typeof(amount), typeof(unit_price) FROM order_lines").one() == ("integer", "integer")
    engine.dispose()


def _insert(raw, table: str, **values) -> None:
    """A row with `values` and a filler for every other NOT NULL column (raw SQLite)."""
    for _cid, name, declared, notnull, _default, _pk in raw.execute(f"PRAGMA table_info({table})").fetchall():
        if name not in values and notnull:
            values[name] = (
                "x" * 32
                if "CHAR" in declared or declared in ("UUID", "")
                else 1
                if "INT" in declared or "BOOL" in declared
                else "2026-01-01 00:00:00"
                if "DATETIME" in declared or "DATE" in declared
                else "{}"
                if "JSON" in declared
                else 1
            )
    raw.execute(f"INSERT INTO {table} ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})", list(values.values()))


def test_a_withdrawal_once_failed_as_moot_is_skipped_after_0016(tmp_path):
    import sqlite3

    import sqlalchemy as sa
    from concord.db import make_engine
    from concord.ledger.models import ChainIntent, IntentState

    path = tmp_path / "old.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine, "0015_ledger_verifications")
    raw = sqlite3.connect(path)
    organization = "9" * 32
    _insert(raw, "organizations", id=organization, status="active")
    moot = "not sent: nothing left to withdraw: an earlier withdrawal took this credit as well"
    _insert(raw, "chain_intents", seq=1, uid="1" * 32, state="failed", last_error=moot, organization_id=organization, sender="0x" + "1" * 40, kind="call")
    _insert(
        raw,
        "chain_intents",
        seq=2,
        uid="2" * 32,
        state="failed",
        last_error="reverted",
        tx_hash="0x" + "ab" * 32,
        organization_id=organization,
        sender="0x" + "1" * 40,
        kind="call",
    )
    raw.commit()
    raw.close()

    migrate.upgrade(engine)
    with engine.connect() as connection:
        assert dict(connection.execute(sa.select(ChainIntent.seq, ChainIntent.state)).tuples().all()) == {1: IntentState.SKIPPED, 2: IntentState.FAILED}
        with pytest.raises(sa.exc.IntegrityError):
            connection.exec_driver_sql("UPDATE chain_intents SET state = 'lost' WHERE seq = 1")
    engine.dispose()


def test_the_database_checks_intent_states_including_skipped(app):
    import sqlalchemy as sa

    with database(app).engine.connect() as connection:
        constraint = [c for c in sa.inspect(connection).get_check_constraints("chain_intents") if "state" in c["sqltext"]]
        assert constraint and "skipped" in constraint[0]["sqltext"] and "failed" in constraint[0]["sqltext"], constraint
