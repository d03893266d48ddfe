"""POST /api/v1/ledger/rpc: the embedded chain's reads for verifiers, nothing that writes or
signs, JSON-RPC errors (never a 5xx) for everything else."""

from __future__ import annotations

import hashlib
import json
import threading
import uuid

import pytest
from concord.db import database
from concord.ledger import outbox, rpc_api, runtime
from concord.ledger import service as ledger_service
from concord_verify.rpc import IS_ACTIVE_MEMBER, SELECTORS, Client, RpcError
from eth_abi import encode

PATH = "/api/v1/ledger/rpc"


@pytest.fixture
def client(client, proofs):
    """The test client with the auditor's token on every request."""
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {proofs.token}"
    return client


def call(client, method: str, params=None, request_id=1):
    response = client.post(PATH, json={"jsonrpc": "2.0", "id": request_id, "method": method, "params": params or []})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_it_takes_a_token_of_any_organization(app, client, proofs):
    anonymous = app.test_client()
    response = anonymous.post(PATH, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []})
    assert response.status_code == 401 and response.mimetype == "application/problem+json"
    assert "result" in call(client, "eth_chainId")


def test_the_reads_a_verifier_needs_are_answered(app, client, proofs):
    chain = runtime.chain(app)
    assert call(client, "eth_chainId") == {"jsonrpc": "2.0", "id": 1, "result": hex(chain.chain_id)}
    assert call(client, "net_version")["result"] == str(chain.chain_id)
    head = int(call(client, "eth_blockNumber")["result"], 16)
    assert head == chain.block_number()
    bundle = proofs.bundles["C"][0]
    receipt = call(client, "eth_getTransactionReceipt", [bundle["batch"]["anchorTransaction"]])["result"]
    assert receipt["status"] == "0x1" and int(receipt["blockNumber"], 16) == bundle["batch"]["anchorBlock"]
    assert receipt["to"].lower() == proofs.contracts["ProvenanceAnchor"].lower()
    block = call(client, "eth_getBlockByNumber", [hex(bundle["batch"]["anchorBlock"]), False])["result"]
    assert block["number"] == hex(bundle["batch"]["anchorBlock"]) and bundle["batch"]["anchorTransaction"] in block["transactions"]
    full = call(client, "eth_getBlockByNumber", [hex(bundle["batch"]["anchorBlock"]), True])["result"]
    assert [t["hash"] for t in full["transactions"]] == [bundle["batch"]["anchorTransaction"]] and full["transactions"][0]["input"].startswith("0x")
    assert {"blockHash", "transactionIndex", "gasPrice"} <= set(full["transactions"][0])
    assert call(client, "eth_getBlockByNumber", [hex(head + 1000), False])["result"] is None
    assert len(call(client, "eth_getCode", [proofs.contracts["Consortium"], "latest"])["result"]) > 100
    assert call(client, "eth_getTransactionReceipt", ["0x" + "ab" * 32])["result"] is None


def test_eth_call_reads_state_at_a_block(client, proofs):
    """The carrier was active when its batch was anchored, and is suspended now."""
    carrier = proofs.members["carrier"]["address"]
    data = "0x" + (SELECTORS[IS_ACTIVE_MEMBER] + encode(["address"], [carrier])).hex()
    then = proofs.bundles["C"][0]["batch"]["anchorBlock"]
    at = {tag: call(client, "eth_call", [{"to": proofs.contracts["Consortium"], "data": data}, tag])["result"] for tag in (hex(then), "latest")}
    assert int(at[hex(then)], 16) == 1 and int(at["latest"], 16) == 0


def test_a_reverted_call_is_a_json_rpc_error(client, proofs):
    """verifyInclusion of a batch never anchored reverts (ProvenanceAnchorBatchNotAnchored)."""
    data = (
        "0x" + (SELECTORS["verifyInclusion(bytes32,bytes32,bytes32[])"] + encode(["bytes32", "bytes32", "bytes32[]"], [b"\x07" * 32, b"\x01" * 32, []])).hex()
    )
    error = call(client, "eth_call", [{"to": proofs.contracts["ProvenanceAnchor"], "data": data}, "latest"])["error"]
    assert error["code"] == 3 and error["message"] == "execution reverted" and error["data"].startswith("0x")


@pytest.mark.parametrize(
    "method",
    [
        "eth_sendRawTransaction",
        "eth_sendTransaction",
        "eth_sign",
        "eth_signTypedData_v4",
        "personal_sign",
        "personal_unlockAccount",
        "evm_mine",
        "hardhat_setBalance",
        "eth_accounts",
        "debug_traceTransaction",
    ],
)
def test_nothing_that_writes_or_signs_is_served(client, proofs, method):
    answer = call(client, method, ["0x00"])
    assert answer["error"]["code"] == -32601 and "only reads" in answer["error"]["message"]


