"""The bases for failures: `UserFacingError` for what the user reads (`message` is one line
saying what happened and what to do, already free of secrets and markup, so the CLI prints it
and the UI shows it), and `SchemaFileError` for the app's own TOML files that cannot be
read."""

from __future__ import annotations

from typing import ClassVar


class UserFacingError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class SchemaFileError(ValueError):
    """The bytes are not a file of this kind this version can read.

    `schema_version` is set when the header could be read: a version newer than
    `supported_version` means "written by a newer moviechat" (keep the file as it is, open it
    read-only), anything else is damage (quarantine). Conversation files and the My films
    lists make the same decision, so they share it.
    """

    supported_version: ClassVar[int]

    def __init__(self, reason: str, schema_version: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.schema_version = schema_version

    @property
    def newer_schema(self) -> bool:
        return self.schema_version is not None and self.schema_version > self.supported_version
