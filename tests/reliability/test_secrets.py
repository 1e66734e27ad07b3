"""The API key never leaks: not to the screen, the data folder, exports, the log (rotated or
not) or a crash report; a config file that holds a key is private, and the app says so when
it is not.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from moviechat_tui.core.secret import Secret
from moviechat_tui.settings import logs
from moviechat_tui.settings.config import Overrides, load_settings
from moviechat_tui.settings.paths import Paths
from tests.support.apphelpers import make_app, wait_idle
from tests.support.loopback_server import SSE_ERROR_EVENT, LoopbackServer, Reply
from tests.support.terminal import Terminal

# The real CLI, with one UI action (F1) replaced by one that crashes, so that Textual prints
# its crash report — a traceback with the local variables of every frame — to the terminal.
CRASHING_APP = """
import sys
from moviechat_tui.tui import app as app_module

def crash(self):
    settings, backend = self.settings, self.controller.connection._backend
    raise RuntimeError(f"crash on purpose: {settings!r} {backend!r}")

app_module.MovieChatApp.action_help = crash
from moviechat_tui.cli import main
raise SystemExit(main(sys.argv[1:]))
"""


def app_env(home: Path, key: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OPENAI_", "MOVIECHAT_", "XDG_"))}
    env.update(HOME=str(home), MOVIECHAT_DATA_DIR=str(home / "data"),
               MOVIECHAT_LOG_DIR=str(home / "logs"),
               MOVIECHAT_CONFIG=str(home / "config.toml"),
               OPENAI_API_KEY=key, LANGUAGE="en", LC_ALL="C.UTF-8")
    return env


def plain(output: bytes) -> str:
    """Terminal output as text, without colour and cursor sequences."""
    return re.sub(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]", "",
                  output.decode("utf-8", errors="replace"))


def files_containing(root: Path, needle: bytes) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


def test_sentinel_key_leaks_nowhere_through_errors_exports_logs_and_a_crash(
        tmp_path: Path) -> None:
    key = f"sk-SENTINEL-{secrets.token_hex(12)}"
    home = tmp_path / "home"
    home.mkdir()
    with LoopbackServer() as server:
        server.push(
            Reply.error(401, echo_api_key=True),                       # "Key used: sk-..."
            Reply(text="Partial answer and then", fault=SSE_ERROR_EVENT, fault_after=3,
                  echo_api_key=True, error_message="stream failed"),   # mid-stream echo
            Reply(text="Jaws is a 1975 film."),
        )
        argv = [sys.executable, "-c", CRASHING_APP, "--base-url", server.base_url, "--debug"]
        with Terminal(argv, cols=120, rows=40, env=app_env(home, key), cwd=home) as term:
            term.wait_for("Ask about a film", timeout=40)
            for question, shown in (("Hello?", "401"), ("Jaws?", "stream failed"),
                                    ("Jaws!", "1975 film")):
                term.send(question)
                term.press("enter")
                # Wait for the turn to end (● leaves the header), or the next send is refused.
                term.wait_for(lambda s, w=shown: w in s and "●" not in s.splitlines()[0],
                              timeout=15)
            term.press("ctrl+s")  # export the conversation to Markdown
            term.wait_for(lambda s: any((home / "data").rglob("*.md")), timeout=10)
            term.press("f1")  # crash
            assert term.wait_exit(20) != 0
            output = bytes(term.output)
        headers = server.request_headers
    screen_text = plain(output)
    # The test is live: the key was really used, echoed back, and the crash report printed.
    assert {h["authorization"] for h in headers} == {f"Bearer {key}"}
    assert "crash on purpose" in screen_text and "api_key=Secret(" in screen_text
    assert "RuntimeError" in screen_text
    # ... and the key is nowhere: not in the raw bytes, not in the text without colours (nor
    # either half of its random part, in case a line was wrapped in the middle of it).
    assert key.encode() not in output
    random_part = key.rsplit("-", 1)[1]
    for needle in (key, random_part[:12], random_part[12:]):
        assert needle not in screen_text, needle
        assert files_containing(home, needle.encode()) == []
    assert list((home / "data").rglob("*.md")), "the export is part of what was searched"
    log_text = (home / "logs" / logs.LOG_FILE).read_text()
    assert "request: model=" in log_text  # --debug wrote request details
    assert "401" in log_text


@pytest.fixture
def restore_logging() -> Iterator[None]:
    logger = logging.getLogger("moviechat_tui")
    saved = (logger.handlers[:], logger.level, logger.propagate)
    yield
    for handler in logger.handlers:
        handler.close()
    logger.handlers[:], logger.level, logger.propagate = saved


def test_a_traceback_in_the_log_is_redacted_too(tmp_path: Path, restore_logging: None) -> None:
    key = "sk-SENTINEL-traceback-1234"
    path = logs.setup_logging(tmp_path, Secret(key))
    assert path is not None
    log = logging.getLogger("moviechat_tui.session.controller")
    try:
        raise RuntimeError(f"the server said: invalid key {key}")
    except RuntimeError:
        log.exception("reply failed")
    log.warning("header was %s", f"Bearer {key}")
    text = path.read_text()
    assert "RuntimeError: the server said: invalid key ****" in text
    assert "Bearer ****" in text
    assert key not in text


def test_log_file_rotates_and_keeps_a_bounded_history(
        tmp_path: Path, restore_logging: None) -> None:
    path = logs.setup_logging(tmp_path, Secret("sk-unused"), debug=True)
    assert path is not None
    log = logging.getLogger("moviechat_tui.llm.backend")
    line = "x" * 1000
    for n in range((logs.BACKUP_COUNT + 2) * logs.MAX_BYTES // 1000):
        log.debug("record %06d %s", n, line)
    log.info("the very last record")
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == [logs.LOG_FILE] + [f"{logs.LOG_FILE}.{n}"
                                       for n in range(1, logs.BACKUP_COUNT + 1)]
    for name in files:
        assert (tmp_path / name).stat().st_size <= logs.MAX_BYTES + 2000
    assert "the very last record" in path.read_text()
    assert "record 000000" not in "".join((tmp_path / f).read_text() for f in files)


def test_debug_level_only_with_debug(tmp_path: Path, restore_logging: None) -> None:
    path = logs.setup_logging(tmp_path, Secret(""))
    assert path is not None
    logging.getLogger("moviechat_tui.x").debug("detail")
    logging.getLogger("moviechat_tui.x").warning("problem")
    assert "problem" in path.read_text() and "detail" not in path.read_text()


async def test_app_warns_when_a_config_holding_a_key_is_readable_by_others(
        tmp_path: Path) -> None:
    key = "sk-SENTINEL-config-5678"
    config = tmp_path / "config.toml"
    config.write_text(f'api_key = "{key}"\n', encoding="utf-8")
    paths = Paths(tmp_path / "data", config, tmp_path / "logs")
    with LoopbackServer() as server:
        for mode, warned in ((0o644, True), (0o600, False)):
            os.chmod(config, mode)
            settings = load_settings(paths, Overrides(base_url=server.base_url), environ={})
            app = make_app(settings)
            async with app.run_test(size=(120, 40)) as pilot:
                await wait_idle(pilot)
                toasts = [str(n.message) for n in app._notifications]
                said = [t for t in toasts if "chmod 600" in t]
                assert bool(said) == warned, toasts
                if warned:
                    assert str(config) in said[0] and "readable by other users" in said[0]
                assert all(key not in t for t in toasts)


def test_config_init_creates_a_private_file(tmp_path: Path) -> None:
    config = tmp_path / "cfg" / "config.toml"
    out = subprocess.run([sys.executable, "-m", "moviechat_tui", "--config", str(config),
                          "config", "init"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert stat.S_IMODE(config.stat().st_mode) == 0o600


async def test_a_key_that_arrives_after_start_up_is_redacted_from_the_log_too(
        tmp_path: Path, restore_logging: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The profile switched to in the palette brings its own key (and `--local` makes one per
    run): the log must not show it any more than the key the app started with."""
    from moviechat_tui.session.controller import ConversationController
    from moviechat_tui.storage.store import ConversationStore
    from tests.support.apphelpers import make_settings

    key = "sk-SENTINEL-second-profile-5678"
    monkeypatch.setenv("SECOND_KEY", key)  # the switch reads the environment, as in the app
    settings = make_settings(
        tmp_path, None, env={"SECOND_KEY": key},
        config='[[profiles]]\nname = "second"\nbase_url = "http://127.0.0.1:9/v1"\n'
               'api_key_env = "SECOND_KEY"\n')
    path = logs.setup_logging(tmp_path / "log", settings.endpoint.api_key)
    assert path is not None
    controller = ConversationController(settings, ConversationStore(tmp_path / "c"),
                                        lambda event: None)
    assert await controller.switch_profile("second")
    logging.getLogger("moviechat_tui.llm.backend").warning("server echoed Bearer %s", key)
    text = path.read_text()
    assert "server echoed Bearer ****" in text and key not in text
