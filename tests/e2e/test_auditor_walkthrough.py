"""The README's auditor walk-through, clicked through in Chromium on a live demo instance:
Veritas's auditor signs in, opens Northwind's engagement, traces Acme's bracket lot, sees the
graph and the recall list, opens an event, sees every Verify check pass, downloads the proof
bundle and checks it with the standalone `concord-verify` against the platform's JSON-RPC
endpoint; one byte changed in the event and the verifier refuses it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from concord.demo import DEMO_PASSWORD
from playwright.sync_api import expect

from tests.e2e.helpers import go_to, served_demo, sign_in

pytestmark = pytest.mark.browser

BRACKETS, LOT, COIL = "4006381333931", "BRK-2611-A", "COIL-2611-07"
NORTHWIND = "Northwind Manufacturing GmbH"
AUDITOR = "audit@veritas.example"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    """A demo instance as `concord run` serves it (the worker has run: batches anchored),
    answering on a free local port."""
    with served_demo(tmp_path_factory.mktemp("demo-instance")) as (_app, base):
        yield base


def _verify(bundle: Path, base: str, token: str) -> subprocess.CompletedProcess:
    """`concord-verify` as an auditor runs it: its own process, without the platform's code."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "verifier" / "src")}
    return subprocess.run(
        [sys.executable, "-m", "concord_verify", str(bundle), "--rpc", f"{base}/api/v1/ledger/rpc", "--rpc-token", token],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=bundle.parent,
    )


def test_the_auditor_traces_the_demo_lot_verifies_an_event_and_checks_its_bundle_alone(demo_server, page, tmp_path):
    base = demo_server
    sign_in(page, base, AUDITOR, DEMO_PASSWORD)
    go_to(page, "Engagements")
    page.get_by_role("region", name="Received as auditor").get_by_role("link", name=NORTHWIND).click()
    page.get_by_role("button", name="Trace a lot").click()
    expect(page.get_by_role("heading", name="Trace a lot")).to_be_visible()
    expect(page.get_by_text("You are reading records under")).to_be_visible()

    page.get_by_label("GTIN").fill(BRACKETS)
    page.get_by_label("Lot number").fill(LOT)
    page.get_by_role("button", name="Trace", exact=True).click()
    expect(page.get_by_role("heading", name=f"Lot {LOT} of GTIN 0{BRACKETS}")).to_be_visible()
    expect(page.get_by_role("img", name=f"Where lot {LOT} came from and went")).to_be_visible()
    recall = page.get_by_role("region", name="Recall list")
    northwind = recall.get_by_role("row").filter(has_text=NORTHWIND).filter(has_text="990")
    expect(northwind).to_have_count(1)
    expect(northwind.get_by_role("cell")).to_have_text(
        [NORTHWIND, "https://id.gs1.org/414/4006381000017", f"https://id.gs1.org/01/0{BRACKETS}/10/{LOT}", "—", "—", "1000", "990", "10"], use_inner_text=True
    )
    upstream = page.get_by_role("region", name="Lots").get_by_role("row").filter(has_text=COIL)
    expect(upstream).to_contain_text("input, 1 step(s) up")
    expect(page.get_by_role("region", name="Transformations").get_by_role("row").filter(has_text="Acme Components Ltd")).to_have_count(1)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "the trace page scrolls sideways"

    received = page.get_by_role("region", name="Movements").get_by_role("row").filter(has_text="receiving").filter(has_text="990")
    received.get_by_role("link", name="Verify").click()
    expect(page.get_by_role("heading", name="Verify")).to_be_visible()
    checks = page.locator("#checks tbody tr")
    expect(checks).not_to_have_count(0)
    for row in checks.all():
        expect(row).to_contain_text("✓ passed")
    expect(page.get_by_role("region", name="Verify")).to_contain_text(f"concord-verify proof.json --rpc {base}/api/v1/ledger/rpc --rpc-token <token>")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download proof bundle").click()
    bundle = tmp_path / download.value.suggested_filename
    download.value.save_as(bundle)
    assert json.loads(bundle.read_text())["kind"] == "event"

    page.get_by_role("region", name="Verify").get_by_role("link", name="API tokens").click()
    page.get_by_label("Name").fill("concord-verify")
    page.get_by_role("button", name="Create token").click()
    token = page.locator("#new-token").inner_text().strip()

    verified = _verify(bundle, base, token)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "VERIFIED." in verified.stdout and "NOT VERIFIED" not in verified.stdout, verified.stdout

    text = bundle.read_text()
    assert text.count('"quantity": 990') == 1, text  # the received quantity, in the event only
    bundle.write_text(text.replace('"quantity": 990', '"quantity": 991'))
    refused = _verify(bundle, base, token)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "NOT VERIFIED" in refused.stdout and "event-hash" in refused.stdout, refused.stdout
