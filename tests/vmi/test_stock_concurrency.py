"""Two batches sharing the same record at the same moment, each in its own connection: the
unique constraint decides, the loser reads the winner's record back and answers as if it had
come second (unchanged for the same content, rejected for another), never a 500, and one
record is stored."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from concord.db import database
from concord.vmi import stock
from concord.vmi.models import StockRecord

from tests.vmi.stock_helpers import rec, stock_catalog

pytestmark = pytest.mark.real_commits


@pytest.fixture
def shelf(app, detached_session, detached_world):
    with app.test_request_context():
        (bolt,), store = stock_catalog(detached_session, detached_world.buyer)
    detached_session.commit()
    return bolt, store


def _race(app, monkeypatch, principal, batches) -> list:
    """Run the batches at once: each waits after reading the existing records until the
    other has read them too (or a second passed: SQLite lets one writer in at a time)."""
    read = threading.Barrier(len(batches))
    real = stock._existing

    def existing_then_wait(*args, **kwargs):
        found = real(*args, **kwargs)
        try:
            read.wait(timeout=1)
        except threading.BrokenBarrierError:
            pass
        return found

    monkeypatch.setattr(stock, "_existing", existing_then_wait)
    answers: list = []

    def run(records):
        with app.app_context(), database(app).sessionmaker() as session:
            try:
                answers.append(stock.share(session, principal, records).outcomes[0].status)
            except Exception as error:  # noqa: BLE001 - the test reports it
                answers.append(repr(error))

    threads = [threading.Thread(target=run, args=(records,)) for records in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


def _stored(app, record_id: str) -> list:
    with database(app).sessionmaker() as session:
        return session.execute(sa.select(StockRecord.quantity).where(StockRecord.record_id == record_id)).scalars().all()


def test_the_same_record_sent_twice_at_once_is_kept_once_and_unchanged_once(app, monkeypatch, detached_world, shelf):
    bolt, store = shelf
    batch = [rec("RACE-1", bolt, store, quantity="7")]
    answers = _race(app, monkeypatch, detached_world.buyer.principal, [batch, batch])
    assert sorted(answers) == ["kept", "unchanged"], answers
    assert len(_stored(app, "RACE-1")) == 1


def test_one_record_id_with_two_contents_at_once_keeps_one_and_rejects_the_other(app, monkeypatch, detached_world, shelf):
    bolt, store = shelf
    first, second = (
        [rec("RACE-2", bolt, store, quantity="7"), rec("RACE-4", bolt, store)],
        [rec("RACE-2", bolt, store, quantity="8"), rec("RACE-3", bolt, store)],
    )
    answers = _race(app, monkeypatch, detached_world.buyer.principal, [first, second])
    assert sorted(answers) == ["kept", "rejected"], answers
    assert len(_stored(app, "RACE-2")) == 1
