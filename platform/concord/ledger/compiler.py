"""Compile contracts/src (and the test-only contracts/test) into contracts/build.

py-solc-x drives the compiler through its standard-JSON interface. A native `solc` on PATH
is used when it is the version pinned in contracts/package.json; otherwise the pinned npm
`solc` (solc-js) runs behind contracts/solc-shim, which answers like native solc and
resolves imports (`@openzeppelin/...` through the remapping below) from the base path.

Each artifact carries a source hash: sha256 over every source file, the compiler settings
and the pinned compiler and OpenZeppelin versions. `stale_artifacts()` recomputes it
without any compiler, so a test can fail when committed artifacts lag behind the sources.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from concord.ledger.artifacts import (
    BUILD_DIR_NAME,
    CONTRACTS_DIR,
    MANIFEST_NAME,
    PRODUCTION_CONTRACTS,
    TEST_BUILD_SUBDIR,
)

#: Source folders under contracts/: production sources, then test-only contracts.
SOURCE_DIR = "src"
TEST_SOURCE_DIR = "test"
SHIM_NAME = "solc-shim"

#: The EVM the bytecode targets: what eth-tester's default py-evm backend runs (Prague),
#: and what Besu runs in production.
EVM_VERSION = "prague"
OPTIMIZER_RUNS = 200
REMAPPINGS = ("@openzeppelin/contracts/=node_modules/@openzeppelin/contracts/",)
OUTPUT_SELECTION = ["abi", "evm.bytecode.object", "evm.deployedBytecode.object", "metadata"]

_COMMIT_VERSION = re.compile(r"^(\d+\.\d+\.\d+)(\+commit\.[0-9a-f]+)?")


class CompilerError(RuntimeError):
    """The contracts could not be compiled (no compiler, or compilation errors)."""


def compiler_settings() -> dict[str, Any]:
    """Settings that shape the bytecode (part of the source hash)."""
    return {
        "evmVersion": EVM_VERSION,
        "optimizer": {"enabled": True, "runs": OPTIMIZER_RUNS},
        "remappings": list(REMAPPINGS),
    }


def pinned_versions(contracts_dir: Path = CONTRACTS_DIR) -> dict[str, str]:
    """The exact `solc` and `@openzeppelin/contracts` versions contracts/package.json pins."""
    package = json.loads((contracts_dir / "package.json").read_text(encoding="utf-8"))
    dependencies = package.get("dependencies", {})
    try:
        return {"solc": dependencies["solc"], "openzeppelin": dependencies["@openzeppelin/contracts"]}
    except KeyError as missing:
        raise CompilerError(f"contracts/package.json pins no {missing.args[0]!r}") from None


def source_files(contracts_dir: Path = CONTRACTS_DIR) -> dict[str, Path]:
    """Every Solidity source, keyed by its source unit name (path relative to contracts/)."""
    files: dict[str, Path] = {}
    for folder in (SOURCE_DIR, TEST_SOURCE_DIR):
        root = contracts_dir / folder
        for path in sorted(root.rglob("*.sol")) if root.is_dir() else ():
            files[path.relative_to(contracts_dir).as_posix()] = path
    return files


def source_hash(contracts_dir: Path = CONTRACTS_DIR) -> str:
    """sha256 of all sources, the settings and the pinned versions, as `sha256:<hex>`."""
    document = {
        "pinned": pinned_versions(contracts_dir),
        "settings": compiler_settings(),
        "sources": {name: hashlib.sha256(path.read_bytes()).hexdigest() for name, path in source_files(contracts_dir).items()},
    }
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return "sha256:" + hashlib.sha256(canonical).hexdigest()


def _short_version(version: str) -> str:
    match = _COMMIT_VERSION.match(version)
    return "".join(part for part in match.groups() if part) if match else version


def shim_path(contracts_dir: Path = CONTRACTS_DIR) -> Path:
    return contracts_dir / SHIM_NAME


def find_solc(contracts_dir: Path = CONTRACTS_DIR) -> Path:
    """A native `solc` of the pinned version when PATH has one, else the solc-js shim."""
    from solcx.wrapper import get_solc_version

    wanted = pinned_versions(contracts_dir)["solc"]
    native = shutil.which("solc")
    if native:
        try:
            if str(get_solc_version(native)) == wanted:
                return Path(native)
        except Exception:  # noqa: BLE001 - an unusable or foreign `solc` on PATH: fall back to the shim
            pass
    shim = shim_path(contracts_dir)
    if not shim.is_file():
        raise CompilerError(f"No solc {wanted} on PATH and no shim at {shim}.")
    if shutil.which("node") is None:
        raise CompilerError(f"No solc {wanted} on PATH, and the shim {shim} needs Node.js (node) on PATH.")
    if not (contracts_dir / "node_modules" / "solc" / "package.json").is_file():
        raise CompilerError(f"The npm compiler is not installed: run `npm ci` in {contracts_dir}.")
    return shim


def standard_input(contracts_dir: Path = CONTRACTS_DIR) -> dict[str, Any]:
    """The compiler's standard-JSON input: our sources inline, imports left to the callback."""
    return {
        "language": "Solidity",
        "sources": {name: {"content": path.read_text(encoding="utf-8")} for name, path in source_files(contracts_dir).items()},
        "settings": {
            **compiler_settings(),
            "outputSelection": {"*": {"*": list(OUTPUT_SELECTION)}},
        },
    }


