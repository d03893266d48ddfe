"""An organization's signed statement that it attests a provenance event (EIP-712).

The organization's custodial chain key (`keys.signer_for`) signs the typed structure

    EventAttestation(bytes32 eventHash, bytes32 organizationId)

under the EIP-712 domain {name: "Concord Provenance", version: "1", chainId,
verifyingContract: the ProvenanceAnchor deployment}. `eventHash` is the SHA-256 digest of
the GS1 event hash ID (`ni:///sha-256;<64 hex>?ver=CBV2.0`); `organizationId` is the
organization's bytes32 id (`encoding.to_bytes32`), the one the Consortium maps its account
to. Because the domain is part of what is signed, a signature made for one chain, one
deployment, one domain version or one event recovers to some other address anywhere else,
so it does not verify. Domain version "1" fixes the event hash algorithm to CBV 2.0
canonicalisation: another canonicalisation would be a new domain version.

Signatures are 65 bytes (r, s, v) with a low `s` (EIP-2); `recover` refuses a high `s`,
so each statement has exactly one accepted signature per key.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from eth_hash.auto import keccak
from eth_keys import keys
from eth_keys.constants import SECPK1_N
from eth_keys.exceptions import BadSignature, ValidationError
from eth_utils import to_checksum_address

from concord_verify.ids import to_bytes32

DOMAIN_NAME = "Concord Provenance"
DOMAIN_VERSION = "1"
HASH_VERSION = "CBV2.0"
ATTESTATION_TYPE = "EventAttestation(bytes32 eventHash,bytes32 organizationId)"
ATTESTATION_TYPEHASH = keccak(ATTESTATION_TYPE.encode())
DOMAIN_TYPE = "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
MESSAGE_TYPES = {"EventAttestation": [{"name": "eventHash", "type": "bytes32"}, {"name": "organizationId", "type": "bytes32"}]}

EventHash = str | bytes
"""A GS1 event hash ID (`ni:///sha-256;<64 lower-case hex>?ver=CBV2.0`) or its 32-byte digest."""
OrganizationId = uuid.UUID | str | bytes
"""An organization id: a UUID, its string, or its bytes32 form."""

_EVENT_HASH_ID = re.compile(r"ni:///sha-256;([0-9a-f]{64})\?ver=(CBV[0-9]+\.[0-9]+)")
_HALF_N = SECPK1_N // 2


class AttestationError(ValueError):
    """A malformed event hash, domain or signature."""


def event_digest(event_hash: EventHash) -> bytes:
    """The 32-byte SHA-256 digest of a GS1 event hash ID (32 bytes pass through).

    Only CBV 2.0 hash IDs in their canonical form (lower-case hex, `?ver=CBV2.0`) are
    accepted: two spellings of one ID would otherwise be two different statements."""
    if isinstance(event_hash, bytes):
        if len(event_hash) != 32:
            raise AttestationError(f"an event hash digest has 32 bytes, not {len(event_hash)}")
        return event_hash
    if not isinstance(event_hash, str):
        raise AttestationError(f"an event hash is a GS1 hash ID or 32 bytes, not {type(event_hash).__name__}")
    match = _EVENT_HASH_ID.fullmatch(event_hash)
    if match is None:
        raise AttestationError(f"not a GS1 event hash ID (ni:///sha-256;<64 lower-case hex>?ver={HASH_VERSION}): {event_hash[:100]!r}")
    if match.group(2) != HASH_VERSION:
        raise AttestationError(f"event hash IDs of {match.group(2)} are not supported (domain version {DOMAIN_VERSION} signs {HASH_VERSION})")
    return bytes.fromhex(match.group(1))


@dataclass(frozen=True)
class Domain:
    """The EIP-712 domain: one ProvenanceAnchor deployment on one chain."""

    chain_id: int
    verifying_contract: str
    name: str = DOMAIN_NAME
    version: str = DOMAIN_VERSION

    def __post_init__(self) -> None:
        if isinstance(self.chain_id, bool) or not isinstance(self.chain_id, int) or not 0 < self.chain_id < 2**256:
            raise AttestationError("chain_id must be a positive integer")
        try:
            object.__setattr__(self, "verifying_contract", to_checksum_address(self.verifying_contract))
        except (ValueError, TypeError):
            raise AttestationError(f"not an address: {self.verifying_contract!r}") from None

    def as_eip712(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "chainId": self.chain_id, "verifyingContract": self.verifying_contract}

    @property
    def separator(self) -> bytes:
        """The domain separator (`EIP712._domainSeparatorV4()` of a contract with this domain)."""
        return keccak(
            keccak(DOMAIN_TYPE.encode())
            + keccak(self.name.encode())
            + keccak(self.version.encode())
            + self.chain_id.to_bytes(32, "big")
            + bytes(12)
            + bytes.fromhex(self.verifying_contract[2:])
        )


def digest(domain: Domain, event_hash: EventHash, organization_id: OrganizationId) -> bytes:
    """The 32-byte hash that is signed: keccak256("\\x19\\x01" ‖ domainSeparator ‖ structHash)."""
    struct_hash = keccak(ATTESTATION_TYPEHASH + event_digest(event_hash) + to_bytes32(organization_id))
    return keccak(b"\x19\x01" + domain.separator + struct_hash)


@dataclass(frozen=True)
class Attestation:
    """An organization's signature over an event, and the account that made it."""

    event_hash: bytes
    organization_id: bytes
    signer: str
    signature: bytes


