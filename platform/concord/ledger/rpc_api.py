"""`POST /api/v1/ledger/rpc`: a read-only JSON-RPC endpoint of the embedded chain.

An auditor checks a proof bundle with `concord-verify --rpc <url>`; with the embedded
chain (eth-tester inside this process) there is no node to point it at, so the platform
answers the reads a verifier (or any Ethereum tool) needs: eth_chainId, net_version,
eth_blockNumber, eth_call (at "latest" or a block number), eth_getCode,
eth_getTransactionReceipt, eth_getBlockByNumber. Nothing that writes or signs is served:
every other method is "method not found" (-32601). Batches are answered element by
element; malformed JSON is a JSON-RPC parse error (-32700), never a 5xx.

It takes the bearer token of any user of an active organization (members and auditors
alike, `concord-verify --rpc-token` or CONCORD_RPC_TOKEN): it tells what every member's
node would tell, but a permissioned chain does not show the public its members' balances
and escrows. Each read takes the chain's lock, so it sees the state after one block, never
a block being mined by the outbox worker.

With a real node (`CONCORD_CHAIN_URL=http...`) the endpoint answers 404 with a hint: the
auditor points the verifier at a node it trusts, ideally its own, not at us.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from typing import Any

from concord_verify import rpc as verifier_rpc
from eth_tester.exceptions import BlockNotFound as TesterBlockNotFound
from eth_tester.exceptions import TransactionNotFound as TesterTransactionNotFound
from eth_typing import ChecksumAddress
from eth_utils import is_address, to_checksum_address
from flask import Blueprint, Response, current_app, request
from web3.exceptions import BlockNotFound, TransactionNotFound
from web3.types import BlockIdentifier

from concord.errors import problem
from concord.ledger import runtime
from concord.ledger.chain import EMBEDDED, CallReverted, Chain, ChainUnavailable, EmbeddedChainBusy

log = logging.getLogger(__name__)

chain_rpc = Blueprint("chain_rpc", __name__)
BLUEPRINTS = [chain_rpc]
PATH = "/api/v1/ledger/rpc"
MAX_BATCH = 100
#: Gas an eth_call may burn: every read holds the chain's lock, which the outbox worker waits for.
CALL_GAS_CAP = 10_000_000

PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS, INTERNAL_ERROR = -32700, -32600, -32601, -32602, -32603
SERVER_ERROR, EXECUTION_REVERTED = -32000, 3

_QUANTITY = re.compile(r"0x(0|[1-9a-fA-F][0-9a-fA-F]*)")
_DATA = re.compile(r"0x([0-9a-fA-F]{2})*")
_HASH = re.compile(r"0x[0-9a-fA-F]{64}")
_TAGS = ("latest", "earliest", "pending", "safe", "finalized")  # one chain, no reorgs: all but earliest are the head


class RpcFailure(Exception):
    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data


def to_json_rpc(value: Any) -> Any:
    """web3's answer in JSON-RPC's spelling: quantities as hex, bytes as 0x-hex."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return hex(value)
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, dict) or hasattr(value, "items"):
        return {_camel(key): to_json_rpc(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_json_rpc(item) for item in value]
    return str(value)


def _camel(key: str) -> str:
    """eth-tester spells the fields of a block's full transactions in snake_case."""
    head, *rest = key.split("_")
    return head + "".join(word.capitalize() for word in rest)


def _params(params: list[Any], low: int, high: int) -> list[Any]:
    if not low <= len(params) <= high:
        raise RpcFailure(
            INVALID_PARAMS, f"expected {low} to {high} parameters, got {len(params)}" if low != high else f"expected {low} parameters, got {len(params)}"
        )
    return params + [None] * (high - len(params))


def _block(value: Any) -> BlockIdentifier:
    if value is None:
        return "latest"
    if isinstance(value, str) and value in _TAGS:
        return "earliest" if value == "earliest" else "latest"
    if isinstance(value, str) and _QUANTITY.fullmatch(value):
        return int(value, 16)
    raise RpcFailure(INVALID_PARAMS, f"a block is a hex number or latest / earliest / pending, not {value!r}")


def _address(value: Any) -> ChecksumAddress:
    if not isinstance(value, str) or not is_address(value):
        raise RpcFailure(INVALID_PARAMS, f"not an address: {str(value)[:80]!r}")
    return to_checksum_address(value)


def _data(value: Any, what: str) -> str:
    if not isinstance(value, str) or not _DATA.fullmatch(value):
        raise RpcFailure(INVALID_PARAMS, f"{what} is not 0x-prefixed hex bytes")
    return value


def _hash(value: Any) -> str:
    if not isinstance(value, str) or not _HASH.fullmatch(value):
        raise RpcFailure(INVALID_PARAMS, "a transaction hash is 0x and 64 hex digits")
    return value.lower()


def _reading(reading: Callable[[], Any], *, missing: Any = RpcFailure) -> Any:
    """A read of the chain, its errors as JSON-RPC errors (`missing`: the answer when the
    block or transaction does not exist; by default an error)."""
    try:
        return reading()
    except (BlockNotFound, TransactionNotFound, TesterBlockNotFound, TesterTransactionNotFound) as error:
        if missing is RpcFailure:
            raise RpcFailure(SERVER_ERROR, f"not found: {error}") from None
        return missing
    except CallReverted as error:
        raise RpcFailure(EXECUTION_REVERTED, "execution reverted", "0x" + error.data.hex()) from None
    except ChainUnavailable as error:
        raise RpcFailure(SERVER_ERROR, f"the chain is unavailable: {error}") from None


def eth_call(chain: Chain, params: list[Any]) -> Any:
    transaction, block = _params(params, 1, 2)
    if not isinstance(transaction, dict):
        raise RpcFailure(INVALID_PARAMS, "the call is an object {to, data}")
    unknown = set(transaction) - {"to", "from", "data", "input", "gas", "gasPrice", "value"}
    if unknown:
        raise RpcFailure(INVALID_PARAMS, f"unknown call fields: {', '.join(sorted(unknown))}")
    call: dict[str, Any] = {"to": _address(transaction.get("to"))}
    if transaction.get("from") is not None:
        call["from"] = _address(transaction["from"])
    data = transaction.get("data", transaction.get("input"))
    if data is not None:
        call["data"] = _data(data, "data")
    for key in ("gas", "value"):
        if transaction.get(key) is not None:
            if not isinstance(transaction[key], str) or not _QUANTITY.fullmatch(transaction[key]):
                raise RpcFailure(INVALID_PARAMS, f"{key} is not a hex quantity")
            call[key] = int(transaction[key], 16)
    if call.setdefault("gas", CALL_GAS_CAP) > CALL_GAS_CAP:
        raise RpcFailure(INVALID_PARAMS, f"a call may use at most {CALL_GAS_CAP} gas here")
    at = _block(block)
    return to_json_rpc(_reading(lambda: chain.call(call, at)))


def eth_get_block_by_number(chain: Chain, params: list[Any]) -> Any:
    block, full = _params(params, 1, 2)
    at = _block(block)
    if full is not None and not isinstance(full, bool):
        raise RpcFailure(INVALID_PARAMS, "the second parameter (full transactions) is a boolean")
    block_data = to_json_rpc(_reading(lambda: chain.read(lambda w3: w3.eth.get_block(at, bool(full))), missing=None))
    for transaction in (block_data or {}).get("transactions", []):
        if isinstance(transaction, dict) and "input" not in transaction:
            transaction["input"] = transaction.pop("data", "0x")  # JSON-RPC's name for the call data
    return block_data


def eth_get_code(chain: Chain, params: list[Any]) -> Any:
    address, block = _params(params, 1, 2)
    account, at = _address(address), _block(block)
    return to_json_rpc(_reading(lambda: chain.read(lambda w3: bytes(w3.eth.get_code(account, at)))))


def eth_get_transaction_receipt(chain: Chain, params: list[Any]) -> Any:
    (tx_hash,) = _params(params, 1, 1)
    checked = _hash(tx_hash)
    return to_json_rpc(_reading(lambda: chain.receipt(checked), missing=None))


def eth_chain_id(chain: Chain, params: list[Any]) -> Any:
    _params(params, 0, 0)
    return hex(_reading(lambda: chain.chain_id))


def net_version(chain: Chain, params: list[Any]) -> Any:
    _params(params, 0, 0)
    return str(_reading(lambda: chain.chain_id))


def eth_block_number(chain: Chain, params: list[Any]) -> Any:
    _params(params, 0, 0)
    return hex(_reading(chain.block_number))


METHODS: dict[str, Callable[[Chain, list[Any]], Any]] = {
    "eth_chainId": eth_chain_id,
    "net_version": net_version,
    "eth_blockNumber": eth_block_number,
    "eth_call": eth_call,
    "eth_getBlockByNumber": eth_get_block_by_number,
    "eth_getCode": eth_get_code,
    "eth_getTransactionReceipt": eth_get_transaction_receipt,
}


def _error(request_id: Any, code: int, message: str, data: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return {"jsonrpc": "2.0", "id": request_id, "error": error}


def answer(chain_of: Callable[[], Chain], message: Any) -> dict[str, Any] | None:
    """The answer to one request object (None for a notification, which has no id)."""
    if not isinstance(message, dict):
        return _error(None, INVALID_REQUEST, "a request is a JSON object")
    request_id = message.get("id")
    if request_id is not None and (isinstance(request_id, bool) or not isinstance(request_id, str | int)):
        return _error(None, INVALID_REQUEST, "id is a string, a number or null")
    method, params = message.get("method"), message.get("params", [])
    if message.get("jsonrpc") != "2.0" or not isinstance(method, str):
        return _error(request_id, INVALID_REQUEST, 'a request has "jsonrpc": "2.0" and a method name')
    if not isinstance(params, list):
        return _error(request_id, INVALID_PARAMS, "params is a list (by-position parameters)")
    handler = METHODS.get(method)
    try:
        if handler is None:
            raise RpcFailure(METHOD_NOT_FOUND, f"the method {method[:80]} is not available: this endpoint only reads the chain ({', '.join(METHODS)})")
        result = handler(chain_of(), params)
    except RpcFailure as failure:
        response = _error(request_id, failure.code, failure.message, failure.data)
    except Exception:  # a bug here answers one JSON-RPC error, not a 500
        log.exception("JSON-RPC %s failed", method)
        response = _error(request_id, INTERNAL_ERROR, "internal error")
    else:
        response = {"jsonrpc": "2.0", "id": request_id, "result": result}
    return response if "id" in message else None


def _embedded_chain() -> Chain:
    try:
        return runtime.chain(current_app)
    except (EmbeddedChainBusy, ChainUnavailable) as error:
        raise RpcFailure(SERVER_ERROR, f"the chain is unavailable: {error}") from None


def _json(body: Any) -> Response:
    return current_app.response_class(json.dumps(body), status=200, mimetype="application/json")


@chain_rpc.route(PATH, methods=["POST"])
def rpc() -> Response:
    if current_app.config["CHAIN_URL"] != EMBEDDED:
        return problem(
            404,
            "Not Found",
            "This platform runs on an Ethereum node, not on its embedded chain: point concord-verify (--rpc) at a node of "
            "that chain you trust, ideally your own, not at the platform.",
        )
    try:
        message = json.loads(request.get_data(cache=False))
    except (ValueError, RecursionError):
        return _json(_error(None, PARSE_ERROR, "parse error: the body is not JSON"))
    if isinstance(message, list):
        if not message:
            return _json(_error(None, INVALID_REQUEST, "an empty batch"))
        if len(message) > MAX_BATCH:
            return _json(_error(None, INVALID_REQUEST, f"a batch holds at most {MAX_BATCH} requests"))
        answers = [a for a in (answer(_embedded_chain, item) for item in message) if a is not None]
        return _json(answers) if answers else Response(status=204)
    single = answer(_embedded_chain, message)
    return _json(single) if single is not None else Response(status=204)


class InProcessClient(verifier_rpc.Client):
    """`concord_verify`'s JSON-RPC client answered by the platform's own chain, in process:
    the portal's "Verify" runs the standalone verifier's checks, through the same methods
    this endpoint serves (a node's chain is read the same way, through the chain gateway)."""

    def __init__(self, chain: Chain) -> None:  # no URL: nothing goes over HTTP
        self.url, self._chain = "the platform's chain", chain

    def request(self, method: str, params: list[Any]) -> Any:
        reply = answer(lambda: self._chain, {"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
        assert reply is not None  # a request with an id always has an answer
        if "error" in reply:
            failure = reply["error"]
            raise verifier_rpc.RpcError(failure.get("code"), str(failure.get("message", "error")), failure.get("data"))
        return reply["result"]