def compile_contracts(contracts_dir: Path = CONTRACTS_DIR, solc_binary: Path | str | None = None) -> dict[str, Any]:
    """Runs the compiler over every source; returns its standard-JSON output."""
    from solcx import compile_standard
    from solcx.exceptions import SolcError

    binary = Path(solc_binary) if solc_binary else find_solc(contracts_dir)
    try:
        return compile_standard(
            standard_input(contracts_dir),
            base_path=contracts_dir,
            allow_paths=[contracts_dir],
            solc_binary=binary,
        )
    except SolcError as error:
        raise CompilerError(f"Compilation failed:\n{error}") from error


@dataclass
class BuildResult:
    source_hash: str
    compiler_version: str
    written: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _artifact(name: str, source_name: str, output: dict[str, Any], settings: dict[str, Any], digest: str) -> dict[str, Any]:
    metadata = json.loads(output["metadata"])
    return {
        "contractName": name,
        "sourceName": source_name,
        "abi": output["abi"],
        "bytecode": "0x" + output["evm"]["bytecode"]["object"],
        "deployedBytecode": "0x" + output["evm"]["deployedBytecode"]["object"],
        "compiler": {"name": "solc", "version": _short_version(metadata["compiler"]["version"]), "settings": settings},
        "sourceHash": digest,
    }


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def build(contracts_dir: Path = CONTRACTS_DIR, solc_binary: Path | str | None = None) -> BuildResult:
    """Compiles and (re)writes contracts/build: one `<Name>.json` per deployable contract of
    src/, the same for test/ under build/test/, and a manifest naming them all."""
    digest = source_hash(contracts_dir)
    output = compile_contracts(contracts_dir, solc_binary)
    settings = compiler_settings()
    warnings = [error["formattedMessage"] for error in output.get("errors", []) if error.get("severity") != "error"]

    artifacts: dict[str, tuple[bool, dict[str, Any]]] = {}
    for source_name, contracts in sorted(output.get("contracts", {}).items()):
        is_test = source_name.startswith(f"{TEST_SOURCE_DIR}/")
        if not (is_test or source_name.startswith(f"{SOURCE_DIR}/")):
            continue  # OpenZeppelin and other imports
        for name, contract in sorted(contracts.items()):
            # Interfaces and abstract contracts have no bytecode; libraries of internal
            # constants and functions have no ABI: neither is deployed on its own.
            if not contract["evm"]["bytecode"]["object"] or not contract["abi"]:
                continue
            if name in artifacts:
                raise CompilerError(f"Two contracts are named {name!r}; artifact names must be unique.")
            artifacts[name] = (is_test, _artifact(name, source_name, contract, settings, digest))

    missing = [name for name in PRODUCTION_CONTRACTS if name not in artifacts or artifacts[name][0]]
    if missing:
        raise CompilerError(f"The build lacks production contracts: {', '.join(missing)}")
    versions = {data["compiler"]["version"] for _, data in artifacts.values()}
    compiler_version = versions.pop() if len(versions) == 1 else ", ".join(sorted(versions))

    target = contracts_dir / BUILD_DIR_NAME
    for old in [*target.glob("*.json"), *(target / TEST_BUILD_SUBDIR).glob("*.json")]:
        old.unlink()
    result = BuildResult(source_hash=digest, compiler_version=compiler_version, warnings=warnings)
    manifest: dict[str, Any] = {"sourceHash": digest, "compiler": compiler_version, "contracts": [], "testContracts": []}
    for name, (is_test, data) in sorted(artifacts.items()):
        path = target / TEST_BUILD_SUBDIR / f"{name}.json" if is_test else target / f"{name}.json"
        _write_json(path, data)
        result.written.append(path)
        manifest["testContracts" if is_test else "contracts"].append(name)
    _write_json(target / MANIFEST_NAME, manifest)
    return result


