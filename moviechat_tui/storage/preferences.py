"""Choices the app remembers between runs (the theme picked in the palette), kept apart from
config.toml, which is the user's file and is never rewritten by the app.

`state.toml` in the data dir; a missing or unreadable file means "nothing remembered" (it is
never worth an error), and writes are atomic like every other file we write (raising
`StoreWriteError` on failure).
"""

from __future__ import annotations

from pathlib import Path

import tomli_w

from moviechat_tui.core.data_layout import DataLayout
from moviechat_tui.core.records import Record
from moviechat_tui.storage.files import write_atomically


class Preferences(Record):
    theme: str | None = None


def load_preferences(data_dir: Path) -> Preferences:
    try:
        text = DataLayout(data_dir).state_file.read_text("utf-8")
    except (OSError, UnicodeDecodeError):
        return Preferences()
    import tomllib  # only with a state file to read: a first start has none

    try:
        doc = tomllib.loads(text)
    except (ValueError, RecursionError):  # not TOML, or TOML Python cannot hold: ignored
        return Preferences()
    theme = doc.get("theme")
    return Preferences(theme=theme if isinstance(theme, str) else None)


def save_preferences(data_dir: Path, prefs: Preferences) -> None:
    doc: dict[str, object] = {}
    if prefs.theme:
        doc["theme"] = prefs.theme
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_atomically(DataLayout(data_dir).state_file, tomli_w.dumps(doc).encode("utf-8"))
