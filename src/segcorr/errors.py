"""Errors the CLI turns into one line on stderr and exit code 2."""

from __future__ import annotations


class InputError(ValueError):
    """Bad user input: a missing, unreadable, corrupt or inconsistent file or argument.

    The message names the file (when there is one) and says what was expected and what was found.
    """

    def __init__(self, message: str, path: object | None = None) -> None:
        self.path = None if path is None else str(path)
        super().__init__(f"{self.path}: {message}" if self.path else message)
