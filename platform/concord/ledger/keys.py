"""Custodial signing keys: one secp256k1 key per organization, encrypted at rest.

The master key never sits in the database: it comes from CONCORD_MASTER_KEY (32 bytes,
urlsafe base64) or from `instance/master_key`, created with mode 0600 on first use.
Rotation re-encrypts every key under a new master key in one transaction; the new key is
written beside the old one first (`master_key.next`), so a crash at any point leaves a
key ring that still opens every blob.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import uuid
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eth_account import Account
from sqlalchemy.orm import Session

from concord import clock
from concord.ledger.models import OrganizationKey

MASTER_FILE = "master_key"
NEXT_FILE = "master_key.next"


class SigningKeyError(Exception):
    """A signing key could not be opened, or the master key is unusable."""


def _decode_master(text: str, source: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
    except (ValueError, TypeError):
        raise SigningKeyError(f"The master key in {source} is not urlsafe base64.") from None
    if len(raw) != 32:
        raise SigningKeyError(f"The master key in {source} must be 32 bytes (AES-256); it is {len(raw)}.")
    return raw


def encode_master(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def master_key_id(raw: bytes) -> str:
    return hashlib.sha256(b"concord-master-key:" + raw).hexdigest()[:16]


def _write_secret_file(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


@dataclass
class KeyRing:
    """The current master key, plus any other key that may still encrypt some blobs."""

    current: bytes
    others: tuple[bytes, ...] = ()
    source: str = "environment"

    @classmethod
    def of(cls, app) -> KeyRing:
        """The app's key ring, loaded once per app."""
        ring = app.extensions.get("concord.keyring")
        if ring is None:
            ring = app.extensions["concord.keyring"] = cls.load(app.config["INSTANCE_DIR"])
        return ring

    @classmethod
    def load(cls, instance_dir: str, environ: dict[str, str] | None = None) -> KeyRing:
        env = os.environ if environ is None else environ
        folder = Path(instance_dir)
        next_file = folder / NEXT_FILE
        pending = (_decode_master(next_file.read_text(), str(next_file)),) if next_file.exists() else ()
        if env.get("CONCORD_MASTER_KEY"):
            return cls(_decode_master(env["CONCORD_MASTER_KEY"], "CONCORD_MASTER_KEY"), pending, "environment")
        path = folder / MASTER_FILE
        if not path.exists():
            _write_secret_file(path, encode_master(secrets.token_bytes(32)))
        return cls(_decode_master(path.read_text(), str(path)), pending, str(path))

    def by_id(self, key_id: str) -> bytes:
        for key in (self.current, *self.others):
            if master_key_id(key) == key_id:
                return key
        raise SigningKeyError(f"No master key with id {key_id} is configured; the key blobs were encrypted under another master key.")


def _seal(master: bytes, organization_id: uuid.UUID, private_key: bytes) -> tuple[bytes, bytes]:
    nonce = secrets.token_bytes(12)
    return nonce, AESGCM(master).encrypt(nonce, private_key, organization_id.bytes)


def _open(ring: KeyRing, row: OrganizationKey) -> bytes:
    master = ring.by_id(row.master_key_id)
    try:
        return AESGCM(master).decrypt(row.nonce, row.ciphertext, row.organization_id.bytes)
    except InvalidTag:
        raise SigningKeyError(
            f"The signing key of organization {row.organization_id} does not open: it was altered or belongs to another organization."
        ) from None


def seal(ring: KeyRing, plaintext: bytes, owner_id: uuid.UUID) -> tuple[bytes, bytes, str]:
    """Encrypt another secret (such as a webhook's signing secret) under the current master
    key, bound to the id of the row that keeps it: (nonce, ciphertext, master key id).

    A model keeping such blobs names its columns in `__sealed__` = (nonce, ciphertext,
    master key id, owner id), so that `rotate` re-encrypts them with the signing keys."""
    nonce = secrets.token_bytes(12)
    return nonce, AESGCM(ring.current).encrypt(nonce, plaintext, owner_id.bytes), master_key_id(ring.current)


