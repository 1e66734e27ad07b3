"""The conversations directory, read in one pass: which entries are conversations, and a key
that changes whenever one of them does.

Two readers walk the whole directory — the store's listing (`ConversationStore.list_summaries`)
and the library index (`library/index.py`) — and both must agree on what a conversation file
is: otherwise a file listed by one would be missing from the other's search. So the names
(`<id>.toml`, `<id>.d/`, the id rule) and the walk live here, once.

What counts as a conversation: a regular file `<id>.toml` whose id follows `VALID_ID`, and
that is not a symbolic link leading out of the directory. Lock files, temporary files of an
interrupted save, quarantined `*.corrupt` files and anything else are not conversations.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

CONVERSATION_SUFFIX = ".toml"
SEGMENTS_SUFFIX = ".d"
"""`<id>.d/` holds a long conversation's sealed segments."""
VALID_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
"""A conversation id, and so a file name: nothing that could lead out of the directory."""


class ConversationFile(NamedTuple):
    """One conversation found by `scan` (a named tuple: a listing makes 10,000 of them)."""

    id: str
    path: str
    """As `os.scandir` gives it (no `Path` made per file: a listing makes 10,000)."""
    key: str
    """Changes whenever the file does: its inode, size, modification and change times (and,
    when asked for, those of its segment directory and of every file in it)."""


def conversation_id(name: str) -> str | None:
    """The id a directory entry named `name` is the main file of, or None."""
    conv_id = name.removesuffix(CONVERSATION_SUFFIX)
    if conv_id == name or not VALID_ID.fullmatch(conv_id):
        return None
    return conv_id


def _stat_key(st: os.stat_result) -> str:
    return f"{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}"


def _segments_key(directory: os.DirEntry[str]) -> str:
    """The key of a segment directory: its own stat (files renamed in or out) and each file's
    (one edited in place by another tool), as a short digest."""
    parts = [_stat_key(directory.stat(follow_symlinks=False))]
    with os.scandir(directory.path) as entries:
        parts += sorted(f"{e.name}={_stat_key(e.stat(follow_symlinks=False))}"
                        for e in entries)
    return hashlib.blake2b("/".join(parts).encode("utf-8", "surrogateescape"),
                           digest_size=12).hexdigest()


def scan(directory: Path, is_ours: Callable[[Path], bool], *,
         with_segments: bool = False) -> list[ConversationFile]:
    """Every conversation file in `directory` (one `os.scandir`, one `stat` per file).

    `is_ours(path)` says whether a symbolic link may be followed (the store's rule: not when
    it leads outside the directory). `with_segments` adds the segment directory's state to
    each key, for a reader that keeps a conversation's messages (the index); the main file
    alone changes on every save, which is enough for one that keeps only the header.

    An empty list when the directory does not exist; raises `OSError` when it cannot be read.
    Entries that vanish while it runs are left out.
    """
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return []
    found: list[ConversationFile] = []
    segment_dirs: dict[str, os.DirEntry[str]] = {}
    for entry in entries:
        name = entry.name
        if name.endswith(SEGMENTS_SUFFIX):
            if with_segments:
                segment_dirs[name.removesuffix(SEGMENTS_SUFFIX)] = entry
            continue
        conv_id = conversation_id(name)
        if conv_id is None:
            continue  # lock files, temporary files, quarantined files, strangers
        try:
            if entry.is_symlink() and not is_ours(Path(entry.path)):
                continue  # a link leading out of the directory is never read
            st = entry.stat()
        except OSError:
            continue  # vanished since the scan
        if stat.S_ISREG(st.st_mode):
            found.append(ConversationFile(conv_id, entry.path, _stat_key(st)))
    if not segment_dirs:
        return found
    keyed = []
    for file in found:
        side = segment_dirs.get(file.id)
        key = file.key
        if side is not None:
            try:
                if side.is_dir(follow_symlinks=False):
                    key = f"{key}|{_segments_key(side)}"
            except OSError:
                pass  # vanished since the scan: the main file's key says the rest
        keyed.append(file._replace(key=key) if key != file.key else file)
    return keyed
