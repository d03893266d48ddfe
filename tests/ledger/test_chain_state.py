"""The embedded chain resumes from its state on disk after proving it against the journal,
replays only the journal's tail, refuses a state that does not prove and rebuilds it, and a
crash while the state is being written leaves the previous block's state."""

from __future__ import annotations

import logging
import sqlite3

import pytest
from concord.ledger.chain import ChainUnavailable
from concord.ledger.embedded import EmbeddedChain, StateStore
from eth_account import Account
from eth_tester.backends.pyevm.main import get_default_account_keys

_SENDER = Account.from_key(get_default_account_keys(quantity=2)[1].to_bytes())
_TO = "0x" + "11" * 20


def _send(chain: EmbeddedChain, count: int) -> list[str]:
    hashes = []
    for _ in range(count):
        nonce = chain.nonce(_SENDER.address)
        fee = {"maxFeePerGas": 10**10, "maxPriorityFeePerGas": 1}
        transaction = {"to": _TO, "value": 1, "gas": 21_000, "nonce": nonce, "chainId": chain.chain_id, "type": 2, **fee}
        hashes.append(chain.send_raw(_SENDER.sign_transaction(transaction).raw_transaction))
    return hashes


def _head(chain: EmbeddedChain) -> tuple[int, bytes, bytes]:
    header = chain.backend.chain.get_canonical_head()
    return header.block_number, header.hash, header.state_root


def test_a_restart_resumes_from_the_proven_state_without_replaying(tmp_path):
    chain = EmbeddedChain(tmp_path)
    hashes = _send(chain, 5)
    chain.advance_time(60)
    head = _head(chain)
    chain.close()

    again = EmbeddedChain(tmp_path)
    assert (again.resumed_from, again.replayed_blocks) == (6, 0)
    assert _head(again) == head  # same block hash, hence the same state root
    assert again.balance(_TO) == 5
    receipt = again.receipt(hashes[2])
    assert receipt is not None and int(receipt["blockNumber"]) == 3  # from the transaction index
    assert again.transaction("0x" + "ab" * 32) is None
    _send(again, 1)
    again.close()


def test_an_interrupted_rebuild_resumes_and_replays_only_the_tail(tmp_path, monkeypatch, caplog):
    chain = EmbeddedChain(tmp_path)
    _send(chain, 25)
    head = _head(chain)
    chain.close()
    _corrupt(tmp_path, b"v1:canonical_head_hash", b"\x00" * 32)

    # The state is refused; its rebuild commits every REPLAY_BATCH blocks and crashes at block 23.
    monkeypatch.setattr(EmbeddedChain, "REPLAY_BATCH", 10)
    original = EmbeddedChain._commit_replayed
    calls = []

    def crash_on_third(self, filled):
        calls.append(len(calls))
        if len(calls) == 3:
            raise KeyboardInterrupt("killed mid-rebuild")
        original(self, filled)

    monkeypatch.setattr(EmbeddedChain, "_commit_replayed", crash_on_third)
    with caplog.at_level(logging.ERROR), pytest.raises(KeyboardInterrupt):
        EmbeddedChain(tmp_path)
    assert "REFUSED" in caplog.text
    monkeypatch.setattr(EmbeddedChain, "_commit_replayed", original)
    again = EmbeddedChain(tmp_path)
    assert (again.resumed_from, again.replayed_blocks) == (20, 5)
    assert _head(again) == head
    assert again.balance(_TO) == 25
    again.close()


@pytest.mark.parametrize("damage", ["head header", "state root", "journal hash"])
def test_a_state_that_does_not_prove_is_refused_and_rebuilt(tmp_path, caplog, damage):
    chain = EmbeddedChain(tmp_path)
    _send(chain, 4)
    number, block_hash, state_root = _head(chain)
    chain.close()
    if damage == "head header":
        _corrupt(tmp_path, block_hash, b"\xc0")
    elif damage == "state root":
        _corrupt(tmp_path, state_root, b"\x80")
    else:
        with sqlite3.connect(tmp_path / EmbeddedChain.JOURNAL) as db:
            db.execute("UPDATE blocks SET hash = ? WHERE number = ?", (b"\x01" * 32, number))
            db.execute("UPDATE blocks SET hash = NULL WHERE number < ?", (number,))  # replay refills these

    with caplog.at_level(logging.ERROR):
        if damage == "journal hash":
            # the journal itself no longer matches what its transactions produce: never resume
            with pytest.raises(RuntimeError, match="does not replay"):
                EmbeddedChain(tmp_path)
            assert "REFUSED" in caplog.text
            return
        again = EmbeddedChain(tmp_path)
    assert "REFUSED" in caplog.text
    assert (again.resumed_from, again.replayed_blocks) == (None, number)
    assert _head(again) == (number, block_hash, state_root)
    again.close()


def test_a_crash_while_writing_a_block_leaves_the_previous_state(tmp_path, monkeypatch):
    chain = EmbeddedChain(tmp_path)
    _send(chain, 3)
    head = _head(chain)
    original = StateStore.write_pending

    def half_written(self):
        self._db.execute("INSERT INTO state (key, value) VALUES (?, ?)", (b"half", b"written"))
        raise OSError("disk gone")

    monkeypatch.setattr(StateStore, "write_pending", half_written)
    with pytest.raises(ChainUnavailable):
        _send(chain, 1)  # mined in memory, never journaled
    monkeypatch.setattr(StateStore, "write_pending", original)
    chain.close()

    again = EmbeddedChain(tmp_path)
    assert (again.resumed_from, again.replayed_blocks) == (3, 0)
    assert _head(again) == head  # the lost block is gone as if never sent
    assert again.balance(_TO) == 3
    with sqlite3.connect(tmp_path / EmbeddedChain.JOURNAL) as db:
        assert db.execute("SELECT count(*) FROM state WHERE key = ?", (b"half",)).fetchone()[0] == 0
    again.close()


def _corrupt(directory, key: bytes, value: bytes) -> None:
    with sqlite3.connect(directory / EmbeddedChain.JOURNAL) as db:
        assert db.execute("UPDATE state SET value = ? WHERE key = ?", (value, key)).rowcount == 1


def test_a_rewind_drops_the_later_blocks_from_the_index_and_from_disk(tmp_path):
    chain = EmbeddedChain(tmp_path)
    _send(chain, 2)
    snapshot, head = chain.tester.take_snapshot(), _head(chain)
    later = _send(chain, 2)
    assert chain.receipt(later[0]) is not None
    chain.rewind(snapshot, 2)  # what the tests' per-test chain checkpoint does
    assert _head(chain) == head
    assert chain.receipt(later[0]) is None and chain.transaction(later[1]) is None
    chain.close()

    again = EmbeddedChain(tmp_path)
    assert (again.resumed_from, again.replayed_blocks) == (2, 0)
    assert _head(again) == head and again.receipt(later[0]) is None
    assert len(_send(again, 1)) == 1
    again.close()
