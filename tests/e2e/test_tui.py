"""End to end in a real terminal: the `moviechat` program in a pty, against the loopback server.

What is checked is what a person at the keyboard would see: the screen (emulated by pyte, see
tests/support/terminal.py), the exit code, and the raw bytes the program sent to the terminal.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from moviechat_tui import __version__
from tests.support.loopback_server import LoopbackServer, Reply
from tests.support.terminal import Terminal

MOVIECHAT = [sys.executable, "-m", "moviechat_tui"]
QUESTION = "Who directed Alien?"
ANSWER = "Ridley Scott directed Alien in 1979."
TRICKY_QUESTION = "Is [b]this[/b] bold or [red]red[/]?"
# A reply that tries Textual markup (a click action that would quit), an unbalanced "[/" and an
# OSC 52 "write the clipboard" sequence. Sent four characters per chunk, so the escape
# sequence arrives split across chunks.
HOSTILE_REPLY = ("Try [@click=app.quit]x[/] and a lone [/ bracket "
                 "\x1b]52;c;SGk=\x07then the end.")


def app_env(tmp_path: Path) -> dict[str, str]:
    """The user's environment minus anything that points at real settings or keys."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OPENAI_", "MOVIECHAT_", "XDG_"))}
    env.update(
        HOME=str(tmp_path),
        MOVIECHAT_DATA_DIR=str(tmp_path / "data"),
        MOVIECHAT_LOG_DIR=str(tmp_path / "logs"),
        MOVIECHAT_CONFIG=str(tmp_path / "no-such-dir" / "config.toml"),
        LANGUAGE="en",
        LC_ALL="C.UTF-8",
    )
    return env


@pytest.fixture
def term(tmp_path: Path, loopback: LoopbackServer) -> Iterator[Terminal]:
    loopback.default_reply = Reply(text=ANSWER, delay=0.01)
    with Terminal([*MOVIECHAT, "--base-url", loopback.base_url], cols=80, rows=24,
                  env=app_env(tmp_path), cwd=tmp_path) as terminal:
        yield terminal


def header(screen: str) -> str:
    return screen.splitlines()[0]


def test_chat_help_persona_and_hostile_reply_in_a_real_terminal(
        term: Terminal, loopback: LoopbackServer) -> None:
    term.wait_for(lambda s: "Lights down" in s and "Ask about a film" in s, timeout=20)
    assert "Movie expert" in header(term.display())

    term.send(QUESTION)
    term.press("enter")
    screen = term.wait_for(ANSWER, timeout=10)
    lines = screen.splitlines()
    asked = next(i for i, line in enumerate(lines) if i and QUESTION in line)
    answered = next(i for i, line in enumerate(lines) if ANSWER in line)
    assert asked < answered, screen
    assert "Lights down" not in screen  # the greeting made way for the conversation

    # F1: the keys, with the quit key spelled out (the footer only says "^q").
    assert "Ctrl+Q" not in screen
    term.press("f1")
    term.wait_for("moviechat — keys", timeout=5)
    term.press("end")  # at 80x24 the last rows are below: the help scrolls
    screen = term.wait_for("Ctrl+Q", timeout=5)
    term.press("escape")
    screen = term.wait_for(lambda s: "moviechat — keys" not in s and ANSWER in s, timeout=5)
    assert "Ctrl+Q" not in screen

    # ctrl+t: the next persona, named in the header, with a divider in the conversation.
    term.press("ctrl+t")
    screen = term.wait_for(lambda s: "Film critic" in header(s), timeout=5)
    assert "Movie expert" not in header(screen)
    term.wait_for("Persona: Film critic", timeout=5)

    # A reply full of markup and a clipboard escape is shown as text and changes nothing.
    loopback.push(Reply(text=HOSTILE_REPLY, chunk_size=4, delay=0.01))
    term.send(TRICKY_QUESTION)
    term.press("enter")
    screen = term.wait_for("then the end.", timeout=10)
    assert TRICKY_QUESTION in screen, screen  # the user's own brackets are text as well
    assert "[@click=app.quit]x[/]" in screen, screen
    assert "a lone [/ bracket" in screen, screen
    assert "SGk=" not in screen and "52;c" not in screen, screen
    assert "Film critic" in header(screen)
    time.sleep(0.3)  # a quit triggered by the markup would show up as an exit here
    assert term.returncode is None, "the app quit on its own"
    assert b"\x1b]52" not in term.output

    term.press("ctrl+q")
    assert term.wait_exit(10) == 0
    assert b"\x1b]52" not in term.output


