"""Domain errors of the importers; the CLI and the API translate them once, at their edge."""

from __future__ import annotations

from pathlib import Path


class ImportFailed(Exception):
    """An import that was refused as a whole: nothing of it was stored."""


class SourceFileError(ImportFailed):
    """A problem at a known place in a source file, reported as `FILE:LINE: reason`."""

    def __init__(self, path: Path | str, line: int | None, reason: str) -> None:
        self.path = str(path)
        self.line = line
        self.reason = reason
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {reason}")
