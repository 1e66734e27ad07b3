"""A static file server on 127.0.0.1 for the dataset download tests, with the HTTP features
and faults the downloader must handle: ETag and Last-Modified (304 to a matching
`If-None-Match` / `If-Modified-Since`), `Range: bytes=N-` with `If-Range` (206, or the whole
file when the validator no longer matches), 404 or any status per file, a connection dropped
in the middle of a body, and a server that stalls mid-body (for timeouts).

    with FileServer({"title.basics.tsv.gz": data}) as server:
        server.drop_after["title.basics.tsv.gz"] = 100_000    # next response: cut there
        download_datasets(folder, base_url=server.base_url, ...)
        server.requests                                        # [(name, headers), ...]

Stdlib only, `ThreadingHTTPServer` in a background thread (like loopback_server.py), so a
real urllib client in the test talks to it over real sockets. By hand:

    python -m tests.support.file_server DIR --port 8766     # serves DIR's files under /data/
"""

from __future__ import annotations

import argparse
import hashlib
import socket
import sys
import threading
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

PREFIX = "/data/"
CHUNK = 16 * 1024


class FileServer:
    def __init__(self, files: dict[str, bytes] | None = None, *, host: str = "127.0.0.1",
                 port: int = 0) -> None:
        self.files: dict[str, bytes] = dict(files or {})
        self.modified: dict[str, float] = {}
        self.status: dict[str, int] = {}
        """name → HTTP status to answer instead of the file (404, 500, …)."""
        self.drop_after: dict[str, int] = {}
        """name → bytes of body to send before cutting the connection (once)."""
        self.stall_after: dict[str, int] = {}
        """name → bytes of body to send before going silent (until `stop`)."""
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = _Server((host, port), self)
        self._thread: threading.Thread | None = None

    def put(self, name: str, data: bytes, *, modified: float = 1_700_000_000.0) -> None:
        """Serve (or replace) a file; a new `modified` time and content give a new ETag."""
        self.files[name] = data
        self.modified[name] = modified

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}{PREFIX}"

    def start(self) -> FileServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,),
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FileServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def requests_for(self, name: str) -> list[dict[str, str]]:
        with self._lock:
            return [headers for path, headers in self.requests if path == name]

    # -- used by the handler ------------------------------------------------------------------

    def etag(self, name: str) -> str:
        digest = hashlib.sha1(self.files[name]).hexdigest()[:16]
        return f'"{digest}-{int(self.modified.get(name, 1_700_000_000.0))}"'

    def last_modified(self, name: str) -> str:
        return formatdate(self.modified.get(name, 1_700_000_000.0), usegmt=True)

    def record(self, name: str, headers: dict[str, str]) -> None:
        with self._lock:
            self.requests.append((name, headers))

    def take(self, table: dict[str, int], name: str) -> int | None:
        with self._lock:
            return table.pop(name, None)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], owner: FileServer) -> None:
        self.owner = owner
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError | OSError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    @property
    def owner(self) -> FileServer:
        server = self.server
        assert isinstance(server, _Server)
        return server.owner

    def do_GET(self) -> None:
        owner = self.owner
        name = self.path[len(PREFIX):] if self.path.startswith(PREFIX) else ""
        owner.record(name, dict(self.headers.items()))
        self.close_connection = True
        status = owner.status.get(name)
        if name not in owner.files or status == 404:
            self._empty(404, "Not Found")
            return
        if status is not None:
            self._empty(status, "Scripted failure")
            return
        data = owner.files[name]
        etag = owner.etag(name)
        last_modified = owner.last_modified(name)
        if self._not_modified(etag, owner.modified.get(name, 1_700_000_000.0)):
            self.send_response(304)
            self.send_header("ETag", etag)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        start = self._range_start(etag, last_modified)
        if start is not None and start >= len(data):
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{len(data)}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if start is not None:
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
            start = 0
        self.send_header("Content-Type", "application/gzip")
        self.send_header("Content-Length", str(len(data) - start))
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", last_modified)
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        self._body(name, data[start:])

    def _empty(self, status: int, reason: str) -> None:
        self.send_response(status, reason)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _not_modified(self, etag: str, modified: float) -> bool:
        if_none_match = self.headers.get("If-None-Match")
        if if_none_match is not None:
            return etag in [tag.strip() for tag in if_none_match.split(",")]
        since = self.headers.get("If-Modified-Since")
        if since:
            try:
                return parsedate_to_datetime(since).timestamp() >= int(modified)
            except (TypeError, ValueError):
                return False
        return False

    def _range_start(self, etag: str, last_modified: str) -> int | None:
        value = self.headers.get("Range", "")
        if not value.startswith("bytes=") or not value.endswith("-"):
            return None
        if_range = self.headers.get("If-Range")
        if if_range is not None and if_range not in (etag, last_modified):
            return None  # the file changed: send it whole
        try:
            return int(value[len("bytes="):-1])
        except ValueError:
            return None

    def _body(self, name: str, body: bytes) -> None:
        owner = self.owner
        drop = owner.take(owner.drop_after, name)
        stall = owner.take(owner.stall_after, name)
        sent = 0
        while sent < len(body):
            if drop is not None and sent >= drop:
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if stall is not None and sent >= stall:
                self.wfile.flush()
                owner._stopping.wait()
                return
            limit = min(len(body), sent + CHUNK,
                        *(x for x in (drop, stall) if x is not None and x > sent))
            self.wfile.write(body[sent:limit])
            sent = limit
        self.wfile.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.file_server")
    parser.add_argument("folder", type=Path)
    parser.add_argument("--port", type=int, default=8766)
    args = parser.parse_args(argv)
    files = {p.name: p.read_bytes() for p in args.folder.iterdir() if p.is_file()}
    server = FileServer(files, port=args.port).start()
    print(server.base_url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
