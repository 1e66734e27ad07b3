"""The on-disk TOML layout of one conversation, and nothing about files or locks.

Layout (see docs/storage-format.md): every header key first, then one `[[messages]]` table per
message. The order is what makes listing cheap: `list_summaries` reads a file only up to the
first line that starts with `[[messages]]` and parses that prefix (measured: 0.35 s instead of
55 s for 10,000 conversations). We write the `[[messages]]` tables ourselves instead of handing
tomli-w a list, because tomli-w renders a list of short tables as an inline array, which would
hide the marker. Header strings use tomli-w's default one-line form, so the first line that
starts with `[[messages]]` is always the first message's table. A message's text comes last
in its table and, when it has several lines, is written as a multi-line string so that it
reads in the file as it reads on screen (`_content_toml`: chosen per text so that it always
reads back exactly, CRLF included).

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
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, get_args

import tomli_w

from moviechat_tui.core.conversation import (
    SCHEMA_VERSION,
    Conversation,
    ConversationSummary,
    Message,
    NoticeKind,
    Role,
    as_utc,
)
from moviechat_tui.core.errors import SchemaFileError
from moviechat_tui.core.records import Record
from moviechat_tui.core.text import sanitize
from moviechat_tui.core.tools import ToolCall, ToolRound

MESSAGES_MARKER = b"[[messages]]"
_HEADER_BLOCK = 4096
MAX_HEADER_BYTES = 1024 * 1024
"""`read_header` gives up after this much without a `[[messages]]` line (the app writes a
few hundred bytes): listing must not read a huge file whole to find its title."""
_ROLES: frozenset[str] = frozenset(get_args(Role))

SINGLE_FILE_VERSION = 1
"""`schema_version` of a conversation kept in one file (the Core format, still written for
every conversation shorter than `TAIL_LIMIT`)."""
SEGMENTED_VERSION = 2
"""`schema_version` of a main file that lists sealed segments. An older app opens such a file
read-only instead of treating its missing messages as damage."""
TOOLS_VERSION = 3
"""`schema_version` of a conversation in which a reply holds tool calls (`tool_rounds`
sub-tables), in either layout. An older app opens such a file read-only: it would drop the
tool calls if it wrote the conversation back, and the next request would lose them."""
SEGMENT_SIZE = 100
"""Messages per sealed segment."""
TAIL_LIMIT = 2 * SEGMENT_SIZE
"""When the main file would hold this many messages, its oldest `SEGMENT_SIZE` are sealed, so
the main file keeps between `SEGMENT_SIZE` and `TAIL_LIMIT - 1` messages and a save costs the
same at message 5,000 as at message 150."""
SEGMENT_NAME = re.compile(r"[0-9]{8}-[0-9a-f]{16}\.toml")
"""`<index of its first message, 8 digits>-<first 16 hex digits of its blake2b>.toml`."""
_DIGEST = re.compile(r"[0-9a-f]{32}")
# Python strings can hold surrogate code points; UTF-8 cannot. tomli-w writes them raw and
# encoding then fails, so they are replaced after formatting (see `serialise`).
_SURROGATE = re.compile("[\ud800-\udfff]")


class FormatError(SchemaFileError):
    """The bytes are not a conversation this version can read (see `SchemaFileError`)."""

    supported_version = SCHEMA_VERSION


# --- writing ---------------------------------------------------------------------------------


def _message_table(message: Message) -> dict[str, Any]:
    """Every key but `content`, which `_content_toml` writes after them."""
    table: dict[str, Any] = {
        "id": message.id,
        "role": message.role,
        "created": as_utc(message.created),
    }
    # TOML has no null: an absent key means None.
    for key in ("persona", "model", "finish_reason", "group", "prompt_tokens",
                "completion_tokens"):
        value = getattr(message, key)
        if value is not None:
            table[key] = value
    if message.notice is not None:
        table["finish_reason"] = message.notice  # where a notice's kind has always been
    if message.hidden:
        table["hidden"] = True
    if message.facts:
        table["facts"] = list(message.facts)
    return table


def _string_toml(key: str, text: str) -> str:
    """`key = ...` for a tool call's field: a literal string when the text allows it (JSON
    arguments read as written, without a backslash before every quote), else as `content`."""
    if "\n" not in text and "'" not in text and _NOT_LITERAL.search(text) is None:
        return f"{key} = '{text}'\n"
    return _content_toml(text).replace("content", key, 1)


def _tool_rounds_toml(rounds: Sequence[ToolRound]) -> str:
    """The reply's tool calls as sub-tables after its content: per round a
    `[[messages.tool_rounds]]` (with the text written before the calls, if any), per call a
    `[[messages.tool_rounds.calls]]` with its arguments and the result sent back."""
    parts: list[str] = []
    for turn in rounds:
        parts.append("\n[[messages.tool_rounds]]\n")
        if turn.text:
            parts.append(_string_toml("text", turn.text))
        for call in turn.calls:
            parts.append("\n[[messages.tool_rounds.calls]]\n")
            parts.append(tomli_w.dumps({"id": call.id, "name": call.name}))
            if call.failed:
                parts.append("failed = true\n")
            parts.append(_string_toml("arguments", call.arguments))
            parts.append(_string_toml("result", call.result))
    return "".join(parts)


_LITERAL = "'''"
_NOT_LITERAL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]|" + _LITERAL)
"""What a multi-line literal string cannot hold: control characters other than tab and
newline (CR among them), and three single quotes in a row."""


def _content_toml(text: str) -> str:
    """`content = ...` for `text`, in the most readable form that reads back exactly.

    - One line: a basic string, as tomli-w writes it.
    - Several lines: a multi-line literal string (three single quotes), which holds the text
      as it is, backslashes and quotes included. tomllib reads it back with nothing to
      unescape, so it is also the fastest form to parse.
    - Several lines that hold three single quotes in a row or a control character: a
      multi-line basic string (tomli-w's, with escapes) — unless the text holds a CR, which
      tomli-w's multi-line form would lose (it turns CRLF into LF): that stays one escaped
      line.
    """
    if "\n" not in text or "\r" in text:
        return tomli_w.dumps({"content": text})
    if _NOT_LITERAL.search(text) is None:
        return f"content = {_LITERAL}\n{text}{_LITERAL}\n"
    return tomli_w.dumps({"content": text}, multiline_strings=True)


class SegmentRef(Record):
    """One sealed segment as the main file lists it."""

    file: str
    """File name inside `<id>.d/` (see `SEGMENT_NAME`)."""
    count: int
    digest: str | None
    """blake2b (128 bits, hex) of the segment file's bytes; None if removed by hand."""


def segment_digest(data: bytes) -> str:
    import hashlib  # first used by a long conversation: not at start-up

    return hashlib.blake2b(data, digest_size=16).hexdigest()


def segment_name(first: int, digest: str) -> str:
    """Named by content: a rewritten segment gets a new name, so the old file stays valid until
    the main file stops listing it (a crash in between leaves a consistent conversation)."""
    return f"{first:08d}-{digest[:16]}.toml"


def _segments_toml(segments: Sequence[SegmentRef]) -> str:
    # Written by hand (names are ours: digits, hex and a dot, nothing to escape): tomli-w
    # would format the whole list again at every save.
    lines = [f'    {{ file = "{ref.file}", count = {ref.count}'
             + (f', blake2b = "{ref.digest}"' if ref.digest else "") + " },\n"
             for ref in segments]
    return "segments = [\n" + "".join(lines) + "]\n"


ChunkCache = dict[str, tuple[Message, bytes]]
"""Formatted `[[messages]]` tables by message id, with the message they were made from."""


def serialise(conv: Conversation, previous: ChunkCache | None = None,
              segments: Sequence[SegmentRef] = ()) -> tuple[bytes, ChunkCache]:
    """The whole (main) file as bytes, built in memory so a formatting error cannot leave
    half a file.

    `message_count` lets `parse_conversation` notice a file cut at a `[[messages]]` boundary,
    which would otherwise still parse, silently missing messages. With `segments`,
    `conv.messages` are only the open tail and `message_count` is the total, sealed ones
    included; the segments are listed in the header, before the first `[[messages]]`.

    tomli-w formats strings one character at a time (about 60 ms for 1,000 messages, holding
    the GIL while the UI streams), so tables of messages equal to those in `previous` are
    reused: a save during streaming formats only the reply that changed. The messages passed
    in must not be mutated afterwards, since the returned cache keeps them for comparison.
    """
    header = {
        "schema_version": conv.schema_version,
        "id": conv.id,
        "title": conv.title,
        "created": as_utc(conv.created),
        "updated": as_utc(conv.updated),
        "persona": conv.persona,
        "model": conv.model,
        "message_count": len(conv.messages) + sum(ref.count for ref in segments),
    }
    if conv.chosen_model and conv.chosen_model_endpoint:
        # Optional keys: a file without them loads as before, and an older app ignores them.
        header["chosen_model"] = conv.chosen_model
        header["chosen_model_endpoint"] = conv.chosen_model_endpoint
    if conv.spoiler_shield:  # written only when on: an older app ignores the key
        header["spoiler_shield"] = True
    parts = [_encode(tomli_w.dumps(header))]
    if segments:
        parts.append(_segments_toml(segments).encode("ascii"))
    chunks = _append_tables(parts, conv.messages, previous)
    return b"".join(parts), chunks


def serialise_segment(conv_id: str, first: int, messages: Sequence[Message],
                      previous: ChunkCache | None = None) -> bytes:
    """A sealed segment: a short header (whose conversation, the index of its first message,
    how many) and the `[[messages]]` tables, in the same form as in the main file."""
    head = tomli_w.dumps({"conversation": conv_id, "first": first, "count": len(messages)})
    parts = [_encode(head)]
    _append_tables(parts, messages, previous)
    return b"".join(parts)


def _append_tables(parts: list[bytes], messages: Sequence[Message],
                   previous: ChunkCache | None) -> ChunkCache:
    """Append each message's table, encoded (kept encoded in the cache: encoding 50 KB of
    Korean text again at every save was a third of a save's cost)."""
    marker = "\n" + MESSAGES_MARKER.decode() + "\n"
    chunks: ChunkCache = {}
    for message in messages:
        hit = previous.get(message.id) if previous else None
        if hit is not None and hit[0] == message:
            chunk = hit[1]
        else:
            chunk = _encode(marker + tomli_w.dumps(_message_table(message))
                            + _content_toml(message.content)
                            + (_tool_rounds_toml(message.tool_rounds)
                               if message.tool_rounds else ""))
        chunks[message.id] = (message, chunk)
        parts.append(chunk)
    return chunks


def _encode(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text).encode("utf-8")


def split_for_disk(conv: Conversation) -> tuple[bytes, list[tuple[str, bytes]]]:
    """The files a fresh save of `conv` writes: the main file and its segments (name, bytes).
    Used for new files made outside the store (benchmark data); the store seals the same way
    incrementally (`sealed_count`)."""
    messages = list(conv.messages)
    sealed = sealed_count(len(messages))
    refs: list[SegmentRef] = []
    files: list[tuple[str, bytes]] = []
    for first in range(0, sealed, SEGMENT_SIZE):
        data = serialise_segment(conv.id, first, messages[first:first + SEGMENT_SIZE])
        digest = segment_digest(data)
        refs.append(SegmentRef(segment_name(first, digest), SEGMENT_SIZE, digest))
        files.append((refs[-1].file, data))
    version = layout_version(bool(refs), any(m.tool_rounds for m in messages))
    tail = Conversation(id=conv.id, title=conv.title, created=conv.created,
                        updated=conv.updated, persona=conv.persona, model=conv.model,
                        messages=messages[sealed:],
                        schema_version=max(conv.schema_version, version),
                        spoiler_shield=conv.spoiler_shield)
    data, _ = serialise(tail, None, refs)
    return data, files


def layout_version(segmented: bool, tool_calls: bool) -> int:
    """The `schema_version` a file is written with: the oldest that can hold it, so that
    older apps keep reading (and writing) every conversation they can."""
    if tool_calls:
        return TOOLS_VERSION
    return SEGMENTED_VERSION if segmented else SINGLE_FILE_VERSION


def sealed_count(tail_length: int) -> int:
    """How many of the first `tail_length` open messages to seal now (multiple of
    `SEGMENT_SIZE`), leaving at least `SEGMENT_SIZE` in the main file."""
    if tail_length < TAIL_LIMIT:
        return 0
    return (tail_length - SEGMENT_SIZE) // SEGMENT_SIZE * SEGMENT_SIZE


# --- reading ---------------------------------------------------------------------------------


def _get(table: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    if key not in table:
        raise FormatError(f"{where}: missing '{key}'")
    value = table[key]
    # bool is a subclass of int, but `message_count = true` is a typo, not a count.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise FormatError(f"{where}: '{key}' should be {kind.__name__}")
    return value


EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
LATEST = datetime(9999, 12, 31, tzinfo=UTC)
"""A time in a file must lie in [EARLIEST, LATEST): a day inside what `datetime` can hold, so
that showing it in any time zone (offsets are under a day) cannot overflow. A hand-edited
`9999-12-31 23:59:59-23:59` is valid TOML but would crash every list, search and export."""


def usable_time(value: datetime) -> datetime | None:
    """`value` in UTC if the app can use it everywhere (see `EARLIEST`), else None."""
    try:
        moment = as_utc(value)
    except OverflowError:  # beyond year 9999 (or before year 1) once in UTC
        return None
    return moment if EARLIEST <= moment < LATEST else None


def _get_datetime(table: Mapping[str, Any], key: str, where: str) -> datetime:
    value: datetime = _get(table, key, datetime, where)
    moment = usable_time(value)
    if moment is None:
        raise FormatError(f"{where}: '{key}' is {value.isoformat()}, outside the dates "
                          "moviechat can show")
    return moment


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
    import tomllib  # on the first read: an empty library's first frame needs no parser

    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise FormatError(f"not UTF-8 text (byte {err.start})") from None
    except tomllib.TOMLDecodeError as err:
        raise FormatError(f"not valid TOML: {err}") from None
    except ValueError as err:  # valid TOML that Python cannot hold (a 5,000-digit number)
        raise FormatError(f"not usable TOML: {err}") from None
    except RecursionError:  # thousands of nested arrays
        raise FormatError("not usable TOML: nested too deeply") from None


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
    finish_reason = _get_optional_str(table, "finish_reason", where)
    notice: NoticeKind | None = None
    if role == "notice":
        # A notice's kind is stored where the first versions kept it; an unknown one shows
        # as a plain notice.
        notice = ("persona" if finish_reason == "persona"
                  else "info" if finish_reason == "info" else "error")
        finish_reason = None
    return Message(
        id=_get(table, "id", str, where),
        role=role,
        content=_get_text(table, "content", where),
        created=_get_datetime(table, "created", where),
        persona=_get_optional_str(table, "persona", where),
        model=_get_optional_str(table, "model", where),
        finish_reason=finish_reason,
        notice=notice,
        group=_get_optional_str(table, "group", where),
        hidden=_get_optional(table, "hidden", bool, where) or False,
        prompt_tokens=_get_optional(table, "prompt_tokens", int, where),
        completion_tokens=_get_optional(table, "completion_tokens", int, where),
        tool_rounds=_tool_rounds(table, where) if "tool_rounds" in table else (),
        facts=_facts(table, where) if "facts" in table else (),
    )


def _tool_rounds(table: Mapping[str, Any], where: str) -> tuple[ToolRound, ...]:
    rounds = table["tool_rounds"]
    if not isinstance(rounds, list):
        raise FormatError(f"{where}: 'tool_rounds' should be an array of tables")
    out = []
    for number, turn in enumerate(rounds, 1):
        here = f"{where}, tool round {number}"
        if not isinstance(turn, dict):
            raise FormatError(f"{here}: not a table")
        calls = turn.get("calls", [])
        if not isinstance(calls, list):
            raise FormatError(f"{here}: 'calls' should be an array of tables")
        parsed = []
        for index, call in enumerate(calls, 1):
            spot = f"{here}, call {index}"
            if not isinstance(call, dict):
                raise FormatError(f"{spot}: not a table")
            parsed.append(ToolCall(
                id=_get_text(call, "id", spot), name=_get_text(call, "name", spot),
                arguments=_get_text(call, "arguments", spot),
                result=_get_text(call, "result", spot),
                failed=_get_optional(call, "failed", bool, spot) or False))
        out.append(ToolRound(tuple(parsed), _get_optional_str(turn, "text", here) or ""))
    return tuple(out)


def _facts(table: Mapping[str, Any], where: str) -> tuple[str, ...]:
    facts = table["facts"]
    if not isinstance(facts, list) or not all(isinstance(f, str) for f in facts):
        raise FormatError(f"{where}: 'facts' should be an array of strings")
    return tuple(sanitize(f) for f in facts)


def parse_conversation(data: bytes, conv_id: str) -> Conversation:
    """A full parse of a single-file conversation that rejects anything it cannot trust,
    including a wrong message count. A main file that lists segments is refused here (its
    messages are not all in it): the store reads those with `parse_main`."""
    conv, segments = parse_main(data, conv_id)
    if segments:
        raise FormatError("the file lists sealed segments: open it through the store",
                          conv.schema_version)
    return conv


def parse_main(data: bytes, conv_id: str) -> tuple[Conversation, list[SegmentRef]]:
    """The main file: header, the segments it lists and its own (newest) messages.

    `message_count` must equal the messages in the file plus the counts of the segments.
    Unknown keys are ignored (tolerated, not preserved). A file whose TOML does not parse at
    all is still checked for a newer `schema_version` in its header, since a newer app might
    use syntax this one cannot read: such a file must be kept, not quarantined.
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
        segments = _segment_refs(doc)
        messages = _messages_of(doc)
        sealed = sum(ref.count for ref in segments)
        if len(messages) + sealed != summary.message_count:
            raise FormatError(
                f"the header says {summary.message_count} messages but the file has "
                f"{len(messages)}" + (f" and its segments {sealed}" if segments else "")
                + ": it was probably cut short"
            )
    except FormatError as err:
        raise _with_version(err, doc) from None
    conv = Conversation(
        id=conv_id,
        title=summary.title,
        created=summary.created,
        updated=summary.updated,
        persona=summary.persona,
        model=summary.model,
        messages=messages,
        schema_version=version,
        spoiler_shield=doc.get("spoiler_shield") is True,  # anything else: off
    )
    conv.chosen_model, conv.chosen_model_endpoint = _model_choice(doc)
    return conv, segments


def _model_choice(doc: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The header's `chosen_model` and the endpoint it was chosen for, both or neither. Only
    a preference: a value of the wrong type is ignored rather than taken as damage."""
    model, endpoint = doc.get("chosen_model"), doc.get("chosen_model_endpoint")
    if not isinstance(model, str) or not isinstance(endpoint, str):
        return None, None
    model, endpoint = sanitize(model).strip(), sanitize(endpoint).strip()
    return (model, endpoint) if model and endpoint else (None, None)


def _messages_of(doc: Mapping[str, Any]) -> list[Message]:
    tables = doc.get("messages", [])
    if not isinstance(tables, list):
        raise FormatError("'messages' should be an array of tables")
    return [_parse_message(t, i) for i, t in enumerate(tables)]


def _segment_refs(doc: Mapping[str, Any]) -> list[SegmentRef]:
    entries = doc.get("segments", [])
    if not isinstance(entries, list):
        raise FormatError("'segments' should be an array")
    refs = []
    for index, entry in enumerate(entries):
        where = f"segment {index + 1}"
        if not isinstance(entry, dict):
            raise FormatError(f"{where}: not a table")
        name = _get(entry, "file", str, where)
        if not SEGMENT_NAME.fullmatch(name):
            raise FormatError(f"{where}: {name!r} is not a segment file name")
        count = _get(entry, "count", int, where)
        if count < 1:
            raise FormatError(f"{where}: 'count' should be at least 1")
        digest = _get_optional(entry, "blake2b", str, where)
        if digest is not None and not _DIGEST.fullmatch(digest):
            raise FormatError(f"{where}: 'blake2b' should be 32 hex digits")
        refs.append(SegmentRef(name, count, digest))
    if len({ref.file for ref in refs}) != len(refs):
        raise FormatError("a segment is listed twice")
    return refs


def parse_segment(data: bytes, ref: SegmentRef) -> list[Message]:
    """The messages of one sealed segment, checked against what the main file says of it:
    its digest (a changed or cut file) and its count."""
    if ref.digest is not None and segment_digest(data) != ref.digest:
        raise FormatError("its content does not match the digest in the main file")
    doc = _parse_toml(data)
    messages = _messages_of(doc)
    if len(messages) != ref.count:
        raise FormatError(f"the main file lists {ref.count} messages in it, it has "
                          f"{len(messages)}")
    return messages


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