def unseal(ring: KeyRing, key_id: str, nonce: bytes, ciphertext: bytes, owner_id: uuid.UUID) -> bytes:
    try:
        return AESGCM(ring.by_id(key_id)).decrypt(nonce, ciphertext, owner_id.bytes)
    except InvalidTag:
        raise SigningKeyError(f"The secret sealed for {owner_id} does not open: it was altered or belongs to another row.") from None


def _sealed_models() -> list[tuple[type, tuple[str, str, str, str]]]:
    """Every model keeping sealed blobs, with its `__sealed__` column names."""
    from concord.models import Base  # every model, so that none escapes rotation

    return [(mapper.class_, mapper.class_.__sealed__) for mapper in Base.registry.mappers if hasattr(mapper.class_, "__sealed__")]


def create_key(session: Session, ring: KeyRing, organization_id: uuid.UUID) -> OrganizationKey:
    """Give an organization its signing key (idempotent: an existing key is kept)."""
    existing = session.get(OrganizationKey, organization_id)
    if existing is not None:
        return existing
    account = Account.create()
    nonce, ciphertext = _seal(ring.current, organization_id, bytes(account.key))
    row = OrganizationKey(
        organization_id=organization_id,
        address=account.address,
        nonce=nonce,
        ciphertext=ciphertext,
        master_key_id=master_key_id(ring.current),
        created_at=clock.utcnow(),
    )
    session.add(row)
    session.flush()
    return row


def signer_for(session: Session, ring: KeyRing, organization_id: uuid.UUID):
    """The eth_account LocalAccount that signs for the organization."""
    row = session.get(OrganizationKey, organization_id)
    if row is None:
        raise SigningKeyError(f"Organization {organization_id} has no signing key.")
    account = Account.from_key(_open(ring, row))
    if account.address != row.address:
        raise SigningKeyError(f"The signing key of organization {organization_id} does not match its address.")
    return account


def rotate(session: Session, instance_dir: str, ring: KeyRing, new_master: bytes | None = None) -> int:
    """Re-encrypt every key (and every other sealed secret) under a new master key; return
    how many signing keys were re-encrypted.

    With the file-based master key the new key is written to `master_key.next` before the
    database changes and renamed over `master_key` after they commit. With
    CONCORD_MASTER_KEY the caller must set the new value before the next start.
    """
    new_master = new_master or secrets.token_bytes(32)
    folder = Path(instance_dir)
    file_based = ring.source != "environment"
    if file_based:
        _write_secret_file(folder / NEXT_FILE, encode_master(new_master))
    new_id = master_key_id(new_master)
    count = 0
    now = clock.utcnow()
    for row in session.execute(sa.select(OrganizationKey).with_for_update()).scalars():
        if row.master_key_id == new_id:
            continue
        private_key = _open(ring, row)
        row.nonce, row.ciphertext = _seal(new_master, row.organization_id, private_key)
        row.master_key_id = new_id
        row.rotated_at = now
        count += 1
    for model, (nonce_of, ciphertext_of, key_id_of, owner_of) in _sealed_models():
        for row in session.execute(sa.select(model).with_for_update()).scalars():
            if getattr(row, key_id_of) == new_id:
                continue
            owner_id = getattr(row, owner_of)
            plaintext = unseal(ring, getattr(row, key_id_of), getattr(row, nonce_of), getattr(row, ciphertext_of), owner_id)
            nonce, ciphertext, key_id = seal(KeyRing(new_master), plaintext, owner_id)
            setattr(row, nonce_of, nonce)
            setattr(row, ciphertext_of, ciphertext)
            setattr(row, key_id_of, key_id)
    session.commit()
    if file_based:
        os.replace(folder / NEXT_FILE, folder / MASTER_FILE)
    return count
