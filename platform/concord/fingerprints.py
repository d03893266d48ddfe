"""Fingerprints of records (a proof of delivery, a dispute's reason) as chain hashes."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def fingerprint(record: dict[str, Any]) -> str:
    """A record's SHA-256 over its canonical JSON, as the 0x-hex a bytes32 takes."""
    canonical = json.dumps(record, sort_keys=True, separators=(",", ":"), default=str)
    return "0x" + hashlib.sha256(canonical.encode()).hexdigest()
