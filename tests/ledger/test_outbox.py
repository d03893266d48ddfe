"""The outbox: intents commit with business changes, reach the chain exactly once through
outages and crashes, and a reverting intent fails alone with its reason."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from concord import clock
from concord.audit.models import AuditEntry
from concord.db import database
from concord.ledger import outbox
from concord.ledger.encoding import to_bytes32
from concord.ledger.models import ChainIntent, IntentState, LedgerAccount
from concord.tenancy import service as tenancy

from tests.ledger_helpers import SimulatedCrash
from tests.security.helpers import audit_entries

BATCH = b"\x0b" * 32
ROOT = b"\x0c" * 32


def anchor(app, member, batch: bytes = BATCH, root: bytes = ROOT, size: int = 3) -> str:
    with database(app).sessionmaker() as session, session.begin():
        intent = outbox.enqueue(
            session,
            organization_id=member.org.id,
            contract="ProvenanceAnchor",
            function="anchor",
            args=[batch, root, size],
            purpose="Anchor a provenance batch",
            subject=("batch", batch.hex()),
        )
        session.flush()
        return str(intent.uid)


def state_of(ledger, uid: str) -> ChainIntent:
    (intent,) = [i for i in ledger.intents() if str(i.uid) == uid]
    return intent


def make_due(app) -> None:
    """Let every backed-off intent be retried now (instead of waiting for its backoff)."""
    with database(app).sessionmaker() as session, session.begin():
        session.execute(sa.update(ChainIntent).values(next_attempt_at=clock.utcnow() - timedelta(seconds=1)))


def test_deployment_admits_every_approved_organization_with_its_own_key(ledger, world):
    consortium = ledger.contract("Consortium")
    for member in world.members:
        address = member.signing_address(ledger.app)
        organization_id, roles, status, _ = consortium.functions.memberOf(address).call()
        assert organization_id == to_bytes32(member.org.id)
        assert status == 1, member.org.legal_name
        assert roles != 0
    assert all(i.state == IntentState.CONFIRMED for i in ledger.intents())


def test_an_intent_is_confirmed_with_hash_block_gas_and_nonce(ledger, world):
    uid = anchor(ledger.app, world.supplier)
    assert state_of(ledger, uid).state == IntentState.QUEUED
    assert ledger.worker.drain() == 1
    intent = state_of(ledger, uid)
    assert intent.state == IntentState.CONFIRMED
    receipt = ledger.chain.receipt(intent.tx_hash)
    assert receipt["blockNumber"] == intent.block_number and receipt["gasUsed"] == intent.gas_used
    transaction = ledger.chain.transaction(intent.tx_hash)
    assert transaction["from"] == intent.sender == world.supplier.signing_address(ledger.app)
    assert transaction["gas"] == outbox.GAS_LIMITS["anchor"]  # set explicitly, never estimated
    assert transaction["nonce"] == intent.nonce == 0
    anchored = ledger.contract("ProvenanceAnchor").functions.anchorOf(BATCH).call()
    assert anchored[0] == ROOT


def test_a_reverting_intent_fails_with_its_reason_and_does_not_block_other_senders(ledger, world):
    bad = anchor(ledger.app, world.supplier, batch=b"\x01" * 32, root=b"\x00" * 32)  # zero root: refused
    after_bad = anchor(ledger.app, world.supplier, batch=b"\x02" * 32)
    other = anchor(ledger.app, world.buyer, batch=b"\x03" * 32)
    assert ledger.worker.drain() == 3
    failed = state_of(ledger, bad)
    assert failed.state == IntentState.FAILED and failed.receipt_status == 0
    assert failed.revert_reason == "ProvenanceAnchorInvalidRoot()"
    assert state_of(ledger, after_bad).state == IntentState.CONFIRMED
    assert state_of(ledger, other).state == IntentState.CONFIRMED
    # The reverted transaction used its nonce; the next one of the same sender took the next.
    assert state_of(ledger, after_bad).nonce == failed.nonce + 1
    # Both outcomes are in the audit trail, under the organization that sent them.
    (entry,) = audit_entries(ledger.app, action="ledger:transaction_failed")
    assert entry.object_id == bad and entry.subject_org_id == world.supplier.org.id
    assert entry.summary["after"]["tx_hash"] == failed.tx_hash and "ProvenanceAnchorInvalidRoot" in entry.summary["error"]
    confirmed = {e.object_id for e in audit_entries(ledger.app, action="ledger:transaction_confirmed")}
    assert {after_bad, other} <= confirmed


def test_intents_queue_while_the_chain_is_unreachable_and_drain_when_it_returns(ledger, world, faulty):
    worker = ledger.restarted_worker(faulty)
    assert worker.drain() == 0  # the worker meets the node once, then it goes away
    faulty.down = True
    uids = [anchor(ledger.app, world.supplier, batch=bytes([i]) * 32) for i in (1, 2)] + [anchor(ledger.app, world.buyer, batch=b"\x09" * 32)]
    assert worker.drain() == 0
    assert [state_of(ledger, uid).state for uid in uids] == [IntentState.QUEUED] * 3
    waiting = state_of(ledger, uids[0])
    assert waiting.attempts == 1 and "unreachable" in waiting.last_error
    assert waiting.next_attempt_at > clock.utcnow()  # backing off
    faulty.down = False
    # The buyer's intent was never tried (the round stopped at the first unreachable call);
    # the supplier's first intent backs off, and its second waits behind it.
    assert worker.drain() == 1
    assert state_of(ledger, uids[2]).state == IntentState.CONFIRMED
    assert [state_of(ledger, uid).state for uid in uids[:2]] == [IntentState.QUEUED] * 2
    make_due(ledger.app)
    assert worker.drain() == 2
    intents = [state_of(ledger, uid) for uid in uids]
    assert [i.state for i in intents] == [IntentState.CONFIRMED] * 3
    assert [i.nonce for i in intents[:2]] == [0, 1]


@pytest.mark.parametrize("crash", ["crash_before_send", "crash_after_send"])
def test_a_worker_killed_around_submission_sends_each_intent_exactly_once(ledger, world, faulty, crash):
    uid = anchor(ledger.app, world.supplier)
    second = anchor(ledger.app, world.supplier, batch=b"\x0d" * 32)
    setattr(faulty, crash, True)
    with pytest.raises(SimulatedCrash):
        ledger.restarted_worker(faulty).drain()
    signed = state_of(ledger, uid)
    assert signed.state == IntentState.SIGNED and signed.tx_hash  # signed and committed before the crash
    address = world.supplier.signing_address(ledger.app)
    assert ledger.chain.nonce(address) == (1 if crash == "crash_after_send" else 0)

    assert ledger.restarted_worker(faulty).drain() == 2
    first, then = state_of(ledger, uid), state_of(ledger, second)
    assert first.state == then.state == IntentState.CONFIRMED
    assert first.tx_hash == signed.tx_hash  # the same signed bytes, not a new transaction
    assert ledger.chain.nonce(address) == 2  # exactly one transaction per intent on chain
    assert ledger.contract("ProvenanceAnchor").functions.isAnchored(BATCH).call()


def test_a_crash_before_the_signature_commits_leaves_the_intent_queued_and_the_nonce_free(ledger, world, monkeypatch):
    uid = anchor(ledger.app, world.supplier)
    worker = ledger.restarted_worker()

    def die(*args, **kwargs):
        raise SimulatedCrash("killed while signing")

    monkeypatch.setattr(worker, "_signer", die)
    with pytest.raises(SimulatedCrash):
        worker.drain()
    assert state_of(ledger, uid).state == IntentState.QUEUED
    with database(ledger.app).sessionmaker() as session:
        assert session.execute(sa.select(LedgerAccount.next_nonce).where(LedgerAccount.address == world.supplier.signing_address(ledger.app))).scalar() in (
            None,
            0,
        )
    assert ledger.restarted_worker().drain() == 1
    assert state_of(ledger, uid).nonce == 0


def test_a_transaction_the_node_refuses_for_good_fails_and_frees_its_nonce(ledger, world, faulty, monkeypatch):
    from concord.ledger.chain import TransactionRejected

    refused = anchor(ledger.app, world.supplier)
    worker = ledger.restarted_worker(faulty)

    def refuse(raw):
        raise TransactionRejected("transaction type not supported (simulated)")

    monkeypatch.setattr(faulty, "send_raw", refuse)
    worker.drain()
    intent = state_of(ledger, refused)
    assert intent.state == IntentState.FAILED and "rejected by the node" in intent.last_error
    monkeypatch.undo()
    next_one = anchor(ledger.app, world.supplier, batch=b"\x0e" * 32)
    assert ledger.restarted_worker().drain() == 1
    assert state_of(ledger, next_one).nonce == intent.nonce  # the refused nonce was reused


def test_suspending_and_reactivating_an_organization_follow_on_chain(ledger, world, session):
    consortium = ledger.contract("Consortium")
    address = world.carrier.signing_address(ledger.app)
    tenancy.transition_organization(session, world.operator.principal, world.carrier.org.id, "suspend", reason="audit")
    ledger.worker.drain()
    assert consortium.functions.isActiveMember(address).call() is False
    tenancy.transition_organization(session, world.operator.principal, world.carrier.org.id, "reactivate")
    ledger.worker.drain()
    assert consortium.functions.isActiveMember(address).call() is True


def test_the_api_lists_only_the_callers_organizations_transactions(ledger, world, client):
    mine = anchor(ledger.app, world.supplier)
    ledger.worker.drain()
    response = client.get("/api/v1/ledger/transactions", headers=world.supplier.headers)
    assert response.status_code == 200
    items = response.get_json()["items"]
    assert [item["id"] for item in items] == [mine]
    assert items[0]["state"] == "confirmed" and items[0]["tx_hash"].startswith("0x") and items[0]["block_number"] > 0
    operator = client.get("/api/v1/ledger/transactions?state=confirmed&limit=200", headers=world.operator.headers).get_json()["items"]
    assert mine not in [item["id"] for item in operator]
    assert all(item["sender"] == world.operator.signing_address(ledger.app) for item in operator)
    assert client.get(f"/api/v1/ledger/transactions/{mine}", headers=world.buyer.headers).status_code == 404
    assert client.get(f"/api/v1/ledger/transactions/{mine}", headers=world.supplier.headers).get_json()["id"] == mine
    assert client.get("/api/v1/ledger/transactions?state=lost", headers=world.supplier.headers).status_code == 422


def test_a_refusal_that_may_pass_is_retried_with_the_same_bytes_and_nonce(ledger, world, faulty, monkeypatch):
    from concord.ledger.chain import TransactionRejected

    uid = anchor(ledger.app, world.supplier)
    worker = ledger.restarted_worker(faulty)
    real_send = faulty.send_raw
    refusals = iter(["txpool is full"])

    def busy_node(raw):
        reason = next(refusals, None)
        if reason:
            raise TransactionRejected(reason)
        return real_send(raw)

    monkeypatch.setattr(faulty, "send_raw", busy_node)
    worker.drain()
    waiting = state_of(ledger, uid)
    assert waiting.state == IntentState.SIGNED and "will retry" in waiting.last_error
    make_due(ledger.app)
    assert worker.drain() == 1
    done = state_of(ledger, uid)
    assert done.state == IntentState.CONFIRMED and (done.tx_hash, done.nonce) == (waiting.tx_hash, waiting.nonce)


def test_an_unexpected_error_on_one_intent_does_not_stall_other_senders(ledger, world, faulty, monkeypatch):
    stuck = anchor(ledger.app, world.supplier)
    other = anchor(ledger.app, world.buyer, batch=b"\x0f" * 32)
    stuck_sender = world.supplier.signing_address(ledger.app)
    real_receipt = faulty.receipt

    def flaky_receipt(tx_hash, **kwargs):
        if ledger.chain.transaction(tx_hash)["from"] == stuck_sender:
            raise RuntimeError("node answered nonsense (simulated)")
        return real_receipt(tx_hash, **kwargs)

    monkeypatch.setattr(faulty, "receipt", flaky_receipt)
    ledger.restarted_worker(faulty).drain()
    assert state_of(ledger, other).state == IntentState.CONFIRMED
    waiting = state_of(ledger, stuck)
    assert waiting.state == IntentState.SIGNED and "nonsense" in waiting.last_error and waiting.attempts == 1
    monkeypatch.undo()
    make_due(ledger.app)
    assert ledger.restarted_worker().drain() == 1
    assert state_of(ledger, stuck).state == IntentState.CONFIRMED


def test_a_sender_with_many_waiting_intents_does_not_starve_the_others(ledger, world):
    backlog = [anchor(ledger.app, world.supplier, batch=bytes([i]) * 32) for i in range(1, 5)]
    later = anchor(ledger.app, world.buyer, batch=b"\x0a" * 32)
    with database(ledger.app).sessionmaker() as session, session.begin():
        head = session.execute(sa.select(ChainIntent).where(ChainIntent.uid == uuid.UUID(backlog[0]))).scalar_one()
        head.next_attempt_at = clock.utcnow() + timedelta(minutes=5)  # backing off
    with database(ledger.app).sessionmaker() as session:
        due = ledger.worker.due(session, limit=3)  # fewer rows than the supplier's backlog
    assert due == [(state_of(ledger, later).seq, world.buyer.signing_address(ledger.app))]


def test_the_operator_mints_settlement_tokens_and_the_member_sees_the_indexed_balance(ledger, world, client):
    from concord.ledger import indexer

    response = client.post(
        "/api/v1/ledger/mint", json={"organization_id": str(world.buyer.org.id), "currency": "EUR", "amount": "12345.678901"}, headers=world.operator.headers
    )
    assert response.status_code == 202, response.get_json()
    assert response.get_json()["state"] == "queued" and response.get_json()["function"] == "mint"
    assert ledger.worker.drain() == 1
    with database(ledger.app).sessionmaker() as session:
        indexer.sync(session, ledger.chain)
    balances = {b["currency"]: b for b in client.get("/api/v1/ledger/balances", headers=world.buyer.headers).get_json()}
    assert balances["EUR"]["balance"] == "12345.678901" and balances["USD"]["balance"] == "0.000000"
    assert balances["EUR"]["address"] == world.buyer.signing_address(ledger.app)
    token = ledger.contract("SettlementToken.EUR")
    assert token.functions.balanceOf(world.buyer.signing_address(ledger.app)).call() == 12_345_678_901  # to the last unit
    (entry,) = audit_entries(ledger.app, action="ledger:tokens_minted")
    assert entry.related_org_id == world.buyer.org.id and entry.summary["after"]["amount"] == "12345.678901"


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"currency": "EUR", "amount": "1.0000001"}, 422, "amount"),
        ({"currency": "EUR", "amount": 100}, 422, "amount"),
        ({"currency": "EUR", "amount": "-5"}, 422, "amount"),
        ({"currency": "JPY", "amount": "5"}, 422, "currency"),
        ({"currency": "EUR", "amount": "5", "organization_id": "operator"}, 422, "organization_id"),
    ],
)
def test_minting_refuses_bad_amounts_currencies_and_recipients(app, client, world, body, status, field):
    target = str(world.operator.org.id) if body.get("organization_id") == "operator" else str(world.buyer.org.id)
    response = client.post("/api/v1/ledger/mint", json={**body, "organization_id": target}, headers=world.operator.headers)
    assert response.status_code == status and field in response.get_json()["errors"]
    assert not [i for i in all_intents(app) if i.function == "mint"]


def test_only_operator_admins_mint(client, world):
    body = {"organization_id": str(world.buyer.org.id), "currency": "EUR", "amount": "1"}
    assert client.post("/api/v1/ledger/mint", json=body, headers=world.buyer.headers).status_code == 403


def all_intents(app):
    with database(app).sessionmaker() as session:
        return list(session.execute(sa.select(ChainIntent)).scalars())


def test_a_withdrawal_of_nothing_is_not_sent(ledger, world):
    """An earlier withdrawal of the same payee took the credit (several workers send releases
    and withdrawals side by side): the later one is skipped, unsent, instead of reverting on
    chain, and a step waiting for it may follow."""
    token = ledger.contract("SettlementToken.EUR").address
    with database(ledger.app).sessionmaker() as session, session.begin():
        intent = outbox.enqueue(
            session, organization_id=world.supplier.org.id, contract="DeliveryEscrow", function="withdraw", args=[token], purpose="Withdraw EUR"
        )
        session.flush()
        uid = str(intent.uid)
    assert ledger.worker.drain() == 1
    withdrawal = state_of(ledger, uid)
    assert withdrawal.state == IntentState.SKIPPED and withdrawal.tx_hash is None
    assert withdrawal.last_error == "not sent: nothing left to withdraw: an earlier withdrawal took this credit as well"
    with database(ledger.app).sessionmaker() as session:
        actions = session.execute(sa.select(AuditEntry.action).where(AuditEntry.object_id == uid)).scalars().all()
    assert actions == ["ledger:transaction_skipped"]
    with database(ledger.app).sessionmaker() as session, session.begin():
        following = outbox.enqueue(
            session,
            organization_id=world.buyer.org.id,
            contract="ProvenanceAnchor",
            function="anchor",
            args=[b"\x51" * 32, b"\x52" * 32, 1],
            purpose="Anchor after the skipped withdrawal",
        )
        following.after_seq = withdrawal.seq
        session.flush()
        following_uid = str(following.uid)
    assert ledger.worker.drain() == 1
    assert state_of(ledger, following_uid).state == IntentState.CONFIRMED
