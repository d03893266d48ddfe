"""The tamper corpus: untouched bundles verify; each corruption of one is refused by the
check that owns it, for the right reason (the first failing check is named).

Bundles come from tests/verifier/proofs.py: A and B are the supplier's batches, C the
carrier's (the carrier was suspended after it was anchored: still verified, membership is
judged at the anchoring block), D holds a carrier event signed before the suspension but
anchored after it (refused: not an active member at that block)."""

from __future__ import annotations

import base64
import copy
import hashlib
from collections.abc import Callable
from typing import Any

import pytest
from concord_verify import checks
from concord_verify.rpc import Client
from eth_keys.constants import SECPK1_N

Bundle = dict[str, Any]


def _first_quantity(event: dict[str, Any]) -> dict[str, Any]:
    for key in ("quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList"):
        if event.get(key):
            return event[key][0]
    raise AssertionError("the base event has no quantity")


def bump_quantity(b: Bundle, p) -> None:
    _first_quantity(b["event"])["quantity"] += 1


def shift_offset(b: Bundle, p) -> None:
    assert b["event"]["eventTime"].endswith("+01:00")
    b["event"]["eventTime"] = b["event"]["eventTime"][:-6] + "+02:00"


def flip_signature_bit(b: Bundle, p) -> None:
    signature = bytearray.fromhex(b["attestation"]["signature"][2:])
    signature[10] ^= 0x01
    b["attestation"]["signature"] = "0x" + signature.hex()


def malleate_high_s(b: Bundle, p) -> None:
    signature = bytes.fromhex(b["attestation"]["signature"][2:])
    s = SECPK1_N - int.from_bytes(signature[32:64], "big")
    b["attestation"]["signature"] = "0x" + (signature[:32] + s.to_bytes(32, "big") + bytes([55 - signature[64]])).hex()


def other_organization(b: Bundle, p) -> None:
    b["organization"] = {key: p.members["carrier"][key] for key in ("id", "name", "bytes32")}


def swap_proof_steps(b: Bundle, p) -> None:
    proof = b["batch"]["proof"]
    assert len(proof) >= 2
    proof[0], proof[1] = proof[1], proof[0]


def event_of_another_batch(b: Bundle, p) -> None:
    other = p.bundles["B"][0]
    for key in ("event", "context", "eventHashId", "attestation"):
        b[key] = copy.deepcopy(other[key])


def other_chain(b: Bundle, p) -> None:
    b["chain"]["chainId"] += 1
    b["attestation"]["domain"]["chainId"] += 1


def contract_and_domain(b: Bundle, p) -> None:
    b["chain"]["provenanceAnchor"] = b["attestation"]["domain"]["verifyingContract"] = p.contracts["Consortium"]


def change_document_byte(b: Bundle, p) -> None:
    content = bytearray(base64.b64decode(b["document"]["contentBase64"]))
    content[20] ^= 0x20
    b["document"]["contentBase64"] = base64.b64encode(bytes(content)).decode()


def forge_document(b: Bundle, p) -> None:
    """Another content, with its own sha256 and root: consistent, but not what was anchored."""
    content = b"%PDF-1.7\n% a certificate nobody issued\n%%EOF\n"
    digest = hashlib.sha256(content).hexdigest()
    b["document"].update(contentBase64=base64.b64encode(content).decode(), sha256=digest)
    b["batch"]["root"] = "0x" + digest


def _set(path: str, value: Callable[[Bundle, Any], Any]) -> Callable[[Bundle, Any], None]:
    def mutate(b: Bundle, p) -> None:
        *parents, last = path.split(".")
        target: Any = b
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target[key]
        if isinstance(target, list):
            target[int(last)] = value(b, p)
        else:
            target[last] = value(b, p)

    return mutate


def _hex_flip(text: str) -> str:
    return text[:-1] + ("0" if text[-1] != "0" else "1")


