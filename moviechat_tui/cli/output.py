"""What the sub-commands print, whatever the terminal's encoding.

Text meant for a person (the `list` and `search` lines, `config path`, help) follows the
terminal's encoding and shows what it cannot encode as "?": `PYTHONIOENCODING=ascii` or a
C locale must not turn a Korean title into a UnicodeEncodeError. Documents (JSON, exported
Markdown) are always written as UTF-8, the encoding a script or a file expects, however the
locale is set.
"""

from __future__ import annotations

import io
import os
import sys


def tolerate_any_encoding() -> None:
    """Standard output replaces what its encoding cannot show instead of raising. (Standard
    error already does: Python gives it the backslashreplace handler.)"""
    stream = sys.stdout
    if isinstance(stream, io.TextIOWrapper) and stream.errors == "strict":
        stream.reconfigure(errors="replace")


def write_document(text: str) -> None:
    """Write JSON or Markdown to standard output as UTF-8 bytes, whatever its encoding."""
    stream = sys.stdout
    buffer = getattr(stream, "buffer", None)
    if buffer is None:  # replaced by something without bytes underneath: text is all it takes
        stream.write(text)
        return
    stream.flush()  # whatever was printed before comes first
    buffer.write(text.encode("utf-8", "replace"))
    buffer.flush()


def reader_left() -> None:
    """`moviechat list | head`: the reader closed the pipe, which is fine. Point standard
    output at /dev/null so the interpreter's last flush does not print a BrokenPipeError."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, io.UnsupportedOperation):
        pass


def cells(text: str) -> int:
    """Terminal cells `text` takes: a Hangul or CJK character takes two."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def pad(text: str, width: int) -> str:
    """`text` followed by spaces up to `width` cells (labels in a column, Korean too)."""
    return text + " " * max(0, width - cells(text))
