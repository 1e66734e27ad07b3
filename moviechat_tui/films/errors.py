"""The errors of the film catalogue, each a `UserFacingError` whose `message` is one
translated line saying what happened and what to do — the CLI prints it and exits non-zero,
the UI shows it. None of them is ever raised with the previous catalogue damaged: every
failure below leaves the catalogue that was there answering as before.

    FilmsError
    ├── CatalogueMissing        no catalogue file yet (the CLI's exit 2 "how to get one")
    ├── CatalogueUnreadable     a file that is not a catalogue this version can read
    ├── ImportFailed            an import stopped (disk full, SQLite error, …)
    │   ├── DatasetError        a dataset file is unusable: truncated .gz, bad header (file:line)
    │   ├── ImportInterrupted   ctrl+c, or the caller's cancel event
    │   └── ImportBusy          another import of the same catalogue is running
    └── DownloadFailed          404, HTTP error, timeout, dropped connection (one line each)
        └── DownloadInterrupted ctrl+c, or the caller's cancel event
"""

from __future__ import annotations

import errno
from pathlib import Path

from moviechat_tui.core.errors import UserFacingError
from moviechat_tui.core.i18n import _
from moviechat_tui.core.text import one_line


class FilmsError(UserFacingError):
    """Base class of the catalogue's errors."""


class CatalogueMissing(FilmsError):
    def __init__(self, path: Path) -> None:
        super().__init__(_(
            "There is no film catalogue yet ({path}). Run `moviechat films update` to download "
            "IMDb's datasets, or `moviechat films import DIR` for files already on disk."
        ).format(path=path))
        self.path = path


class CatalogueUnreadable(FilmsError):
    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(_(
            "The film catalogue {path} cannot be read ({reason}). Run `moviechat films "
            "update` or `moviechat films import DIR` to build it again."
        ).format(path=path, reason=one_line(reason, 160)))
        self.path = path


class ImportFailed(FilmsError):
    """The import stopped; the catalogue that was there (if any) is unchanged."""


def _why_os(error: OSError) -> str:
    return {
        errno.ENOSPC: _("the disk is full"),
        errno.EDQUOT: _("the disk quota is exceeded"),
        errno.EFBIG: _("the file is too large"),
        errno.EACCES: _("permission denied"),
        errno.EPERM: _("permission denied"),
        errno.EROFS: _("the file system is read-only"),
    }.get(error.errno or 0) or one_line(error.strerror or str(error), 120)


def import_failed_writing(path: Path, reason: str | OSError) -> ImportFailed:
    """Writing the new catalogue failed (disk full, permissions, a SQLite error)."""
    why = _why_os(reason) if isinstance(reason, OSError) else one_line(reason, 160)
    return ImportFailed(_(
        "The import failed while writing {path}: {why}. The previous catalogue is unchanged."
    ).format(path=path, why=why))


class DatasetError(ImportFailed):
    """A dataset file cannot be read on: truncated or damaged .gz, a wrong header, an I/O
    error. `line` is the line being read when it happened (1 is the header)."""

    def __init__(self, path: Path, line: int, reason: str) -> None:
        super().__init__(_(
            "{file}, line {line}: {reason}. The import stopped; the previous catalogue is "
            "unchanged."
        ).format(file=path, line=line, reason=one_line(reason, 200)))
        self.path = path
        self.line = line
        self.reason = reason


class ImportInterrupted(ImportFailed):
    def __init__(self) -> None:
        super().__init__(_("The import was interrupted; the previous catalogue is unchanged."))


class ImportBusy(ImportFailed):
    def __init__(self, path: Path) -> None:
        super().__init__(_(
            "Another import of {path} is running; wait for it to finish."
        ).format(path=path))


class DownloadFailed(FilmsError):
    """A download stopped. Files already complete are as they were; a partly downloaded file
    is kept aside (`*.part`) and resumed by the next run."""


class DownloadInterrupted(DownloadFailed):
    def __init__(self) -> None:
        super().__init__(_(
            "The download was interrupted. Run `moviechat films update` again to resume it; "
            "the files downloaded before are unchanged."
        ))


def download_failed(url: str, why: str) -> DownloadFailed:
    return DownloadFailed(_(
        "Downloading {url} failed: {why}. The files downloaded before are unchanged; run "
        "`moviechat films update` again to retry."
    ).format(url=one_line(url, 200), why=why))
