"""The embedded chain: eth-tester on py-evm inside this process, its state kept on disk.

Everything lives in one SQLite file, `instance/chain/journal.sqlite3`:

* `blocks` is the journal: every mined block's number, timestamp, raw signed transaction
  (NULL for an empty block), hash and state root, written before the sender hears of it.
* `state` is py-evm's own key/value database (headers, bodies, receipts, the
  transaction-hash index and every state-trie node). py-evm's writes are held in memory and
  written in the same SQLite transaction as the journal row of the block that made them, so
  the state on disk is always exactly the state after some journaled block: a block mined
  but not journaled before a crash is gone after restart as if it had never been sent (the
  outbox finds its transaction missing and sends the same signed bytes again), and a crash
  in the middle of the write leaves the previous block's state, which SQLite guarantees.

On start the chain resumes from the state on disk after proving it: the canonical head's
header must hash to the hash it is stored under, equal the journal's hash for that block
number, and its state root must be present (and hash to itself). Blocks journaled after that
head (the tail: none after a clean run) are replayed at their recorded timestamps and each
must come out with the journaled hash. A state that fails the proof is refused loudly (an
error in the log) and rebuilt by replaying the whole journal, committed every
`REPLAY_BATCH` blocks so an interrupted rebuild resumes where it stopped. Restart cost is
therefore independent of the chain's length. Mining uses a `mix_hash` derived from the
parent and the timestamp instead of random bytes, so a replayed block has the same hash as
the original.

Transaction and receipt lookups go through py-evm's transaction-hash index instead of
eth-tester's scan backwards from the head, so each costs the same at any chain length.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from eth.db.atomic import AtomicDB
from eth.db.backends.base import BaseDB
from eth.db.schema import SchemaV1
from eth.exceptions import TransactionNotFound as EvmTransactionNotFound
from eth.vm.forks import ParisVM, PragueVM
from eth.vm.forks.cancun import get_total_blob_gas
from eth_account import Account
from eth_tester import EthereumTester, PyEVMBackend
from eth_tester.backends.pyevm.main import generate_genesis_state_for_keys, get_default_account_keys
from eth_tester.backends.pyevm.serializers import serialize_transaction, serialize_transaction_receipt
from eth_tester.exceptions import TransactionNotFound
from eth_utils import encode_hex, keccak
from web3 import Web3
from web3.providers.eth_tester import EthereumTesterProvider

from concord.ledger.chain import EMBEDDED, Chain, ChainUnavailable, EmbeddedChainBusy

log = logging.getLogger(__name__)

_ZERO_ADDRESS = b"\x00" * 20
_CANONICAL_HEAD = SchemaV1.make_canonical_head_hash_lookup_key()
_ABSENT: Any = object()


class StateStore(BaseDB):
    """py-evm's key/value database in a SQLite table; writes wait in memory for `commit`."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection
        self._pending: dict[bytes, bytes | None] = {}  # None: deleted

    def __getitem__(self, key: bytes) -> bytes:
        value = self._pending.get(key, _ABSENT)
        if value is _ABSENT:
            value = self._read(key)
        if value is None:
            raise KeyError(key)
        return value

    def _read(self, key: bytes) -> bytes | None:
        row = self._db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return bytes(row[0]) if row else None

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self._pending[bytes(key)] = bytes(value)

    def __delitem__(self, key: bytes) -> None:
        if not self._exists(key):
            raise KeyError(key)
        self._pending[bytes(key)] = None

    def _exists(self, key: bytes) -> bool:
        value = self._pending.get(key, _ABSENT)
        return (self._read(key) if value is _ABSENT else value) is not None

    @property
    def pending(self) -> int:
        return len(self._pending)

    def write_pending(self) -> None:
        """Write what py-evm wrote since the last call (inside the caller's transaction)."""
        pending, self._pending = self._pending, {}
        try:
            self._db.executemany(
                "INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [(key, value) for key, value in pending.items() if value is not None],
            )
            self._db.executemany("DELETE FROM state WHERE key = ?", [(key,) for key, value in pending.items() if value is None])
        except BaseException:
            pending.update(self._pending)
            self._pending = pending
            raise

    def discard_pending(self) -> None:
        self._pending = {}

    def empty(self) -> bool:
        return self._db.execute("SELECT 1 FROM state LIMIT 1").fetchone() is None


class StateRefused(Exception):
    """The state on disk does not prove to be the journaled chain's."""


