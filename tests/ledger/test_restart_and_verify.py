"""The embedded chain survives a restart; deployment runs once per chain; `concord ledger
verify` finds every disagreement between the database and the chain."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from concord import cli, migrate
from concord.app import create_app
from concord.db import database
from concord.demo import DEMO_BUYER_FUNDS
from concord.ledger import indexer, outbox, runtime, verification
from concord.ledger.artifacts import load_artifact
from concord.ledger.chain import EmbeddedChainBusy
from concord.ledger.deploy import deploy, deployments
from concord.ledger.embedded import EmbeddedChain
from concord.ledger.encoding import to_bytes32
from concord.ledger.models import ChainIntent, ChainMember, IntentState
from concord.orders.models import PurchaseOrder
from concord.tenancy.models import Organization, OrgStatus

UNIT = 10**6


def _app(instance):
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URL": f"sqlite:///{instance / 'concord.db'}",
            "SECRET_KEY": "restart-test",
            "INSTANCE_DIR": str(instance),
            "EMBEDDED_DEFAULTS": True,
            "TESTING": True,
        }
    )
    migrate.upgrade(database(app).engine)
    return app


def _contract(app, name):
    chain = runtime.chain(app)
    with database(app).sessionmaker() as session:
        row = deployments(session, chain.chain_id)[name]
    return chain.contract(load_artifact(row.artifact).abi, row.address)


def _member_named(app, legal_name):
    with database(app).sessionmaker() as session:
        return session.execute(sa.select(Organization).where(Organization.legal_name == legal_name)).scalar_one()


def test_a_restart_keeps_every_contract_balance_anchor_and_member(tmp_path):
    first = _app(tmp_path)
    cli.prepare(first)  # seeds the demo consortium and deploys on the embedded chain
    worker = runtime.worker(first)
    worker.drain()
    buyer = _member_named(first, "Northwind Manufacturing GmbH")
    supplier = _member_named(first, "Acme Components Ltd")
    with first.app_context(), database(first).sessionmaker() as session, session.begin():
        from concord.ledger.service import address_of

        buyer_address = address_of(session, buyer.id)
        # What the demo's orders took from the buyer's funds into their escrows.
        escrowed = session.execute(sa.select(sa.func.sum(PurchaseOrder.confirmed_total)).where(PurchaseOrder.buyer_org_id == buyer.id)).scalar_one() or 0
        operator = session.execute(sa.select(Organization).where(Organization.is_operator.is_(True))).scalar_one()
        outbox.enqueue(
            session, organization_id=operator.id, contract="SettlementToken.EUR", function="mint", args=[buyer_address, 12_345 * UNIT], purpose="Mint"
        )
        outbox.enqueue(
            session, organization_id=supplier.id, contract="ProvenanceAnchor", function="anchor", args=[b"\x42" * 32, b"\x43" * 32, 7], purpose="Anchor"
        )
    assert worker.drain() == 2
    before = {name: row.address for name, row in _deployments(first).items()}
    anchored_before = _contract(first, "ProvenanceAnchor").functions.anchorOf(b"\x42" * 32).call()
    blocks_before = runtime.chain(first).block_number()

    # One embedded chain per instance folder: a second process is refused while this one runs.
    with pytest.raises(EmbeddedChainBusy):
        EmbeddedChain(tmp_path / "chain")
    runtime.close(first)

    second = _app(tmp_path)
    chain = runtime.chain(second)
    assert (chain.resumed_from, chain.replayed_blocks) == (blocks_before, 0)  # the state on disk, nothing replayed
    assert chain.block_number() == blocks_before
    assert {name: row.address for name, row in _deployments(second).items()} == before
    demo_funds = int((DEMO_BUYER_FUNDS["EUR"] - escrowed) * UNIT)  # what the demo seeds every buyer with, less its orders
    assert _contract(second, "SettlementToken.EUR").functions.balanceOf(buyer_address).call() == demo_funds + 12_345 * UNIT
    assert _contract(second, "ProvenanceAnchor").functions.anchorOf(b"\x42" * 32).call() == anchored_before
    assert _contract(second, "Consortium").functions.isActiveMember(buyer_address).call() is True
    # Deploying again changes nothing, and the database agrees with the restored chain.
    intents = _count_intents(second)
    assert deploy(second, chain, runtime.worker(second)) == []
    assert _count_intents(second) == intents
    with database(second).sessionmaker() as session:
        indexer.sync(session, chain)
        assert verification.verify(session, chain) == []
    # And the restored chain keeps working.
    with database(second).sessionmaker() as session, session.begin():
        outbox.enqueue(
            session, organization_id=supplier.id, contract="ProvenanceAnchor", function="anchor", args=[b"\x44" * 32, b"\x45" * 32, 1], purpose="Anchor"
        )
    assert runtime.worker(second).drain() == 1
    runtime.close(second)


def _deployments(app):
    with database(app).sessionmaker() as session:
        return deployments(session, runtime.chain(app).chain_id)


def _count_intents(app) -> int:
    with database(app).sessionmaker() as session:
        return session.execute(sa.select(sa.func.count()).select_from(ChainIntent)).scalar_one()


# -- verify -------------------------------------------------------------------------------


def _verify(ledger):
    with database(ledger.app).sessionmaker() as session:
        indexer.sync(session, ledger.chain)
        return [str(problem) for problem in verification.verify(session, ledger.chain)]


def test_indexer_projects_membership_from_events(ledger, world):
    with database(ledger.app).sessionmaker() as session:
        indexer.sync(session, ledger.chain)
        members = {m.address: m for m in session.execute(sa.select(ChainMember).where(ChainMember.chain_id == ledger.chain_id)).scalars()}
    supplier = members[world.supplier.signing_address(ledger.app)]
    assert supplier.organization_ref == "0x" + to_bytes32(world.supplier.org.id).hex()
    assert supplier.active is True


@pytest.mark.parametrize("ledger", ["embedded"], indirect=True)  # the CLI opens the app's own chain
def test_verify_agrees_on_a_consistent_ledger_and_cli_exits_0(ledger, world, monkeypatch):
    assert _verify(ledger) == []
    monkeypatch.setattr(cli, "_app", lambda: ledger.app)
    result = CliRunner().invoke(cli.main, ["ledger", "verify"])
    assert result.exit_code == 0, result.output
    assert "agree" in result.output


@pytest.mark.parametrize("ledger", ["embedded"], indirect=True)  # the CLI opens the app's own chain
def test_verify_reports_a_membership_the_database_and_chain_disagree_on(ledger, world, monkeypatch):
    with database(ledger.app).sessionmaker() as session, session.begin():
        # Someone flips the organization's status in the database, with no chain intent.
        session.get(Organization, world.carrier.org.id).status = OrgStatus.SUSPENDED
    problems = _verify(ledger)
    assert len(problems) == 1
    assert "Carrier One AS" in problems[0] and "a suspended member" in problems[0] and "chain says active" in problems[0]
    monkeypatch.setattr(cli, "_app", lambda: ledger.app)
    result = CliRunner().invoke(cli.main, ["ledger", "verify"])
    assert result.exit_code == 1
    assert "Carrier One AS" in result.output


def test_verify_reports_a_tampered_projection_and_a_transaction_the_chain_never_saw(ledger, world):
    with database(ledger.app).sessionmaker() as session:
        indexer.sync(session, ledger.chain)
    with database(ledger.app).sessionmaker() as session, session.begin():
        member = session.get(ChainMember, (ledger.chain_id, world.buyer.signing_address(ledger.app)))
        member.roles = 63
        intent = session.execute(sa.select(ChainIntent).where(ChainIntent.state == IntentState.CONFIRMED).order_by(ChainIntent.seq)).scalars().first()
        intent.tx_hash = "0x" + "ab" * 32
    problems = _verify(ledger)
    assert any(p.startswith("indexed member") and "roles 63" in p for p in problems), problems
    assert any("0x" + "ab" * 32 in p and "no such transaction" in p for p in problems), problems


def test_verify_reports_an_intent_marked_failed_that_the_chain_mined(ledger, world):
    with database(ledger.app).sessionmaker() as session, session.begin():
        intent = session.execute(sa.select(ChainIntent).where(ChainIntent.state == IntentState.CONFIRMED).order_by(ChainIntent.seq.desc())).scalars().first()
        intent.state = IntentState.FAILED
        tx_hash = intent.tx_hash
    problems = _verify(ledger)
    assert [p for p in problems if tx_hash in p] == [
        f"transaction {tx_hash} ({intent.purpose}): database says failed; chain says mined with status 1 in block {intent.block_number}"
    ]


def test_deploy_refuses_when_the_chain_was_reset_under_the_database(ledger):
    from concord.ledger.deploy import DeploymentError
    from concord.ledger.models import ContractDeployment

    with database(ledger.app).sessionmaker() as session, session.begin():
        session.get(ContractDeployment, (ledger.chain_id, "Consortium")).address = "0x" + "11" * 20
    with pytest.raises(DeploymentError, match="no code there"):
        deploy(ledger.app, ledger.chain, ledger.worker)


def test_deploy_refuses_contracts_built_from_other_sources(ledger):
    """A chain deployed by an older version of Concord (another ReceivableRegistry, say) is
    not silently used beside this version's contracts."""
    from concord.ledger.deploy import DeploymentError
    from concord.ledger.models import ContractDeployment

    with database(ledger.app).sessionmaker() as session, session.begin():
        session.get(ContractDeployment, (ledger.chain_id, "ReceivableRegistry")).source_hash = "sha256:" + "0" * 64
    with pytest.raises(DeploymentError, match=r"ReceivableRegistry .* other contract sources .* remove `instance/`"):
        deploy(ledger.app, ledger.chain, ledger.worker)
