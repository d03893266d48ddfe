"""A local hardhat node (pinned in contracts/package.json) for tests and benchmarks."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import requests

from concord.ledger.artifacts import CONTRACTS_DIR

HARDHAT = CONTRACTS_DIR / "node_modules" / ".bin" / "hardhat"
HARDHAT_CONFIG = CONTRACTS_DIR / "hardhat" / "hardhat.config.js"
#: Account #0 of hardhat's well-known development mnemonic: the node's prefunded faucet.
HARDHAT_FUNDER_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"


class DevNodeError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def hardhat_node(log_path: Path, *, timeout: float = 60) -> Iterator[str]:
    """Start `hardhat node` on a free local port; yields its URL and stops it afterwards."""
    if not HARDHAT.exists():
        raise DevNodeError(f"{HARDHAT} is missing: run `npm ci` in {CONTRACTS_DIR} (`make test` does).")
    port = free_port()
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [str(HARDHAT), "--config", str(HARDHAT_CONFIG), "node", "--hostname", "127.0.0.1", "--port", str(port)],
            cwd=HARDHAT_CONFIG.parent,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "HARDHAT_DISABLE_TELEMETRY_PROMPT": "true"},
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if requests.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}, timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise DevNodeError(f"hardhat node did not start: {log_path.read_text()[-2000:]}")
            time.sleep(0.25)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
