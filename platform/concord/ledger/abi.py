"""What the outbox and the indexer read and write in the contracts' ABI: intent arguments
stored as JSON and turned back into ABI values, and a revert's data decoded into the error
it names (a custom error of Concord's contracts, `Error(string)` or `Panic(uint256)`)."""

from __future__ import annotations

import uuid
from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import keccak, to_checksum_address

from concord.ledger.artifacts import PRODUCTION_CONTRACTS, load_artifact


class IntentError(ValueError):
    """An intent that can never be sent (unknown contract or function, bad arguments)."""


def artifact_name(deployment_name: str) -> str:
    """ "SettlementToken.EUR" is a deployment of the artifact SettlementToken."""
    return deployment_name.split(".", 1)[0]


def to_json(value: Any) -> Any:
    """Arguments as stored on an intent: bytes as 0x-hex, the rest as JSON has it."""
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, (list, tuple)):
        return [to_json(item) for item in value]
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def from_json(value: Any, abi_type: str) -> Any:
    if abi_type.endswith("]"):
        inner = abi_type[: abi_type.rindex("[")]
        return [from_json(item, inner) for item in value]
    if abi_type.startswith("bytes") and isinstance(value, str):
        return bytes.fromhex(value.removeprefix("0x"))
    if abi_type == "address":
        return to_checksum_address(value)
    return value


def arguments(inputs: list[dict[str, Any]], values: list[Any], where: str) -> list[Any]:
    """An intent's stored arguments as the ABI `inputs` take them; IntentError if they do not fit."""
    if len(inputs) != len(values):
        raise IntentError(f"{where} takes {len(inputs)} argument(s), the intent has {len(values)}")
    try:
        return [from_json(value, item["type"]) for item, value in zip(inputs, values, strict=True)]
    except (ValueError, TypeError, AttributeError) as error:
        raise IntentError(f"{where}: bad argument: {error}") from None


_STANDARD_ERRORS = {
    keccak(text="Error(string)")[:4]: ("Error", ["string"]),
    keccak(text="Panic(uint256)")[:4]: ("Panic", ["uint256"]),
}
_error_table: dict[bytes, tuple[str, list[str]]] | None = None


def _errors() -> dict[bytes, tuple[str, list[str]]]:
    global _error_table
    if _error_table is None:
        table = dict(_STANDARD_ERRORS)
        for name in PRODUCTION_CONTRACTS:
            for item in load_artifact(name).abi:
                if item.get("type") == "error":
                    types = [_canonical_type(argument) for argument in item["inputs"]]
                    table[keccak(text=f"{item['name']}({','.join(types)})")[:4]] = (item["name"], types)
        _error_table = table
    return _error_table


def _canonical_type(argument: dict[str, Any]) -> str:
    if argument["type"].startswith("tuple"):
        inner = ",".join(_canonical_type(c) for c in argument["components"])
        return f"({inner}){argument['type'][5:]}"
    return argument["type"]


def describe_revert(data: bytes) -> str:
    """A custom error, Error(string) or Panic(uint256) as `Name(arg, ...)`."""
    if not data:
        return "reverted without a reason"
    known = _errors().get(data[:4])
    if known is None:
        return f"reverted with unknown error data 0x{data.hex()}"
    name, types = known
    try:
        values = abi_decode(types, data[4:])
    except Exception:  # noqa: BLE001 - undecodable arguments still name the error
        return f"{name}(<undecodable arguments>)"
    if name == "Error":
        return str(values[0])
    shown = ["0x" + v.hex() if isinstance(v, bytes) else str(v) for v in values]
    return f"{name}({', '.join(shown)})"