class _Backend(PyEVMBackend):
    """eth-tester's py-evm backend with indexed transaction lookups and replayable mining."""

    def _find(self, transaction_hash: bytes) -> tuple[Any, Any, int]:
        chain = self.chain
        try:
            number, index = chain.chaindb.get_transaction_index(transaction_hash)
        except EvmTransactionNotFound:
            number, index = -1, -1
        pending = chain.get_block()
        # An entry can outlive its block: a rewind (eth-tester's revert_to_snapshot) leaves
        # the index and the number lookups of the blocks past the new head in place.
        if 0 <= number < pending.number:
            block = chain.get_canonical_block_by_number(number)
            if index < len(block.transactions) and block.transactions[index].hash == transaction_hash:
                return block, block.transactions[index], index
        for position, transaction in enumerate(pending.transactions):
            if transaction.hash == transaction_hash:
                return pending, transaction, position
        raise TransactionNotFound(f"No transaction found for transaction hash: {encode_hex(transaction_hash)}")

    def get_transaction_by_hash(self, transaction_hash):
        block, transaction, index = self._find(transaction_hash)
        return serialize_transaction(block, transaction, index, block.number == self.chain.get_block().number)

    def get_transaction_receipt(self, transaction_hash):
        block, transaction, index = self._find(transaction_hash)
        is_pending = block.number == self.chain.get_block().number
        receipts = block.get_receipts(self.chain.chaindb)
        return serialize_transaction_receipt(block, receipts, transaction, index, is_pending, self.chain.get_vm())

    def mine_blocks(self, num_blocks=1, coinbase=_ZERO_ADDRESS):
        hashes = []
        for _ in range(num_blocks):
            kwargs: dict[str, Any] = {"coinbase": coinbase}
            header = self.chain.header
            if isinstance(self.chain.get_vm(), ParisVM):
                # prevrandao from the parent and the time, not os.urandom: a replay mines the same hash.
                kwargs["mix_hash"] = keccak(b"concord-prevrandao" + bytes(header.parent_hash) + header.timestamp.to_bytes(8, "big"))
            if isinstance(self.chain.get_vm(), PragueVM):
                kwargs["blob_gas_used"] = sum(get_total_blob_gas(tx) for tx in self.chain.get_block().transactions)
            hashes.append(self.chain.mine_block(**kwargs).hash)
        return tuple(hashes)


