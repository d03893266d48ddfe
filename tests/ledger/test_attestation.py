"""Event attestations: an organization's custodial key signs an event hash under an EIP-712
domain bound to one ProvenanceAnchor deployment; the signature recovers to that key, and to
no one else for another chain, contract, domain version, event or organization."""

from __future__ import annotations

import hashlib
import uuid

import pytest
from concord.ledger import keys
from concord_verify import attestation
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_hash.auto import keccak
from eth_keys.constants import SECPK1_N

ANCHOR = "0x00000000000000000000000000000000000A0c40"
OTHER_ANCHOR = "0x00000000000000000000000000000000000A0c41"
DOMAIN = attestation.Domain(1337, ANCHOR)
EVENT = f"ni:///sha-256;{hashlib.sha256(b'shipping event').hexdigest()}?ver=CBV2.0"
OTHER_EVENT = f"ni:///sha-256;{hashlib.sha256(b'receiving event').hexdigest()}?ver=CBV2.0"


@pytest.fixture
def supplier_key(app, session, world):
    """The supplier's custodial key, as the platform opens it to sign."""
    return keys.signer_for(session, keys.KeyRing.of(app), world.supplier.org.id)


def test_an_organizations_custodial_key_signs_and_the_signature_recovers_to_it(supplier_key, world, app):
    signed = attestation.sign(supplier_key, DOMAIN, EVENT, world.supplier.org.id)
    assert signed.signer == supplier_key.address == world.supplier.signing_address(app)
    assert signed.event_hash == hashlib.sha256(b"shipping event").digest()
    assert len(signed.signature) == 65
    assert attestation.recover(DOMAIN, EVENT, world.supplier.org.id, signed.signature) == supplier_key.address
    assert attestation.verify(DOMAIN, signed.event_hash, world.supplier.org.id, signed.signature, supplier_key.address)


@pytest.mark.parametrize(
    "changed",
    [
        {"domain": attestation.Domain(1338, ANCHOR)},
        {"domain": attestation.Domain(1337, OTHER_ANCHOR)},
        {"domain": attestation.Domain(1337, ANCHOR, version="2")},
        {"domain": attestation.Domain(1337, ANCHOR, name="Another Provenance")},
        {"event": OTHER_EVENT},
        {"organization": uuid.UUID(int=42)},
    ],
    ids=["chain id", "contract", "version", "name", "event hash", "organization"],
)
def test_a_signature_does_not_verify_for_another_chain_contract_version_event_or_organization(changed):
    account = Account.create()
    organization = uuid.UUID(int=7)
    signed = attestation.sign(account, DOMAIN, EVENT, organization)
    domain = changed.get("domain", DOMAIN)
    event = changed.get("event", EVENT)
    who = changed.get("organization", organization)
    assert attestation.recover(domain, event, who, signed.signature) != account.address
    assert not attestation.verify(domain, event, who, signed.signature, account.address)
    assert attestation.verify(DOMAIN, EVENT, organization, signed.signature, account.address)


def test_another_organizations_key_is_not_the_signer(supplier_key, session, app, world):
    carrier_key = keys.signer_for(session, keys.KeyRing.of(app), world.carrier.org.id)
    signed = attestation.sign(carrier_key, DOMAIN, EVENT, world.supplier.org.id)  # the carrier speaking for the supplier
    assert not attestation.verify(DOMAIN, EVENT, world.supplier.org.id, signed.signature, supplier_key.address)


def test_the_signed_digest_is_eip712_computed_by_hand():
    """eth-account's encoding equals the EIP-712 hash written out (what `EIP712._hashTypedDataV4` computes)."""
    organization = uuid.UUID(int=7)
    by_hand = keccak(
        b"\x19\x01"
        + keccak(
            keccak(b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
            + keccak(b"Concord Provenance")
            + keccak(b"1")
            + (1337).to_bytes(32, "big")
            + bytes.fromhex(ANCHOR[2:]).rjust(32, b"\0")
        )
        + keccak(
            keccak(b"EventAttestation(bytes32 eventHash,bytes32 organizationId)")
            + hashlib.sha256(b"shipping event").digest()
            + organization.bytes.rjust(32, b"\0")
        )
    )
    message = encode_typed_data(
        DOMAIN.as_eip712(),
        attestation.MESSAGE_TYPES,
        {"eventHash": hashlib.sha256(b"shipping event").digest(), "organizationId": organization.bytes.rjust(32, b"\0")},
    )
    assert keccak(b"\x19" + message.version + message.header + message.body) == by_hand == attestation.digest(DOMAIN, EVENT, organization)
    account = Account.create()
    signed = attestation.sign(account, DOMAIN, EVENT, organization)
    assert Account._recover_hash(by_hand, signature=signed.signature) == account.address


def test_a_key_signer_signs_exactly_as_eth_account_does():
    """The fast signer used for captured events: the same signature, byte for byte."""
    for index in range(20):
        account = Account.create()
        signer = attestation.KeySigner(bytes(account.key))
        event = f"ni:///sha-256;{hashlib.sha256(str(index).encode()).hexdigest()}?ver=CBV2.0"
        domain = attestation.Domain(1 + index, OTHER_ANCHOR if index % 2 else ANCHOR)
        organization = uuid.uuid4()
        fast = attestation.sign(signer, domain, event, organization)
        assert fast == attestation.sign(account, domain, event, organization)
        assert fast.signer == account.address
        assert attestation.recover(domain, event, organization, fast.signature) == account.address


def test_malleated_and_malformed_signatures_are_refused():
    account = Account.create()
    organization = uuid.UUID(int=7)
    signature = attestation.sign(account, DOMAIN, EVENT, organization).signature
    r, s, v = signature[:32], int.from_bytes(signature[32:64], "big"), signature[64]
    high_s = r + (SECPK1_N - s).to_bytes(32, "big") + bytes([55 - v])  # the same point, the other s (v 27 <-> 28)
    assert Account._recover_hash(attestation.digest(DOMAIN, EVENT, organization), signature=high_s) == account.address
    with pytest.raises(attestation.AttestationError, match="lower half"):
        attestation.recover(DOMAIN, EVENT, organization, high_s)
    assert not attestation.verify(DOMAIN, EVENT, organization, high_s, account.address)
    for bad in (signature[:64], signature + b"\0", b"\0" * 65):
        assert not attestation.verify(DOMAIN, EVENT, organization, bad, account.address)


@pytest.mark.parametrize(
    "bad",
    [
        "ni:///sha-256;" + "A" * 64 + "?ver=CBV2.0",
        "ni:///sha-256;" + "a" * 64 + "?ver=CBV2.1",
        "ni:///sha-256;" + "a" * 64,
        "sha-256;" + "a" * 64 + "?ver=CBV2.0",
        b"\x01" * 33,
    ],
)
def test_event_hashes_other_than_canonical_cbv2_hash_ids_are_refused(bad):
    with pytest.raises(attestation.AttestationError):
        attestation.sign(Account.create(), DOMAIN, bad, uuid.UUID(int=7))


def test_a_domain_needs_a_chain_id_and_a_contract_address():
    for chain_id, contract in ((0, ANCHOR), (True, ANCHOR), (1337, "0x1234"), (1337, "anchor")):
        with pytest.raises(attestation.AttestationError):
            attestation.Domain(chain_id, contract)
