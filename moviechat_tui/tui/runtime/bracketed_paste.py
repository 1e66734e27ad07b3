"""Pasted text keeps its order, whatever control characters it holds.

Textual 8.2's input parser (`textual._xterm_parser.XTermParser`) reads an ESC inside a
bracketed paste (`ESC[200~ … ESC[201~`) as the start of a key sequence: the text after it
arrives as separate key presses (ESC shown as "^"), and the text before it as one `Paste` at
the very end. Pasting `nul\\0here \\e[31mred\\e[0m bell\\a end` gave the prompt
`^[31mred^[0m bell endnulhere` (and the BEL became the key ctrl+g). Text copied from a
terminal often holds colour codes, so this is not only a hostile case.

`PasteSafeParser` (it uses Textual's private parser modules: the Textual version is pinned,
and tests/e2e/test_tui.py pastes through it in a real terminal) puts a filter in front of
Textual's parser: outside a paste every character
passes at once (key sequences and the Esc key's timeout work as before); inside one, escape
sequences (CSI, OSC and the other string sequences) and control characters other than tab,
line feed and carriage return are dropped before Textual's parser sees them, and only the
`ESC[201~` that ends the paste gets through. The parser then delivers the pasted text as one
`Paste`, in order. `install()` makes the app's driver use it.
"""

from __future__ import annotations

import sys
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from textual._parser import ParseError
from textual._xterm_parser import XTermParser

if TYPE_CHECKING:
    from textual._parser import Peek1, Read1, TokenCallback
    from textual.app import App
    from textual.message import Message

ESC = "\x1b"
PASTE_START = "\x1b[200~"
PASTE_END = "\x1b[201~"
_KEPT_CONTROLS = frozenset("\t\n\r")
_STRING_INTRODUCERS = frozenset("]PX^_")
"""After ESC: OSC, DCS, SOS, PM, APC — sequences that run to BEL or ESC \\."""


def _is_control(char: str) -> bool:
    code = ord(char)
    return (code < 0x20 and char not in _KEPT_CONTROLS) or 0x7F <= code <= 0x9F


class PasteFilter:
    """Character by character: what to hand on to Textual's parser."""

    def __init__(self) -> None:
        self._in_paste = False
        self._start_matched = 0
        """Characters of PASTE_START seen in a row (outside a paste)."""
        self._state = "text"
        """Inside a paste: "text", "esc" (after an ESC), "csi" (in ESC [ …), "string" (in an
        OSC or other string sequence), "string-esc" (an ESC in one)."""
        self._sequence = ""
        """The CSI so far: the one that equals PASTE_END ends the paste."""

    def feed(self, char: str) -> str:
        if not self._in_paste:
            self._start_matched = (self._start_matched + 1
                                   if PASTE_START[self._start_matched] == char
                                   else int(char == ESC))
            if self._start_matched == len(PASTE_START):
                self._in_paste, self._start_matched, self._state = True, 0, "text"
            return char
        return self._pasted(char)

    def _pasted(self, char: str) -> str:
        state = self._state
        if state == "esc":
            self._state = "text"
            if char == "[":
                self._state, self._sequence = "csi", ESC + char
            elif char in _STRING_INTRODUCERS:
                self._state = "string"
            elif char == ESC:
                self._state = "esc"
            elif not _is_control(char):
                return char  # ESC + a character (alt+key): keep the character
            return ""
        if state == "csi":
            if "\x20" <= char <= "\x3f":  # parameters and intermediates
                self._sequence += char
                return ""
            self._state = "text"
            if "\x40" <= char <= "\x7e":  # the final byte
                if self._sequence + char == PASTE_END:
                    self._in_paste = False
                    return PASTE_END
                return ""
            # Not a complete CSI: the character is read as text (or starts something new).
        elif state == "string":
            if char == ESC:
                self._state = "string-esc"
            elif char == "\x07":
                self._state = "text"
            return ""
        elif state == "string-esc":
            # ESC \ ends the string; ESC [ may be the paste's end (a string never closed).
            self._state = "text" if char == "\\" else "string"
            if char == "[":
                self._state, self._sequence = "csi", ESC + char
            return ""
        if char == ESC:
            self._state = "esc"
            return ""
        return "" if _is_control(char) else char


class PasteSafeParser(XTermParser):
    """Textual's parser with `PasteFilter` in front of it (see the module docstring)."""

    def parse(self, token_callback: TokenCallback[Message]
              ) -> Generator[Read1 | Peek1, str, None]:
        inner = super().parse(token_callback)
        paste_filter = PasteFilter()
        awaiting = next(inner)
        while True:
            try:
                char = yield awaiting
            except ParseError as error:  # a timeout or the end, from feed() and tick()
                try:
                    awaiting = inner.throw(error)
                except StopIteration:
                    return
                continue
            try:
                for each in paste_filter.feed(char):  # "" (dropped): wait for the next one
                    awaiting = inner.send(each)
            except StopIteration:
                return


def install(app: App[Any]) -> None:
    """Make the driver `app` runs with read its input through `PasteSafeParser`. The Linux,
    inline and web drivers build their parser from the name `XTermParser` in their module
    when their input thread starts, after this."""
    module = sys.modules.get(app.driver_class.__module__)
    if module is not None and getattr(module, "XTermParser", None) is XTermParser:
        setattr(module, "XTermParser", PasteSafeParser)  # noqa: B010 (a module's global)
