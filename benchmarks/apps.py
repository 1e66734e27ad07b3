"""How each program under test is started, and the servers they talk to.

Every program gets the same environment: a private HOME/XDG tree in a temporary directory (so
no user config, data or log is read or written), `TERM=xterm-256color`, `LANG=C.UTF-8`
(English interface) and a dummy `OPENAI_API_KEY`. Programs of the installed copy
(benchmarks/installed.py) start as a user's would: no `PYTHON*` variable at all, and the
sandbox as the working directory instead of the checkout.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.terminal import Terminal

REPO = Path(__file__).resolve().parent.parent
GREETING = "Lights down"
"""On moviechat's empty chat and on the bare baseline app: the first-frame signal."""
PLACEHOLDER = "Ask about a film"
"""The empty prompt of moviechat and of the bare chat baseline."""


PYCACHE = Path(tempfile.gettempdir()) / "moviechat-bench-cache" / "pycache"
"""Bytecode for every program under test (PYTHONPYCACHEPREFIX): compiled on the untimed
warm-up launch, never written into the repository, and never skipped — a user's installed
copy has its bytecode too, while PYTHONDONTWRITEBYTECODE (set in some shells and CI) would
make every launch of the editable checkout recompile moviechat from source."""


def clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OPENAI_", "MOVIECHAT_", "TMUX", "TEXTUAL", "XDG_", "LC_",
                                "PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX"))}
    env.update(
        HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local/share"), XDG_CACHE_HOME=str(home / ".cache"),
        XDG_STATE_HOME=str(home / ".local/state"), MOVIECHAT_LOG_DIR=str(home / "logs"),
        TERM="xterm-256color", COLORTERM="truecolor", LANG="C.UTF-8", LANGUAGE="",
        OPENAI_API_KEY="sk-bench", PYTHONPYCACHEPREFIX=str(PYCACHE),
    )
    return env


def user_env(home: Path) -> dict[str, str]:
    """`clean_env` without any PYTHON* variable, for the installed copy: no bytecode prefix
    (the install's own bytecode, compiled by pip, is read — as on a user's machine), no
    PYTHONPATH (which would put a checkout ahead of the install), no PYTHONUNBUFFERED."""
    return {k: v for k, v in clean_env(home).items() if not k.startswith("PYTHON")}


@dataclass
class Sandbox:
    """A throw-away HOME for one program run."""

    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="mc-bench-")))

    @property
    def env(self) -> dict[str, str]:
        return clean_env(self.root)

    @property
    def user_env(self) -> dict[str, str]:
        return user_env(self.root)

    def cleanup(self) -> None:
        import shutil

        shutil.rmtree(self.root, ignore_errors=True)


def moviechat_argv(sandbox: Sandbox, *extra: str, data_dir: Path | None = None,
                   base_url: str = "http://127.0.0.1:9/v1",
                   command: Sequence[str] = (sys.executable, "-m", "moviechat_tui"),
                   ) -> list[str]:
    """moviechat on the sandbox's files; `command` is how it is started (default: from the
    checkout; the installed copy passes its console script)."""
    return [*command,
            "--data-dir", str(data_dir or sandbox.root / "data"),
            "--config", str(sandbox.root / "no-config.toml"),
            "--base-url", base_url, *extra]


def bare_app_argv() -> list[str]:
    return [sys.executable, "-m", "benchmarks.bare_app"]


def bare_chat_argv(base_url: str) -> list[str]:
    return [sys.executable, "-m", "benchmarks.bare_chat", "--base-url", base_url]


@contextlib.contextmanager
def running(argv: list[str], sandbox: Sandbox | None = None, *,
            as_user: bool = False) -> Iterator[Terminal]:
    """`argv` in a fresh pty; `as_user` for the installed copy (see the module docstring)."""
    box = sandbox or Sandbox()
    if as_user:
        term = Terminal.start(argv, env=box.user_env, cwd=str(box.root))
    else:
        term = Terminal.start(argv, env=box.env, cwd=str(REPO))
    try:
        yield term
    finally:
        term.close()
        if sandbox is None:
            box.cleanup()


class PacedServer:
    """`benchmarks.paced_server` in a child process; collects its `SENT` reports."""

    def __init__(self, text: str, rate: float, first_text: str | None = None) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="mc-bench-server-"))
        text_file = self._dir / "reply.md"
        text_file.write_text(text, encoding="utf-8")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.paced_server", "--text-file", str(text_file),
             "--rate", str(rate), *(["--first-text", first_text] if first_text else [])],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=str(REPO),
            env=dict(os.environ),
        )
        assert self.proc.stdout is not None
        first = self.proc.stdout.readline()
        match = re.match(r"URL (\S+)", first)
        if not match:
            self.close()
            raise RuntimeError(f"paced server did not start: {first!r}")
        self.base_url = match.group(1)
        self.sent: dict[int, tuple[float, float, int]] = {}
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            parts = line.split()
            if len(parts) == 5 and parts[0] == "SENT":
                with self._cond:
                    self.sent[int(parts[1])] = (float(parts[2]), float(parts[3]), int(parts[4]))
                    self._cond.notify_all()

    def wait_sent(self, index: int, timeout: float = 30.0) -> tuple[float, float, int]:
        """(first token time, last token time, tokens) of reply `index`."""
        with self._cond:
            if not self._cond.wait_for(lambda: index in self.sent, timeout):
                raise TimeoutError(f"the server never finished reply {index}")
            return self.sent[index]

    def close(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            if self.proc.stdin:
                self.proc.stdin.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        import shutil

        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> PacedServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
