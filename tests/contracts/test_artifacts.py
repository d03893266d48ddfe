"""The committed artifacts in contracts/build: complete, and built from the sources as they
are now (checked through the source hash alone, so no compiler or Node is needed)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner
from concord import cli
from concord.ledger.artifacts import CONTRACTS_DIR, PRODUCTION_CONTRACTS, build_dir, load_artifact
from concord.ledger.compiler import pinned_versions, source_files, source_hash, stale_artifacts

_CONTRACT = re.compile(r"^contract\s+(\w+)", re.MULTILINE)
_HASH = re.compile(r"^sha256:[0-9a-f]{64}$")


def manifest(contracts_dir=CONTRACTS_DIR) -> dict:
    return json.loads((build_dir(contracts_dir) / "manifest.json").read_text(encoding="utf-8"))


def declared_contracts() -> dict[str, bool]:
    """Every concrete contract declared in contracts/src and contracts/test: is it test-only?"""
    declared = {}
    for unit, path in source_files().items():
        for name in _CONTRACT.findall(path.read_text(encoding="utf-8")):
            declared[name] = unit.startswith("test/")
    return declared


def test_committed_artifacts_are_built_from_the_current_sources():
    problems = stale_artifacts()
    assert not problems, "Run `concord contracts build` and commit contracts/build:\n" + "\n".join(problems)


def test_every_contract_has_a_complete_artifact():
    recorded = manifest()
    assert recorded["sourceHash"] == source_hash()
    assert recorded["compiler"].startswith(pinned_versions()["solc"] + "+commit.")
    assert set(PRODUCTION_CONTRACTS) <= set(recorded["contracts"])
    listed = {name: False for name in recorded["contracts"]} | {name: True for name in recorded["testContracts"]}
    assert listed == declared_contracts()
    for name, test_only in listed.items():
        data = json.loads((build_dir() / ("test" if test_only else "") / f"{name}.json").read_text(encoding="utf-8"))
        assert data["contractName"] == name
        assert isinstance(data["abi"], list) and data["abi"], f"{name} has no ABI"
        for key in ("bytecode", "deployedBytecode"):
            assert re.fullmatch(r"0x([0-9a-f]{2})+", data[key]), f"{name} has no {key}"
        assert data["compiler"]["name"] == "solc"
        assert data["compiler"]["version"] == recorded["compiler"]
        assert _HASH.match(data["sourceHash"]) and data["sourceHash"] == recorded["sourceHash"]
        artifact = load_artifact(name, test=test_only)
        assert (artifact.name, artifact.bytecode, artifact.source_hash) == (name, data["bytecode"], data["sourceHash"])


@pytest.fixture
def contracts_copy(tmp_path):
    """contracts/ without node_modules: sources, package.json and the committed build."""
    target = tmp_path / "contracts"
    target.mkdir()
    for folder in ("src", "test", "build"):
        shutil.copytree(CONTRACTS_DIR / folder, target / folder)
    shutil.copy(CONTRACTS_DIR / "package.json", target / "package.json")
    assert stale_artifacts(target) == []
    return target


def test_a_changed_source_makes_the_artifacts_stale(contracts_copy):
    source = contracts_copy / "src" / "DeliveryEscrow.sol"
    source.write_text(source.read_text(encoding="utf-8") + "\n// changed\n", encoding="utf-8")
    problems = stale_artifacts(contracts_copy)
    assert any("sources changed" in problem for problem in problems)
    assert any("DeliveryEscrow.json was built from other sources" in problem for problem in problems)


@pytest.mark.parametrize("change", ["new source", "compiler pin", "deleted artifact", "artifact of other sources"])
def test_other_ways_artifacts_go_stale(contracts_copy, change):
    if change == "new source":
        (contracts_copy / "test" / "Extra.sol").write_text("pragma solidity ^0.8.24;\ncontract Extra {}\n")
    elif change == "compiler pin":
        package = json.loads((contracts_copy / "package.json").read_text())
        package["dependencies"]["solc"] = "0.8.30"
        (contracts_copy / "package.json").write_text(json.dumps(package))
    elif change == "deleted artifact":
        (contracts_copy / "build" / "Consortium.json").unlink()
    else:
        path = contracts_copy / "build" / "test" / "HookedToken.json"
        data = json.loads(path.read_text())
        data["sourceHash"] = "sha256:" + "0" * 64
        path.write_text(json.dumps(data))
    assert stale_artifacts(contracts_copy)


def test_reading_artifacts_needs_no_compiler():
    code = "import sys, concord.ledger.artifacts as a; a.load_artifact('DeliveryEscrow'); assert 'solcx' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=CONTRACTS_DIR.parent / "platform")


def test_cli_checks_the_committed_artifacts():
    result = CliRunner().invoke(cli.main, ["contracts", "build", "--check"])
    assert result.exit_code == 0, result.output
    assert source_hash() in result.output
    assert "build" in CliRunner().invoke(cli.main, ["contracts", "--help"]).output


def test_cli_check_fails_on_stale_artifacts(monkeypatch):
    from concord.ledger import compiler

    monkeypatch.setattr(compiler, "stale_artifacts", lambda: ["sources changed since the last build"])
    result = CliRunner().invoke(cli.main, ["contracts", "build", "--check"])
    assert result.exit_code == 1
    assert "stale: sources changed since the last build" in result.output
    assert "run `concord contracts build`" in result.output
