"""The on-disk TOML layout of one conversation, and nothing about files or locks.

Layout (see docs/storage-format.md): every header key first, then one `[[messages]]` table per
message. The order is what makes listing cheap: `list_summaries` reads a file only up to the
first line that starts with `[[messages]]` and parses that prefix (measured: 0.35 s instead of
55 s for 10,000 conversations). We write the `[[messages]]` tables ourselves instead of handing
tomli-w a list, because tomli-w renders a list of short tables as an inline array, which would
hide the marker. Strings use tomli-w's default one-line form: every newline inside a value is
escaped, so a line that starts with `[[messages]]` is always a table header, and CRLF
round-trips exactly (multi-line strings would turn it into LF).

Everything read from a file is untrusted: a conversation may have been edited by hand, copied
from someone else or planted. Every text field that can reach the screen (title, persona,
model, message content and metadata) goes through `text.sanitize` as it is parsed, so an
escape sequence in a file is removed before any widget sees it, whichever path shows it (the
chat pane, the header, the conversation list, a merge from another window). What the app
writes is sanitised already, so for its own files this changes nothing.
"""

from __future__ import annotations

import contextlib
import re
import tomllib
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, get_args

import tomli_w

from moviechat_tui.models import SCHEMA_VERSION, Conversation, ConversationSummary, Message, Role
from moviechat_tui.text import sanitize

MESSAGES_MARKER = b"[[messages]]"
_HEADER_BLOCK = 4096
MAX_HEADER_BYTES = 1024 * 1024
"""`read_header` gives up after this much without a `[[messages]]` line (the app writes a
few hundred bytes): listing must not read a huge file whole to find its title."""
_ROLES: frozenset[str] = frozenset(get_args(Role))
# Python strings can hold surrogate code points; UTF-8 cannot. tomli-w writes them raw and
# encoding then fails, so they are replaced after formatting (see `serialise`).
_SURROGATE = re.compile("[\ud800-\udfff]")


