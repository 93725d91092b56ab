"""Keyed pseudonyms (HMAC-SHA256) for analysts.

The key comes from configuration (``CAREWEAVE_PSEUDONYM_KEY`` or the file named by
``CAREWEAVE_PSEUDONYM_KEY_FILE``) and is never stored in the database, so the
store alone cannot re-identify a pseudonym.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

from careweave.errors import InputError

MIN_KEY_BYTES = 32


def load_key(environ: dict[str, str] | None = None) -> bytes | None:
    """The pseudonymisation key from the environment, or None when none is configured."""
    env = os.environ if environ is None else environ
    if path := env.get("CAREWEAVE_PSEUDONYM_KEY_FILE"):
        try:
            key = Path(path).read_bytes().strip()
        except OSError as e:
            raise InputError(f"CAREWEAVE_PSEUDONYM_KEY_FILE {path}: cannot read ({e})") from e
        return check_key(key, "CAREWEAVE_PSEUDONYM_KEY_FILE")
    if value := env.get("CAREWEAVE_PSEUDONYM_KEY"):
        return check_key(value.encode(), "CAREWEAVE_PSEUDONYM_KEY")
    return None


def check_key(key: bytes, where: str) -> bytes:
    if len(key) < MIN_KEY_BYTES:
        raise InputError(f"{where}: the pseudonym key must be at least {MIN_KEY_BYTES} bytes")
    return key


def pseudonym(key: bytes, nhs_number: str) -> str:
    """A stable 20-hex-digit pseudonym for ``nhs_number`` under ``key``."""
    return hmac.new(key, nhs_number.encode(), hashlib.sha256).hexdigest()[:20]
