"""Password hashing with Argon2id (argon2-cffi's recommended parameters)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from careweave.security.errors import Invalid

_HASHER = PasswordHasher()
MIN_LENGTH = 12
# Verified against when the username is unknown, so timing does not reveal which users exist.
_DUMMY = _HASHER.hash("not-a-real-password-at-all")


def hash_password(password: str) -> str:
    if len(password) < MIN_LENGTH:
        raise Invalid(f"password: must be at least {MIN_LENGTH} characters")
    return _HASHER.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(stored_hash or _DUMMY, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False
