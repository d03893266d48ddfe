"""Signed events in Merkle batches: signatures that recover to the organization's chain
account, batches closed by size and by age and anchored, proofs the contract accepts, a
failed anchor that loses no event, and two closers that never share an event."""

from __future__ import annotations

import json
import threading
from collections import Counter

import pytest
import sqlalchemy as sa
from concord.db import database
from concord.ledger import service as ledger_service
from concord.ledger.artifacts import load_artifact
from concord.ledger.models import ChainIntent, IntentState
from concord.ledger.outbox import finish
from concord.provenance import batches
from concord.provenance import service as provenance
from concord.provenance.models import BatchState, EpcisEvent, ProvenanceBatch
from concord_verify import attestation, event_hash, merkle
from concord_verify.ids import to_bytes32

from tests.ledger_helpers import deploy_contracts
from tests.provenance.helpers import document, event, event_url


def _doc(count: int, tag: str = "e") -> dict:
    return document(*(event(f"urn:uuid:00000000-0000-4000-8000-{tag}{i:011d}"[:45], f"2024-01-05T10:{i // 60 % 60:02d}:{i % 60:02d}Z") for i in range(count)))


def _events(session, organization_id=None) -> list[EpcisEvent]:
    session.expire_all()
    query = sa.select(EpcisEvent).order_by(EpcisEvent.record_time, EpcisEvent.event_id)
    if organization_id is not None:
        query = query.where(EpcisEvent.organization_id == organization_id)
    return list(session.execute(query).scalars())


def _batches(session) -> list[ProvenanceBatch]:
    session.expire_all()
    return list(session.execute(sa.select(ProvenanceBatch).order_by(ProvenanceBatch.closed_at)).scalars())


@pytest.fixture
def small_batches(app, monkeypatch):
    monkeypatch.setitem(app.config, "PROVENANCE_BATCH_SIZE", 4)
    monkeypatch.setitem(app.config, "PROVENANCE_BATCH_AGE_SECONDS", 60)


def test_captured_events_are_signed_by_their_organizations_chain_account(session, world, chain_worker):
    provenance.capture(session, world.supplier.principal, _doc(3))
    domain = batches.current_domain(session)
    account = ledger_service.address_of(session, world.supplier.org.id)
    rows = _events(session)
    assert len(rows) == 3
    for row in rows:
        assert row.signer == account
        assert (row.signed_chain_id, row.signed_anchor) == (domain.chain_id, domain.verifying_contract)
        assert attestation.recover(domain, row.hash_id, world.supplier.org.id, row.signature) == account
        assert attestation.recover(domain, row.hash_id, world.supplier2.org.id, row.signature) != account  # bound to the organization


def test_events_captured_before_the_ledger_is_deployed_are_signed_when_batched(app, session, world, small_batches, monkeypatch):
    provenance.capture(session, world.supplier.principal, _doc(2))
    session.commit()
    assert [row.signature for row in _events(session)] == [None, None]
    assert batches.close_due(app) == 0  # no deployment: nothing to anchor on
    monkeypatch.setitem(app.config, "PROVENANCE_BATCH_AGE_SECONDS", 0)
    assert batches.close_due(app) == 0
    worker = deploy_contracts(app)
    assert batches.close_due(app) == 1
    domain = batches.current_domain(session)
    for row in _events(session):
        assert attestation.recover(domain, row.hash_id, world.supplier.org.id, row.signature) == ledger_service.address_of(session, world.supplier.org.id)
    worker.drain()
    assert [batch.state for batch in _batches(session)] == [BatchState.ANCHORED]