class EmbeddedChain(Chain):
    """eth-tester/py-evm in this process; its state and journal on disk (see the module)."""

    JOURNAL = "journal.sqlite3"
    LOCK = "chain.lock"
    #: Blocks replayed between two commits of the state while rebuilding it.
    REPLAY_BATCH = 500

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self._lock_file = _exclusive_lock(directory / self.LOCK)
        self._journal = sqlite3.connect(directory / self.JOURNAL, isolation_level=None, check_same_thread=False)
        self._journal.execute("PRAGMA synchronous=FULL")
        self._journal.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        self._journal.execute("CREATE TABLE IF NOT EXISTS blocks (number INTEGER PRIMARY KEY, timestamp INTEGER NOT NULL, raw BLOB)")
        columns = {row[1] for row in self._journal.execute("PRAGMA table_info(blocks)")}
        for column in ("hash", "state_root"):  # journals written before the state was kept
            if column not in columns:
                self._journal.execute(f"ALTER TABLE blocks ADD COLUMN {column} BLOB")
        self._journal.execute("CREATE TABLE IF NOT EXISTS state (key BLOB PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID")
        genesis_timestamp = self._genesis_timestamp()
        self._genesis_params = PyEVMBackend.generate_genesis_params(overrides={"timestamp": genesis_timestamp})
        self.backend = _Backend(genesis_parameters=self._genesis_params)
        self._chain_class = type(self.backend.chain)
        self.store = StateStore(self._journal)
        self.tester = EthereumTester(self.backend)
        funder_key = get_default_account_keys(quantity=1)[0].to_bytes()
        super().__init__(_web3(self.tester), url=EMBEDDED, funder_key=funder_key)
        self._lock = threading.RLock()
        self._broken: str | None = None
        #: The block the state on disk was proven at (None: rebuilt from genesis).
        self.resumed_from: int | None = None
        #: Blocks re-executed from the journal on this start.
        try:
            self.replayed_blocks = self._start()
        except BaseException:
            self.close()  # as a crash would: what was committed stays, the lock is released
            raise

    def _genesis_timestamp(self) -> int:
        row = self._journal.execute("SELECT value FROM meta WHERE key = 'genesis_timestamp'").fetchone()
        if row:
            return int(row[0])
        value = int(time.time())
        self._journal.execute("INSERT INTO meta (key, value) VALUES ('genesis_timestamp', ?)", (str(value),))
        return value

    # -- start: prove the state on disk, replay the tail ---------------------------------

    def _start(self) -> int:
        db = AtomicDB(self.store)
        head = None
        if not self.store.empty():
            try:
                head = _prove(self._journal, self._chain_class, db)
            except StateRefused as error:
                log.error("The embedded chain's state in %s is REFUSED (%s): rebuilding it by replaying the whole journal.", self.directory, error)
                self._rebuild_from_scratch()
        if head is None:
            self.backend.chain = self._chain_class.from_genesis(db, self._genesis_params, generate_genesis_state_for_keys(get_default_account_keys()))
        else:
            self.backend.chain = self._chain_class(db)
            self.resumed_from = head
        return self._replay(after=head if head is not None else 0)

    def _rebuild_from_scratch(self) -> None:
        self.store.discard_pending()
        with self._transaction():
            self._journal.execute("DELETE FROM state")

    def _replay(self, *, after: int) -> int:
        count = 0
        rows = self._journal.execute("SELECT number, timestamp, raw, hash FROM blocks WHERE number > ? ORDER BY number", (after,)).fetchall()
        filled: list[tuple[bytes, bytes, int]] = []
        for number, timestamp, raw, journaled_hash in rows:
            self.backend.chain.set_header_timestamp(timestamp)
            if raw is None:
                self.backend.mine_blocks()
            else:
                self.tester.send_raw_transaction("0x" + bytes(raw).hex())
            mined = self.backend.chain.get_canonical_head()
            if mined.block_number != number or mined.timestamp != timestamp:
                raise RuntimeError(
                    f"The embedded chain journal in {self.directory} does not replay: block {number} came out as {mined.block_number} at {mined.timestamp}."
                )
            if journaled_hash is None:
                filled.append((mined.hash, mined.state_root, number))
            elif bytes(journaled_hash) != mined.hash:
                raise RuntimeError(
                    f"The embedded chain journal in {self.directory} does not replay: block {number} came out as "
                    f"{encode_hex(mined.hash)}, journaled as {encode_hex(bytes(journaled_hash))}."
                )
            count += 1
            if count % self.REPLAY_BATCH == 0:
                self._commit_replayed(filled)
                filled = []
        self._commit_replayed(filled)
        return count

    def _commit_replayed(self, filled: list[tuple[bytes, bytes, int]]) -> None:
        with self._transaction():
            self._journal.executemany("UPDATE blocks SET hash = ?, state_root = ? WHERE number = ?", filled)
            self.store.write_pending()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self._journal.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._journal.execute("ROLLBACK")
            raise
        self._journal.execute("COMMIT")

    # -- mining: journal each block with its state ---------------------------------------

    def _write_journal(self, raw: bytes | None) -> None:
        head = self.backend.chain.get_canonical_head()
        with self._transaction():
            self._journal.execute(
                "INSERT INTO blocks (number, timestamp, raw, hash, state_root) VALUES (?, ?, ?, ?, ?)",
                (head.block_number, head.timestamp, raw, head.hash, head.state_root),
            )
            self.store.write_pending()

    def send_raw(self, raw: bytes) -> str:
        with self._lock:
            before = self.backend.chain.get_canonical_head()
            # Never behind the last block: a wall clock that stepped back must not reorder time.
            self.backend.chain.set_header_timestamp(max(before.timestamp + 1, int(time.time()) + self._offset()))
            tx_hash = super().send_raw(raw)
            if self.backend.chain.get_canonical_head().block_number != before.block_number + 1:
                raise RuntimeError("the embedded chain did not mine exactly one block for one transaction")
            self._journal_latest(bytes(raw))
            return tx_hash

    def _journal_latest(self, raw: bytes | None) -> None:
        try:
            self._write_journal(raw)
        except Exception as error:
            # The block is mined in memory but not on disk: going on would journal later
            # blocks behind a gap that can never replay. Refuse everything until a restart,
            # which resumes from what the journal does hold.
            self._broken = f"the embedded chain's journal could not be written ({error}); restart Concord"
            raise ChainUnavailable(self._broken) from error

    @contextlib.contextmanager
    def _rpc(self) -> Iterator[None]:
        if self._broken:
            raise ChainUnavailable(self._broken)
        with super()._rpc():
            yield

    def receipts(self, tx_hashes: list[str], *, batch: int = 250) -> dict[str, dict[str, Any] | None]:
        """In this process a request costs no round trip: one receipt after the other."""
        return {tx_hash: self.receipt(tx_hash) for tx_hash in tx_hashes}

    def _offset(self) -> int:
        row = self._journal.execute("SELECT value FROM meta WHERE key = 'time_offset'").fetchone()
        return int(row[0]) if row else 0

    def advance_time(self, seconds: int) -> int:
        """Mine an empty block `seconds` ahead and keep the clock that far ahead from now on."""
        if seconds <= 0:
            raise ValueError("time only moves forward")
        with self._lock:
            offset = self._offset() + seconds
            self._journal.execute(
                "INSERT INTO meta (key, value) VALUES ('time_offset', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (str(offset),),
            )
            parent = self.backend.chain.get_canonical_head().timestamp
            self.backend.chain.set_header_timestamp(max(parent + seconds, int(time.time()) + offset))
            self.backend.mine_blocks()
            self._journal_latest(None)
            return self.backend.chain.get_canonical_head().timestamp

    def rewind(self, snapshot: Any, block: int) -> None:
        """Back to an eth-tester snapshot taken at `block`, in memory and on disk (tests)."""
        with self._lock:
            if self.backend.chain.get_canonical_head().block_number != block:
                self.tester.revert_to_snapshot(snapshot)
            with self._transaction():
                self._journal.execute("DELETE FROM blocks WHERE number > ?", (block,))
                self.store.write_pending()
            self._broken = None

    def close(self) -> None:
        with self._lock:
            self.store.discard_pending()  # never journaled: gone, as after a crash
            self._journal.close()
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)
            os.close(self._lock_file)


