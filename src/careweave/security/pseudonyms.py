"""Keyed pseudonyms (HMAC-SHA256) for analysts.

The key comes from configuration (``CAREWEAVE_PSEUDONYM_KEY`` or the file named by
``CAREWEAVE_PSEUDONYM_KEY_FILE``, read by careweave.settings and passed in) and is
never stored in the database, so the store alone cannot re-identify a pseudonym.
"""

from __future__ import annotations

import hashlib
import hmac

from careweave.errors import InputError

MIN_KEY_BYTES = 32


def check_key(key: bytes, where: str) -> bytes:
    if len(key) < MIN_KEY_BYTES:
        raise InputError(f"{where}: the pseudonym key must be at least {MIN_KEY_BYTES} bytes")
    return key


def pseudonym(key: bytes, nhs_number: str) -> str:
    """A stable 20-hex-digit pseudonym for ``nhs_number`` under ``key``."""
    return hmac.new(key, nhs_number.encode(), hashlib.sha256).hexdigest()[:20]
