"""File primitives for the store: atomic replace, an inter-process lock, quarantine.

Kept apart from `store.py` because they know nothing about conversations, and each exists for
one measured failure: half-written files after a crash, 286 of 600 updates lost by two
unlocked processes, and damaged files that must be moved aside instead of overwritten.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from moviechat_tui.storage.errors import StoreWriteError

log = logging.getLogger(__name__)


def quarantine(path: Path) -> Path | None:
    """Rename a damaged file to `<name>.corrupt` (plus a timestamp if taken). Uses link +
    unlink, because `rename` would silently replace an earlier `.corrupt` file."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    candidates = [f"{path.name}.corrupt", f"{path.name}.corrupt-{stamp}"]
    candidates += [f"{path.name}.corrupt-{stamp}-{n}" for n in range(1, 100)]
    for name in candidates:
        target = path.with_name(name)
        try:
            os.link(path, target, follow_symlinks=False)
        except FileExistsError:
            continue
        except OSError:  # no hard links here (some FUSE/FAT): rename, checking first
            if target.exists() or target.is_symlink():
                continue
            try:
                os.rename(path, target)
            except OSError as err:
                log.warning("could not quarantine %s: %s", path, err)
                return None
            return target
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        return target
    return None


def write_atomically(path: Path, data: bytes) -> None:
    """mkstemp in the same directory, write, fsync, rename over, fsync the directory.

    The temporary name starts with a dot and ends in `.tmp`, so listing ignores it; on any
    failure it is removed and the old file is as it was.
    """
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        tmp = None
    except OSError as err:
        raise StoreWriteError(path, err) from err
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass  # some file systems cannot fsync a directory; the rename is done anyway
    finally:
        os.close(dir_fd)


@contextlib.contextmanager
def exclusive_lock(lock_path: Path, report_as: Path | None = None) -> Iterator[None]:
    """Hold an exclusive `flock` on `lock_path` for the block. Each call opens the file anew,
    so it excludes other threads of this process as well as other processes; the lock goes
    away with the process if it dies. If the lock cannot be taken (a read-only directory),
    `StoreWriteError` names `report_as`: the user knows the conversation, not its lock."""
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as err:
        raise StoreWriteError(report_as or lock_path, err) from err
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock
