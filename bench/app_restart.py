"""The whole platform's restart against the embedded chain's length: `concord run` started in
its own process until `/health` answers 200, on a fresh instance and again after its chain
has grown to each size.

1. First start on an empty instance folder: migrate, seed the demo, deploy the contracts.
2. Restart with nothing added (the demo's own blocks).
3. With the server stopped (SIGINT, as Ctrl-C), the chain grows by cheap blocks (value
   transfers signed locally, one per block, journaled like any other) to each size, the
   indexer reads them (as the running platform's would have, block by block), and the
   platform restarts. The server's own line says from which block the chain resumed and
   how many blocks it replayed.

Run: `make bench` (or `.venv/bin/python bench/app_restart.py [--sizes 2000,20000]`).
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from chain_restart import grow

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "platform"))

from concord.app import create_app
from concord.db import database
from concord.ledger import runtime
from concord.ledger.embedded import EmbeddedChain

CONCORD = Path(sys.executable).parent / "concord"
START_TIMEOUT = 300


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(instance: Path) -> tuple[float, float, str]:
    """Seconds from launching `concord run` to /api/v1/health answering 200, the CPU seconds
    the server used (start to stop: steadier than the wall clock on a busy machine), and what
    it printed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    port = free_port()
    environment = {**os.environ, "CONCORD_INSTANCE_DIR": str(instance)}
    environment.pop("DATABASE_URL", None)
    environment.pop("CONCORD_CHAIN_URL", None)
    log = instance / "run.log"
    with log.open("w") as output:
        started = time.perf_counter()
        server = subprocess.Popen([str(CONCORD), "run", "--port", str(port)], env=environment, stdout=output, stderr=subprocess.STDOUT)
        try:
            while True:
                if server.poll() is not None:
                    raise SystemExit(f"concord run exited with {server.returncode}:\n{log.read_text()}")
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=2) as response:
                        if response.status == 200:
                            break
                except OSError:
                    pass
                if time.perf_counter() - started > START_TIMEOUT:
                    raise SystemExit(f"/health did not answer within {START_TIMEOUT} s:\n{log.read_text()}")
                time.sleep(0.05)
            seconds = time.perf_counter() - started
        finally:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, cpu, log.read_text()


def grow_and_index(instance: Path, size: int) -> None:
    os.environ["CONCORD_INSTANCE_DIR"] = str(instance)
    app = create_app()
    try:
        grow(runtime.chain(app), size, [])
        runtime.index(app)
    finally:
        runtime.close(app)
        database(app).engine.dispose()


def chain_line(output: str) -> str:
    found = re.search(r"Embedded chain (resumed at block \d+ \(state proven\), \d+ blocks replayed|rebuilt: \d+ blocks replayed)", output)
    return found.group(1) if found else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="2000,20000", help="chain lengths (blocks) to restart at")
    arguments = parser.parse_args()
    sizes = [int(size) for size in arguments.sizes.split(",")]
    with tempfile.TemporaryDirectory() as temporary:
        instance = Path(temporary) / "instance"
        instance.mkdir()
        print(f"Platform start -> /health on the embedded chain, {os.cpu_count()} CPUs")
        print(f"{'start':<28} {'blocks':>8} {'-> /health s':>13} {'server CPU s':>13}  chain on start")
        seconds, cpu, output = start(instance)
        print(f"{'first (seed + deploy)':<28} {'-':>8} {seconds:13.2f} {cpu:13.2f}  {chain_line(output)}", flush=True)
        rows = [("restart", None)] + [("restart after growing", size) for size in sizes]
        for label, size in rows:
            if size is not None:
                grow_and_index(instance, size)
            chain = EmbeddedChain(instance / "chain")
            blocks = chain.block_number()
            chain.close()
            seconds, cpu, output = start(instance)
            print(f"{label:<28} {blocks:8d} {seconds:13.2f} {cpu:13.2f}  {chain_line(output)}", flush=True)


if __name__ == "__main__":
    main()