class FormatError(ValueError):
    """The bytes are not a conversation we can read.

    `schema_version` is set when the header could be read: a version newer than ours means
    "written by a newer app" (keep the file, open read-only), not "damaged" (quarantine).
    """

    def __init__(self, reason: str, schema_version: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.schema_version = schema_version

    @property
    def newer_schema(self) -> bool:
        return self.schema_version is not None and self.schema_version > SCHEMA_VERSION


# --- writing ---------------------------------------------------------------------------------


def _utc(value: datetime) -> datetime:
    """Naive datetimes are taken as UTC (the app only makes UTC ones); others are converted."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _message_table(message: Message) -> dict[str, Any]:
    table: dict[str, Any] = {
        "id": message.id,
        "role": message.role,
        "content": message.content,
        "created": _utc(message.created),
    }
    # TOML has no null: an absent key means None.
    for key in ("persona", "model", "finish_reason", "group", "prompt_tokens",
                "completion_tokens"):
        value = getattr(message, key)
        if value is not None:
            table[key] = value
    if message.hidden:
        table["hidden"] = True
    return table


ChunkCache = dict[str, tuple[Message, str]]
"""Formatted `[[messages]]` tables by message id, with the message they were made from."""


def serialise(conv: Conversation, previous: ChunkCache | None = None) -> tuple[bytes, ChunkCache]:
    """The whole file as bytes, built in memory so a formatting error cannot leave half a file.

    `message_count` lets `parse_conversation` notice a file cut at a `[[messages]]` boundary,
    which would otherwise still parse, silently missing messages.

    tomli-w formats strings one character at a time (about 60 ms for 1,000 messages, holding
    the GIL while the UI streams), so tables of messages equal to those in `previous` are
    reused: a save during streaming formats only the reply that changed. The messages passed
    in must not be mutated afterwards, since the returned cache keeps them for comparison.
    """
    header = {
        "schema_version": conv.schema_version,
        "id": conv.id,
        "title": conv.title,
        "created": _utc(conv.created),
        "updated": _utc(conv.updated),
        "persona": conv.persona,
        "model": conv.model,
        "message_count": len(conv.messages),
    }
    marker = "\n" + MESSAGES_MARKER.decode() + "\n"
    parts = [tomli_w.dumps(header)]
    chunks: ChunkCache = {}
    for message in conv.messages:
        hit = previous.get(message.id) if previous else None
        if hit is not None and hit[0] == message:
            chunk = hit[1]
        else:
            chunk = marker + tomli_w.dumps(_message_table(message))
        chunks[message.id] = (message, chunk)
        parts.append(chunk)
    text = "".join(parts)
    try:
        return text.encode("utf-8"), chunks
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text).encode("utf-8"), chunks


# --- reading ---------------------------------------------------------------------------------


def _get(table: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    if key not in table:
        raise FormatError(f"{where}: missing '{key}'")
    value = table[key]
    # bool is a subclass of int, but `message_count = true` is a typo, not a count.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise FormatError(f"{where}: '{key}' should be {kind.__name__}")
    return value


def _get_datetime(table: Mapping[str, Any], key: str, where: str) -> datetime:
    value: datetime = _get(table, key, datetime, where)
    return _utc(value)


def _get_optional_str(table: Mapping[str, Any], key: str, where: str) -> str | None:
    return _get_text(table, key, where) if key in table else None


def _get_text(table: Mapping[str, Any], key: str, where: str) -> str:
    """A string that may be shown: sanitised (see the module docstring)."""
    return sanitize(_get(table, key, str, where))


def _get_optional(table: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    return _get(table, key, kind, where) if key in table else None


def _schema_version(doc: Mapping[str, Any]) -> int:
    version: int = _get(doc, "schema_version", int, "header")
    if version < 1:
        raise FormatError(f"header: unknown schema_version {version}")
    return version


def _parse_toml(data: bytes) -> dict[str, Any]:
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise FormatError(f"not UTF-8 text (byte {err.start})") from None
    except tomllib.TOMLDecodeError as err:
        raise FormatError(f"not valid TOML: {err}") from None


def _with_version(err: FormatError, doc: Mapping[str, Any]) -> FormatError:
    version = doc.get("schema_version")
    if isinstance(version, int) and not isinstance(version, bool):
        err.schema_version = version
    return err


def parse_summary(header: bytes, conv_id: str) -> ConversationSummary:
    """Summary from the header prefix (or a whole file). The file name's id is authoritative."""
    doc = _parse_toml(header)
    try:
        _schema_version(doc)
        return _summary_from_doc(doc, conv_id)
    except FormatError as err:
        raise _with_version(err, doc) from None


def _summary_from_doc(doc: Mapping[str, Any], conv_id: str) -> ConversationSummary:
    return ConversationSummary(
        id=conv_id,
        title=_get_text(doc, "title", "header"),
        persona=_get_text(doc, "persona", "header"),
        model=_get_text(doc, "model", "header"),
        created=_get_datetime(doc, "created", "header"),
        updated=_get_datetime(doc, "updated", "header"),
        message_count=_get(doc, "message_count", int, "header"),
    )


def _parse_message(table: Any, index: int) -> Message:
    where = f"message {index + 1}"
    if not isinstance(table, dict):
        raise FormatError(f"{where}: not a table")
    role = _get(table, "role", str, where)
    if role not in _ROLES:
        raise FormatError(f"{where}: unknown role {role!r}")
    return Message(
        id=_get(table, "id", str, where),
        role=role,
        content=_get_text(table, "content", where),
        created=_get_datetime(table, "created", where),
        persona=_get_optional_str(table, "persona", where),
        model=_get_optional_str(table, "model", where),
        finish_reason=_get_optional_str(table, "finish_reason", where),
        group=_get_optional_str(table, "group", where),
        hidden=_get_optional(table, "hidden", bool, where) or False,
        prompt_tokens=_get_optional(table, "prompt_tokens", int, where),
        completion_tokens=_get_optional(table, "completion_tokens", int, where),
    )


def parse_conversation(data: bytes, conv_id: str) -> Conversation:
    """A full parse that rejects anything it cannot trust, including a wrong message count.

    Unknown keys are ignored (tolerated, not preserved). A file whose TOML does not parse at all
    is still checked for a newer `schema_version` in its header, since a newer app might use
    syntax this one cannot read: such a file must be kept, not quarantined.
    """
    try:
        doc = _parse_toml(data)
    except FormatError as err:
        with contextlib.suppress(FormatError):
            err.schema_version = _schema_version(_parse_toml(header_prefix(data)))
        raise err from None
    try:
        version = _schema_version(doc)
        summary = _summary_from_doc(doc, conv_id)
        tables = doc.get("messages", [])
        if not isinstance(tables, list):
            raise FormatError("'messages' should be an array of tables")
        messages = [_parse_message(t, i) for i, t in enumerate(tables)]
        if len(messages) != summary.message_count:
            raise FormatError(
                f"the header says {summary.message_count} messages but the file has "
                f"{len(messages)}: it was probably cut short"
            )
    except FormatError as err:
        raise _with_version(err, doc) from None
    return Conversation(
        id=conv_id,
        title=summary.title,
        created=summary.created,
        updated=summary.updated,
        persona=summary.persona,
        model=summary.model,
        messages=messages,
        schema_version=version,
    )


def _marker_at(buf: bytes | bytearray, start: int) -> int:
    """Offset of the first line that starts with the marker, searching from `start`; or -1."""
    if start == 0 and buf.startswith(MESSAGES_MARKER):
        return 0
    found = buf.find(b"\n" + MESSAGES_MARKER, max(start - 1, 0))
    return found + 1 if found >= 0 else -1


def header_prefix(data: bytes) -> bytes:
    """The part of an in-memory file before the first `[[messages]]` line."""
    cut = _marker_at(data, 0)
    return data if cut < 0 else data[:cut]


def read_header(path: Path) -> bytes:
    """Read `path` in blocks only until the first `[[messages]]` line; return what precedes it.

    A typical header is a few hundred bytes, so this is one 4 KiB read however long the
    conversation is. Without a marker (no messages, or a hand-edited layout) it is the whole
    file, which still parses. Raises `FormatError` when there is no marker within
    `MAX_HEADER_BYTES` (the caller may still try a full, size-limited parse).
    """
    buf = bytearray()
    with path.open("rb") as f:
        while block := f.read(_HEADER_BLOCK):
            searched = max(len(buf) - len(MESSAGES_MARKER), 0)
            buf += block
            cut = _marker_at(buf, searched)
            if cut >= 0:
                return bytes(buf[:cut])
            if len(buf) > MAX_HEADER_BYTES:
                raise FormatError(f"no [[messages]] line in the first {MAX_HEADER_BYTES} bytes")
    return bytes(buf)
