"""With a node (here hardhat, as `CONCORD_CHAIN_URL=http...` would run it), the auditor
points concord-verify at the node itself: the same bundles verify, the same frauds fail."""

from __future__ import annotations

import json

from concord.ledger import outbox
from concord.ledger.deploy import deploy
from concord_verify import cli

from tests.ledger import conftest as ledger_fixtures
from tests.verifier import proofs as proof_builder

hardhat_url = ledger_fixtures.hardhat_url  # a hardhat node for the session
hardhat_chain = ledger_fixtures.hardhat_chain


def test_bundles_anchored_on_a_node_verify_against_that_node(app, world, hardhat_url, hardhat_chain, tmp_path, capsys):
    worker = outbox.Worker(app, hardhat_chain, receipt_timeout=10)
    deploy(app, hardhat_chain, worker)
    worker.drain()
    proofs = proof_builder.build(app, world, worker)
    verdicts = {}
    for name, bundle in (("A", proofs.bundles["A"][0]), ("C", proofs.bundles["C"][1]), ("D", proofs.bundles["D"][0]), ("document", proofs.document)):
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(bundle), encoding="utf-8")
        verdicts[name] = cli.main([str(path), "--rpc", hardhat_url])
    out = capsys.readouterr().out
    assert verdicts == {"A": cli.OK, "C": cli.OK, "D": cli.FAILED, "document": cli.OK}, out
    assert f"✓ chain-id            {hardhat_chain.chain_id}" in out
    assert "✗ member              " in out and "was not an active member at block" in out
