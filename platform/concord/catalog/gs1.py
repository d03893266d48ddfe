"""GS1 identifiers: GTIN-8/12/13/14 for trade items, GLN (13 digits) for locations.

Both end in a mod-10 check digit: from the right, the digits before it are weighted 3, 1,
3, 1, ... and the check digit brings the sum to a multiple of ten.
"""

from __future__ import annotations

GTIN_LENGTHS = (8, 12, 13, 14)
GLN_LENGTH = 13


def check_digit(body: str) -> int:
    total = sum(int(digit) * (3 if position % 2 == 0 else 1) for position, digit in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def problem(value: str, lengths: tuple[int, ...], kind: str) -> str | None:
    """Why `value` is not a valid GS1 identifier of that kind, or None."""
    if not value.isascii() or not value.isdigit():
        return f"A {kind} has digits only."
    if len(value) not in lengths:
        allowed = ", ".join(str(n) for n in lengths)
        return f"A {kind} has {allowed} digits, not {len(value)}."
    if check_digit(value[:-1]) != int(value[-1]):
        return f"The check digit of this {kind} should be {check_digit(value[:-1])}."
    return None
