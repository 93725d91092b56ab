"""The one rule of a status lifecycle (referrals, alarm incidents): a move the table allows."""

from __future__ import annotations

from collections.abc import Mapping

from careweave.security.errors import Conflict, Invalid


def check_transition(
    transitions: Mapping[str, tuple[str, ...]], current: str, new: str, noun: str
) -> None:
    """Refuse a status that does not exist (422) or a move the table does not allow (409)."""
    if new not in transitions:
        raise Invalid(f"status: {new!r} is not one of {', '.join(transitions)}")
    if new not in transitions[current]:
        allowed = ", ".join(transitions[current]) or "nothing (it is closed)"
        article = "an" if current[:1] in "aeiou" else "a"
        raise Conflict(f"status: {article} {current} {noun} can move to {allowed}, not {new}")
