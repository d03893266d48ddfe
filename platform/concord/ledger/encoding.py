"""Values Python and the contracts must agree on, bit for bit.

- `MemberRole`: the consortium's role flags (Solidity library `MemberRoles`).
- `to_bytes32`: an organization or document UUID as a bytes32 id (the UUID as a 128-bit
  big-endian integer, left-padded with zeros), used for organization and order ids.
- `fingerprint`: a receivable's fingerprint, the EIP-712 typed-data hash under the
  registry's domain (name, version, chain id, registry address) that
  `ReceivableRegistry.fingerprint` computes on chain.
"""

from __future__ import annotations

import enum
import re
import uuid
from datetime import UTC, date, datetime

from concord_verify.ids import to_bytes32
from eth_abi import encode
from eth_utils import keccak, to_checksum_address


class MemberRole(enum.IntFlag):
    """Role flags of a consortium member (`MemberRoles` in contracts/src/interfaces/IConsortium.sol)."""

    BUYER = 1 << 0
    SUPPLIER = 1 << 1
    CARRIER = 1 << 2
    FINANCIER = 1 << 3
    AUDITOR = 1 << 4
    ARBITER = 1 << 5


RECEIVABLE_TYPE = "Receivable(bytes32 issuer,bytes32 debtor,string invoiceNumber,uint256 amount,string currency,uint64 dueDate)"
RECEIVABLE_TYPEHASH = keccak(text=RECEIVABLE_TYPE)
#: The registry's EIP-712 domain (OpenZeppelin `EIP712("Concord Receivables", "1")`).
DOMAIN_TYPEHASH = keccak(text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
DOMAIN_NAME = "Concord Receivables"
DOMAIN_VERSION = "1"

_CURRENCY = re.compile(r"^[A-Z]{3}$")


def due_date_timestamp(value: date | int) -> int:
    """A due date as the Unix time of its midnight UTC (an int passes through)."""
    if isinstance(value, datetime):
        raise TypeError("a due date is a date, not a datetime")
    if isinstance(value, date):
        return int(datetime(value.year, value.month, value.day, tzinfo=UTC).timestamp())
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"a due date is a date or a Unix time, not {type(value).__name__}")
    return value


def domain_separator(chain_id: int, registry: str) -> bytes:
    """The EIP-712 domain separator of the ReceivableRegistry at `registry` on chain `chain_id`."""
    if isinstance(chain_id, bool) or not isinstance(chain_id, int) or not 0 < chain_id < 2**256:
        raise ValueError(f"not a chain id: {chain_id!r}")
    return keccak(
        encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [DOMAIN_TYPEHASH, keccak(text=DOMAIN_NAME), keccak(text=DOMAIN_VERSION), chain_id, to_checksum_address(registry)],
        )
    )


def fingerprint(
    issuer: uuid.UUID | str | bytes,
    debtor: uuid.UUID | str | bytes,
    invoice_number: str,
    amount: int,
    currency: str,
    due_date: date | int,
    *,
    chain_id: int,
    registry: str,
) -> bytes:
    """The receivable fingerprint of an invoice, equal to `ReceivableRegistry.fingerprint` of
    the registry at `registry` on chain `chain_id`: the EIP-712 hash of the invoice's struct
    under that registry's domain, so the same invoice has another fingerprint on another
    chain or registry (and a signature or registration cannot be replayed there).

    `issuer` and `debtor` are organization ids; `amount` is the invoice total in hundredths
    of `currency` (an ISO 4217 code in upper case); `invoice_number` is taken exactly as
    given, so callers pass the number as printed on the invoice.
    """
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise TypeError("amount is an integer number of hundredths")
    if not 0 <= amount < 2**256:
        raise ValueError("amount is out of range")
    if not _CURRENCY.match(currency):
        raise ValueError(f"currency must be an upper-case ISO 4217 code, not {currency!r}")
    timestamp = due_date_timestamp(due_date)
    if not 0 <= timestamp < 2**64:
        raise ValueError("due date is out of range")
    struct_hash = keccak(
        encode(
            ["bytes32", "bytes32", "bytes32", "bytes32", "uint256", "bytes32", "uint64"],
            [RECEIVABLE_TYPEHASH, to_bytes32(issuer), to_bytes32(debtor), keccak(text=invoice_number), amount, keccak(text=currency), timestamp],
        )
    )
    return keccak(b"\x19\x01" + domain_separator(chain_id, registry) + struct_hash)
