"""concord_verify.rpc.Client against a node that misbehaves: what cannot be used is
`RpcUnavailable` (the CLI's exit 2), a JSON-RPC error is `RpcError` (a failed check)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from concord_verify import cli
from concord_verify.bundle import parse
from concord_verify.rpc import Client, RpcError, RpcUnavailable

from tests.verifier.test_bundle import offline_bundle


@pytest.fixture
def node():
    """A node on a free port that answers each POST with the next (status, body) queued."""
    answers: list[tuple[int, bytes]] = []
    seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            seen.append({"body": json.loads(self.rfile.read(int(self.headers["Content-Length"]))), "auth": self.headers.get("Authorization")})
            status, body = answers.pop(0)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", answers, seen
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (200, b"<html>", "did not answer JSON"),
        (200, b'{"jsonrpc": "2.0", "id": 1}', "did not answer JSON-RPC"),
        (200, b'{"jsonrpc": "2.0", "id": 1, "result": 1337}', "not a hex quantity"),
        (502, b"{}", "answered HTTP 502"),
        (401, b"{}", "send a token"),
    ],
)
def test_an_unusable_node_is_unavailable(node, status, body, message):
    url, answers, _seen = node
    answers.append((status, body))
    with pytest.raises(RpcUnavailable, match=message):
        Client(url).chain_id()


def test_a_json_rpc_error_is_an_error_and_the_token_is_sent(node):
    url, answers, seen = node
    answers.append((200, b'{"jsonrpc": "2.0", "id": 1, "error": {"code": 3, "message": "execution reverted", "data": "0x"}}'))
    with pytest.raises(RpcError, match="execution reverted") as raised:
        Client(url, token="t0k3n").call("0x" + "11" * 20, b"\x01\x02", 7)
    assert raised.value.code == 3
    assert seen[0]["auth"] == "Bearer t0k3n"
    assert seen[0]["body"]["method"] == "eth_call" and seen[0]["body"]["params"][1] == "0x7"


def test_an_empty_answer_to_a_contract_call_fails_the_check_not_the_run(node):
    """An address without the function answers 0x: the check says so, the run goes on."""
    url, answers, _seen = node
    bundle = parse(offline_bundle())
    answers.append((200, b'{"jsonrpc": "2.0", "id": 1, "result": "0x"}'))
    with pytest.raises(RpcError, match="is this the right contract"):
        Client(url).organization_of(bundle.chain.consortium, bundle.attestation.signer, 42)


def test_a_node_that_goes_away_mid_run_makes_the_input_unusable(node, tmp_path, capsys):
    url, answers, _seen = node
    answers.append((200, b'{"jsonrpc": "2.0", "id": 1, "result": "0x539"}'))  # chain 1337, then nothing
    answers.append((503, b"{}"))
    path = tmp_path / "b.json"
    path.write_text(json.dumps(offline_bundle()))
    assert cli.main([str(path), "--rpc", url]) == cli.UNUSABLE
    assert "answered HTTP 503 to eth_call" in capsys.readouterr().err
