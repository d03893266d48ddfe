"""An eth-tester (py-evm) chain for the contract tests, driven through web3.py.

Transactions go out with explicit gas after a dry run on the pending block (the block they
will be mined in, with its timestamp), so that a revert is reported with the exact revert
data the contract produced and nothing is mined. eth-tester reports revert data only as
the text of the bytes, which `_revert_bytes` turns back into bytes.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from concord.ledger.artifacts import Artifact, load_artifact
from concord.ledger.chain import tester_revert_data
from concord.ledger.encoding import MemberRole
from eth_abi import encode
from eth_tester import EthereumTester, PyEVMBackend
from eth_tester.exceptions import TransactionFailed
from eth_utils import keccak, to_checksum_address
from web3 import Web3
from web3.logs import DISCARD
from web3.providers.eth_tester import EthereumTesterProvider

GAS = 3_000_000
DAY = 24 * 60 * 60
DISPUTE_WINDOW = 7 * DAY
UNIT = 10**6  # settlement tokens have 6 decimals
OPERATOR_ROLE = keccak(text="OPERATOR_ROLE")

#: Named accounts and the role flags they are admitted with. `operator` deploys and runs
#: the contracts but is no member; `suspended` holds every role but is suspended; `outsider`
#: was never admitted; `keeper` is a member without any business role.
MEMBERS: dict[str, int] = {
    "buyer": MemberRole.BUYER,
    "buyer2": MemberRole.BUYER,
    "supplier": MemberRole.SUPPLIER,
    "supplier2": MemberRole.SUPPLIER,
    "carrier": MemberRole.CARRIER,
    "carrier2": MemberRole.CARRIER,
    "financier": MemberRole.FINANCIER,
    "financier2": MemberRole.FINANCIER,
    "auditor": MemberRole.AUDITOR,
    "arbiter": MemberRole.ARBITER,
    "arbiter2": MemberRole.ARBITER,
    "keeper": 0,
    "suspended": int(MemberRole.BUYER | MemberRole.SUPPLIER | MemberRole.CARRIER | MemberRole.FINANCIER | MemberRole.AUDITOR | MemberRole.ARBITER),
}
ACCOUNT_NAMES = ("operator", *MEMBERS, "outsider")
NOT_ACTIVE = ("operator", "suspended", "outsider")


ZERO_ADDRESS = "0x" + "00" * 20


class EscrowState(enum.IntEnum):
    """`IDeliveryEscrow.EscrowState`, in declaration order."""

    NONE = 0
    FUNDED = 1
    DELIVERED = 2
    RECEIPT_CONFIRMED = 3
    DISPUTED = 4
    RELEASED = 5
    RESOLVED = 6


def org_id(name: str) -> bytes:
    return keccak(text=f"organization:{name}")


def order_id(name: str) -> bytes:
    return keccak(text=f"order:{name}")


class Reverted(AssertionError):
    """A transaction (or call) reverted; `data` holds the revert data."""

    def __init__(self, data: bytes | str) -> None:
        super().__init__(f"reverted: {data!r}")
        self.data = data


def _revert_bytes(error: TransactionFailed) -> bytes | str:
    """The revert data eth-tester reported; its text when it carries none."""
    return tester_revert_data(error) or str(error)


@dataclass
class Chain:
    tester: EthereumTester
    w3: Web3
    accounts: dict[str, str]
    errors: dict[bytes, tuple[str, list[str]]] = field(default_factory=dict)

    @classmethod
    def start(cls, names: tuple[str, ...] = ACCOUNT_NAMES, extra_accounts: int = 4) -> Chain:
        backend = PyEVMBackend(genesis_state=PyEVMBackend.generate_genesis_state(num_accounts=len(names) + extra_accounts))
        tester = EthereumTester(backend)
        w3 = Web3(EthereumTesterProvider(tester))
        addresses = w3.eth.accounts
        # Calls without a sender come from the first account (what eth-tester would guess,
        # but without asking it for the account list on every call).
        w3.eth.default_account = addresses[0]
        chain = cls(tester=tester, w3=w3, accounts=dict(zip(names, addresses, strict=False)))
        for index in range(extra_accounts):
            chain.accounts[f"extra{index}"] = addresses[len(names) + index]
        # Put the chain a day ahead of the wall clock: every block is then its parent + 1 s,
        # so the timestamp of the next transaction is known (`next_timestamp`).
        chain.travel_to(chain.latest_timestamp() + DAY)
        return chain

    # -- accounts and time --------------------------------------------------------------

    def __getitem__(self, name: str) -> str:
        return self.accounts[name]

    def latest_timestamp(self) -> int:
        return self.w3.eth.get_block("latest")["timestamp"]

    def next_timestamp(self) -> int:
        """The timestamp the next transaction will be mined with."""
        return self.tester.get_block_by_number("pending")["timestamp"]

    def travel_to(self, timestamp: int) -> None:
        """The next transaction is mined at `timestamp` (which must be in the chain's future)."""
        self.tester.time_travel(timestamp)

    def advance(self, seconds: int) -> None:
        self.travel_to(self.next_timestamp() + seconds)

    # -- contracts ----------------------------------------------------------------------

    def register_errors(self, abi: list[dict[str, Any]]) -> None:
        for item in abi:
            if item.get("type") == "error":
                types = [argument["type"] for argument in item["inputs"]]
                selector = keccak(text=f"{item['name']}({','.join(types)})")[:4]
                self.errors[selector] = (item["name"], types)

    def deploy(self, artifact: Artifact | str, *args: Any, sender: str = "operator", test: bool = False):
        if isinstance(artifact, str):
            artifact = load_artifact(artifact, test=test)
        self.register_errors(artifact.abi)
        factory = self.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
        receipt = self._send(factory.constructor(*args), self.accounts[sender])
        return self.w3.eth.contract(address=receipt["contractAddress"], abi=artifact.abi)

    def _send(self, function, sender: str) -> dict[str, Any]:
        transaction = function.build_transaction({"from": sender, "gas": GAS})
        dry_run = {key: transaction[key] for key in ("from", "data", "gas", "value") if key in transaction}
        if transaction.get("to"):
            dry_run["to"] = transaction["to"]
        try:
            self.tester.call(dry_run, "pending")
        except TransactionFailed as error:
            raise Reverted(_revert_bytes(error)) from None
        receipt = self.w3.eth.wait_for_transaction_receipt(self.w3.eth.send_transaction(transaction))
        assert receipt["status"] == 1, f"transaction failed after a successful dry run: {receipt}"
        return receipt

    def transact(self, function, sender: str = "operator") -> dict[str, Any]:
        """Sends `function` as account `sender` (a name); raises `Reverted` without mining."""
        return self._send(function, self.accounts[sender])

    def call_reverting(self, function, sender: str = "operator") -> bytes | str:
        try:
            function.call({"from": self.accounts[sender]})
        except TransactionFailed as error:
            return _revert_bytes(error)
        raise AssertionError("the call did not revert")

    # -- errors and events --------------------------------------------------------------

    def error_data(self, name: str, *args: Any) -> bytes:
        for selector, (known, types) in self.errors.items():
            if known == name:
                return selector + encode(types, [_abi_value(value) for value in args])
        raise KeyError(f"no contract deployed here declares the error {name}")

    def describe(self, data: bytes | str) -> str:
        if isinstance(data, bytes) and len(data) >= 4 and data[:4] in self.errors:
            from eth_abi import decode

            name, types = self.errors[data[:4]]
            try:
                values = decode(types, data[4:])
            except Exception:  # noqa: BLE001 - describing only
                values = ("<undecodable>",)
            return f"{name}({', '.join(repr(v) for v in values)})"
        return repr(data)

    @contextmanager
    def reverts(self, name: str, *args: Any) -> Iterator[None]:
        """Asserts that the block raises `Reverted` with custom error `name(*args)`."""
        with pytest.raises(Reverted) as raised:
            yield
        expected = self.error_data(name, *args)
        actual = raised.value.data
        assert actual == expected, f"expected {name}{args!r}, got {self.describe(actual)}"


def _abi_value(value: Any) -> Any:
    if hasattr(value, "address"):  # a web3 contract
        return value.address
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    return value


def events(contract, receipt, name: str) -> list[dict[str, Any]]:
    """The decoded `name` events `contract` emitted in `receipt`, as plain dicts of arguments."""
    return [dict(log["args"]) for log in getattr(contract.events, name)().process_receipt(receipt, errors=DISCARD)]


def struct(function, block: str = "latest") -> dict[str, Any]:
    """Calls a view that returns one struct; its fields by name."""
    components = function.abi["outputs"][0]["components"]
    return dict(zip((component["name"] for component in components), function.call(block_identifier=block), strict=True))


def block_timestamp(chain: Chain, receipt: dict[str, Any]) -> int:
    return chain.w3.eth.get_block(receipt["blockNumber"])["timestamp"]


def checksum(address: str) -> str:
    return to_checksum_address(address)


@dataclass
class Concord:
    """The production contracts deployed and wired as the platform would: members admitted,
    one EUR token minted to the buyers, the escrow, the registry and the exchange listed as
    token holders."""

    chain: Chain
    consortium: Any
    token: Any
    registry: Any
    escrow: Any
    anchor: Any
    exchange: Any

    def __getitem__(self, name: str) -> str:
        return self.chain[name]


def deploy_concord(chain: Chain, *, dispute_window: int = DISPUTE_WINDOW, buyer_funds: int = 1_000_000 * UNIT) -> Concord:
    operator = chain["operator"]
    consortium = chain.deploy("Consortium", operator)
    for name, roles in MEMBERS.items():
        chain.transact(consortium.functions.addMember(chain[name], org_id(name), int(roles)))
    chain.transact(consortium.functions.suspendMember(chain["suspended"]))
    token = chain.deploy("SettlementToken", "Concord Euro", "cEUR", "EUR", consortium.address, operator)
    registry = chain.deploy("ReceivableRegistry", consortium.address, operator)
    escrow = chain.deploy("DeliveryEscrow", consortium.address, registry.address, operator, dispute_window)
    chain.transact(registry.functions.linkEscrow(escrow.address))
    chain.transact(token.functions.listHolder(escrow.address))
    chain.transact(escrow.functions.allowToken(token.address))
    anchor = chain.deploy("ProvenanceAnchor", consortium.address)
    exchange = chain.deploy("ReceivableExchange", consortium.address, registry.address)
    for contract in (registry, exchange):
        chain.transact(token.functions.listHolder(contract.address))
    for buyer in ("buyer", "buyer2"):
        chain.transact(token.functions.mint(chain[buyer], buyer_funds))
        chain.transact(token.functions.approve(escrow.address, 2**256 - 1), buyer)
    return Concord(chain=chain, consortium=consortium, token=token, registry=registry, escrow=escrow, anchor=anchor, exchange=exchange)


def fund_escrow(
    concord: Concord,
    order: bytes,
    amount: int = 100 * UNIT,
    *,
    buyer: str = "buyer",
    payee: str = "supplier",
    carrier: str | None = "carrier",
    arbiter: str = "arbiter",
    token: Any = None,
) -> dict[str, Any]:
    """`buyer` escrows `amount` for `order` (named parties, `carrier=None` leaving the carrier
    to be assigned; the EUR token unless `token`)."""
    token = token if token is not None else concord.token
    carrier_address = ZERO_ADDRESS if carrier is None else concord[carrier]
    function = concord.escrow.functions.fund(order, concord[payee], carrier_address, concord[arbiter], token.address, amount)
    return concord.chain.transact(function, buyer)
