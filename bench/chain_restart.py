"""Embedded-chain restart time against chain length: resuming from the proven state on disk
beside replaying the whole journal (what every start did before the state was kept).

The chain grows by cheap blocks (value transfers signed locally, one per block, journaled
like any other). At each size the chain is closed and reopened (`resume`); the full replay is
timed on a copy of the journal with its state removed, which forces the rebuild path, up to
`--replay-max` blocks. Beyond that the replay time is an estimate: the cost per block at the
largest measured size times the size, a lower bound since the cost per block grows with the
chain.

Run: `make bench` (or `.venv/bin/python bench/chain_restart.py [--sizes 200,2000,...]`).
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "platform"))

from concord.ledger.embedded import EmbeddedChain
from eth_account import Account
from eth_tester import PyEVMBackend
from eth_tester.backends.pyevm.main import get_default_account_keys

SENDER = Account.from_key(get_default_account_keys(quantity=2)[1].to_bytes())
FEE = {"maxFeePerGas": 10**10, "maxPriorityFeePerGas": 1}


def grow(chain: EmbeddedChain, to: int, hashes: list[str]) -> None:
    nonce = chain.nonce(SENDER.address)
    while chain.block_number() < to:
        transaction = {"to": "0x" + "11" * 20, "value": 1, "gas": 21_000, "nonce": nonce, "chainId": chain.chain_id, "type": 2, **FEE}
        hashes.append(chain.send_raw(SENDER.sign_transaction(transaction).raw_transaction))
        nonce += 1


def lookups(chain: EmbeddedChain, hashes: list[str], sample: int = 20) -> None:
    """Receipt lookups by the transaction index beside eth-tester's scan from the head."""
    picked = hashes[:: max(1, len(hashes) // sample)][:sample]
    started = time.perf_counter()
    for tx_hash in picked:
        assert chain.receipt(tx_hash) is not None
    indexed = (time.perf_counter() - started) / len(picked)
    scanning = picked[:: max(1, len(picked) // 5)]  # the scan is slow: five of them
    started = time.perf_counter()
    for tx_hash in scanning:
        PyEVMBackend.get_transaction_receipt(chain.backend, bytes.fromhex(tx_hash[2:]))
    scanned = (time.perf_counter() - started) / len(scanning)
    print(
        f"receipt lookup at {chain.block_number()} blocks ({len(picked)} spread over the chain): indexed {indexed * 1000:.2f} ms, "
        f"eth-tester scan {scanned * 1000:.1f} ms; a verify of every transaction: ~{indexed * len(hashes):.1f} s "
        f"indexed vs ~{scanned * len(hashes):.0f} s scanning"
    )


def timed_open(directory: Path) -> tuple[float, EmbeddedChain]:
    started = time.perf_counter()
    chain = EmbeddedChain(directory)
    chain.block_number()
    return time.perf_counter() - started, chain


def full_replay(directory: Path, scratch: Path) -> float:
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir()
    shutil.copy(directory / EmbeddedChain.JOURNAL, scratch / EmbeddedChain.JOURNAL)
    with sqlite3.connect(scratch / EmbeddedChain.JOURNAL) as db:
        db.execute("DELETE FROM state")
    seconds, chain = timed_open(scratch)
    chain.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="200,2000,5000,10000,20000")
    parser.add_argument("--replay-max", type=int, default=2000, help="largest size whose full replay is measured")
    arguments = parser.parse_args()
    sizes = [int(size) for size in arguments.sizes.split(",")]
    with tempfile.TemporaryDirectory() as temporary:
        directory, scratch = Path(temporary) / "chain", Path(temporary) / "replay"
        chain = EmbeddedChain(directory)
        print(f"{'blocks':>8} {'grow s':>8} {'resume s':>9} {'replayed':>9} {'full replay s':>14}  state file MB")
        per_block: float | None = None
        hashes: list[str] = []
        for size in sizes:
            started = time.perf_counter()
            grow(chain, size, hashes)
            grown = time.perf_counter() - started
            chain.close()
            resume, chain = timed_open(directory)
            if size <= arguments.replay_max:
                replay = full_replay(directory, scratch)
                per_block = replay / size
                replay_text = f"{replay:14.2f}"
            else:
                replay_text = f"{'>= ' + format(per_block * size, '.0f') + ' (est.)':>14}" if per_block else f"{'-':>14}"
            megabytes = (directory / EmbeddedChain.JOURNAL).stat().st_size / 1e6
            print(f"{size:8d} {grown:8.1f} {resume:9.2f} {chain.replayed_blocks:9d} {replay_text}  {megabytes:.1f}", flush=True)
        lookups(chain, hashes)
        chain.close()


if __name__ == "__main__":
    main()
