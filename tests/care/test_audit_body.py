"""The audit hash's body written out directly must be exactly what json.dumps wrote, or
every chain recorded before the change would stop verifying."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from careweave.security.audit import GENESIS, entry_body, entry_hash

text = st.text()  # any Unicode: quotes, backslashes, control characters, astral planes


@given(
    st.integers(min_value=1, max_value=2**63),
    text,
    text,
    text,
    text,
    st.none() | text,
    st.none() | text,
    text,
    text,
)
def test_entry_body_is_json_dumps(
    seq: int,
    at: str,
    actor: str,
    action: str,
    resource: str,
    resource_id: str | None,
    nhs: str | None,
    detail: str,
    prev: str,
) -> None:
    fields = [seq, at, actor, action, resource, resource_id, nhs, detail, prev]
    assert entry_body(*fields) == json.dumps(fields, separators=(",", ":"), ensure_ascii=False)


def test_a_known_entry_keeps_its_hash() -> None:
    """Pinned: the hash of one entry as recorded before entry_body existed."""
    fields = (1, "2026-01-01T00:00:01+00:00", "gp.jones", "read", "person", None)
    body = json.dumps(
        [*fields, "9990000018", 'basis=care_team \u2013 \u00e9\n"q"', GENESIS],
        separators=(",", ":"),
        ensure_ascii=False,
    )
    import hashlib

    expected = hashlib.sha256(body.encode()).hexdigest()
    assert entry_hash(*fields, "9990000018", 'basis=care_team \u2013 \u00e9\n"q"', GENESIS) == (
        expected
    )


def test_other_types_fall_back_to_json() -> None:
    odd = entry_body(1, "t", "a", "read", "person", 7, None, "", GENESIS)  # type: ignore[arg-type]
    assert odd == json.dumps(
        [1, "t", "a", "read", "person", 7, None, "", GENESIS],
        separators=(",", ":"),
        ensure_ascii=False,
    )
