"""Ledger-side records kept in the database."""
from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from concord.db import Base


class OrganizationKey(Base):
    """An organization's custodial secp256k1 signing key, encrypted at rest.

    `ciphertext` is AES-256-GCM under the master key named by `master_key_id`, with the
    organization id as associated data: a blob copied onto another organization's row
    fails to decrypt.
    """

    __tablename__ = "organization_keys"

    organization_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organizations.id"), primary_key=True)
    address: Mapped[str] = mapped_column(sa.String(42), unique=True)
    nonce: Mapped[bytes] = mapped_column(sa.LargeBinary(12))
    ciphertext: Mapped[bytes] = mapped_column(sa.LargeBinary)
    master_key_id: Mapped[str] = mapped_column(sa.String(16), index=True)
    created_at: Mapped[datetime]
    rotated_at: Mapped[datetime | None]
