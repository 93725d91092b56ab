"""Errors the domain raises; the API maps each to its HTTP status, the CLI to exit 2."""

from __future__ import annotations

from careweave.errors import CareweaveError


class DomainError(CareweaveError):
    """A request the rules refuse; ``status`` is the HTTP status it maps to."""

    status = 400


class NotFound(DomainError):
    status = 404


class Forbidden(DomainError):
    status = 403


class Unauthorized(DomainError):
    status = 401


class Conflict(DomainError):
    status = 409


class Invalid(DomainError):
    status = 422


class TooMany(DomainError):
    status = 429
