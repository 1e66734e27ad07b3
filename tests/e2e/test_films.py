"""The film catalogue as a new user meets it, in a real 80×24 terminal: import the fixture
folder with `moviechat films import`, then start the app with no model configured (no key,
no server) and look a film up: the search, the card, the copied link, and back."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.e2e.test_tui import MOVIECHAT, app_env
from tests.support.imdb_fixtures import write_datasets
from tests.support.terminal import Terminal


def test_import_then_look_a_film_up_with_no_model_at_80x24(tmp_path: Path) -> None:
    env = app_env(tmp_path)
    folder = write_datasets(tmp_path / "imdb")
    imported = subprocess.run([*MOVIECHAT, "films", "import", str(folder)], env=env,
                              capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr
    assert "Imported 17 films" in imported.stdout
    with Terminal(MOVIECHAT, cols=80, rows=24, env=env, cwd=tmp_path) as term:
        term.wait_for(lambda s: s.splitlines()[-1].rstrip().endswith("palette"), timeout=20)
        term.press("ctrl+f")
        term.wait_for("Look up a film", timeout=10)
        term.send("기생충")
        term.wait_for("2019 · film · Bong Joon Ho", timeout=10)
        term.press("enter")
        screen = term.wait_for("Song Kang-ho — Kim Ki-taek", timeout=10)
        for fact in ("Parasite (2019)", "Gisaengchung", "132 min", "Bong Joon Ho, Han Jin-won",
                     "Information courtesy of IMDb"):
            assert fact in screen, fact
        term.send("c")
        term.wait_for("Copied the IMDb link", timeout=5)
        # The link went to the terminal's clipboard (OSC 52), the app's copy path.
        assert b"\x1b]52;c;" in term.output
        term.press("escape")
        term.wait_for("Enter opens the card", timeout=5)
        term.press("escape")
        term.wait_for("Ask about a film", timeout=5)
        term.press("ctrl+q")
        assert term.wait_exit(10) == 0
