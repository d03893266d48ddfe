"""The audit trail's head anchored on chain on a schedule, and `concord audit verify`
checking every anchored head: a rewrite below an anchored head is named with the anchor,
even when every hash after it was recomputed so that the chain verifies on its own."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from concord import cli, wiring
from concord.audit import anchoring
from concord.audit.models import AuditAnchor, AuditEntry
from concord.audit.service import compute_hash, verify
from concord.db import database
from concord.ledger.models import ChainIntent, IntentState

from tests.ledger_helpers import settle

pytestmark = pytest.mark.real_commits  # the CLI reads the database through its own app and engine

ENTRIES = AuditEntry.__table__


@pytest.fixture
def activity(app, client, world):
    assert client.post("/api/v1/tokens", headers=world.buyer.headers, json={"name": "ci"}).status_code == 201
    assert client.get(f"/api/v1/users/{world.supplier.admin.id}", headers=world.buyer.headers).status_code == 404
    return head_seq(app)


@pytest.fixture
def anchored(app, activity, chain_worker, monkeypatch) -> AuditAnchor:
    """The head anchored by the round job, its transaction mined."""
    monkeypatch.setitem(app.config, "AUDIT_ANCHOR_MINUTES", 0)
    row = anchoring.anchor_head(app)
    assert row is not None
    settle(app, chain_worker)
    with database(app).sessionmaker() as session:
        (intent,) = session.execute(sa.select(ChainIntent).where(ChainIntent.subject_type == "audit_head")).scalars()
        assert intent.state == IntentState.CONFIRMED and intent.subject_id == str(row.id)
    return row


@pytest.fixture
def run_verify(app, monkeypatch):
    """`concord audit verify` as an operator runs it beside the platform: its own app, the
    same database, the embedded chain read from its state on disk."""
    url = database(app).engine.url.render_as_string(hide_password=False)
    env = {"DATABASE_URL": url, "CONCORD_INSTANCE_DIR": app.config["INSTANCE_DIR"], "CONCORD_SECRET_KEY": "audit-verify-test-secret"}
    apps = []
    real_app = cli._app
    monkeypatch.setattr(cli, "_app", lambda: apps.append(real_app()) or apps[-1])

    def run():
        result = CliRunner().invoke(cli.main, ["audit", "verify"], env=env)
        database(apps[-1]).engine.dispose()
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        return result.exit_code, result.output

    return run


def head_seq(app) -> int:
    with database(app).engine.connect() as connection:
        return connection.execute(sa.select(sa.func.max(ENTRIES.c.seq))).scalar_one()


def entries(app) -> list:
    with database(app).engine.connect() as connection:
        return list(connection.execute(sa.select(ENTRIES).order_by(ENTRIES.c.seq)))


def test_the_anchoring_is_a_round_job_of_the_worker(app):
    assert anchoring.anchor_head in wiring.of(app).round_jobs


def test_the_head_is_anchored_with_the_operators_key_and_only_when_it_moved(app, client, world, activity, chain_worker, monkeypatch):
    monkeypatch.setitem(app.config, "AUDIT_ANCHOR_MINUTES", 0)
    head = head_seq(app)
    first = anchoring.anchor_head(app)
    assert first is not None and first.seq == head
    with database(app).sessionmaker() as session:
        entry = session.execute(sa.select(AuditEntry).where(AuditEntry.seq == head)).scalar_one()
        assert (first.entry_id, first.hash) == (entry.id, entry.hash)
        intent = session.execute(sa.select(ChainIntent).where(ChainIntent.subject_id == str(first.id))).scalar_one()
        assert intent.organization_id == world.operator.org.id and intent.contract == "ProvenanceAnchor"
        recorded = session.execute(sa.select(AuditEntry).where(AuditEntry.action == "audit:head_anchored")).scalar_one()
        assert recorded.summary["after"] == {"seq": head, "entry_id": str(entry.id), "hash": entry.hash}
    # Its own bookkeeping (the anchoring's entry, the transaction's confirmation) is no move.
    assert anchoring.anchor_head(app) is None
    settle(app, chain_worker)
    assert anchoring.anchor_head(app) is None
    assert client.post("/api/v1/tokens", headers=world.buyer.headers, json={"name": "again"}).status_code == 201
    second = anchoring.anchor_head(app)
    assert second is not None and second.seq == head_seq(app) - 1  # its own entry came after it


def test_the_head_is_anchored_at_most_once_per_interval(app, client, world, activity, chain_worker, frozen_clock):
    assert app.config["AUDIT_ANCHOR_MINUTES"] == 10
    assert anchoring.anchor_head(app) is not None
    assert client.post("/api/v1/tokens", headers=world.buyer.headers, json={"name": "again"}).status_code == 201
    frozen_clock.advance(minutes=9)
    assert anchoring.anchor_head(app) is None
    frozen_clock.advance(minutes=1)
    assert anchoring.anchor_head(app) is not None


def test_an_intact_trail_verifies_its_anchored_heads_on_chain(anchored, run_verify):
    code, output = run_verify()
    assert code == 0, output
    assert "Anchored heads: 1 checked on chain, 0 not mined yet." in output
    assert "Audit chain intact" in output


def test_a_rewrite_below_an_anchored_head_with_every_hash_recomputed_is_named_with_the_anchor(app, anchored, run_verify):
    rows = entries(app)
    target = anchored.seq - 3
    with database(app).engine.begin() as connection:
        previous = next(r.hash for r in rows if r.seq == target - 1)
        for row in (r for r in rows if r.seq >= target):
            forged = AuditEntry(**{column: getattr(row, column) for column in ENTRIES.columns.keys()})
            if row.seq == target:
                forged.summary = {"after": {"name": "nothing happened here"}}
            forged.prev_hash = previous
            forged.hash = compute_hash(previous, forged)
            connection.execute(sa.update(ENTRIES).where(ENTRIES.c.seq == row.seq).values(summary=forged.summary, prev_hash=forged.prev_hash, hash=forged.hash))
            previous = forged.hash
        # The anchor's own row is rewritten too: only the chain still tells.
        connection.execute(sa.update(AuditAnchor.__table__).values(hash=sa.select(ENTRIES.c.hash).where(ENTRIES.c.seq == anchored.seq).scalar_subquery()))
    with database(app).sessionmaker() as session:
        assert verify(session) == [], "the recomputed trail verifies on its own"
    code, output = run_verify()
    assert code == 1, output
    assert f"entry {anchored.seq} rewritten:" in output
    assert f"anchor {anchored.id} of entry {anchored.seq} (tx 0x" in output
    assert f"holds {anchored.hash} on chain: entries 1 to {anchored.seq} were rewritten" in output


def test_an_altered_entry_below_an_anchored_head_names_the_anchor(app, anchored, run_verify):
    target = anchored.seq - 2
    with database(app).engine.begin() as connection:
        connection.execute(sa.update(ENTRIES).where(ENTRIES.c.seq == target).values(ip="10.6.6.6"))
    code, output = run_verify()
    assert code == 1, output
    assert f"entry {target} altered: its contents no longer match its hash; below the anchored head of anchor {anchored.id} of entry {anchored.seq}" in output


def test_an_entry_altered_after_the_last_anchor_is_reported_without_one(app, anchored, client, world, run_verify):
    assert client.post("/api/v1/tokens", headers=world.buyer.headers, json={"name": "later"}).status_code == 201
    target = head_seq(app)
    with database(app).engine.begin() as connection:
        connection.execute(sa.update(ENTRIES).where(ENTRIES.c.seq == target).values(ip="10.6.6.6"))
    code, output = run_verify()
    assert code == 1, output
    assert f"entry {target} altered: its contents no longer match its hash\n" in output
