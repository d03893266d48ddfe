"""Proof bundles, format 1 (`concord-proof-bundle/1`): parsed into typed objects.

A bundle is one JSON object, kind `event` (an EPCIS event, its organization's attestation
and its Merkle proof) or `document` (a file whose SHA-256 was anchored alone). `parse`
checks the shape (fields present, hex of the right length, addresses, numbers) and
reports every problem with its JSON path; whether the values are *true* is for checks.py.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_utils import is_address, to_checksum_address

from concord_verify.ids import to_bytes32

FORMAT = "concord-proof-bundle/1"
KINDS = ("event", "document")

_HEX32 = re.compile(r"0x[0-9a-fA-F]{64}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_SIGNATURE = re.compile(r"0x[0-9a-fA-F]{130}")


class BundleError(ValueError):
    """A bundle that is not well-formed; `problems` lists each one as "path: what is wrong"."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class UnreadableBundle(Exception):
    """The file cannot be read or is not JSON."""


@dataclass(frozen=True)
class ChainRef:
    chain_id: int
    provenance_anchor: str
    consortium: str


@dataclass(frozen=True)
class Organization:
    id: str
    name: str
    bytes32: bytes


@dataclass(frozen=True)
class Attestation:
    signer: str
    signature: bytes
    domain: dict[str, Any]


@dataclass(frozen=True)
class Batch:
    batch_id: bytes
    root: bytes
    size: int
    proof: tuple[bytes, ...]
    anchor_transaction: str
    anchor_block: int
    leaf: bytes | None = None


@dataclass(frozen=True)
class Document:
    id: str
    kind: str
    filename: str
    media_type: str
    sha256: str
    content: bytes
    issuer: str | None
    valid_from: str | None
    valid_until: str | None


@dataclass(frozen=True)
class Bundle:
    kind: str
    created_at: str
    platform: str | None
    chain: ChainRef
    organization: Organization
    batch: Batch
    event: dict[str, Any] | None = None
    context: Any = None
    event_hash_id: str | None = None
    attestation: Attestation | None = None
    document: Document | None = None


def load(path: str | Path) -> Any:
    """The JSON value in a file (`UnreadableBundle` when it cannot be read or parsed)."""
    try:
        raw = Path(path).read_bytes()
    except OSError as error:
        raise UnreadableBundle(f"cannot read {path}: {error.strerror or error}") from None
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise UnreadableBundle(f"{path} is not JSON (UTF-8): {error}") from None


