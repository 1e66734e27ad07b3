"""My films are never lost: `kill -9` in the middle of writing a list, and two moviechat
processes adding films at the same moment, with real processes.

The conversation files' guarantees (tests/reliability/test_crash_safety.py,
test_two_instances.py), here for the lists: after a kill every list file parses and holds
every film whose adding had returned; two writers at once lose none of each other's films."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from datetime import date
from pathlib import Path

from moviechat_tui.films.my_format import parse_list
from moviechat_tui.films.my_lists import make_entry
from moviechat_tui.films.my_store import MyFilmsStore

ROOT = Path(__file__).resolve().parents[2]

WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from moviechat_tui.films.my_store import MyFilmsStore

    folder, prefix, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    go = folder.parent / "go"
    while not go.exists():
        time.sleep(0.001)
    store = MyFilmsStore(folder)
    for n in range(count):
        store.add_to_watchlist(f"{prefix} {n}", 2000, None, note="x" * (n % 50))
        print(n, flush=True)
""")


def _writer(folder: Path, prefix: str, count: int) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", WRITER, str(folder), prefix, str(count)],
                            stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)


def _seed(folder: Path, count: int) -> None:
    """A big watchlist, so each write takes long enough for a kill to land inside it."""
    store = MyFilmsStore(folder)
    entries = [make_entry(f"Older film {n}", 1990, None, date(2020, 1, 1))
               for n in range(count)]
    store.change(["watchlist"], lambda lists: [lists["watchlist"].put(e) for e in entries])


def test_kill_9_while_writing_loses_no_film_whose_adding_returned(tmp_path: Path) -> None:
    rng = random.Random(18)
    for trial in range(4):
        folder = tmp_path / f"trial{trial}" / "my-films"
        _seed(folder, 3000)
        (folder.parent / "go").touch()
        child = _writer(folder, "Film", 10_000)
        assert child.stdout is not None
        confirmed = -1
        target = rng.randint(3, 25)
        while confirmed < target:
            line = child.stdout.readline()
            assert line, "the writer stopped before the kill"
            confirmed = int(line)
        time.sleep(rng.uniform(0.0, 0.05))  # somewhere inside the next write
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        for line in child.stdout:  # lines it printed before dying also returned
            confirmed = int(line)
        child.stdout.close()
        data = (folder / "watchlist.toml").read_bytes()
        titles = {e.title for e in parse_list(data, "watchlist")}
        assert {f"Film {n}" for n in range(confirmed + 1)} <= titles
        assert len(titles) in (3000 + confirmed + 1, 3000 + confirmed + 2)
        assert not list(folder.glob("*.corrupt*"))
        store = MyFilmsStore(folder)
        assert len(store.load().watchlist) == len(titles) and store.take_problems() == []


def test_two_processes_adding_at_once_lose_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "my-films"
    _seed(folder, 500)
    writers = [_writer(folder, name, 120) for name in ("Window A", "Window B")]
    (tmp_path / "go").touch()
    for writer in writers:
        out, _ = writer.communicate(timeout=120)
        assert writer.returncode == 0
        assert out.split()[-1] == "119"
    titles = [e.title for e in MyFilmsStore(folder).load().watchlist]
    assert len(titles) == len(set(titles)) == 500 + 240
    assert {f"Window {w} {n}" for w in "AB" for n in range(120)} <= set(titles)
