"""`--peers`: the first frame of other Textual chat clients, measured the same way.

Each peer lives in its own virtualenv, `/tmp/peers-<name>` (one venv for both would make pip
pick an old oterm that agrees with Elia's Textual pin). A missing venv is created with
`python -m venv` + `pip install`; if that fails (no network, no wheel), the peer is skipped
with a note on stderr. Both run in a throw-away HOME, as a first launch:

- Elia (`elia-chat`): first frame = its prompt box ("Enter your message").
- oterm: first frame = its main screen ("Welcome to oterm"), with its splash animation turned
  off in its config so that the main screen is what is timed; no Ollama server runs, as in
  `facts.md` ("offline").
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchmarks.apps import GREETING, Sandbox, bare_app_argv
from benchmarks.config import Config, progress
from benchmarks.first_frame import first_frame
from benchmarks.results import Metric, median


@dataclass(frozen=True)
class Peer:
    name: str
    package: str
    exe: str
    marker: str
    prepare: Callable[[Sandbox], dict[str, str]]
    quit_keys: bytes

    @property
    def venv(self) -> Path:
        return Path(f"/tmp/peers-{self.name}")


def _elia_env(box: Sandbox) -> dict[str, str]:
    return box.env


def _oterm_env(box: Sandbox) -> dict[str, str]:
    data = box.root / "oterm"
    data.mkdir()
    (data / "config.json").write_text(json.dumps({"splash-screen": False}))
    return {**box.env, "OTERM_DATA_DIR": str(data), "OLLAMA_HOST": "127.0.0.1:9"}


PEERS = [
    Peer("elia", "elia-chat", "elia", "Enter your message", _elia_env, b"\x1b"),
    Peer("oterm", "oterm", "oterm", "Welcome to oterm", _oterm_env, b"\x11"),
]


def ensure(peer: Peer) -> Path | None:
    exe = peer.venv / "bin" / peer.exe
    if exe.exists():
        return exe
    progress("peers", f"installing {peer.package} into {peer.venv} …")
    try:
        subprocess.run([sys.executable, "-m", "venv", str(peer.venv)], check=True,
                       capture_output=True, timeout=120)
        subprocess.run([str(peer.venv / "bin" / "pip"), "install", "-q", peer.package],
                       check=True, capture_output=True, timeout=900)
    except (OSError, subprocess.SubprocessError) as exc:
        progress("peers", f"skipping {peer.name}: could not install it ({exc})")
        return None
    return exe if exe.exists() else None


def _version(peer: Peer) -> str:
    out = subprocess.run([str(peer.venv / "bin" / "pip"), "show", peer.package],
                         capture_output=True, text=True)
    for line in out.stdout.splitlines():
        if line.startswith("Version:"):
            return line.split()[1]
    return "?"


def run(cfg: Config) -> list[Metric]:
    available = [(peer, exe) for peer in PEERS if (exe := ensure(peer)) is not None]
    if not available:
        return []
    samples: dict[str, list[tuple[float, float, float]]] = {"bare": []}
    for rep in range(-1, cfg.repeat):
        box = Sandbox()
        try:
            bare = first_frame(bare_app_argv(), GREETING, box)
        finally:
            box.cleanup()
        if rep >= 0:
            samples["bare"].append(bare)
        for peer, exe in available:
            box = Sandbox()
            try:
                result = _peer_frame(peer, exe, box)
            finally:
                box.cleanup()
            if rep >= 0:
                samples.setdefault(peer.name, []).append(result)
                progress("peers", f"{rep + 1}/{cfg.repeat} {peer.name}: {result[0]:.3f} s, "
                         f"{result[1]:.1f} MB")
    bare_t = median([s[0] for s in samples["bare"]])
    bare_m = median([s[1] for s in samples["bare"]])
    base = "bare Textual app, same run"
    metrics = []
    for peer, _ in available:
        runs = samples[peer.name]
        label = f"{peer.name} {_version(peer)}"
        metrics.append(Metric(f"peer first frame: {label}", median([r[0] for r in runs]), "s",
                              bare_t, base, samples=[r[0] for r in runs]))
        metrics.append(Metric(f"peer RSS at first frame: {label}", median([r[1] for r in runs]),
                              "MB", bare_m, base, samples=[r[1] for r in runs]))
    return metrics


def _peer_frame(peer: Peer, exe: Path, box: Sandbox) -> tuple[float, float, float]:
    from benchmarks.terminal import Terminal

    term = Terminal.start([str(exe)], env=peer.prepare(box), cwd=str(box.root))
    try:
        seen = term.wait_for_text(peer.marker, 120)
        return seen.at - term.started, seen.rss_mb, seen.cpu_s
    finally:
        term.close(quit_keys=peer.quit_keys, grace=3.0)
