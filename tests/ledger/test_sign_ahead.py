"""The outbox signs a window of one sender's intents ahead in one transaction, sends them,
and records their receipts together: a refusal in the middle gives the unsent intents'
nonces back, and an intent a check before signing concerns waits until the sender's
earlier intents are settled."""

from __future__ import annotations

from concord import wiring
from concord.db import database
from concord.ledger import outbox
from concord.ledger.chain import TransactionRejected
from concord.ledger.models import ChainIntent, IntentState

from tests.ledger.test_outbox import anchor, state_of
from tests.ledger_helpers import SimulatedCrash


def test_a_window_of_intents_is_sent_in_nonce_order_and_recorded(ledger, world):
    uids = [anchor(ledger.app, world.supplier, batch=bytes([i]) * 32) for i in range(1, 8)]
    assert ledger.worker.drain() == 7
    intents = [state_of(ledger, uid) for uid in uids]
    assert [i.state for i in intents] == [IntentState.CONFIRMED] * 7
    first = intents[0].nonce
    assert [i.nonce for i in intents] == list(range(first, first + 7))
    assert [i.block_number for i in intents] == sorted(i.block_number for i in intents)
    assert ledger.chain.nonce(world.supplier.signing_address(ledger.app)) == first + 7


def test_a_refusal_in_a_window_gives_the_later_intents_nonces_back(ledger, world, faulty, monkeypatch):
    uids = [anchor(ledger.app, world.supplier, batch=bytes([i]) * 32) for i in range(1, 5)]
    worker = ledger.restarted_worker(faulty)
    real_send = faulty.send_raw
    accepted, refused = [], []

    def refuse_the_second(raw):  # the first may be refused by the node itself, for gas money
        if len(accepted) == 1 and not refused:
            refused.append(raw)
            raise TransactionRejected("transaction type not supported (simulated)")
        accepted.append(real_send(raw))
        return accepted[-1]

    monkeypatch.setattr(faulty, "send_raw", refuse_the_second)
    assert worker.drain() == 4
    first, refused_one, third, fourth = (state_of(ledger, uid) for uid in uids)
    assert first.state == third.state == fourth.state == IntentState.CONFIRMED
    assert refused_one.state == IntentState.FAILED and "rejected by the node" in refused_one.last_error
    # The third and fourth were signed with the window, never sent, then signed again: the
    # refused nonce went to the third.
    assert (third.nonce, fourth.nonce) == (refused_one.nonce, refused_one.nonce + 1)
    assert accepted == [first.tx_hash, third.tx_hash, fourth.tx_hash]
    assert ledger.chain.nonce(world.supplier.signing_address(ledger.app)) == fourth.nonce + 1


def _window_signed_by_a_worker_that_died(ledger, world, faulty) -> tuple[list[str], list[ChainIntent]]:
    """Four intents of the supplier, signed in one window by a worker killed before sending."""
    uids = [anchor(ledger.app, world.supplier, batch=bytes([i]) * 32) for i in range(1, 5)]
    faulty.crash_before_send = True
    try:
        ledger.restarted_worker(faulty).drain()
    except SimulatedCrash:
        pass
    return uids, [state_of(ledger, uid) for uid in uids]


def test_a_crash_after_a_window_is_signed_sends_each_intent_once_after_restart(ledger, world, faulty):
    uids, signed = _window_signed_by_a_worker_that_died(ledger, world, faulty)
    assert [i.state for i in signed] == [IntentState.SIGNED] * 4  # all committed before any was sent
    assert ledger.restarted_worker(faulty).drain() == 4
    done = [state_of(ledger, uid) for uid in uids]
    assert [i.state for i in done] == [IntentState.CONFIRMED] * 4
    assert [i.tx_hash for i in done] == [i.tx_hash for i in signed]  # the same bytes
    assert ledger.chain.nonce(world.supplier.signing_address(ledger.app)) == done[-1].nonce + 1


def test_an_intent_a_check_concerns_is_signed_once_the_earlier_ones_are_settled(ledger, world):
    before = [anchor(ledger.app, world.supplier, batch=bytes([i]) * 32) for i in range(1, 4)]
    checked = anchor(ledger.app, world.supplier, batch=b"\x0e" * 32)
    seen = []

    def concerns(intent: ChainIntent) -> bool:
        return str(intent.uid) == checked

    def check(session, intent, chain):
        earlier = session.query(ChainIntent).filter(ChainIntent.sender == intent.sender, ChainIntent.seq < intent.seq).all()
        seen.extend(i.state for i in earlier if str(i.uid) in before)
        return "moot (simulated)"

    worker = outbox.Worker(ledger.app, ledger.chain, receipt_timeout=10)
    worker.before_sign = [wiring.SignCheck(concerns, check)]
    assert worker.drain() == 4
    assert seen == [IntentState.CONFIRMED] * 3
    intent = state_of(ledger, checked)
    assert intent.state == IntentState.SKIPPED and intent.tx_hash is None and intent.last_error == "not sent: moot (simulated)"
    with database(ledger.app).sessionmaker() as session:
        assert session.get(ChainIntent, intent.seq).nonce is None


def test_after_a_crash_a_window_whose_first_intent_is_refused_for_good_does_not_leave_a_nonce_gap(ledger, world, faulty, monkeypatch):
    """A worker signed a window and died before sending it; after the restart the node
    refuses the first intent for good. Its nonce and those of the later ones (never sent:
    the chain does not know them) go back, and the later ones are signed again and mined."""
    uids, signed = _window_signed_by_a_worker_that_died(ledger, world, faulty)
    assert [i.state for i in signed] == [IntentState.SIGNED] * 4
    real_send = faulty.send_raw

    def refuse_the_first(raw):
        if bytes(raw) == signed[0].raw_tx:
            raise TransactionRejected("intrinsic gas too low (simulated)")
        return real_send(raw)

    monkeypatch.setattr(faulty, "send_raw", refuse_the_first)
    ledger.restarted_worker(faulty).drain()
    first, *later = (state_of(ledger, uid) for uid in uids)
    assert first.state == IntentState.FAILED and "rejected by the node" in first.last_error
    assert [i.state for i in later] == [IntentState.CONFIRMED] * 3
    assert [i.nonce for i in later] == [signed[0].nonce, signed[0].nonce + 1, signed[0].nonce + 2]  # the refused nonce reused
    assert all(i.tx_hash != s.tx_hash for i, s in zip(later, signed[1:], strict=True))  # signed anew
    assert ledger.chain.nonce(world.supplier.signing_address(ledger.app)) == signed[0].nonce + 3
