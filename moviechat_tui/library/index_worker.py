"""The background indexer: a separate, low-priority process that reads the text of saved
conversations into the library index, so the first full-text search does not have to.

Why a process and not a thread: reading 10,000 conversations is ~15 s of TOML parsing, which
holds the GIL; in a thread it would stall key echo and streaming for that long. A process at
`nice` 10 uses the other core and leaves the app alone.

It is started at most once per app run, the first time the library is listed (ctrl+o or
`--continue`) with at least `BACKLOG_TO_SPAWN` conversations unread, and it never outlives
the app: it stops between batches once its parent is gone, and `IndexWorker.stop` terminates
it on quit. It leaves damaged files alone (`ConversationStore(repair=False)`): the app's own
search reads them, reports them and moves them aside.

Run by hand: `python -m moviechat_tui.library.index_worker CONVERSATIONS_DIR PARENT_PID`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
from pathlib import Path

__all__ = ["BACKLOG_TO_SPAWN", "IndexWorker", "main"]

log = logging.getLogger(__name__)

BACKLOG_TO_SPAWN = 300
"""Unread conversations from which a first search would take noticeably long (~0.5 s)."""
NICENESS = 10


class IndexWorker:
    """The app's handle on the indexer process (started at most once)."""

    def __init__(self, conversations_dir: Path) -> None:
        self.conversations_dir = conversations_dir
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def started(self) -> bool:
        return self._process is not None

    def start(self) -> None:
        if self._process is not None:
            return
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "moviechat_tui.library.index_worker",
                 str(self.conversations_dir), str(os.getpid())],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, close_fds=True,
            )
        except OSError as err:  # searching still works, it only reads the files itself
            log.warning("could not start the background indexer: %s", err)
            return
        log.info("background indexer started (pid %d)", self._process.pid)

    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def stop(self) -> None:
        """Terminate it (quitting must not wait for the index) and reap it."""
        process = self._process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or not args[1].isdigit():
        print("usage: python -m moviechat_tui.library.index_worker CONVERSATIONS_DIR PARENT_PID",
              file=sys.stderr)
        return 2
    directory, parent = Path(args[0]), int(args[1])
    with contextlib.suppress(OSError):
        os.nice(NICENESS)

    from moviechat_tui.library.index import LibraryIndex
    from moviechat_tui.storage.store import ConversationStore

    index = LibraryIndex(ConversationStore(directory, repair=False))
    index.fill_text(should_stop=lambda: os.getppid() != parent)
    return 0


if __name__ == "__main__":
    sys.exit(main())
