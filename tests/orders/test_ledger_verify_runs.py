"""`concord ledger verify` runs beside the platform: it reads the embedded chain from a
snapshot of its state on disk while the app holds the chain, writes nothing but its own
record, and each run after the first checks what changed since the previous one (`--full`
checks everything). A disagreement stays reported until it is fixed; something mined after
the block a run reads is deferred to the next run, not reported."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from concord import cli, clock
from concord.db import database
from concord.ledger import runtime, verification
from concord.ledger.embedded import EmbeddedChain, EmbeddedSnapshot
from concord.ledger.models import ChainEvent, ChainIntent, IndexerCursor, IntentState, LedgerVerification, TokenBalance
from concord.orders.models import OrderState, PurchaseOrder

from tests.ledger_helpers import settle
from tests.orders.test_ledger_verify_orders import acknowledged


@pytest.fixture
def verify_cli(app, monkeypatch):
    monkeypatch.setattr(cli, "_app", lambda: app)

    def run(*arguments: str):
        return CliRunner().invoke(cli.main, ["ledger", "verify", *arguments])

    return run


def _runs(app) -> list[LedgerVerification]:
    with database(app).sessionmaker() as session:
        return list(session.execute(sa.select(LedgerVerification).order_by(LedgerVerification.id)).scalars())


def _tamper(app, order_id, **values) -> None:
    with database(app).sessionmaker() as session:
        session.execute(sa.update(PurchaseOrder).where(PurchaseOrder.id == order_id).values(**values))
        session.commit()


def _counts(app) -> dict[str, int]:
    with database(app).sessionmaker() as session:
        counts = {
            model.__tablename__: session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()
            for model in (ChainIntent, ChainEvent, TokenBalance)
        }
        counts["indexer_next_block"] = session.execute(sa.select(sa.func.max(IndexerCursor.next_block))).scalar_one()
    counts["chain_blocks"] = runtime.chain(app).block_number()
    return counts


def test_verify_reads_a_snapshot_beside_the_running_chain_and_writes_only_its_record(app, client, session, world, chain_worker, verify_cli):
    order = acknowledged(app, client, session, world)
    settle(app, chain_worker)
    chain = runtime.chain(app)
    assert isinstance(chain, EmbeddedChain)  # the app holds the chain, as `concord run` does
    before = _counts(app)

    result = verify_cli()

    assert result.exit_code == 0, result.output
    assert "agree" in result.output
    assert f"checked everything, at block {chain.block_number()}" in result.output
    assert _counts(app) == before  # nothing sent, nothing indexed, nothing mined
    (run,) = _runs(app)
    assert run.full and run.through_block == chain.block_number() and run.problems == [] and run.deferred == []
    assert run.checked["orders"] >= 1 and run.checked["transactions"] >= 3  # approve, fund and the world's
    with database(app).sessionmaker() as s:
        assert s.get(PurchaseOrder, order.id).state == OrderState.ACKNOWLEDGED


def test_a_snapshot_answers_at_the_block_it_was_opened_at(app, client, session, world, chain_worker):
    chain = runtime.chain(app)
    snapshot = EmbeddedSnapshot(chain.directory)
    try:
        head = snapshot.head
        assert head == chain.block_number()
        order = acknowledged(app, client, session, world)
        settle(app, chain_worker)  # mined after the snapshot was opened
        with database(app).sessionmaker() as s:
            fund = s.execute(sa.select(ChainIntent).where(ChainIntent.function == "fund", ChainIntent.subject_id == str(order.id))).scalar_one()
        assert fund.block_number > head
        assert snapshot.receipt(fund.tx_hash) is None
        assert chain.receipt(fund.tx_hash) is not None
        with pytest.raises(Exception, match="sends nothing"):
            snapshot.send_raw(b"\x00")
    finally:
        snapshot.close()


def test_an_incremental_run_checks_what_changed_and_keeps_reporting_a_disagreement(app, client, session, world, chain_worker, verify_cli, frozen_clock):
    quiet = acknowledged(app, client, session, world)
    settle(app, chain_worker)
    frozen_clock.advance(seconds=verification.CHANGE_MARGIN.total_seconds() + 60)  # beyond the margin of what may still be committing
    assert verify_cli().exit_code == 0  # the first run checks everything

    result = verify_cli()  # nothing changed since
    assert result.exit_code == 0, result.output
    latest = _runs(app)[-1]
    assert not latest.full and latest.checked.get("orders", 0) == 0 and latest.checked.get("transactions", 0) == 0
    assert f"checked changes since run {_runs(app)[0].id}" in result.output

    changed = acknowledged(app, client, session, world)
    settle(app, chain_worker)
    _tamper(app, changed.id, state=OrderState.RECEIVED)
    result = verify_cli()
    assert result.exit_code == 1
    assert f"order {changed.number} ({changed.id}): database says received" in result.output
    latest = _runs(app)[-1]
    assert latest.checked["orders"] == 1  # the changed order, not the quiet one
    assert latest.checked["transactions"] == 2  # its approve and fund
    assert [problem["key"] for problem in latest.problems] == [f"order:{changed.id}"]

    result = verify_cli()  # nothing changed, but the disagreement is not forgotten
    assert result.exit_code == 1 and f"order {changed.number}" in result.output

    _tamper(app, changed.id, state=OrderState.ACKNOWLEDGED)
    assert verify_cli().exit_code == 0
    assert str(quiet.id) not in str(_runs(app)[-1].problems)


def test_full_finds_what_an_incremental_run_does_not_look_at(app, client, session, world, chain_worker, verify_cli):
    order = acknowledged(app, client, session, world)
    settle(app, chain_worker)
    assert verify_cli().exit_code == 0
    # A change written behind the platform's back, its timestamp forged to look old.
    _tamper(app, order.id, confirmed_total=Decimal("1.00"), updated_at=clock.utcnow() - timedelta(days=30))

    assert verify_cli().exit_code == 0
    result = verify_cli("--full")
    assert result.exit_code == 1
    assert f"order {order.number} ({order.id}) escrow amount: database says 1.00 EUR" in result.output
    assert _runs(app)[-1].full


def test_an_incremental_run_follows_an_escrow_that_moved_on_chain(app, client, session, world, chain_worker, verify_cli):
    order = acknowledged(app, client, session, world)
    settle(app, chain_worker)
    assert verify_cli().exit_code == 0
    _tamper(app, order.id, state=OrderState.RECEIVED, updated_at=clock.utcnow() - timedelta(days=30))
    # The previous run as if it had read the chain before the escrow was funded: the funding
    # is then a move on chain since, found in the escrow's logs.
    with database(app).sessionmaker() as s:
        fund_block = s.execute(sa.select(ChainIntent.block_number).where(ChainIntent.function == "fund", ChainIntent.subject_id == str(order.id))).scalar_one()
        s.execute(sa.update(LedgerVerification).values(through_block=fund_block - 1))
        s.commit()

    result = verify_cli()

    assert result.exit_code == 1
    assert f"order {order.number} ({order.id}): database says received" in result.output
    assert _runs(app)[-1].checked["orders"] == 1


def test_a_step_mined_after_the_block_read_is_deferred_to_the_next_run(app, client, session, world, chain_worker):
    order = acknowledged(app, client, session, world)
    settle(app, chain_worker)
    chain = runtime.chain(app)
    with database(app).sessionmaker() as s:
        fund = s.execute(sa.select(ChainIntent).where(ChainIntent.function == "fund", ChainIntent.subject_id == str(order.id))).scalar_one()
        assert fund.state == IntentState.CONFIRMED
        early = verification.check(s, chain, full=True, through_block=fund.block_number - 1)
        assert early.problems == []
        assert f"order:{order.id}" in early.scope.deferred and f"intent:{fund.seq}" in early.scope.deferred
        verification.record(s, early)
        later = verification.check(s, chain)
        assert later.problems == []
        assert later.scope.checked["orders"] >= 1 and later.scope.deferred == []


def test_progress_is_reported_batch_by_batch(app, client, session, world, chain_worker, monkeypatch):
    for _ in range(3):
        acknowledged(app, client, session, world)
    settle(app, chain_worker)
    monkeypatch.setattr(verification, "BATCH", 2)
    seen: list[tuple[str, int, int]] = []
    with database(app).sessionmaker() as s:
        run = verification.check(s, runtime.chain(app), full=True, progress=lambda what, done, total: seen.append((what, done, total)))
    orders = [(done, total) for what, done, total in seen if what == "orders"]
    assert orders == [(2, 3), (3, 3)]
    assert run.scope.checked["orders"] == 3
    assert [done for what, done, _total in seen if what == "transactions"][-1] == run.scope.checked["transactions"]
