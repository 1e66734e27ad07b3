"""The sanitiser: nothing from a model or a file can act on the terminal."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from moviechat_tui.core.text import StreamSanitizer, one_line, sanitize


def test_escape_sequences_are_removed_whole() -> None:
    hostile = (
        "a\x1b[31mred\x1b[0m b\x1b]52;c;SGVsbG8=\x07 c\x1b]8;;http://evil\x1b\\link"
        "\x1b]8;;\x1b\\ d\x9b2J e\x07f\x00g\x7fh\x85i"
    )
    assert sanitize(hostile) == "ared b clink d efghi"


def test_newlines_tabs_and_unicode_survive() -> None:
    text = "기생충 (2019)\n\t— 🎬 \"quotes\" \\backslash\\ [b]not markup[/b]"
    assert sanitize(text) == text


def test_carriage_returns_cannot_overwrite_a_line() -> None:
    assert sanitize("safe\rEVIL\r\nnext") == "safe\nEVIL\nnext"


def test_bidi_overrides_are_removed() -> None:
    assert sanitize("abc\u202edcba\u2066x\u2069") == "abcdcbax"


def test_one_line_flattens_and_limits() -> None:
    assert one_line("a\n b\t c", 100) == "a b c"
    assert one_line("x" * 300, 10) == "x" * 9 + "…"


@given(st.text())
def test_sanitized_text_has_no_control_characters(text: str) -> None:
    clean = sanitize(text)
    for ch in clean:
        code = ord(ch)
        assert ch in "\n\t" or not (code < 0x20 or 0x7F <= code <= 0x9F), repr(ch)
        assert not 0xD800 <= code <= 0xDFFF
        assert "\x1b" not in clean


@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs"))))
def test_printable_text_is_unchanged(text: str) -> None:
    text = "".join(ch for ch in text if not ("\u202a" <= ch <= "\u202e"
                                             or "\u2066" <= ch <= "\u2069"))
    assert sanitize(text) == text


@given(st.text(alphabet="ab\x1b]52;c\x07\\[0mJ\r\n"), st.lists(st.integers(0, 40)))
def test_stream_sanitizer_matches_whole_text_sanitising(text: str, cuts: list[int]) -> None:
    """However a reply is split into chunks, the result equals sanitising it whole."""
    points = sorted({min(c, len(text)) for c in cuts})
    pieces = [text[a:b] for a, b in zip([0, *points], [*points, len(text)], strict=True)]
    stream = StreamSanitizer()
    joined = "".join(stream.feed(p) for p in pieces) + stream.flush()
    assert joined == sanitize(text)