def test_bad_requests_are_json_rpc_errors(app, client, proofs):
    for body, code in [
        (b"{not json", -32700),
        (b'"a string"', -32600),
        (b"[]", -32600),
        (b'{"id": 1, "method": "eth_chainId"}', -32600),
        (b'{"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": {"a": 1}}', -32602),
        (b'{"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": [1]}', -32602),
        (b'{"jsonrpc": "2.0", "id": 1, "method": "eth_call", "params": [{"to": "0x12"}, "latest"]}', -32602),
        (b'{"jsonrpc": "2.0", "id": 1, "method": "eth_call", "params": [{"to": "0x' + b"11" * 20 + b'", "data": "0xzz"}]}', -32602),
        (b'{"jsonrpc": "2.0", "id": 1, "method": "eth_call", "params": [{"to": "0x' + b"11" * 20 + b'", "gas": "0x989681"}]}', -32602),
        (b'{"jsonrpc": "2.0", "id": 1, "method": "eth_getBlockByNumber", "params": ["yesterday", false]}', -32602),
        (b'{"jsonrpc": "2.0", "id": 1, "method": "eth_getTransactionReceipt", "params": ["0x1234"]}', -32602),
        (b'{"jsonrpc": "2.0", "id": 1, "method": "eth_call", "params": [{"to": "0x' + b"11" * 20 + b'"}, "0x99999999"]}', -32000),
    ]:
        response = client.post(PATH, data=body, content_type="application/json")
        assert response.status_code == 200, (body, response.status_code)
        assert response.get_json()["error"]["code"] == code, (body, response.get_json())
    assert client.get(PATH).status_code == 405


def test_a_batch_is_answered_element_by_element(client, proofs):
    batch = [
        {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
        {"jsonrpc": "2.0", "id": "two", "method": "eth_sendRawTransaction", "params": ["0x00"]},
        {"jsonrpc": "2.0", "method": "eth_blockNumber", "params": []},  # a notification: no answer
        7,
    ]
    answers = client.post(PATH, data=json.dumps(batch), content_type="application/json").get_json()
    assert [a.get("id") for a in answers] == [1, "two", None]
    assert "result" in answers[0] and answers[1]["error"]["code"] == -32601 and answers[2]["error"]["code"] == -32600
    too_many = [{"jsonrpc": "2.0", "id": i, "method": "eth_chainId"} for i in range(101)]
    assert client.post(PATH, data=json.dumps(too_many), content_type="application/json").get_json()["error"]["code"] == -32600


def test_with_a_real_node_the_endpoint_points_auditors_at_their_own(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "CHAIN_URL", "http://127.0.0.1:8545")
    response = client.post(PATH, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []})
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json" and "your own" in response.get_json()["detail"]


class InProcess(Client):
    """The endpoint's dispatch (`rpc_api.answer`) called from any thread, without HTTP: a
    request's token check would share the test's database connection across threads."""

    def __init__(self, app) -> None:
        super().__init__("http://in-process")
        self.app = app

    def request(self, method: str, params: list):
        answer = rpc_api.answer(lambda: runtime.chain(self.app), {"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
        assert answer is not None
        if "error" in answer:
            raise RpcError(answer["error"]["code"], answer["error"]["message"])
        return answer["result"]


def test_reads_beside_the_outbox_worker_see_whole_blocks(app, proofs):
    """While this thread anchors batches through the outbox (mining on the embedded chain),
    two threads read through the endpoint's dispatch: every answer is well-formed, heads
    never go back, and state read at a fixed block never changes."""
    supplier = uuid.UUID(proofs.members["supplier"]["id"])
    bundle = proofs.bundles["A"][0]
    batch_id, block = bytes.fromhex(bundle["batch"]["batchId"][2:]), bundle["batch"]["anchorBlock"]
    stop, problems, heads = threading.Event(), [], []

    def read() -> None:
        client = InProcess(app)
        last = 0
        while not stop.is_set():
            try:
                head = int(client.request("eth_blockNumber", []), 16)
                anchored = client.anchor_of(proofs.contracts["ProvenanceAnchor"], batch_id)
                active_then = client.is_active_member(proofs.contracts["Consortium"], proofs.members["carrier"]["address"], block)
            except Exception as error:  # noqa: BLE001 (collected, the test fails on any)
                problems.append(repr(error))
                return
            if head < last or anchored.merkle_root.hex() != bundle["batch"]["root"][2:] or not active_then:
                problems.append((head, last, anchored, active_then))
            last = head
            heads.append(head)

    readers = [threading.Thread(target=read) for _ in range(2)]
    for reader in readers:
        reader.start()
    worker = outbox.Worker(app, runtime.chain(app), receipt_timeout=0)
    start = runtime.chain(app).block_number()
    try:
        for index in range(6):
            with database(app).sessionmaker() as session, session.begin():
                ledger_service.anchor_proof(session, supplier, uuid.uuid4(), hashlib.sha256(b"%d" % index).hexdigest(), "Anchor", ("batch", uuid.uuid4()))
            worker.drain()
    finally:
        stop.set()
        for reader in readers:
            reader.join(timeout=60)
    assert not problems, problems
    assert runtime.chain(app).block_number() == start + 6
    assert heads and min(heads) >= start
