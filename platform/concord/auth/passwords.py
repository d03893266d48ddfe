"""Password hashing (argon2id) and the password rules OWASP ASVS asks for."""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 8
MAX_LENGTH = 64

# argon2id with 19 MiB of memory and 2 passes: the OWASP minimum configuration.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, hash_len=32, salt_len=16, type=Type.ID)


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    # zxcvbn ships the 30,000 most common passwords from leaked password sets.
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def password_problems(password: str, *, email: str | None = None, name: str | None = None) -> list[str]:
    """Every reason the password is refused; empty when it is acceptable."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"Use at least {MIN_LENGTH} characters.")
    if len(password) > MAX_LENGTH:
        problems.append(f"Use at most {MAX_LENGTH} characters.")
    if any(unicodedata.category(char) in ("Cc", "Cf", "Cs") for char in password):
        problems.append("Use letters, digits, spaces and punctuation only: no control or invisible characters.")
    lowered = password.lower()
    if lowered in _common_passwords():
        problems.append("This password is among the most commonly used passwords; choose another.")
    elif email and lowered in {email.lower(), email.split("@")[0].lower()}:
        problems.append("The password must not be your email address.")
    elif len(set(password)) < 3 and len(password) >= MIN_LENGTH:
        problems.append("This password repeats too few characters to be safe.")
    return problems


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


# Verified against when the email is unknown, so that timing does not reveal which
# accounts exist.
@lru_cache(maxsize=1)
def dummy_hash() -> str:
    return _hasher.hash("concord-timing-equaliser")
