"""The outbox's transactions built from intents: gas, fee caps, nonce and the encoded call.

Deployments never move and a function's ABI never changes, so what a call needs besides its
arguments (the contract's address, the function's selector and argument types) is looked
up once per worker and kept; each intent then costs one ABI encoding of its arguments, with
web3's strict codec (the same checks as `Contract.encode_abi`).

A transaction that reverted is replayed as a call on its parent block to read the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_utils import function_abi_to_4byte_selector, to_checksum_address
from sqlalchemy.orm import Session

from concord.ledger.abi import IntentError, arguments, artifact_name, describe_revert
from concord.ledger.artifacts import load_artifact
from concord.ledger.chain import CallReverted, Chain, ChainUnavailable
from concord.ledger.models import ChainIntent, ContractDeployment, IntentKind


@dataclass(frozen=True)
class _Function:
    address: str
    inputs: list[dict[str, Any]]
    types: list[str]
    selector: bytes


class TransactionBuilder:
    """Builds the unsigned transactions of one worker's intents (one thread)."""

    def __init__(self, chain: Chain, fee: dict[str, int]) -> None:
        self.chain = chain
        self.fee = fee
        self._contracts: dict[tuple[int, str], Any] = {}
        self._functions: dict[tuple[int, str, str, int], _Function] = {}

    def forget(self, chain_id: int, name: str) -> None:
        """A deployment of `name` was recorded: look it up afresh next time."""
        self._contracts.pop((chain_id, name), None)
        for key in [key for key in self._functions if key[:2] == (chain_id, name)]:
            del self._functions[key]

    def build(self, session: Session, intent: ChainIntent, chain_id: int, nonce: int) -> dict[str, Any]:
        """The transaction of `intent` with `nonce`; IntentError if it can never be built."""
        transaction: dict[str, Any] = {
            "chainId": chain_id,
            "nonce": nonce,
            "gas": intent.gas_limit,
            "value": 0,
            "type": 2,
            **self.fee,
        }
        if intent.kind == IntentKind.DEPLOY:
            transaction["data"] = self._constructor_data(intent)
            return transaction
        function = self._function(session, chain_id, intent)
        where = f"{intent.contract}.{intent.function}"
        args = arguments(function.inputs, intent.args, where)
        try:
            if any(kind.startswith("tuple") for kind in function.types):  # no contract of ours takes one today
                transaction["data"] = self._contract(session, chain_id, intent.contract).encode_abi(intent.function, args=args)
            else:
                transaction["data"] = "0x" + (function.selector + self.chain.w3.codec.encode(function.types, args)).hex()
        except Exception as error:  # noqa: BLE001 - the codec raises several types for bad arguments
            raise IntentError(f"{where}: arguments do not fit the ABI: {error}") from None
        transaction["to"] = function.address
        return transaction

    def _constructor_data(self, intent: ChainIntent) -> str:
        artifact = load_artifact(artifact_name(intent.contract))
        factory = self.chain.contract(artifact.abi, bytecode=artifact.bytecode)
        constructor: dict[str, Any] = next((item for item in artifact.abi if item["type"] == "constructor"), {"inputs": []})
        args = arguments(constructor["inputs"], intent.args, intent.contract)
        try:
            return factory.constructor(*args).data_in_transaction
        except Exception as error:  # noqa: BLE001 - web3 raises several types for bad arguments
            raise IntentError(f"{intent.contract}: constructor arguments do not fit the ABI: {error}") from None

    def _function(self, session: Session, chain_id: int, intent: ChainIntent) -> _Function:
        key = (chain_id, intent.contract, intent.function or "", len(intent.args))
        function = self._functions.get(key)
        if function is None:
            contract = self._contract(session, chain_id, intent.contract)
            function_abi = next(
                (
                    item
                    for item in contract.abi
                    if item.get("type") == "function" and item["name"] == intent.function and len(item["inputs"]) == len(intent.args)
                ),
                None,
            )
            if function_abi is None:
                raise IntentError(f"{intent.contract} has no function {intent.function} taking {len(intent.args)} argument(s)")
            function = self._functions[key] = _Function(
                address=contract.address,
                inputs=function_abi["inputs"],
                types=[item["type"] for item in function_abi["inputs"]],
                selector=function_abi_to_4byte_selector(function_abi),
            )
        return function

    def _contract(self, session: Session, chain_id: int, name: str):
        """The deployed contract (a deployment never moves, so it is looked up once)."""
        contract = self._contracts.get((chain_id, name))
        if contract is None:
            deployment = session.get(ContractDeployment, (chain_id, name))
            if deployment is None:
                raise IntentError(f"{name} is not deployed on chain {chain_id}")
            contract = self._contracts[(chain_id, name)] = self.chain.contract(load_artifact(deployment.artifact).abi, deployment.address)
        return contract


def revert_reason(chain: Chain, sender: str, gas_limit: int, tx_hash: str, receipt: dict[str, Any]) -> str:
    """Why a mined transaction reverted: its call replayed on the parent block, decoded."""
    transaction = chain.transaction(tx_hash) or {}
    call = {"from": to_checksum_address(sender), "data": transaction.get("input", b""), "gas": gas_limit, "value": 0}
    if transaction.get("to"):
        call["to"] = transaction["to"]
    try:
        chain.call(call, max(int(receipt["blockNumber"]) - 1, 0))
    except CallReverted as revert:
        return describe_revert(revert.data)
    except ChainUnavailable:
        raise
    except Exception as error:  # noqa: BLE001 - some nodes answer a replay with a bare RPC error
        return f"reverted (the node gave no reason when replayed: {error})"
    if int(receipt["gasUsed"]) >= gas_limit:
        return f"out of gas (limit {gas_limit})"
    return "reverted (the replayed call did not revert)"