def test_a_batch_closes_by_size_and_the_rest_waits_for_its_age(app, session, world, chain_worker, small_batches, frozen_clock):
    provenance.capture(session, world.supplier.principal, _doc(6))
    provenance.capture(session, world.supplier2.principal, _doc(1))
    session.commit()
    assert batches.close_due(app) == 1  # four of the supplier's six; the rest is young
    [full] = _batches(session)
    assert (full.organization_id, full.size, full.state) == (world.supplier.org.id, 4, BatchState.ANCHORING)
    assert sum(row.batch_id == full.id for row in _events(session)) == 4
    frozen_clock.advance(seconds=59)
    assert batches.close_due(app) == 0
    frozen_clock.advance(seconds=2)
    assert batches.close_due(app) == 2  # by age: the supplier's last two, and supplier2's one
    assert sorted(batch.size for batch in _batches(session)) == [1, 2, 4]
    assert all(row.batch_id is not None for row in _events(session))
    assert batches.close_due(app) == 0


def test_every_event_of_an_anchored_batch_has_a_proof_the_contract_accepts(app, client, session, world, chain_worker, small_batches):
    provenance.capture(session, world.supplier.principal, _doc(4))
    session.commit()
    assert batches.close_due(app) == 1
    chain_worker.drain()
    [batch] = _batches(session)
    intent = session.execute(sa.select(ChainIntent).where(ChainIntent.uid == batch.intent_uid)).scalar_one()
    assert (batch.state, batch.tx_hash, batch.block_number) == (BatchState.ANCHORED, intent.tx_hash, intent.block_number)
    anchor = chain_worker.chain.contract(load_artifact("ProvenanceAnchor").abi, batch.anchor)
    assert anchor.functions.anchorOf(to_bytes32(batch.id)).call()[0].hex() == batch.root[2:]
    for row in _events(session):
        response = client.get(event_url(row.event_id) + "/proof", headers=world.supplier.headers)
        assert response.status_code == 200, response.get_json()
        bundle = response.get_json()
        assert bundle["format"] == "concord-proof-bundle/1" and bundle["kind"] == "event"
        assert bundle["event"] == row.document and bundle["eventHashId"] == row.hash_id
        assert event_hash.event_hash_id(bundle["event"], bundle["context"]) == bundle["eventHashId"]
        chain, signed, proof = bundle["chain"], bundle["attestation"], bundle["batch"]
        domain = attestation.Domain(chain["chainId"], chain["provenanceAnchor"])
        assert signed["domain"] == domain.as_eip712()
        organization = bytes.fromhex(bundle["organization"]["bytes32"][2:])
        assert attestation.recover(domain, bundle["eventHashId"], organization, bytes.fromhex(signed["signature"][2:])) == signed["signer"]
        place = merkle.Placement(chain["chainId"], chain["provenanceAnchor"], bytes.fromhex(proof["batchId"][2:]))
        leaf = place.leaf(bundle["eventHashId"], organization, signed["signer"])
        steps = [bytes.fromhex(step[2:]) for step in proof["proof"]]
        assert "0x" + leaf.hex() == proof["leaf"]
        assert merkle.verify(bytes.fromhex(proof["root"][2:]), leaf, steps)
        assert anchor.functions.verifyInclusion(place.batch_id, leaf, steps).call() is True
        assert (proof["size"], proof["anchorTransaction"], proof["anchorBlock"]) == (4, batch.tx_hash, batch.block_number)
        assert chain["consortium"] == ledger_service.deployed_address(session, "Consortium")[1]
        json.dumps(bundle)


def test_the_proof_of_an_event_not_anchored_yet_says_when_its_batch_closes(app, client, session, world, chain_worker, small_batches, monkeypatch):
    provenance.capture(session, world.supplier.principal, _doc(1))
    session.commit()
    [row] = _events(session)
    response = client.get(event_url(row.event_id) + "/proof", headers=world.supplier.headers)
    assert response.status_code == 409
    assert "open batch, which closes by" in response.get_json()["detail"]
    assert batches.close_due(app) == 0  # not due yet
    monkeypatch.setitem(app.config, "PROVENANCE_BATCH_AGE_SECONDS", 0)
    assert batches.close_due(app) == 1
    response = client.get(event_url(row.event_id) + "/proof", headers=world.supplier.headers)
    assert response.status_code == 409
    assert "on its way to the chain" in response.get_json()["detail"]
    other = client.get(event_url(row.event_id) + "/proof", headers=world.supplier2.headers)
    assert other.status_code == 404