class KeySigner:
    """A private key that signs many attestations quickly: the digest computed here and
    signed by eth-keys (coincurve when installed), some three times faster than eth-account's
    typed-data signing, with the same signatures (RFC 6979 nonces, low `s`)."""

    def __init__(self, private_key: bytes) -> None:
        self._key = keys.PrivateKey(private_key)
        self.address = self._key.public_key.to_checksum_address()
        self._separators: dict[Domain, bytes] = {}
        try:  # eth-keys' coincurve backend builds a coincurve key per signature: build it once
            import coincurve

            fast = coincurve.PrivateKey(private_key)
            self._sign_hash = lambda digest: fast.sign_recoverable(digest, hasher=None)
        except ImportError:
            self._sign_hash = lambda digest: self._key.sign_msg_hash(digest).to_bytes()

    def sign(self, domain: Domain, event_hash: EventHash, organization_id: OrganizationId) -> Attestation:
        separator = self._separators.get(domain)
        if separator is None:
            separator = self._separators[domain] = domain.separator
        event, organization = event_digest(event_hash), to_bytes32(organization_id)
        signed = self._sign_hash(keccak(b"\x19\x01" + separator + keccak(ATTESTATION_TYPEHASH + event + organization)))
        return Attestation(event, organization, self.address, signed[:64] + bytes([signed[64] + 27]))


def sign(account: Any, domain: Domain, event_hash: EventHash, organization_id: OrganizationId) -> Attestation:
    """Sign an event for an organization with its account (an eth-account `LocalAccount`,
    e.g. `keys.signer_for(session, ring, organization_id)`, or a `KeySigner`)."""
    if isinstance(account, KeySigner):
        return account.sign(domain, event_hash, organization_id)
    message = {"eventHash": event_digest(event_hash), "organizationId": to_bytes32(organization_id)}
    signed = account.sign_typed_data(domain.as_eip712(), MESSAGE_TYPES, message)
    return Attestation(message["eventHash"], message["organizationId"], account.address, bytes(signed.signature))


def recover(domain: Domain, event_hash: EventHash, organization_id: OrganizationId, signature: bytes) -> str:
    """The address that signed this statement in this domain (`AttestationError` for a
    malformed or high-`s` signature). Any other statement or domain recovers elsewhere."""
    if not isinstance(signature, bytes) or len(signature) != 65:
        raise AttestationError("an attestation signature has 65 bytes (r, s, v)")
    if not 0 < int.from_bytes(signature[32:64], "big") <= _HALF_N:
        raise AttestationError("the signature's s is not in the lower half of the curve order (EIP-2)")
    v = signature[64] - 27 if signature[64] >= 27 else signature[64]
    if v not in (0, 1):
        raise AttestationError("the signature's v is not 27 or 28")
    try:
        public_key = keys.Signature(signature[:64] + bytes([v])).recover_public_key_from_msg_hash(digest(domain, event_hash, organization_id))
    except (BadSignature, ValidationError, ValueError) as error:
        raise AttestationError(f"the signature does not recover: {error}") from None
    return public_key.to_checksum_address()


def verify(domain: Domain, event_hash: EventHash, organization_id: OrganizationId, signature: bytes, signer: str) -> bool:
    """Whether `signer` signed this statement in this domain."""
    try:
        return recover(domain, event_hash, organization_id, signature) == to_checksum_address(signer)
    except (AttestationError, ValueError):
        return False
