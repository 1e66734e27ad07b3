"""The input parser keeps a bracketed paste in order (issue 16, C19); the real-terminal test
is in tests/e2e/test_tui.py."""

from __future__ import annotations

import pytest
from textual import events
from textual._xterm_parser import XTermParser

from moviechat_tui.tui.runtime.bracketed_paste import PasteSafeParser

HOSTILE = "\x1b[200~nul\x00here \x1b[31mred\x1b[0m bell\x07 end\x1b[201~"


def parse(data: str, *, one_at_a_time: bool = False,
          parser: type[XTermParser] = PasteSafeParser) -> list[tuple[str, str]]:
    """What the app receives: ("paste", text) and ("key", key name) in order."""
    p = parser()
    if one_at_a_time:  # as if every byte came in its own read
        received = [event for char in data for event in p.feed(char)]
    else:
        received = list(p.feed(data))
    return [("paste", e.text) if isinstance(e, events.Paste) else ("key", e.key)
            for e in received if isinstance(e, events.Paste | events.Key)]


def test_textual_alone_reorders_the_paste() -> None:
    """Why the filter exists: if this starts passing, Textual fixed it (drop the filter)."""
    events_ = parse(HOSTILE, parser=XTermParser)
    assert events_[-1] == ("paste", "nulhere ")
    assert ("key", "ctrl+g") in events_  # the pasted BEL, as a key press


@pytest.mark.parametrize("one_at_a_time", [False, True])
def test_a_paste_with_control_codes_arrives_whole_and_in_order(one_at_a_time: bool) -> None:
    assert parse(HOSTILE, one_at_a_time=one_at_a_time) == [("paste", "nulhere red bell end")]


@pytest.mark.parametrize(("pasted", "text"), [
    ("x\x1b]8;;http://a\x1b\\link\x1b]8;;\x1b\\ y", "xlink y"),    # OSC 8 link, ST-ended
    ("a\x1b]52;c;SGk=\x07b", "ab"),                                 # OSC 52, BEL-ended
    ("one\rtwo\nthree\tfour", "one\rtwo\nthree\tfour"),            # line breaks and tabs stay
    ("\x1b[200~nested\x1b[201~", "nested"),                          # the end marker ends it
    ("caf\u00e9 \u2014 \uc601\ud654", "caf\u00e9 \u2014 \uc601\ud654"),
])
def test_what_a_paste_keeps(pasted: str, text: str) -> None:
    wrapped = pasted if pasted.startswith("\x1b[200~") else f"\x1b[200~{pasted}\x1b[201~"
    assert parse(wrapped) == [("paste", text)]


def test_an_unterminated_sequence_does_not_swallow_the_end_of_the_paste() -> None:
    assert parse("\x1b[200~text \x1b]52;c;abc\x1b[201~z") == [("paste", "text "), ("key", "z")]


def test_keys_outside_a_paste_are_unchanged() -> None:
    data = "a\x1b[A\x1b[1;5Hb\x07"
    assert parse(data) == parse(data, parser=XTermParser)
