"""`films update`: fetch the six `*.tsv.gz` files from a base URL into a downloads folder.

    report = download_datasets(downloads_dir, base_url=DEFAULT_SOURCE,
                               on_progress=lambda p: bar.update(p.file, p.done, p.total))
    if needs_import(downloads_dir, catalogue_path):     # importer.py
        import_catalogue(downloads_dir, catalogue_path, source=report.base_url)

Any base URL holding the same file names works (IMDb's, a mirror, the tests' loopback
server). Only the standard library is used (urllib honours the usual proxy variables and
follows redirects); a dependency would add nothing these few requests need.

What it guarantees:

- **Unchanged files are not downloaded again.** Each complete file has a sidecar
  (`title.basics.tsv.gz.json`: URL, ETag, Last-Modified, size); the next run asks with
  `If-None-Match` / `If-Modified-Since` and a 304 costs one request.
- **An interrupted download resumes.** Bytes go to `name.part` (with its own sidecar,
  written before the first byte), and a dropped connection is resumed at once with
  `Range` + `If-Range` (up to `retries` times); ctrl+c, a timeout or an HTTP error leave the
  `.part` for the next run, which resumes it the same way. If the file changed on the
  server meanwhile, `If-Range` makes the server send it whole, so versions never mix.
- **A partial file never replaces a complete one, and a failed run changes nothing.** The
  finished `.part` files are renamed over the old files only when *all* requested files
  are complete, so the folder never holds a mix of old and new datasets; a failure (404,
  another HTTP error, a timeout, a dropped connection after the retries, ctrl+c or
  `cancel.set()`) raises one `DownloadFailed` (or `DownloadInterrupted`) and leaves every
  complete file as it was.

Progress: `on_progress(DownloadProgress)` after each block read (64 KB), with the bytes of
the current file on disk and its size when the server said it — enough for `rich`'s
progress bar to show rate and time left (one task per file).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from moviechat_tui import __version__
from moviechat_tui.core.i18n import _
from moviechat_tui.core.records import Record
from moviechat_tui.films.datasets import DATASETS, Dataset
from moviechat_tui.films.errors import DownloadFailed, DownloadInterrupted, download_failed
from moviechat_tui.storage.errors import StoreWriteError
from moviechat_tui.storage.files import write_atomically

DEFAULT_SOURCE = "https://datasets.imdbws.com/"
TIMEOUT_S = 30.0
"""No byte for this long (connecting or reading) is a failed download."""
RETRIES = 3
"""Resumes tried at once after a dropped connection, per file."""
BLOCK = 64 * 1024

UNCHANGED, DOWNLOADED, RESUMED = "unchanged", "downloaded", "resumed"


class DownloadProgress(Record):
    file: str
    """The file name (`title.akas.tsv.gz`)."""
    done: int
    """Bytes of it on disk so far (a resumed file starts where it stopped)."""
    total: int | None
    """Its size, when the server said; None otherwise."""
    index: int
    """1-based position of this file in the run, of `count`."""
    count: int


class FileResult(Record):
    name: str
    status: str
    """UNCHANGED (the server said 304), DOWNLOADED, or RESUMED (part of it came from an
    earlier, interrupted run or a dropped connection)."""
    size: int


class DownloadReport(Record):
    base_url: str
    folder: Path
    files: tuple[FileResult, ...]

    @property
    def changed(self) -> bool:
        """True if any file is new: time to import."""
        return any(f.status != UNCHANGED for f in self.files)


class _Dropped(Exception):
    """The connection ended before the body did (resumable); `done` bytes are on disk."""

    def __init__(self, done: int) -> None:
        super().__init__(done)
        self.done = done


class _RangeNotSatisfiable(Exception):
    """416 to a Range request: the part may already be whole."""


def download_datasets(folder: Path, *, base_url: str = DEFAULT_SOURCE,
                      datasets: Iterable[Dataset] = DATASETS,
                      on_progress: Callable[[DownloadProgress], None] | None = None,
                      cancel: threading.Event | None = None, timeout: float = TIMEOUT_S,
                      retries: int = RETRIES) -> DownloadReport:
    """Bring `folder` up to date with the files at `base_url` (see the module docstring).
    Raises `DownloadFailed` / `DownloadInterrupted`; runs in the calling thread."""
    folder = Path(folder)
    base = base_url if base_url.endswith("/") else base_url + "/"
    wanted = list(datasets)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise _write_failed(folder, err) from err
    results: list[FileResult] = []
    try:
        for index, dataset in enumerate(wanted, 1):
            fetch = _Fetch(folder, base + dataset.file_name, dataset.file_name, index,
                           len(wanted), on_progress, cancel, timeout, retries)
            results.append(fetch.run())
        for result in results:
            if result.status != UNCHANGED:
                _commit(folder / result.name)
        _fsync_dir(folder)
    except KeyboardInterrupt:
        raise DownloadInterrupted() from None
    return DownloadReport(base, folder, tuple(results))


def _write_failed(path: Path, err: OSError) -> DownloadFailed:
    return DownloadFailed(StoreWriteError(path, err).message)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_json(path: Path, data: dict[str, Any]) -> None:
    try:
        write_atomically(path, json.dumps(data, sort_keys=True).encode("utf-8"))
    except StoreWriteError as err:
        raise DownloadFailed(err.message) from err


def _commit(final: Path) -> None:
    """Move a complete `.part` (and its sidecar) over the file: data first, so a crash in
    between leaves old validators with new bytes (re-downloaded next time), never the other
    way round (stale bytes kept as current)."""
    part = final.with_name(final.name + ".part")
    part_meta = final.with_name(final.name + ".part.json")
    meta = _read_json(part_meta) or {}
    meta.pop("complete", None)
    try:
        os.replace(part, final)
    except OSError as err:
        raise _write_failed(final, err) from err
    _write_json(final.with_name(final.name + ".json"), meta)
    with contextlib.suppress(OSError):
        part_meta.unlink()


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


class _Fetch:
    """One file: decide the request (conditional, resumed or plain), stream the body into
    `.part`, retry a dropped connection with a Range request."""

    def __init__(self, folder: Path, url: str, name: str, index: int, count: int,
                 on_progress: Callable[[DownloadProgress], None] | None,
                 cancel: threading.Event | None, timeout: float, retries: int) -> None:
        self.url = url
        self.name = name
        self.final = folder / name
        self.part = folder / (name + ".part")
        self.part_meta = folder / (name + ".part.json")
        self.index = index
        self.count = count
        self.on_progress = on_progress
        self.cancel = cancel
        self.timeout = timeout
        self.retries = retries
        self.resumed = False

    def run(self) -> FileResult:
        done_meta = _read_json(self.final.with_name(self.name + ".json"))
        part_meta = _read_json(self.part_meta)
        if not self.part.exists() or part_meta is None or part_meta.get("url") != self.url:
            part_meta = None
        if part_meta is not None and part_meta.get("complete"):
            # Finished by an earlier run that failed on another file: still current?
            if self._get(conditional=part_meta) is None:
                return FileResult(self.name, DOWNLOADED, self.part.stat().st_size)
            return self._result()
        if part_meta is not None and self.part.stat().st_size > 0 and _validator(part_meta):
            self._resume(part_meta)
            return self._result()
        conditional = (done_meta if self.final.exists() and done_meta is not None
                       and done_meta.get("url") == self.url else None)
        if self._get(conditional=conditional) is None:
            return FileResult(self.name, UNCHANGED, self.final.stat().st_size)
        return self._result()

    def _result(self) -> FileResult:
        return FileResult(self.name, RESUMED if self.resumed else DOWNLOADED,
                          self.part.stat().st_size)

    # -- requests ---------------------------------------------------------------------------

    def _open(self, headers: dict[str, str]) -> http.client.HTTPResponse | None:
        """The response, or None for 304 Not Modified. Raises DownloadFailed otherwise."""
        request = urllib.request.Request(self.url, headers={
            "User-Agent": f"moviechat-tui/{__version__}", "Accept-Encoding": "identity",
            **headers})
        try:
            response: http.client.HTTPResponse = urllib.request.urlopen(
                request, timeout=self.timeout)
            return response
        except urllib.error.HTTPError as err:
            if err.code == 304:
                return None
            if err.code == 416 and "Range" in headers:
                raise _RangeNotSatisfiable() from None
            if err.code == 404:
                raise download_failed(self.url, _(
                    "the server has no such file (404); check the source URL")) from None
            raise download_failed(self.url, _("the server answered {status} {reason}").format(
                status=err.code, reason=err.reason)) from None
        except urllib.error.URLError as err:
            reason = err.reason
            if isinstance(reason, TimeoutError):
                raise self._timed_out() from None
            raise download_failed(self.url, _("could not connect ({reason})").format(
                reason=reason)) from None
        except TimeoutError:
            raise self._timed_out() from None
        except (http.client.HTTPException, ConnectionError, OSError) as err:
            raise download_failed(self.url, _("could not connect ({reason})").format(
                reason=err)) from None

    def _timed_out(self) -> DownloadFailed:
        return download_failed(self.url, _(
            "the server sent nothing for {seconds:g} seconds").format(seconds=self.timeout))

    def _get(self, *, conditional: dict[str, Any] | None) -> int | None:
        """A whole-file GET into `.part` (conditional on `conditional`'s validators):
        None if the server said 304, else the size written."""
        headers: dict[str, str] = {}
        if conditional is not None:
            if conditional.get("etag"):
                headers["If-None-Match"] = conditional["etag"]
            if conditional.get("last_modified"):
                headers["If-Modified-Since"] = conditional["last_modified"]
        response = self._open(headers)
        if response is None:
            return None
        with response:
            total = _length(response)
            self._start_part(response, total)
            return self._stream(response, 0, total, truncate=True)

    def _resume(self, meta: dict[str, Any]) -> None:
        """Continue `.part` from its size with Range + If-Range; a changed file comes back
        whole (200) and replaces the part."""
        offset = self.part.stat().st_size
        headers = {"Range": f"bytes={offset}-", "If-Range": _validator(meta)}
        try:
            response = self._open(headers)
        except _RangeNotSatisfiable:  # nothing left to send, or the part is too long
            if meta.get("total") == offset:
                self._finish_part(offset, offset)
                return
            self._drop_part()
            self._get(conditional=None)
            return
        if response is None:  # 304 to a range request: not expected; start over
            self._drop_part()
            self._get(conditional=None)
            return
        with response:
            if response.status == 206:
                start, total = _content_range(response)
                if start == offset:
                    self.resumed = True
                    self._stream(response, offset, total, truncate=False)
                    return
            total = _length(response)
            self._start_part(response, total)
            self._stream(response, 0, total, truncate=True)

    def _start_part(self, response: http.client.HTTPResponse, total: int | None) -> None:
        """Record where the bytes come from before the first one is written."""
        _write_json(self.part_meta, {
            "url": self.url, "etag": response.headers.get("ETag"),
            "last_modified": response.headers.get("Last-Modified"), "total": total,
            "complete": False})

    def _drop_part(self) -> None:
        for path in (self.part, self.part_meta):
            with contextlib.suppress(OSError):
                path.unlink()

    def _stream(self, response: http.client.HTTPResponse, offset: int, total: int | None,
                *, truncate: bool) -> int:
        """Write the body from `offset`; after a dropped connection, resume with Range up to
        `retries` times. Returns the final size."""
        attempts = 0
        while True:
            try:
                size = self._copy(response, offset, total, truncate=truncate)
            except _Dropped as dropped:
                attempts += 1
                offset = dropped.done
                meta = _read_json(self.part_meta) or {}
                if attempts > self.retries or not _validator(meta):
                    raise download_failed(self.url, _(
                        "the connection dropped after {done} of {total}; run again to "
                        "resume").format(done=_megabytes(offset),
                                         total=_megabytes(total) if total else "?")) from None
                response.close()
                try:
                    reopened = self._open({"Range": f"bytes={offset}-",
                                           "If-Range": _validator(meta)})
                except _RangeNotSatisfiable:
                    reopened = None
                if reopened is None:  # neither the rest nor the whole file: start over later
                    self._drop_part()
                    raise download_failed(self.url, _(
                        "the server would not continue the interrupted download")) from None
                response = reopened
                if response.status == 206 and _content_range(response)[0] == offset:
                    self.resumed = True
                    truncate = False
                else:  # the file changed on the server: take it whole
                    total = _length(response)
                    self._start_part(response, total)
                    offset, truncate = 0, True
                continue
            self._finish_part(size, total)
            return size

    def _copy(self, response: http.client.HTTPResponse, offset: int, total: int | None, *,
              truncate: bool) -> int:
        done = offset
        try:
            with open(self.part, "wb" if truncate else "ab") as out:
                try:
                    self._report(done, total)
                    while True:
                        if self.cancel is not None and self.cancel.is_set():
                            raise KeyboardInterrupt
                        try:
                            block = response.read(BLOCK)
                        except TimeoutError:
                            raise self._timed_out() from None
                        except (http.client.IncompleteRead, ConnectionError,
                                http.client.HTTPException) as err:
                            if isinstance(err, http.client.IncompleteRead) and err.partial:
                                out.write(err.partial)
                                done += len(err.partial)
                            raise _Dropped(done) from None
                        if not block:
                            break
                        out.write(block)
                        done += len(block)
                        self._report(done, total)
                finally:
                    out.flush()
                    os.fsync(out.fileno())
        except OSError as err:
            raise _write_failed(self.part, err) from err
        if total is not None and done < total:
            raise _Dropped(done)
        return done

    def _finish_part(self, size: int, total: int | None) -> None:
        if total is not None and size != total:
            raise download_failed(self.url, _(
                "the server sent {done} instead of {total}").format(
                    done=_megabytes(size), total=_megabytes(total)))
        meta = _read_json(self.part_meta) or {"url": self.url}
        meta.update(complete=True, total=size)
        _write_json(self.part_meta, meta)

    def _report(self, done: int, total: int | None) -> None:
        if self.on_progress is not None:
            self.on_progress(DownloadProgress(self.name, done, total, self.index, self.count))


def _validator(meta: dict[str, Any]) -> str:
    """What `If-Range` can compare: the ETag (if strong), else Last-Modified, else ''."""
    etag = meta.get("etag") or ""
    if etag and not etag.startswith("W/"):
        return str(etag)
    last_modified = meta.get("last_modified") or ""
    if last_modified:
        with contextlib.suppress(TypeError, ValueError):
            parsedate_to_datetime(last_modified)
            return str(last_modified)
    return ""


def _length(response: http.client.HTTPResponse) -> int | None:
    value = response.headers.get("Content-Length")
    return int(value) if value and value.isdigit() else None


def _content_range(response: http.client.HTTPResponse) -> tuple[int, int | None]:
    """`bytes 100-199/1000` → (100, 1000); (-1, None) if absent or unreadable."""
    value = response.headers.get("Content-Range", "")
    try:
        _unit, _, rest = value.partition(" ")
        span, _, size = rest.partition("/")
        start = int(span.split("-")[0])
        return start, (int(size) if size.isdigit() else None)
    except ValueError:
        return -1, None
