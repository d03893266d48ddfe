"""Transactions applied straight to the py-evm state of an eth-tester chain.

eth-tester signs, mines a block and builds a receipt for every transaction (about 0.1 s
each), and reverts a snapshot by replaying the chain database (another 0.1 s). A state
machine running a thousand sequences cannot afford either, so this driver takes the state
of the chain's pending block (the contracts the tests deployed, the same EVM) and applies
each call to it as a message from the sender, as the transaction would run, without the
block around it; snapshots are the state's own journal checkpoints, which cost nothing.
Nothing is ever persisted: the eth-tester chain itself is left as it was.

Mappings are read straight from storage (`slot_of`) once their base slot has been found
against the contract's own view (`find_mapping_slot`), since a storage read is a dictionary
lookup and a view call is a whole EVM execution.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from eth.vm.message import Message
from eth_abi import decode, encode
from eth_utils import is_hex_address, keccak, to_canonical_address, to_checksum_address
from eth_utils.abi import get_abi_input_types, get_abi_output_types

from tests.contracts.chain import Chain, Reverted

GAS = 3_000_000


def _key_bytes(key: Any) -> bytes:
    if isinstance(key, str):  # an address
        return encode(["address"], [key])
    if isinstance(key, bytes):
        return key.rjust(32, b"\0")
    return encode(["uint256"], [key])


def slot_of(base: int, *keys: Any) -> int:
    """The storage slot of `mapping[keys[0]][keys[1]]...` declared at slot `base`."""
    slot = base
    for key in keys:
        slot = int.from_bytes(keccak(_key_bytes(key) + slot.to_bytes(32, "big")), "big")
    return slot


def _checksummed(value: Any) -> Any:
    """Addresses as web3 returns them (checksummed), inside tuples too."""
    if isinstance(value, tuple):
        return tuple(_checksummed(item) for item in value)
    if isinstance(value, str) and is_hex_address(value):
        return to_checksum_address(value)
    return value


@dataclass(frozen=True)
class Call:
    to: bytes
    data: bytes
    outputs: list[str]


@dataclass
class DirectEVM:
    chain: Chain
    state: Any
    _functions: dict[tuple[str, str], tuple[bytes, bytes, list[str], list[str]]] = field(default_factory=dict)

    @classmethod
    def on(cls, chain: Chain) -> DirectEVM:
        return cls(chain=chain, state=chain.tester.backend.chain.get_vm().state)

    # -- time and snapshots -----------------------------------------------------------------

    @property
    def now(self) -> int:
        return self.state.timestamp

    def travel_to(self, timestamp: int) -> None:
        # The execution context is the block header's view; it has no setter, and the
        # contracts only read `block.timestamp` from it.
        self.state.execution_context._timestamp = timestamp

    def snapshot(self) -> tuple[Any, int]:
        return self.state.snapshot(), self.now

    def revert(self, snapshot: tuple[Any, int]) -> None:
        journal, timestamp = snapshot
        self.state.revert(journal)
        self.travel_to(timestamp)

    # -- calls ------------------------------------------------------------------------------

    def function(self, contract: Any, name: str, *args: Any) -> Call:
        """`contract`'s function `name` with `args`, encoded (the ABI's own encoding, without
        building a web3 function object per call, which costs more than the EVM's work)."""
        key = (contract.address, name)
        if key not in self._functions:
            (abi,) = [item for item in contract.abi if item.get("type") == "function" and item["name"] == name]
            inputs = get_abi_input_types(abi)
            selector = keccak(text=f"{name}({','.join(inputs)})")[:4]
            self._functions[key] = (to_canonical_address(contract.address), selector, inputs, get_abi_output_types(abi))
        to, selector, inputs, outputs = self._functions[key]
        return Call(to=to, data=selector + encode(inputs, list(args)), outputs=outputs)

    def _apply(self, call: Call, sender: str):
        origin = to_canonical_address(sender)
        message = Message(gas=GAS, to=call.to, sender=origin, value=0, data=call.data, code=self.state.get_code(call.to))
        context = self.state.get_transaction_context_class()(gas_price=0, origin=origin)
        computation = self.state.computation_class.apply_message(self.state, message, context)
        self.state.clear_transient_storage()  # what the end of a transaction does
        return computation

    def transact(self, call: Call, sender: str = "operator") -> None:
        """Runs `call` as account `sender` (a name); raises `Reverted` with the revert data,
        its effects undone, when it fails."""
        computation = self._apply(call, self.chain[sender])
        if computation.is_error:
            raise Reverted(bytes(computation.output) or repr(computation.error))

    def call(self, call: Call) -> Any:
        """A view's value (one output unwrapped; a struct as a tuple), nothing kept."""
        snapshot = self.state.snapshot()
        computation = self._apply(call, self.chain["operator"])
        self.state.revert(snapshot)
        if computation.is_error:
            raise Reverted(bytes(computation.output))
        values = tuple(_checksummed(value) for value in decode(call.outputs, bytes(computation.output)))
        return values[0] if len(values) == 1 else values

    def storage(self, contract: Any, slot: int) -> int:
        return self.state.get_storage(to_canonical_address(contract.address), slot)

    def reader(self, contract: Any, base: int, *keys: Any) -> Callable[[], int]:
        """Reads `mapping[keys...]` of `contract` (declared at slot `base`) when called."""
        address, slot = to_canonical_address(contract.address), slot_of(base, *keys)
        return lambda: self.state.get_storage(address, slot)

    def find_slot(self, contract: Any, expected: int, limit: int = 32) -> int:
        """The slot where `contract` keeps the (non-zero) value `expected`."""
        assert expected, "calibrate on a non-zero value"
        matches = [slot for slot in range(limit) if self.storage(contract, slot) == expected]
        assert len(matches) == 1, f"no single slot holds {expected}: {matches}"
        return matches[0]

    def find_mapping_slot(self, contract: Any, keys: tuple[Any, ...], expected: int, limit: int = 32) -> int:
        """The base slot of the mapping where `contract` keeps `expected` under `keys`
        (`expected` must be non-zero and read from the contract's view)."""
        assert expected, "calibrate on a non-zero value"
        matches = [base for base in range(limit) if self.storage(contract, slot_of(base, *keys)) == expected]
        assert len(matches) == 1, f"no single mapping slot holds {expected}: {matches}"
        return matches[0]
