"""Compiled contracts as committed in contracts/build: what the runtime deploys and calls.

The runtime never needs a compiler: `concord contracts build` (see `compiler.py`) writes
one JSON file per contract, and this module reads them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: contracts/ of the source tree (platform/concord/ledger/artifacts.py -> repository root).
CONTRACTS_DIR = Path(__file__).resolve().parents[3] / "contracts"
BUILD_DIR_NAME = "build"
#: Artifacts of contracts that exist only for tests live in build/test/.
TEST_BUILD_SUBDIR = "test"
MANIFEST_NAME = "manifest.json"

#: The production contracts, in deployment order.
PRODUCTION_CONTRACTS = ("Consortium", "SettlementToken", "ReceivableRegistry", "DeliveryEscrow", "ProvenanceAnchor", "ReceivableExchange")


class ArtifactNotFound(LookupError):
    pass


@dataclass(frozen=True)
class Artifact:
    name: str
    source_name: str
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str
    compiler_version: str
    source_hash: str

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Artifact:
        return cls(
            name=data["contractName"],
            source_name=data["sourceName"],
            abi=data["abi"],
            bytecode=data["bytecode"],
            deployed_bytecode=data["deployedBytecode"],
            compiler_version=data["compiler"]["version"],
            source_hash=data["sourceHash"],
        )


def build_dir(contracts_dir: Path | None = None) -> Path:
    return (contracts_dir or CONTRACTS_DIR) / BUILD_DIR_NAME


def artifact_path(name: str, *, test: bool = False, contracts_dir: Path | None = None) -> Path:
    directory = build_dir(contracts_dir)
    if test:
        directory = directory / TEST_BUILD_SUBDIR
    return directory / f"{name}.json"


def load_artifact(name: str, *, test: bool = False, contracts_dir: Path | None = None) -> Artifact:
    """The artifact of contract `name` (`test=True` for the test-only contracts)."""
    path = artifact_path(name, test=test, contracts_dir=contracts_dir)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ArtifactNotFound(f"No artifact for contract {name!r} at {path}; run `concord contracts build`.") from None
    return Artifact.from_json(data)
