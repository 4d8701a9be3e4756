"""Domain errors of the service layer, translated once at the edge (HTTP handlers, CLI)."""

from __future__ import annotations


class NotFound(LookupError):
    def __init__(self, entity: str, key: object) -> None:
        self.entity = entity
        self.key = key
        super().__init__(f"{entity} {key} not found")
