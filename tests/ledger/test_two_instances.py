"""Two platform instances, two databases, one chain node: the same invoice registered on
both is registered once.

Instance A is set up as usual (its members admitted to the consortium of contracts it
deploys on a hardhat node). Instance B is another platform on the same chain: its own
database (SQLite file, or PostgreSQL schema), holding the same organizations with the same
custodial keys (the consortium knows them once) and the same deployment, copied from A's
before either instance has any order. Each instance's outbox keeps its own nonces: B's
start from what the node has mined. Then each receives its own open-account order and
approves its own invoice, the very same invoice (issuer, debtor, number, amount, currency,
due date), and each supplier registers it through its own API: the chain mines A's
registration and refuses B's with ReceivableRegistryAlreadyRegistered, and B's receivable,
refused, cannot be offered to a financier.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from concord import migrate
from concord.app import create_app
from concord.db import database
from concord.finance.models import Receivable, ReceivableState
from concord.ledger import devnode, outbox, runtime
from concord.ledger.deploy import deploy
from concord.ledger.models import ChainIntent, LedgerAccount
from concord.models import metadata
from concord.tenancy.models import Relation

from tests import factories
from tests.api.helpers import assert_problem
from tests.finance.chain_story import approved_open_account_invoice
from tests.ledger_helpers import contract, settle
from tests.plugin import _database_url

#: What each instance keeps to itself: its outbox's nonces.
NOT_SHARED = {LedgerAccount.__table__.name}


@contextlib.contextmanager
def platform_instance(tmp_path_factory, chain_url: str, instance_dir) -> Iterator:
    """An app on its own fresh database (migrated), on the chain at `chain_url`."""
    url, schema = _database_url(tmp_path_factory)
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URL": url,
            "SECRET_KEY": "test-secret-key-not-for-production",
            "INSTANCE_DIR": str(instance_dir),  # both instances open custodial keys with one master key
            "TESTING": True,
            "SERVER_NAME": "concord.test",
            "CHAIN_URL": chain_url,
            "CHAIN_FUNDER_KEY": devnode.HARDHAT_FUNDER_KEY,
        }
    )
    migrate.upgrade(database(app).engine)
    try:
        yield app
    finally:
        runtime.close(app)
        database(app).engine.dispose()
        if schema:
            admin = sa.create_engine(url.split("?")[0])
            with admin.begin() as connection:
                connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


def copy_database(source, target) -> None:
    """Every row of `source`'s tables into `target`'s (parents first), but what is not shared."""
    with database(source).engine.connect() as reading, database(target).engine.begin() as writing:
        for table in metadata.sorted_tables:
            if table.name in NOT_SHARED:
                continue
            rows = [dict(row) for row in reading.execute(table.select()).mappings()]
            if rows:
                writing.execute(table.insert(), rows)
            serial = table.autoincrement_column
            if rows and serial is not None and writing.dialect.name == "postgresql":
                # Rows came with their keys: the sequence goes on from the last one.
                last = max(row[serial.name] for row in rows)
                writing.execute(sa.select(sa.func.setval(sa.func.pg_get_serial_sequence(table.name, serial.name), last)))


@pytest.fixture
def two_instances(tmp_path_factory, hardhat_url):
    instance_dir = tmp_path_factory.mktemp("instance")
    with platform_instance(tmp_path_factory, hardhat_url, instance_dir) as first, platform_instance(tmp_path_factory, hardhat_url, instance_dir) as second:
        yield first, second


def test_the_same_invoice_on_two_instances_is_registered_once(two_instances):
    first, second = two_instances
    with first.test_request_context():
        session = database(first).sessionmaker()
        world = factories.build_world(first, session)
        session.commit()
    ids = factories.world_ids(world)
    chain = runtime.chain(first)
    first_worker = outbox.Worker(first, chain, receipt_timeout=10)
    deploy(first, chain, first_worker)
    first_worker.drain()  # the members admitted
    copy_database(first, second)
    second_worker = outbox.Worker(second, runtime.chain(second), receipt_timeout=10)

    # Each instance: its own order, received, and the same invoice approved by the buyer.
    made, sessions = {}, {}
    for app in (first, second):
        sessions[app] = database(app).sessionmaker()
        members = factories.world_in(sessions[app], ids)
        made[app] = (members, approved_open_account_invoice(app, sessions[app], members, number="INV-SHARED-0001"))
    (world_a, invoice_a), (world_b, invoice_b) = made[first], made[second]
    assert invoice_a.order_id != invoice_b.order_id
    same = ("supplier_org_id", "buyer_org_id", "number", "total", "currency", "due_date")
    assert [getattr(invoice_a, name) for name in same] == [getattr(invoice_b, name) for name in same]

    registered = {}
    for app, (members, invoice) in made.items():
        response = app.test_client().post(f"/api/v1/invoices/{invoice.id}/receivable", headers=members.supplier.headers)
        assert response.status_code == 201, response.get_json()
        registered[app] = response.get_json()
    assert registered[first]["fingerprint"] == registered[second]["fingerprint"]
    fingerprint = bytes.fromhex(registered[first]["fingerprint"][2:])

    settle(first, first_worker)
    settle(second, second_worker)

    receivable_a = sessions[first].get(Receivable, uuid.UUID(registered[first]["id"]), populate_existing=True)
    receivable_b = sessions[second].get(Receivable, uuid.UUID(registered[second]["id"]), populate_existing=True)
    assert receivable_a.state == ReceivableState.VERIFIED
    assert receivable_b.state == ReceivableState.REFUSED
    assert "ReceivableRegistryAlreadyRegistered" in (receivable_b.state_reason or ""), receivable_b.state_reason
    for app in (first, second):
        sessions[app].commit()  # end the read (SQLite: every transaction holds the write lock)
    # On chain: one registration, A's (its order), held by the supplier.
    registry = contract(first, first_worker, "ReceivableRegistry")
    on_chain = registry.functions.receivableOf(fingerprint).call()
    assert on_chain[0] == uuid.UUID(str(invoice_a.order_id)).bytes.rjust(32, b"\0")
    assert on_chain[3] == world_a.supplier.signing_address(first)
    events = registry.events.ReceivableRegistered().get_logs(from_block=0, argument_filters={"fingerprint": fingerprint})
    assert len(events) == 1
    refused = (
        sessions[second]
        .execute(sa.select(ChainIntent).where(ChainIntent.subject_id == str(receivable_b.id), ChainIntent.function == "registerOpenAccount"))
        .scalar_one()
    )
    assert refused.state == "failed" and "ReceivableRegistryAlreadyRegistered" in (refused.revert_reason or "")
    sessions[second].commit()

    # B's receivable cannot be financed: no financier is asked for it.
    with second.test_request_context():
        financier = factories.member(sessions[second], world_b.operator, "financier", name="Second Platform Finance plc")
        factories.partner(sessions[second], Relation.SUPPLIER_FINANCIER, world_b.supplier, financier)
    sessions[second].commit()
    asked = second.test_client().post(
        f"/api/v1/receivables/{receivable_b.id}/offers", json={"financier_ids": [str(financier.org.id)]}, headers=world_b.supplier.headers
    )
    assert_problem(asked, 409, current_state="refused")
    for app in (first, second):
        sessions[app].close()
