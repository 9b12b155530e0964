"""Errors that reach users as one readable message, never as a traceback through the plugin."""

from __future__ import annotations

from pathlib import Path


class SpecweaveError(Exception):
    """Base class: the message is the whole story, shown to the user as it is."""


class SourceError(SpecweaveError):
    """Something in a user's file cannot be read; names the file and the 1-based line."""

    def __init__(self, message: str, path: str | Path | None = None, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.path = Path(path) if path is not None else None
        self.line = line

    def located(self, path: str | Path | None = None, line: int | None = None) -> "SourceError":
        """The same error, placed at a file and line (keeps what it already has)."""
        return type(self)(self.message, self.path or path, self.line or line)

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = f"{self.path.name}:{self.line}: " if self.line else f"{self.path.name}: "
        elif self.line:
            where = f"line {self.line}: "
        return where + self.message


class ThresholdError(SourceError):
    """A line that looks like a threshold but cannot be read."""


class StoreError(SpecweaveError):
    """The experiment store cannot be read or written; names the path."""


class IncrementNotFound(SpecweaveError):
    """An increment id, prefix or path matches no increment folder, or several."""


class SpecweaveHookWarning(UserWarning):
    """An implementation of one of the plugin's hooks (a conftest.py, another plugin) raised: said, and the run goes on."""
