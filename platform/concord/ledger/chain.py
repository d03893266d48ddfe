"""The chain gateway: one web3 connection, to the embedded chain or to a JSON-RPC node.

`Chain` is what the outbox, the deployer and the indexer talk to. It never signs (keys.py
does), never picks nonces (the outbox does) and never retries by itself: web3's HTTP
provider would resend `eth_sendRawTransaction` on a timeout, so its retries are switched
off and the outbox decides what a failure means.

The embedded chain (`CONCORD_CHAIN_URL=embedded`) is eth-tester on py-evm inside this
process, journaled with its state to disk: see embedded.py.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar, cast

import requests
from eth_account import Account
from eth_tester.exceptions import TransactionFailed
from eth_tester.exceptions import TransactionNotFound as TesterTransactionNotFound
from eth_typing import HexStr
from eth_utils import to_checksum_address
from eth_utils.exceptions import ValidationError as EthValidationError
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import (
    ContractCustomError,
    ContractLogicError,
    ContractPanicError,
    ProviderConnectionError,
    TimeExhausted,
    TransactionIndexingInProgress,
    TransactionNotFound,
    Web3RPCError,
)
from web3.types import BlockIdentifier, RPCEndpoint, TxParams

log = logging.getLogger(__name__)
_T = TypeVar("_T")

EMBEDDED = "embedded"
#: What a member's address is topped up to when the node says it cannot pay for gas.
TOP_UP_WEI = 100 * 10**18

_UNREACHABLE = (
    ConnectionError,
    TimeoutError,
    OSError,
    requests.RequestException,
    ProviderConnectionError,
)


class ChainUnavailable(Exception):
    """The node could not be reached (or did not answer in time): try again later."""


class TransactionRejected(Exception):
    """The node refused a transaction without mining it (bad nonce, no funds, ...)."""

    @property
    def cannot_pay(self) -> bool:
        text = str(self).lower()
        return any(marker in text for marker in ("afford", "insufficient funds", "enough funds"))

    @property
    def permanent(self) -> bool:
        """Refusals the same bytes can never overcome (most others pass with time)."""
        text = str(self).lower()
        return any(marker in text for marker in _PERMANENT_REFUSALS)


_PERMANENT_REFUSALS = (
    "not supported",
    "invalid chain id",
    "invalid signature",
    "intrinsic gas too low",
    "exceeds block gas limit",
    "oversized data",
)


class CallReverted(Exception):
    """A call reverted; `data` holds the revert data (empty when the node gave none)."""

    def __init__(self, data: bytes, message: str = "") -> None:
        super().__init__(message or f"reverted: 0x{data.hex()}")
        self.data = data


class EmbeddedChainBusy(RuntimeError):
    """Another process already runs the embedded chain of this instance folder."""


class Chain:
    """A web3 connection with the few operations Concord needs, errors made explicit."""

    def __init__(self, w3: Web3, *, url: str, funder_key: bytes | None = None) -> None:
        self.w3 = w3
        self.url = url
        self._funder = Account.from_key(funder_key) if funder_key else None
        self._lock: contextlib.AbstractContextManager = contextlib.nullcontext()
        self._chain_id: int | None = None
        self._contracts: dict[tuple[str, str], Any] = {}

    # -- reading --------------------------------------------------------------------------

    @contextlib.contextmanager
    def _rpc(self) -> Iterator[None]:
        with self._lock:
            try:
                yield
            except _UNREACHABLE as error:
                raise ChainUnavailable(f"{self.url}: {error}") from error

    @property
    def chain_id(self) -> int:
        if self._chain_id is None:
            with self._rpc():
                self._chain_id = int(self.w3.eth.chain_id)
        return self._chain_id

    def read(self, reading: Callable[[Web3], _T]) -> _T:
        """Run a read of the node through web3, under the chain's lock (the embedded chain's
        worker mines beside it: a read sees one block's state, never half of one)."""
        with self._rpc():
            return reading(self.w3)

    def block_number(self) -> int:
        with self._rpc():
            return int(self.w3.eth.block_number)

    def block_timestamp(self, number: BlockIdentifier = "latest") -> int:
        with self._rpc():
            return int(self.w3.eth.get_block(number)["timestamp"])

    def nonce(self, address: str) -> int:
        """Transactions `address` has had mined (the next nonce the node expects)."""
        with self._rpc():
            return int(self.w3.eth.get_transaction_count(to_checksum_address(address), "latest"))

    def balance(self, address: str) -> int:
        with self._rpc():
            return int(self.w3.eth.get_balance(to_checksum_address(address)))

    def code(self, address: str) -> bytes:
        with self._rpc():
            return bytes(self.w3.eth.get_code(to_checksum_address(address)))

    def transaction(self, tx_hash: str) -> dict[str, Any] | None:
        with self._rpc():
            try:
                return dict(self.w3.eth.get_transaction(HexStr(tx_hash)))
            except (TransactionNotFound, TesterTransactionNotFound):
                return None

    def receipt(self, tx_hash: str, *, timeout: float = 0) -> dict[str, Any] | None:
        """The receipt, waiting up to `timeout` seconds for it to be mined; None if not yet."""
        deadline = time.monotonic() + timeout
        while True:
            with self._rpc():
                try:
                    return dict(self.w3.eth.get_transaction_receipt(HexStr(tx_hash)))
                except (TransactionNotFound, TesterTransactionNotFound, TimeExhausted, TransactionIndexingInProgress):
                    pass
            if time.monotonic() >= deadline:
                return None
            time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))

    def receipts(self, tx_hashes: list[str], *, batch: int = 250) -> dict[str, dict[str, Any] | None]:
        """The receipts of many transactions (None for one not mined), asked in JSON-RPC
        batches: one round trip per `batch` instead of one per transaction. A node that
        refuses batches, or a batch with a transaction the node does not know, is asked one
        by one."""
        found: dict[str, dict[str, Any] | None] = {}
        for start in range(0, len(tx_hashes), batch):
            chunk = tx_hashes[start : start + batch]
            try:
                with self._rpc(), self.w3.batch_requests() as batched:
                    for tx_hash in chunk:
                        batched.add(self.w3.eth.get_transaction_receipt(HexStr(tx_hash)))
                    answers = batched.execute()
                found.update({tx_hash: dict(cast(Any, answer)) for tx_hash, answer in zip(chunk, answers, strict=True)})
            except ChainUnavailable:
                raise
            except Exception:  # noqa: BLE001 - no batches here, or a transaction not found
                found.update({tx_hash: self.receipt(tx_hash) for tx_hash in chunk})
        return found

    def call(self, transaction: dict[str, Any], block: BlockIdentifier = "latest") -> bytes:
        """eth_call; a revert raises CallReverted with the revert data."""
        with self._rpc():
            try:
                return bytes(self.w3.eth.call(cast(TxParams, transaction), block))  # a plain dict of TxParams keys
            except (ContractCustomError, ContractLogicError, ContractPanicError) as error:
                raise CallReverted(_revert_data(error), str(error)) from None
            except TransactionFailed as error:
                raise CallReverted(tester_revert_data(error), str(error)) from None

    def logs(self, addresses: list[str], from_block: int, to_block: int) -> list[dict[str, Any]]:
        with self._rpc():
            entries = self.w3.eth.get_logs({"address": [to_checksum_address(a) for a in addresses], "fromBlock": from_block, "toBlock": to_block})
        return [dict(entry) for entry in entries]

    def contract(self, abi: list[dict[str, Any]], address: str | None = None, *, bytecode: str | None = None):
        """A contract object; one at an address is built once per ABI (web3 validates and
        indexes the whole ABI each time, far dearer than any call made with it)."""
        if address is None:
            return self.w3.eth.contract(abi=abi, bytecode=bytecode)
        key = (to_checksum_address(address), json.dumps(abi, sort_keys=True))
        contract = self._contracts.get(key)
        if contract is None:
            contract = self._contracts[key] = self.w3.eth.contract(address=key[0], abi=abi)
        return contract

    # -- writing --------------------------------------------------------------------------

    def send_raw(self, raw: bytes) -> str:
        """Submit signed bytes once; returns the hash. Never retried here."""
        with self._rpc():
            try:
                return "0x" + bytes(self.w3.eth.send_raw_transaction(HexBytes(raw))).hex()
            except (EthValidationError, Web3RPCError, ValueError) as error:
                raise TransactionRejected(_message(error)) from None

    @property
    def funder_address(self) -> str | None:
        return self._funder.address if self._funder else None

    def top_up(self, address: str, fee: dict[str, int], amount: int = TOP_UP_WEI) -> str | None:
        """Send gas money to `address` from the funder account, if one is configured.

        Gas money is plumbing, not business: a duplicate top-up only over-funds, so this
        goes around the outbox, with the funder's nonce read from the node."""
        if self._funder is None:
            return None
        with self._lock:
            transaction = {
                "to": to_checksum_address(address),
                "value": amount,
                "gas": 21_000,
                "nonce": self.nonce(self._funder.address),
                "chainId": self.chain_id,
                "type": 2,
                **fee,
            }
            tx_hash = self.send_raw(self._funder.sign_transaction(transaction).raw_transaction)
            self.receipt(tx_hash, timeout=30)
            return tx_hash

    def advance_time(self, seconds: int) -> int:
        """Move the chain's clock forward (development chains only); returns the new time."""
        with self._rpc():
            self.w3.provider.make_request(RPCEndpoint("evm_increaseTime"), [seconds])
            self.w3.provider.make_request(RPCEndpoint("evm_mine"), [])
        return self.block_timestamp()

    def close(self) -> None:
        pass


