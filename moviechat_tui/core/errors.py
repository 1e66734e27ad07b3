"""The base for failures the user reads: `message` is one line saying what happened and
what to do, already free of secrets and markup, so the CLI prints it and the UI shows it."""

from __future__ import annotations


class UserFacingError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
