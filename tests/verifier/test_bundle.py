"""Bundles are read strictly: every malformed field is named with its path, and whatever
`parse` accepts, the offline checks can run on without crashing (no chain needed here)."""

from __future__ import annotations

import copy
import hashlib
import uuid

import pytest
from concord_verify import attestation, checks, merkle
from concord_verify.bundle import BundleError, parse
from concord_verify.ids import to_bytes32
from eth_account import Account
from eth_utils import to_checksum_address

from tests.verifier.proofs import BATCH_B, CREATED_AT, DOCUMENT, document_json, epcis_event

ANCHOR = to_checksum_address("0x5fbdb2315678afecb367f032d93f642f64180aa3")
CONSORTIUM = to_checksum_address("0xe7f1725e7734ce288f8367e1bb143e90bb3f0512")
ORG = uuid.UUID("7c3a1e64-2f59-4d0e-9d8e-5b8a7f9d1c20")
KEY = Account.from_key(b"\x11" * 32)


def offline_bundle() -> dict:
    """A bundle whose offline checks pass (its chain facts are made up)."""
    domain = attestation.Domain(1337, ANCHOR)
    place = merkle.Placement(1337, ANCHOR, b"\x05" * 32)
    pieces = [epcis_event(name, index) for name, index in BATCH_B]
    signed = [attestation.sign(KEY, domain, event["eventID"], ORG) for event, _ in pieces]
    tree = merkle.build(place, [(s.event_hash, s.organization_id, s.signer) for s in signed])
    leaf = place.leaf(signed[0].event_hash, signed[0].organization_id, signed[0].signer)
    event, context = pieces[0]
    return {
        "format": "concord-proof-bundle/1",
        "kind": "event",
        "createdAt": CREATED_AT,
        "chain": {"chainId": 1337, "provenanceAnchor": ANCHOR, "consortium": CONSORTIUM},
        "organization": {"id": str(ORG), "name": "Supplier One Ltd", "bytes32": "0x" + to_bytes32(ORG).hex()},
        "event": event,
        "context": context,
        "eventHashId": event["eventID"],
        "attestation": {"signer": KEY.address, "signature": "0x" + signed[0].signature.hex(), "domain": domain.as_eip712()},
        "batch": {
            "batchId": "0x" + "05" * 32,
            "root": "0x" + tree.root.hex(),
            "size": 3,
            "leaf": "0x" + leaf.hex(),
            "proof": ["0x" + step.hex() for step in tree.proof(leaf)],
            "anchorTransaction": "0x" + "ab" * 32,
            "anchorBlock": 42,
        },
    }


def offline_document() -> dict:
    digest = hashlib.sha256(DOCUMENT).hexdigest()
    bundle = {key: value for key, value in offline_bundle().items() if key not in ("event", "context", "eventHashId", "attestation")}
    bundle["kind"] = "document"
    bundle["document"] = document_json()
    bundle["batch"] = {**bundle["batch"], "root": "0x" + digest, "size": 1, "proof": []}
    del bundle["batch"]["leaf"]
    return bundle


OFFLINE = [checks.check_event_hash, checks.check_domain, checks.check_signature, checks.check_merkle_proof]
OFFLINE_DOCUMENT = [checks.check_document_hash]


def test_a_well_formed_bundle_reads_into_typed_values_and_passes_offline():
    bundle = parse(offline_bundle())
    assert bundle.chain.chain_id == 1337 and bundle.batch.size == 3 and bundle.batch.anchor_block == 42
    assert bundle.organization.bytes32 == to_bytes32(ORG) and len(bundle.attestation.signature) == 65
    assert [check(bundle).ok for check in OFFLINE] == [True] * 4
    document = parse(offline_document())
    assert document.document.content == DOCUMENT and document.batch.proof == ()
    assert checks.check_document_hash(document).ok


def test_a_document_is_anchored_alone():
    data = offline_document()
    data["batch"].update(size=2, proof=["0x" + "00" * 32])
    with pytest.raises(BundleError) as refused:
        parse(data)
    assert refused.value.problems == [
        "batch.proof: a document is anchored alone: its proof is empty",
        "batch.size: a document is anchored alone: its batch size is 1",
    ]


def test_every_problem_is_named_with_its_path():
    data = offline_bundle()
    data["chain"]["chainId"] = "1337"
    data["batch"]["proof"][0] = "0x12"
    data["attestation"]["signer"] = KEY.address.lower().replace("0x", "0X")
    del data["eventHashId"]
    with pytest.raises(BundleError) as refused:
        parse(data)
    assert {problem.split(":")[0] for problem in refused.value.problems} == {"chain.chainId", "batch.proof[0]", "attestation.signer", "bundle.eventHashId"}


def test_a_mixed_case_address_with_a_wrong_checksum_is_refused():
    data = offline_bundle()
    letter = next(i for i, c in enumerate(ANCHOR) if c.isalpha() and i > 1)
    data["chain"]["provenanceAnchor"] = ANCHOR[:letter] + ANCHOR[letter].swapcase() + ANCHOR[letter + 1 :]
    with pytest.raises(BundleError, match="checksum"):
        parse(data)


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            if prefix[:1] not in (("event",), ("context",)):  # the event is checked by its hash
                yield from _paths(item, (*prefix, key))
    elif isinstance(value, list) and prefix[:1] == ("batch",):
        for index, item in enumerate(value):
            yield from _paths(item, (*prefix, index))


@pytest.mark.parametrize("kind", ["event", "document"])
@pytest.mark.parametrize("replacement", [None, 0, -1, True, "", "x", [], {}, 2**300, 1.5])
def test_whatever_parse_accepts_the_offline_checks_can_run_on(kind, replacement):
    base = offline_bundle() if kind == "event" else offline_document()
    for path in list(_paths(base))[1:]:
        data = copy.deepcopy(base)
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = replacement
        result, bundle = checks.check_format(data)
        if bundle is None:
            assert not result.ok and result.reason, path
            continue
        for check in OFFLINE if kind == "event" else OFFLINE_DOCUMENT:
            check(bundle)  # a result, never an exception