def stale_artifacts(contracts_dir: Path = CONTRACTS_DIR) -> list[str]:
    """Why the committed artifacts do not match the sources; empty when they do.

    Needs no compiler: compares the source hash recorded at build time with the sources,
    settings and pinned versions of now, and checks every artifact the manifest names.
    """
    target = contracts_dir / BUILD_DIR_NAME
    manifest_path = target / MANIFEST_NAME
    if not manifest_path.is_file():
        return [f"{manifest_path} is missing"]
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    current = source_hash(contracts_dir)
    problems = []
    if manifest.get("sourceHash") != current:
        problems.append(f"sources changed since the last build (built {manifest.get('sourceHash')}, now {current})")
    for key, folder in (("contracts", target), ("testContracts", target / TEST_BUILD_SUBDIR)):
        for name in manifest.get(key, []):
            path = folder / f"{name}.json"
            if not path.is_file():
                problems.append(f"{path} is missing")
                continue
            recorded = json.loads(path.read_text(encoding="utf-8")).get("sourceHash")
            if recorded != current:
                problems.append(f"{path} was built from other sources ({recorded})")
    missing = [name for name in PRODUCTION_CONTRACTS if name not in manifest.get("contracts", [])]
    if missing:
        problems.append(f"the manifest lacks production contracts: {', '.join(missing)}")
    return problems


@click.command("build")
@click.option("--check", is_flag=True, help="Only check that the committed artifacts match the sources; exit 1 if stale.")
@click.option(
    "--solc",
    "solc_binary",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Compiler binary to use (default: native solc of the pinned version on PATH, else contracts/solc-shim).",
)
def build_contracts(check: bool, solc_binary: Path | None) -> None:
    """Compile contracts/src and contracts/test into contracts/build (ABI, bytecode, source hash)."""
    if check:
        problems = stale_artifacts()
        if problems:
            for problem in problems:
                click.echo(f"stale: {problem}", err=True)
            raise click.ClickException("Contract artifacts are stale: run `concord contracts build` and commit contracts/build.")
        click.echo(f"Contract artifacts are up to date ({source_hash()}).")
        return
    try:
        result = build(solc_binary=solc_binary)
    except CompilerError as error:
        raise click.ClickException(str(error)) from None
    for warning in result.warnings:
        click.echo(warning, err=True)
    click.echo(f"Compiled with solc {result.compiler_version}; {result.source_hash}")
    for path in result.written:
        click.echo(f"  wrote {path.relative_to(CONTRACTS_DIR.parent)}")
