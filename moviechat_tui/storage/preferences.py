"""Choices the app remembers between runs (the theme picked in the palette, that the film
catalogue's import was offered, the models that refused tools, the MCP tools the user always
allows), kept apart from config.toml, which is the user's file and is never rewritten by the
app.

`state.toml` in the data dir; a missing or unreadable file means "nothing remembered" (it is
never worth an error), and writes are atomic like every other file we write (raising
`StoreWriteError` on failure). A change is read-modify-write (`update_preferences`), so
remembering one thing never forgets another: two parts of the app remember different things
in the same file.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import tomli_w

from moviechat_tui.core.data_layout import DataLayout
from moviechat_tui.core.records import Record, replace
from moviechat_tui.storage.files import write_atomically

_updating = threading.Lock()
"""Read-change-write of the file, one at a time (they run in worker threads)."""
NO_TOOLS_LIMIT = 200
"""Endpoint-and-model entries kept in `no_tools` (the oldest are forgotten first)."""


class Preferences(Record):
    theme: str | None = None
    films_offered: bool = False
    """The app said once how to get a film catalogue (session/films.py): not again."""
    no_tools: tuple[str, ...] = ()
    """Endpoints and models ("<endpoint> <model>") that answered a request offering tools
    with an error about tools: they get catalogue facts instead from then on."""
    mcp_always: tuple[str, ...] = ()
    """MCP tools ("<server> <tool>") the user chose to always allow: they run without asking
    (session/mcp/servers.py)."""


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
    no_tools = doc.get("no_tools")
    mcp_always = doc.get("mcp_always")
    return Preferences(
        theme=theme if isinstance(theme, str) else None,
        films_offered=doc.get("films_offered") is True,
        no_tools=tuple(entry for entry in no_tools if isinstance(entry, str))
        if isinstance(no_tools, list) else (),
        mcp_always=tuple(entry for entry in mcp_always if isinstance(entry, str))
        if isinstance(mcp_always, list) else ())


def save_preferences(data_dir: Path, prefs: Preferences) -> None:
    doc: dict[str, Any] = {}
    if prefs.theme:
        doc["theme"] = prefs.theme
    if prefs.films_offered:
        doc["films_offered"] = True
    if prefs.no_tools:
        doc["no_tools"] = list(prefs.no_tools[-NO_TOOLS_LIMIT:])
    if prefs.mcp_always:
        doc["mcp_always"] = list(prefs.mcp_always)
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_atomically(DataLayout(data_dir).state_file, tomli_w.dumps(doc).encode("utf-8"))


def update_preferences(data_dir: Path, **changes: Any) -> Preferences:
    """Change some choices, keep the rest (`update_preferences(d, theme="nord")`)."""
    with _updating:
        prefs = replace(load_preferences(data_dir), **changes)
        save_preferences(data_dir, prefs)
    return prefs