class EmbeddedSnapshot(Chain):
    """The embedded chain as its state on disk stands, opened read-only beside the process
    that runs it (`concord ledger verify` while `concord run` serves). It takes no lock and
    mines nothing; the state is proven as on start, and its head is the head when opened:
    transactions mined later are not found, and `head` is the block to read state at (trie
    nodes are never overwritten, so reading at it stays exact while the chain grows)."""

    def __init__(self, directory: Path) -> None:
        path = directory / EmbeddedChain.JOURNAL
        if not path.exists():
            raise ChainUnavailable(f"No embedded chain in {directory}.")
        self._journal = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        try:
            row = self._journal.execute("SELECT value FROM meta WHERE key = 'genesis_timestamp'").fetchone()
            backend = _Backend(genesis_parameters=PyEVMBackend.generate_genesis_params(overrides={"timestamp": int(row[0])}))
            chain_class = type(backend.chain)
            db = AtomicDB(StateStore(self._journal))
            self.head = _prove(self._journal, chain_class, db)
            backend.chain = chain_class(db)
        except (sqlite3.Error, TypeError, StateRefused):
            self._journal.close()
            raise
        super().__init__(_web3(EthereumTester(backend)), url=EMBEDDED)

    def send_raw(self, raw: bytes) -> str:
        raise ChainUnavailable("A read-only snapshot of the embedded chain sends nothing.")

    def close(self) -> None:
        self._journal.close()


def _prove(journal: sqlite3.Connection, chain_class: Any, db: AtomicDB) -> int:
    """The block number the stored state belongs to, once proven against the journal."""
    try:
        head_hash = db[_CANONICAL_HEAD]
        header = chain_class(db).chaindb.get_block_header_by_hash(head_hash)
    except Exception as error:  # noqa: BLE001 - missing or undecodable: either way not proven
        raise StateRefused(f"its head block cannot be read: {error!r}") from None
    if header.hash != head_hash:
        raise StateRefused(f"the head header does not hash to {encode_hex(head_hash)}")
    number = header.block_number
    if number == 0:
        return 0
    row = journal.execute("SELECT hash, state_root FROM blocks WHERE number = ?", (number,)).fetchone()
    if row is None:
        raise StateRefused(f"it is at block {number}, which the journal does not hold")
    if row[0] is None or bytes(row[0]) != head_hash or bytes(row[1]) != header.state_root:
        journaled = encode_hex(bytes(row[0])) if row[0] is not None else "no hash"
        raise StateRefused(f"its block {number} is {encode_hex(head_hash)}, the journal's is {journaled}")
    try:
        root = db[header.state_root]
    except KeyError:
        raise StateRefused(f"its state root {encode_hex(header.state_root)} is missing") from None
    if keccak(root) != header.state_root:
        raise StateRefused(f"its state root {encode_hex(header.state_root)} does not hash to itself")
    return number


def _web3(tester: EthereumTester) -> Web3:
    w3 = Web3(EthereumTesterProvider(tester))
    # Calls say who calls: otherwise web3's eth-tester middleware asks for the accounts (three
    # requests) on every call to pick the first one, which is this same account.
    w3.eth.default_account = Account.from_key(get_default_account_keys(quantity=1)[0].to_bytes()).address
    return w3


def _exclusive_lock(path: Path) -> int:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise EmbeddedChainBusy(
            f"Another Concord process is running the embedded chain in {path.parent}. The embedded chain "
            "lives inside one process (`concord run`); for several processes set CONCORD_CHAIN_URL to a node."
        ) from None
    return fd