class _Reader:
    """Collects the problems of one bundle while reading its fields."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    def object(self, data: Any, path: str) -> dict[str, Any]:
        if not isinstance(data, dict):
            self.fail(path, "missing or not an object")
            return {}
        return data

    def text(self, data: dict[str, Any], key: str, path: str, *, optional: bool = False) -> str | None:
        value = data.get(key)
        if value is None and optional:
            return None
        if not isinstance(value, str) or not value:
            self.fail(f"{path}.{key}", "missing or not a string")
            return None
        return value

    def integer(self, data: dict[str, Any], key: str, path: str, *, minimum: int, below: int) -> int | None:
        value = data.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value < below:
            self.fail(f"{path}.{key}", f"missing or not an integer from {minimum} to 2**{below.bit_length() - 1} - 1")
            return None
        return value

    def hex32(self, data: dict[str, Any], key: str, path: str, *, optional: bool = False) -> bytes | None:
        value = data.get(key)
        if value is None and optional:
            return None
        if not isinstance(value, str) or not _HEX32.fullmatch(value):
            self.fail(f"{path}.{key}", "missing or not 0x and 64 hex digits")
            return None
        return bytes.fromhex(value[2:])

    def address(self, data: dict[str, Any], key: str, path: str) -> str | None:
        value = data.get(key)
        if not isinstance(value, str) or not is_address(value):
            self.fail(f"{path}.{key}", "missing or not an address")
            return None
        if value != value.lower() and value != to_checksum_address(value):
            self.fail(f"{path}.{key}", "the address's checksum (EIP-55) is wrong")
            return None
        return to_checksum_address(value)


def parse(data: Any) -> Bundle:
    """The bundle in a decoded JSON value; `BundleError` lists everything malformed."""
    reader = _Reader()
    if not isinstance(data, dict):
        raise BundleError(["bundle: not a JSON object"])
    top = data
    if top.get("format") != FORMAT:
        raise BundleError([f"format: {top.get('format')!r} is not {FORMAT!r} (a newer concord-verify may read it)"])
    kind = top.get("kind")
    if kind not in KINDS:
        raise BundleError([f"kind: {kind!r} is not one of {', '.join(KINDS)}"])
    created_at = reader.text(top, "createdAt", "bundle")
    platform = top.get("platform") if isinstance(top.get("platform"), str) else None

    chain_data = reader.object(top.get("chain"), "chain")
    chain_id = reader.integer(chain_data, "chainId", "chain", minimum=1, below=2**256)
    anchor = reader.address(chain_data, "provenanceAnchor", "chain")
    consortium = reader.address(chain_data, "consortium", "chain")

    org_data = reader.object(top.get("organization"), "organization")
    org_id = reader.text(org_data, "id", "organization")
    org_name = reader.text(org_data, "name", "organization", optional=True)
    org_bytes = reader.hex32(org_data, "bytes32", "organization")
    if org_id is not None and org_bytes is not None:
        try:
            if to_bytes32(uuid.UUID(org_id)) != org_bytes:
                reader.fail("organization.bytes32", f"is not the bytes32 form of organization.id {org_id}")
        except ValueError:
            reader.fail("organization.id", "not a UUID")

    batch = _batch(reader, reader.object(top.get("batch"), "batch"), kind)
    event = context = event_hash_id = signed = document = None
    if kind == "event":
        event = reader.object(top.get("event"), "event") or None
        if isinstance(top.get("event"), dict) and not event:
            reader.fail("event", "empty")
        context = top.get("context")
        if context is not None and not isinstance(context, list | dict | str):
            reader.fail("context", "not a JSON-LD @context (a list, an object or a URI)")
        event_hash_id = reader.text(top, "eventHashId", "bundle")
        signed = _attestation(reader, reader.object(top.get("attestation"), "attestation"))
    else:
        document = _document(reader, reader.object(top.get("document"), "document"))

    if reader.problems:
        raise BundleError(reader.problems)
    assert created_at is not None and chain_id is not None and anchor is not None and consortium is not None
    assert org_id is not None and org_bytes is not None and batch is not None
    return Bundle(
        kind=kind,
        created_at=created_at,
        platform=platform,
        chain=ChainRef(chain_id, anchor, consortium),
        organization=Organization(org_id, org_name or "", org_bytes),
        batch=batch,
        event=event,
        context=context,
        event_hash_id=event_hash_id,
        attestation=signed,
        document=document,
    )


def _batch(reader: _Reader, data: dict[str, Any], kind: str) -> Batch | None:
    batch_id = reader.hex32(data, "batchId", "batch")
    root = reader.hex32(data, "root", "batch")
    size = reader.integer(data, "size", "batch", minimum=1, below=2**32)  # ProvenanceAnchor: uint32
    leaf = reader.hex32(data, "leaf", "batch", optional=True)
    transaction = reader.hex32(data, "anchorTransaction", "batch")
    block = reader.integer(data, "anchorBlock", "batch", minimum=0, below=2**64)
    steps = data.get("proof")
    proof: list[bytes] = []
    if not isinstance(steps, list):
        reader.fail("batch.proof", "missing or not a list")
    else:
        for index, step in enumerate(steps):
            if isinstance(step, str) and _HEX32.fullmatch(step):
                proof.append(bytes.fromhex(step[2:]))
            else:
                reader.fail(f"batch.proof[{index}]", "not 0x and 64 hex digits")
        if kind == "document" and steps:
            reader.fail("batch.proof", "a document is anchored alone: its proof is empty")
    if kind == "document" and size is not None and size != 1:
        reader.fail("batch.size", "a document is anchored alone: its batch size is 1")
    if None in (batch_id, root, size, transaction, block) or not isinstance(steps, list):
        return None
    assert batch_id is not None and root is not None and size is not None and transaction is not None and block is not None
    return Batch(batch_id, root, size, tuple(proof), "0x" + transaction.hex(), block, leaf)


def _attestation(reader: _Reader, data: dict[str, Any]) -> Attestation | None:
    signer = reader.address(data, "signer", "attestation")
    signature = data.get("signature")
    if not isinstance(signature, str) or not _SIGNATURE.fullmatch(signature):
        reader.fail("attestation.signature", "missing or not 0x and 130 hex digits (65 bytes r, s, v)")
        signature = None
    domain = reader.object(data.get("domain"), "attestation.domain")
    if isinstance(data.get("domain"), dict) and not domain:
        reader.fail("attestation.domain", "empty")
    if signer is None or signature is None or not domain:
        return None
    return Attestation(signer, bytes.fromhex(signature[2:]), domain)


def _document(reader: _Reader, data: dict[str, Any]) -> Document | None:
    fields = {key: reader.text(data, key, "document") for key in ("id", "kind", "filename", "mediaType", "sha256", "contentBase64")}
    sha256 = fields["sha256"]
    if sha256 is not None and not _SHA256.fullmatch(sha256):
        reader.fail("document.sha256", "not 64 lower-case hex digits")
    content = None
    if fields["contentBase64"] is not None:
        try:
            content = base64.b64decode(fields["contentBase64"], validate=True)
        except (binascii.Error, ValueError):
            reader.fail("document.contentBase64", "not base64")
    optional = {key: reader.text(data, key, "document", optional=True) for key in ("issuer", "validFrom", "validUntil")}
    if content is None or any(value is None for value in fields.values()):
        return None
    return Document(
        id=str(fields["id"]),
        kind=str(fields["kind"]),
        filename=str(fields["filename"]),
        media_type=str(fields["mediaType"]),
        sha256=str(sha256),
        content=content,
        issuer=optional["issuer"],
        valid_from=optional["validFrom"],
        valid_until=optional["validUntil"],
    )