# (case, bundle, corruption, failing check, words of its reason)
CORRUPTIONS: list[tuple[str, str, Callable[[Bundle, Any], None], str, str]] = [
    ("event bizStep", "A", _set("event.bizStep", lambda b, p: "shipping"), checks.EVENT_HASH, "the event hashes to"),
    ("event quantity", "A", bump_quantity, checks.EVENT_HASH, "the event hashes to"),
    ("event time offset", "A", shift_offset, checks.EVENT_HASH, "the event hashes to"),
    ("eventHashId of another event", "A", _set("eventHashId", lambda b, p: p.bundles["B"][0]["eventHashId"]), checks.EVENT_HASH, "the event hashes to"),
    ("signature bit flip", "A", flip_signature_bit, checks.SIGNATURE, "recover"),
    ("signature high s (malleated)", "A", malleate_high_s, checks.SIGNATURE, "lower half"),
    ("signer is another member", "A", _set("attestation.signer", lambda b, p: p.members["carrier"]["address"]), checks.SIGNATURE, "not 0x"),
    ("organization of another member", "A", other_organization, checks.SIGNATURE, "recovers"),
    ("organization bytes32 not its id", "A", _set("organization.bytes32", lambda b, p: p.members["carrier"]["bytes32"]), checks.FORMAT, "bytes32 form"),
    ("attestation domain name", "A", _set("attestation.domain.name", lambda b, p: "Concord"), checks.DOMAIN, "name is 'Concord'"),
    ("proof step changed", "A", _set("batch.proof.0", lambda b, p: _hex_flip(b["batch"]["proof"][0])), checks.MERKLE_PROOF, "not to the root"),
    ("proof order swapped", "A", swap_proof_steps, checks.MERKLE_PROOF, "not to the root"),
    ("proof step missing", "A", lambda b, p: b["batch"]["proof"].pop(), checks.MERKLE_PROOF, "not to the root"),
    ("proof step added", "A", lambda b, p: b["batch"]["proof"].append(b["batch"]["root"]), checks.MERKLE_PROOF, "not to the root"),
    ("leaf changed", "A", _set("batch.leaf", lambda b, p: p.bundles["A"][1]["batch"]["leaf"]), checks.MERKLE_PROOF, "not the leaf of its values"),
    ("batch id of another batch", "A", _set("batch.batchId", lambda b, p: p.bundles["B"][0]["batch"]["batchId"]), checks.MERKLE_PROOF, "not to the root"),
    ("root of another batch", "A", _set("batch.root", lambda b, p: p.bundles["B"][0]["batch"]["root"]), checks.MERKLE_PROOF, "not to the root"),
    ("event from another batch", "A", event_of_another_batch, checks.MERKLE_PROOF, "not to the root"),
    ("batch size", "A", _set("batch.size", lambda b, p: b["batch"]["size"] + 1), checks.ANCHORED, "leaves, not"),
    ("anchor block", "A", _set("batch.anchorBlock", lambda b, p: b["batch"]["anchorBlock"] - 1), checks.ANCHORED, "anchored at block"),
    (
        "anchor transaction of another batch",
        "A",
        _set("batch.anchorTransaction", lambda b, p: p.bundles["B"][0]["batch"]["anchorTransaction"]),
        checks.ANCHOR_TRANSACTION,
        "is in block",
    ),
    ("contract address (provenanceAnchor)", "A", _set("chain.provenanceAnchor", lambda b, p: p.contracts["Consortium"]), checks.DOMAIN, "verifyingContract"),
    ("contract address and its domain", "A", contract_and_domain, checks.SIGNATURE, "recovers"),
    ("chain id", "A", other_chain, checks.CHAIN_ID, "the node is on chain"),
    ("consortium address", "A", _set("chain.consortium", lambda b, p: p.contracts["ProvenanceAnchor"]), checks.MEMBER, "refused the call"),
    ("signed, then suspended before anchoring", "D", lambda b, p: None, checks.MEMBER, "was not an active member at block"),
    ("unknown format", "A", _set("format", lambda b, p: "concord-proof-bundle/2"), checks.FORMAT, "is not 'concord-proof-bundle/1'"),
    ("document byte", "document", change_document_byte, checks.DOCUMENT_HASH, "the content hashes to"),
    ("document sha256", "document", _set("document.sha256", lambda b, p: "0" * 64), checks.DOCUMENT_HASH, "the content hashes to"),
    ("document replaced, hashes consistent", "document", forge_document, checks.ANCHORED, "anchored with root"),
    ("document of another organization", "document", other_organization, checks.ANCHORED, "not of"),
]


def _base(proofs, which: str) -> Bundle:
    return copy.deepcopy(proofs.document if which == "document" else proofs.bundles[which][0])


@pytest.fixture(scope="module")
def client(rpc_url, proofs) -> Client:
    return Client(rpc_url, timeout=30, token=proofs.token)


@pytest.mark.parametrize("which", ["A", "B", "C", "document"])
def test_untouched_bundles_verify(proofs, client, which):
    """C's signer was suspended after its batch was anchored: it was a member at that block."""
    _bundle, results = checks.run(_base(proofs, which), client)
    assert all(r.ok for r in results), [r for r in results if not r.ok]


def test_an_events_own_event_id_is_a_name_not_a_proof(proofs, client):
    """eventID is outside the hash and the signature (the standard's examples carry hash-like
    IDs that are not their hashes): another one is reported, and changes no verdict."""
    bundle = _base(proofs, "A")
    bundle["event"]["eventID"] = proofs.bundles["B"][0]["eventHashId"]
    _parsed, results = checks.run(bundle, client)
    assert all(r.ok for r in results)
    assert "is a name given at capture, not its hash" in results[2].reason


def test_the_corpus_is_at_least_fifteen_distinct_corruptions():
    assert len({name for name, *_ in CORRUPTIONS}) == len(CORRUPTIONS) >= 15


@pytest.mark.parametrize(("which", "corrupt", "check", "reason"), [pytest.param(*case[1:], id=case[0]) for case in CORRUPTIONS])
def test_each_corruption_fails_its_check(proofs, client, which, corrupt, check, reason):
    bundle = _base(proofs, which)
    corrupt(bundle, proofs)
    _parsed, results = checks.run(bundle, client)
    failed = [r for r in results if not r.ok]
    assert failed, "the corrupted bundle verified"
    assert failed[0].name == check, failed
    assert reason in failed[0].reason, failed[0]