@pytest.mark.parametrize(("flag", "expected"), [
    ("--version", f"moviechat {__version__}"),
    ("--help", "--local"),
])
def test_version_and_help_answer_at_once(tmp_path: Path, flag: str, expected: str) -> None:
    started = time.monotonic()
    out = subprocess.run([*MOVIECHAT, flag], capture_output=True, text=True, timeout=30,
                         env=app_env(tmp_path), cwd=tmp_path)
    elapsed = time.monotonic() - started
    assert out.returncode == 0, out.stderr
    assert expected in out.stdout
    assert elapsed < 2.0, f"moviechat {flag} took {elapsed:.2f} s"


def saved_reply(data_dir: Path) -> dict[str, object]:
    import tomllib

    (path,) = (data_dir / "conversations").glob("*.toml")
    messages = tomllib.loads(path.read_text(encoding="utf-8"))["messages"]
    reply: dict[str, object] = messages[-1]
    return reply


@pytest.mark.parametrize(("signum", "restores_terminal"), [
    (signal.SIGTERM, True),   # `kill`, a system shutdown: the terminal is still there
    (signal.SIGHUP, False),   # the terminal window was closed: nothing left to restore
])
def test_kill_or_a_closed_terminal_quits_like_ctrl_q_and_keeps_the_reply(
        tmp_path: Path, loopback: LoopbackServer, signum: int,
        restores_terminal: bool) -> None:
    """Without its own handler the app died at once: the reply lost up to its last periodic
    save, and (after `kill`) the shell left in the app's screen and mouse modes."""
    words = " ".join(f"take{i}" for i in range(2000))
    loopback.default_reply = Reply(text=words, delay=0.01)
    with Terminal([*MOVIECHAT, "--base-url", loopback.base_url], cols=80, rows=24,
                  env=app_env(tmp_path), cwd=tmp_path) as term:
        term.wait_for("Ask about a film", timeout=20)
        term.send(QUESTION)
        term.press("enter")
        term.wait_for("take150", timeout=20)
        shown = max(int(word[4:]) for word in term.display().split()
                    if word.startswith("take") and word[4:].isdigit())
        term.kill(signum)
        if signum == signal.SIGHUP:
            term.kill(signum)  # a closing terminal's shell passes the hangup on: a second one
        assert term.wait_exit(15) == 128 + signum
        if restores_terminal:
            out = bytes(term.output)
            assert out.rfind(b"\x1b[?1049l") > out.rfind(b"\x1b[?1049h")  # the shell's screen
            assert out.rfind(b"\x1b[?1000l") > out.rfind(b"\x1b[?1000h")  # no mouse reports
    reply = saved_reply(tmp_path / "data")
    assert reply["finish_reason"] == "cancelled"
    content = str(reply["content"])
    assert f"take{shown}" in content.split()  # all that was on screen (and what followed)
    assert words.startswith(content.rstrip())


PASTE = b"\x1b[200~nul\x00here \x1b[31mred\x1b[0m bell\x07 end\x1b[201~"
"""Issue 16, C19: arrived as `^[31mred^[0m bell endnulhere` (Textual's parser read the ESC as
a key sequence, the text before it came last, and the BEL as the key ctrl+g)."""


def test_a_bracketed_paste_keeps_its_order_in_the_prompt_and_the_rename_dialog(
        term: Terminal, loopback: LoopbackServer) -> None:
    term.wait_for("Ask about a film", timeout=20)
    term.send(PASTE)
    screen = term.wait_for("nulhere red bell end", timeout=5)
    assert "^[" not in screen
    term.press("enter")
    term.wait_for(ANSWER, timeout=10)
    assert loopback.last_request["messages"][-1]["content"] == "nulhere red bell end"
    # The same paste in the rename dialog (ctrl+p → "Rename conversation…"): in order.
    term.press("ctrl+p")
    term.wait_for("Search for commands", timeout=5)
    term.send("Rename conversation")
    term.wait_for("Give this conversation a new title", timeout=5)
    term.press("enter")
    term.wait_for("Enter to confirm, Esc to cancel", timeout=5)
    # The dialog starts with the current title, selected: the paste replaces it.
    term.send(b"\x1b[200~Noir \x1b[1mnight\x1b[0m\x07!\x1b[201~")
    term.wait_for("Noir night!", timeout=5)
    term.press("enter")
    term.wait_for(lambda s: "Noir night!" in header(s), timeout=5)
    term.press("ctrl+q")
    assert term.wait_exit(10) == 0
