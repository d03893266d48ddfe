"""Identifiers Concord and the contracts share: an organization's bytes32 id."""

from __future__ import annotations

import uuid


def to_bytes32(value: uuid.UUID | str | bytes) -> bytes:
    """A bytes32 id: a UUID (or its string) as a left-padded 128-bit integer; 32 bytes pass."""
    if isinstance(value, bytes):
        if len(value) != 32:
            raise ValueError(f"a bytes32 id has 32 bytes, not {len(value)}")
        return value
    if isinstance(value, str):
        value = uuid.UUID(value)
    if not isinstance(value, uuid.UUID):
        raise TypeError(f"expected a UUID, its string or 32 bytes, not {type(value).__name__}")
    return value.bytes.rjust(32, b"\0")