def open_chain(url: str, instance_dir: str, *, funder_key: str | None = None) -> Chain:
    if url == EMBEDDED:
        from concord.ledger.embedded import EmbeddedChain

        return EmbeddedChain(Path(instance_dir) / "chain")
    from web3 import HTTPProvider

    # No provider retries: a resent eth_sendRawTransaction is the outbox's decision alone.
    provider = HTTPProvider(url, request_kwargs={"timeout": 30}, exception_retry_configuration=None)
    key = bytes.fromhex(funder_key.removeprefix("0x")) if funder_key else None
    return Chain(Web3(provider), url=url, funder_key=key)


def signed_sender(raw: bytes) -> str:
    """The address that signed a raw transaction."""
    return Account.recover_transaction(raw)


def _message(error: Exception) -> str:
    response = error.rpc_response if isinstance(error, Web3RPCError) else None
    if isinstance(response, dict):
        detail = response.get("error")
        if isinstance(detail, dict) and detail.get("message"):
            return str(detail["message"])
    return str(error.args[0] if error.args else error)


def _revert_data(error: Exception) -> bytes:
    data = getattr(error, "data", None)
    if isinstance(data, dict):  # some nodes (hardhat) wrap it: {"message": ..., "data": "0x..."}
        data = data.get("data")
    if isinstance(data, str) and data.startswith("0x"):
        try:
            return bytes.fromhex(data[2:])
        except ValueError:
            return b""
    if isinstance(data, (bytes, bytearray)):
        return bytes(data)
    return b""


def tester_revert_data(error: TransactionFailed) -> bytes:
    """eth-tester reports revert data only as the text of the bytes: turn it back into bytes."""
    message: Any = error.args[0] if error.args else b""
    while isinstance(message, Exception):
        message = message.args[0] if message.args else b""
    if isinstance(message, bytes):
        return message
    text = str(message)
    if text.startswith("execution reverted: "):
        text = text[len("execution reverted: ") :]
    if text.startswith(("b'", 'b"')):
        import ast

        try:
            value = ast.literal_eval(text)
            if isinstance(value, bytes):
                return value
        except (SyntaxError, ValueError):
            pass
    return b""
