"""80×24 in a real terminal, in English and Korean: the footer shows whole labels and ends with
the palette key — no label cut mid-word ("^r Regenera", "^t 페르소") and no stray character
after the palette key ("▏^p palettef")."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from moviechat_tui.core import i18n
from tests.e2e.test_tui import MOVIECHAT, app_env
from tests.support.loopback_server import LoopbackServer, Reply
from tests.support.terminal import Terminal

LABELS = ["Stop", "Regenerate", "Quit", "Help", "New", "Open", "Persona", "Copy", "Branch",
          "Older version", "Newer version", "Edit and resend", "Films", "Close", "palette"]
"""Every label the chat screen's footer can show (a focused question or reply included)."""
KEY = re.compile(r"^(\^[a-z]|esc|f\d{1,2}|[a-z]|←|→)$")


def _words(language: str) -> set[str]:
    i18n.set_language(language)
    try:
        return {word for label in LABELS for word in i18n._(label).split()}
    finally:
        i18n.set_language("en")


def _assert_footer_whole(row: str, words: set[str], palette: str) -> None:
    assert row.rstrip().endswith(f"▏^p {palette}"), row
    for token in row.replace("▏", " ").split():
        assert KEY.match(token) or token in words, f"{token!r} is not a whole label: {row!r}"


@pytest.mark.parametrize("language", ["en", "ko"])
def test_the_footer_at_80_columns_shows_whole_labels(tmp_path: Path, loopback: LoopbackServer,
                                                     language: str) -> None:
    loopback.default_reply = Reply(text="Ridley Scott directed Alien in 1979.", delay=0.01)
    words = _words(language)
    palette = "팔레트" if language == "ko" else "palette"
    with Terminal([*MOVIECHAT, "--lang", language, "--base-url", loopback.base_url],
                  cols=80, rows=24, env=app_env(tmp_path), cwd=tmp_path) as term:
        term.wait_for(lambda s: s.splitlines()[-1].rstrip().endswith(palette), timeout=20)
        _assert_footer_whole(term.lines()[-1], words, palette)
        term.send("Who directed Alien?")
        term.press("enter")
        term.wait_for("Ridley Scott directed", timeout=10)
        term.press("up")  # the reply has the focus: its keys join the footer
        copy = "복사" if language == "ko" else "Copy"
        screen = term.wait_for(lambda s: copy in s.splitlines()[-1], timeout=5)
        _assert_footer_whole(screen.splitlines()[-1], words, palette)
        term.press("ctrl+q")
        assert term.wait_exit(10) == 0
