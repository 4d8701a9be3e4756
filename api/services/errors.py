"""Domain errors of the service layer, translated once at the edge (HTTP handlers, CLI)."""

from __future__ import annotations


class NotFound(LookupError):
    def __init__(self, entity: str, key: object) -> None:
        self.entity = entity
        self.key = key
        super().__init__(f"{entity} {key} not found")


class Conflict(ValueError):
    """The change contradicts what is stored (a duplicate, a row still referenced)."""


class InvalidInput(ValueError):
    """Input that is well-formed but makes no sense here (the message says why)."""


class NotAuthenticated(PermissionError):
    """No credentials, or credentials that are unknown, revoked or of an inactive user."""


class Forbidden(PermissionError):
    """Signed in, but this role or organisation may not do this."""
