"""`concord-verify` end to end: against the platform's JSON-RPC endpoint over HTTP, in this
process and as a command of its own; its exit statuses; and what it does not import."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import concord_verify
import pytest
from concord_verify import cli, rpc
from eth_utils import keccak

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("concord", "web3", "flask", "sqlalchemy", "eth_account")


def _env(token: str = "") -> dict[str, str]:
    """This checkout's concord_verify first on the path (the console script imports it)."""
    source = str(Path(concord_verify.__file__).resolve().parents[1])
    return {**os.environ, "PYTHONPATH": os.pathsep.join([source, os.environ.get("PYTHONPATH", "")]), "CONCORD_RPC_TOKEN": token}


def _write(tmp_path, name: str, bundle) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(bundle), encoding="utf-8")
    return str(path)


def test_a_bundle_verifies_in_process(proofs, rpc_url, tmp_path, capsys):
    assert cli.main([_write(tmp_path, "a.json", proofs.bundles["A"][0]), "--rpc", rpc_url, "--rpc-token", proofs.token]) == cli.OK
    out = capsys.readouterr().out
    for name in ("format", "chain-id", "event-hash", "domain", "signature", "member", "merkle-proof", "anchored", "anchor-transaction"):
        assert f"✓ {name} " in out
    assert "✗" not in out
    assert "VERIFIED. The AggregationEvent ni:///sha-256;" in out


def test_a_failed_check_exits_1_with_its_reason_and_json_on_request(proofs, rpc_url, tmp_path, capsys):
    bundle = json.loads(json.dumps(proofs.bundles["D"][0]))  # signed by the carrier, anchored after its suspension
    path = _write(tmp_path, "d.json", bundle)
    assert cli.main([path, "--rpc", rpc_url, "--rpc-token", proofs.token]) == cli.FAILED
    out = capsys.readouterr().out
    assert "✗ member " in out and "was not an active member at block" in out and "NOT VERIFIED." in out
    assert cli.main([path, "--rpc", rpc_url, "--rpc-token", proofs.token, "--json"]) == cli.FAILED
    report = json.loads(capsys.readouterr().out)
    assert report["verified"] is False
    assert {"check": "member", "ok": False} == {k: v for k, v in report["checks"][5].items() if k != "reason"}


def test_a_document_bundle_verifies(proofs, rpc_url, tmp_path, capsys):
    assert cli.main([_write(tmp_path, "doc.json", proofs.document), "--rpc", rpc_url, "--rpc-token", proofs.token]) == cli.OK
    out = capsys.readouterr().out
    assert "✓ document-hash " in out and "VERIFIED. The document iso-9001-certificate.pdf" in out


def test_unusable_input_exits_2(proofs, tmp_path, capsys):
    good = _write(tmp_path, "a.json", proofs.bundles["A"][0])
    assert cli.main([str(tmp_path / "missing.json"), "--rpc", "http://127.0.0.1:9"]) == cli.UNUSABLE
    (tmp_path / "broken.json").write_text("{not json", encoding="utf-8")
    assert cli.main([str(tmp_path / "broken.json"), "--rpc", "http://127.0.0.1:9"]) == cli.UNUSABLE
    assert cli.main([good, "--rpc", "http://127.0.0.1:9", "--timeout", "5"]) == cli.UNUSABLE  # nothing listens on port 9
    assert cli.main([good, "--rpc", "ftp://example.org"]) == cli.UNUSABLE
    err = capsys.readouterr().err
    assert "cannot read" in err and "is not JSON" in err and "cannot be reached" in err


def test_without_a_token_the_platforms_endpoint_is_unusable(proofs, rpc_url, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("CONCORD_RPC_TOKEN", raising=False)
    assert cli.main([_write(tmp_path, "a.json", proofs.bundles["A"][0]), "--rpc", rpc_url]) == cli.UNUSABLE
    assert "answered HTTP 401 to eth_chainId (send a token: --rpc-token or CONCORD_RPC_TOKEN)" in capsys.readouterr().err
    assert cli.main([_write(tmp_path, "a.json", proofs.bundles["A"][0]), "--rpc", rpc_url, "--rpc-token", "not-a-token"]) == cli.UNUSABLE


def test_a_malformed_bundle_fails_the_format_check(rpc_url, tmp_path, capsys):
    assert cli.main([_write(tmp_path, "x.json", {"format": "concord-proof-bundle/1", "kind": "event"}), "--rpc", rpc_url]) == cli.FAILED
    out = capsys.readouterr().out
    assert "✗ format " in out and "chain: missing or not an object" in out and "attestation: missing" in out


@pytest.mark.parametrize("how", ["module", "console script"])
def test_the_command_runs_on_its_own(proofs, rpc_url, tmp_path, how):
    command = [sys.executable, "-m", "concord_verify"] if how == "module" else [shutil.which("concord-verify", path=str(Path(sys.executable).parent))]
    assert command[0], "the concord-verify console script is not installed (make installs ./verifier)"
    good = _write(tmp_path, "a.json", proofs.bundles["B"][1])
    run = subprocess.run([*command, good, "--rpc", rpc_url], capture_output=True, text=True, env=_env(proofs.token), timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "VERIFIED." in run.stdout
    bad = _write(tmp_path, "doc.json", {**proofs.document, "batch": {**proofs.document["batch"], "anchorBlock": 1}})
    run = subprocess.run([*command, bad, "--rpc", rpc_url, "--rpc-token", proofs.token], capture_output=True, text=True, env=_env(), timeout=120)
    assert run.returncode == 1 and "✗ anchored " in run.stdout
    helped = subprocess.run([*command, "--help"], capture_output=True, text=True, env=_env(), timeout=60)
    assert helped.returncode == 0 and "usage: concord-verify" in helped.stdout and "--rpc" in helped.stdout


def test_the_verifier_loads_none_of_the_platform():
    code = f"import sys, concord_verify.cli, concord_verify.checks; print([m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}])"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env(), timeout=60, cwd="/")
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


def test_the_embedded_abi_is_the_contracts():
    """The verifier writes its four view functions out by hand: they match contracts/build."""
    artifacts = {name: json.loads((ROOT / "contracts" / "build" / f"{name}.json").read_text()) for name in ("Consortium", "ProvenanceAnchor")}

    def signature(item) -> str:
        def kind(arg) -> str:
            if arg["type"].startswith("tuple"):
                return "(" + ",".join(kind(c) for c in arg["components"]) + ")" + arg["type"][5:]
            return arg["type"]

        return f"{item['name']}({','.join(kind(a) for a in item['inputs'])})"

    functions = {signature(item): item for artifact in artifacts.values() for item in artifact["abi"] if item["type"] == "function"}
    for text, selector in rpc.SELECTORS.items():
        assert text in functions, text
        assert functions[text]["stateMutability"] == "view"
        assert keccak(text=text)[:4] == selector
    outputs = {name: [kind["type"] for kind in functions[name]["outputs"]] for name in rpc.SIGNATURES}
    assert outputs[rpc.ORGANIZATION_OF] == ["bytes32"]
    assert outputs[rpc.IS_ACTIVE_MEMBER] == outputs[rpc.VERIFY_INCLUSION] == ["bool"]
    anchor = functions[rpc.ANCHOR_OF]["outputs"][0]
    assert "(" + ",".join(c["type"] for c in anchor["components"]) + ")" == rpc.ANCHOR_TYPES
    assert [c["name"] for c in anchor["components"]] == ["merkleRoot", "anchoredBy", "batchSize", "anchoredAt", "organizationId", "blockNumber"]