def test_a_failed_anchor_puts_its_events_back_and_they_are_anchored_in_a_new_batch(app, session, world, chain_worker, small_batches, frozen_clock):
    provenance.capture(session, world.supplier.principal, _doc(4))
    session.commit()
    assert batches.close_due(app) == 1
    [first] = _batches(session)
    intent = session.execute(sa.select(ChainIntent).where(ChainIntent.uid == first.intent_uid)).scalar_one()
    finish(session, intent, IntentState.FAILED, error="refused by the node")
    session.commit()
    assert batches.close_due(app) == 0  # released, and waiting a batch age before the next try
    assert {row.batch_id for row in _events(session)} == {None}
    frozen_clock.advance(seconds=59)
    assert batches.close_due(app) == 0
    frozen_clock.advance(seconds=2)
    assert batches.close_due(app) == 1
    failed, second = _batches(session)
    assert (failed.id, failed.state, failed.error) == (first.id, BatchState.FAILED, "refused by the node")
    assert (second.state, second.size) == (BatchState.ANCHORING, 4)
    assert {row.batch_id for row in _events(session)} == {second.id}
    chain_worker.drain()
    assert [batch.state for batch in _batches(session)] == [BatchState.FAILED, BatchState.ANCHORED]


def test_a_closer_whose_events_were_claimed_meanwhile_gives_up(app, session, world, chain_worker, small_batches, monkeypatch):
    """A closer reads the open batch, then another closes it and commits before the first
    claims the events: the first one's claim comes up short and it gives its batch up."""
    provenance.capture(session, world.supplier.principal, _doc(4))
    session.commit()
    domain = batches.current_domain(session)
    real_build = merkle.build
    rival_batches = []

    def build_while_another_closes(*args, **kwargs):
        if not rival_batches:
            rival_batches.append(None)  # the rival builds its own tree through here too
            with database(app).sessionmaker() as rival:
                rival_batches[0] = batches.close_batch(rival, world.supplier.org.id, 4, domain).id
                rival.commit()
        return real_build(*args, **kwargs)

    monkeypatch.setattr(batches.merkle, "build", build_while_another_closes)
    with database(app).sessionmaker() as late:
        assert batches.close_batch(late, world.supplier.org.id, 4, domain) is None  # the caller rolls back
        assert {row.batch_id for row in _events(session)} == set(rival_batches)


@pytest.mark.real_commits
def test_closers_running_at_once_put_each_event_in_exactly_one_batch(app, world, chain_worker, small_batches, monkeypatch):
    """Closers in threads, each on its own connection (PostgreSQL: rows locked and skipped;
    SQLite: writers serialised), over five organizations' nine events each."""
    monkeypatch.setitem(app.config, "PROVENANCE_BATCH_AGE_SECONDS", 0)
    members = [world.buyer, world.buyer2, world.supplier, world.supplier2, world.carrier]
    with database(app).sessionmaker() as session:
        for index, member in enumerate(members):
            provenance.capture(session, member.principal, _doc(9, tag=str(index)))
    failures: list[BaseException] = []

    def close() -> None:
        try:
            batches.close_due(app)
        except BaseException as error:  # noqa: BLE001 - reported below
            failures.append(error)

    threads = [threading.Thread(target=close) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert failures == []
    with database(app).sessionmaker() as session:
        closed = {batch.id: batch.size for batch in _batches(session)}
        in_batch = [row.batch_id for row in _events(session)]
        intents = session.execute(sa.select(ChainIntent.subject_id).where(ChainIntent.subject_type == batches.SUBJECT)).scalars().all()
    assert len(in_batch) == 45 and all(batch_id in closed for batch_id in in_batch)
    assert Counter(in_batch) == closed
    assert sorted(closed.values()) == [1] * 5 + [4] * 10
    assert sorted(intents) == sorted(str(batch_id) for batch_id in closed)
