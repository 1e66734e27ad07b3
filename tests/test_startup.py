"""Start-up stays light: no openai import before the first request, no full parse at launch."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from moviechat_tui.config import Overrides, load_settings
    from moviechat_tui.paths import Paths
    from moviechat_tui.tui.app import MovieChatApp

    async def main():
        tmp = Path(sys.argv[1])
        settings = load_settings(Paths(tmp / "data", tmp / "none.toml", tmp / "logs"),
                                 Overrides(base_url="http://127.0.0.1:9/v1"), environ={})
        app = MovieChatApp(settings)
        async with app.run_test() as pilot:
            await pilot.pause()
            assert app.chat_screen.query("#greeting"), "no greeting"
            print("openai" in sys.modules, "textual" in sys.modules)

    asyncio.run(main())
    """
)


def test_openai_is_not_imported_by_the_first_frame(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "True"]


def test_cli_version_and_config_path_are_instant_and_light(tmp_path: Path) -> None:
    code = ("import sys; from moviechat_tui.cli import main; rc = main(sys.argv[1:]); "
            "print('textual' in sys.modules, 'openai' in sys.modules); raise SystemExit(rc)")
    out = subprocess.run(
        [sys.executable, "-c", code, "--data-dir", str(tmp_path), "config", "path"],
        capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert str(tmp_path / "conversations") in out.stdout
    assert lines[-1] == "False False"


def test_broken_config_is_one_line_and_exit_code_2(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('model = "unterminated\n', encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "moviechat_tui", "--config", str(config)],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1
    assert f"{config}:1:" in out.stderr and "Traceback" not in out.stderr


def test_config_init_writes_once(tmp_path: Path) -> None:
    config = tmp_path / "c" / "config.toml"
    cmd = [sys.executable, "-m", "moviechat_tui", "--config", str(config), "config", "init"]
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    assert first.returncode == 0 and config.exists()
    second = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    assert second.returncode == 1 and "not overwriting" in second.stderr
