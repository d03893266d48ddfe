"""A small JSON-RPC client (urllib) and the few contract calls a verifier makes.

Only reads: `eth_chainId`, `eth_call` at a block, `eth_getTransactionReceipt`. The ABI of
the four view functions is written out here (a verifier has no build artifacts);
tests/verifier checks these signatures against contracts/build so they cannot drift.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from eth_abi import decode, encode
from eth_abi.exceptions import DecodingError
from eth_utils import function_signature_to_4byte_selector, to_checksum_address

ORGANIZATION_OF = "organizationOf(address)"
IS_ACTIVE_MEMBER = "isActiveMember(address)"
ANCHOR_OF = "anchorOf(bytes32)"
VERIFY_INCLUSION = "verifyInclusion(bytes32,bytes32,bytes32[])"
ANCHOR_TYPES = "(bytes32,address,uint32,uint64,bytes32,uint256)"
"""`IProvenanceAnchor.Anchor`: merkleRoot, anchoredBy, batchSize, anchoredAt, organizationId, blockNumber."""

SIGNATURES = (ORGANIZATION_OF, IS_ACTIVE_MEMBER, ANCHOR_OF, VERIFY_INCLUSION)
SELECTORS = {signature: function_signature_to_4byte_selector(signature) for signature in SIGNATURES}

Block = int | str
"""A block number, or "latest"."""


class RpcUnavailable(Exception):
    """The node cannot be reached or does not answer JSON-RPC (the input is unusable)."""


class RpcError(Exception):
    """The node answered with a JSON-RPC error (e.g. a reverted call, an unknown block)."""

    def __init__(self, code: Any, message: str, data: Any = None) -> None:
        super().__init__(f"{message} (JSON-RPC error {code})")
        self.code = code
        self.data = data


@dataclass(frozen=True)
class Anchor:
    merkle_root: bytes
    anchored_by: str
    batch_size: int
    anchored_at: int
    organization_id: bytes
    block_number: int


class Client:
    """JSON-RPC over HTTP(S) to one node."""

    def __init__(self, url: str, *, timeout: float = 30, token: str | None = None) -> None:
        if not url.startswith(("http://", "https://")):
            raise RpcUnavailable(f"{url!r} is not an http(s) URL")
        self.url = url
        self.timeout = timeout
        self._headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self._next_id = 0

    def request(self, method: str, params: list[Any]) -> Any:
        self._next_id += 1
        body = json.dumps({"jsonrpc": "2.0", "id": self._next_id, "method": method, "params": params}).encode()
        http = urllib.request.Request(self.url, data=body, headers=self._headers, method="POST")
        try:
            with urllib.request.urlopen(http, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as error:
            hint = " (send a token: --rpc-token or CONCORD_RPC_TOKEN)" if error.code in (401, 403) else ""
            raise RpcUnavailable(f"{self.url} answered HTTP {error.code} to {method}{hint}") from None
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise RpcUnavailable(f"{self.url} cannot be reached: {getattr(error, 'reason', error)}") from None
        try:
            answer = json.loads(raw)
        except ValueError:
            raise RpcUnavailable(f"{self.url} did not answer JSON to {method}") from None
        if not isinstance(answer, dict) or ("result" not in answer and "error" not in answer):
            raise RpcUnavailable(f"{self.url} did not answer JSON-RPC to {method}")
        if "error" in answer:
            failure = answer["error"] if isinstance(answer["error"], dict) else {}
            raise RpcError(failure.get("code"), str(failure.get("message", "error")), failure.get("data"))
        return answer["result"]

    # -- the node -----------------------------------------------------------------------------

    def chain_id(self) -> int:
        return _quantity(self.request("eth_chainId", []), "eth_chainId")

    def call(self, to: str, data: bytes, block: Block = "latest") -> bytes:
        tag = hex(block) if isinstance(block, int) else block
        result = self.request("eth_call", [{"to": to_checksum_address(to), "data": "0x" + data.hex()}, tag])
        return _data(result, "eth_call")

    def receipt(self, tx_hash: str) -> dict[str, Any] | None:
        result = self.request("eth_getTransactionReceipt", [tx_hash])
        if result is not None and not isinstance(result, dict):
            raise RpcUnavailable(f"{self.url} answered eth_getTransactionReceipt with {type(result).__name__}")
        return result

    # -- the contracts ------------------------------------------------------------------------

    def organization_of(self, consortium: str, account: str, block: Block) -> bytes:
        (value,) = _decode(["bytes32"], self.call(consortium, SELECTORS[ORGANIZATION_OF] + encode(["address"], [account]), block), ORGANIZATION_OF)
        return bytes(value)

    def is_active_member(self, consortium: str, account: str, block: Block) -> bool:
        (value,) = _decode(["bool"], self.call(consortium, SELECTORS[IS_ACTIVE_MEMBER] + encode(["address"], [account]), block), IS_ACTIVE_MEMBER)
        return bool(value)

    def anchor_of(self, anchor: str, batch_id: bytes, block: Block = "latest") -> Anchor:
        (value,) = _decode([ANCHOR_TYPES], self.call(anchor, SELECTORS[ANCHOR_OF] + encode(["bytes32"], [batch_id]), block), ANCHOR_OF)
        root, by, size, at, organization, number = value
        return Anchor(bytes(root), to_checksum_address(by), int(size), int(at), bytes(organization), int(number))

    def verify_inclusion(self, anchor: str, batch_id: bytes, leaf: bytes, proof: list[bytes], block: Block = "latest") -> bool:
        data = SELECTORS[VERIFY_INCLUSION] + encode(["bytes32", "bytes32", "bytes32[]"], [batch_id, leaf, proof])
        (value,) = _decode(["bool"], self.call(anchor, data, block), VERIFY_INCLUSION)
        return bool(value)


def _quantity(value: Any, method: str) -> int:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise RpcUnavailable(f"{method} answered {value!r}, not a hex quantity")
    try:
        return int(value, 16)
    except ValueError:
        raise RpcUnavailable(f"{method} answered {value!r}, not a hex quantity") from None


def _data(value: Any, method: str) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise RpcUnavailable(f"{method} answered {value!r}, not hex data")
    try:
        return bytes.fromhex(value[2:])
    except ValueError:
        raise RpcUnavailable(f"{method} answered {value!r}, not hex data") from None


def _decode(types: list[str], data: bytes, function: str) -> tuple[Any, ...]:
    """An empty answer is what a call to an address without this function returns."""
    try:
        return decode(types, data)
    except (DecodingError, ValueError):
        raise RpcError("decode", f"{function} answered {len(data)} bytes that are not its return value: is this the right contract?") from None
