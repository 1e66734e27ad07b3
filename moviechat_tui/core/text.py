"""Sanitising untrusted text (model output, file contents, titles, persona names).

Textual passes raw ESC/CSI/OSC and C1 bytes through to the terminal: an OSC 52 sequence in a
model reply would write the user's clipboard, OSC 8 would make hidden links. We remove whole
escape sequences (not just the ESC byte, which would leave `]52;c;...` garbage), other C0
controls except newline and tab, DEL, C1 controls, bidirectional overrides that can reorder
what the user sees, and lone surrogates that cannot be encoded (tomli-w raises on them
mid-write).
"""

from __future__ import annotations

import re

# ESC-introduced sequences: CSI (ESC [ ... final), OSC/DCS/SOS/PM/APC (ESC ] ... BEL or ST),
# and two-byte escapes (ESC + one char).
_ESCAPE_SEQUENCE = re.compile(
    r"""
    \x1b\[[0-?]*[ -/]*[@-~]                       # CSI
  | \x1b[\]PX^_][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?  # OSC, DCS, SOS, PM, APC (+ terminator)
  | \x9b[0-?]*[ -/]*[@-~]                          # 8-bit CSI
  | [\x90\x9d\x98\x9e\x9f][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?  # 8-bit OSC/DCS/...
  | \x1b[ -/]*[0-~]?                               # other escapes (and a lone ESC)
    """,
    re.VERBOSE,
)
# C0 except \t \n, DEL, C1; bidi embeddings/overrides/isolates; lone surrogates.
_CONTROL = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f\x80-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


def sanitize(text: str) -> str:
    """Return text safe to store and display: printable characters, newlines and tabs only.

    CRLF and lone CR become LF so a reply cannot overwrite its own line on screen.
    """
    if not text:
        return text
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _ESCAPE_SEQUENCE.sub("", text)
    return _CONTROL.sub("", text)


def one_line(text: str, limit: int = 200) -> str:
    """Sanitised single-line form for titles, persona names and error messages."""
    flat = " ".join(sanitize(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


# An escape sequence (or CR) cut off by the end of a chunk: held back until the next chunk.
_INCOMPLETE_TAIL = re.compile(
    r"(?:\x1b[\]PX^_][^\x07\x1b\x9c]*\x1b?|\x1b\[[0-?]*[ -/]*|\x1b[ -/]*"
    r"|\x9b[0-?]*[ -/]*|[\x90\x9d\x98\x9e\x9f][^\x07\x1b\x9c]*\x1b?|\r)\Z"
)
_MAX_HELD = 4096


class StreamSanitizer:
    """Sanitise text that arrives in chunks.

    A server may split `ESC ] 52 ; ...` across two chunks; sanitising each chunk alone would
    drop the ESC and show the rest as text. The unfinished tail is held back until the next
    chunk completes it (or `flush()` at the end drops it).
    """

    def __init__(self) -> None:
        self._held = ""

    def feed(self, chunk: str) -> str:
        text = self._held + chunk
        match = _INCOMPLETE_TAIL.search(text)
        if match and len(text) - match.start() <= _MAX_HELD:
            self._held = text[match.start():]
            text = text[: match.start()]
        else:
            self._held = ""
        return sanitize(text)

    def flush(self) -> str:
        held, self._held = self._held, ""
        return sanitize(held)
