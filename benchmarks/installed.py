"""This checkout as a user gets it: a regular install in a fresh virtualenv.

`python -m moviechat_tui` from the checkout is how developers start the app, not how users do:
they `pip install` it and type `moviechat`, the console script pip wrote, which starts the
venv's interpreter with the venv's own `site-packages` (its `.pth` files, the bytecode pip
compiled at install time) and no checkout on `sys.path`. `installed_copy()` makes that once:

1. a wheel of the working tree (the files git tracks or would track, copied to a temporary
   directory first, so the build never writes `build/` or `*.egg-info` into the checkout and
   no stale file from an earlier build can slip into the wheel), and a wheel of the bare
   baseline app (`benchmarks/bare_app.py`) with a console script of its own,
   `bare-textual-app`, so that both programs start the same way: a pip-written script run by
   the same interpreter;
2. a fresh virtualenv (`python -m venv`, with the pip and setuptools a user's new venv has)
   under `$TMPDIR/moviechat-bench-cache/venvs/<key>`, where the key hashes the files the
   wheels are built from, the pinned dependency versions and the Python version — so the
   wheels and the venv are built again only when the app's code (or a dependency) changed,
   and reused otherwise (checking takes a fraction of a second);
3. the dependencies pinned to the versions installed where the suite runs (a constraints
   file), so the checkout rows and the installed rows differ only in how the program is
   installed and started, not in which Textual it runs on. They are fetched once into
   `$TMPDIR/moviechat-bench-cache/wheelhouse` and installed from there (`--no-index`);
   only a dependency not in it yet is fetched from the package index.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.metadata
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from benchmarks.apps import REPO

CACHE = Path(tempfile.gettempdir()) / "moviechat-bench-cache"
VENVS = CACHE / "venvs"
WHEELHOUSE = CACHE / "wheelhouse"
KEEP_VENVS = 3
"""Virtualenvs kept in the cache (newest used first); ~100 MB each."""
COMPLETE = ".moviechat-bench-complete"
"""Written into a virtualenv once everything is installed: a venv without it is rebuilt."""
PACKAGE = "moviechat_tui"
BARE_SCRIPT = "bare-textual-app"
BARE_DIST = "moviechat-bench-bare-app"
BARE_MODULE = "moviechat_bench_bare_app"


class InstallError(RuntimeError):
    """The installed copy could not be made (offline, no build backend…): one line why."""


class NotCached(InstallError):
    """`build=False` and no cached copy of this working tree exists."""


@dataclass(frozen=True)
class InstalledCopy:
    venv: Path
    key: str
    reused: bool
    """True when the cached virtualenv was used as it was."""
    seconds: float
    """Time spent making (or checking) it, wheels included."""

    @property
    def moviechat(self) -> Path:
        return self.venv / "bin" / "moviechat"

    @property
    def bare_app(self) -> Path:
        return self.venv / "bin" / BARE_SCRIPT

    def versions(self) -> dict[str, str]:
        """name → version of what is installed in the venv (for the JSON file)."""
        site = next((self.venv / "lib").glob("python3*/site-packages"))
        out = {}
        for dist in importlib.metadata.distributions(path=[str(site)]):
            out[dist.metadata["Name"]] = dist.version
        return dict(sorted(out.items(), key=lambda kv: kv[0].lower()))


def installed_copy(say: Callable[[str], None] = lambda text: None, *,
                   build: bool = True) -> InstalledCopy:
    """Build (or reuse) the installed copy of the working tree; see the module docstring.
    With `build=False` only a cached copy is used (NotCached if there is none)."""
    started = time.monotonic()
    VENVS.mkdir(parents=True, exist_ok=True)
    WHEELHOUSE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mc-bench-wheels-") as tmp_name:
        tmp = Path(tmp_name)
        sources = [_copy_working_tree(tmp / "src"), _bare_project(tmp / "bare")]
        constraints = tmp / "constraints.txt"
        constraints.write_text(_pinned_versions(), encoding="utf-8")
        key = _key(sources, constraints)
        venv = VENVS / key
        if not build and not (venv / COMPLETE).exists():
            raise NotCached("no installed copy of this working tree is cached")
        with _locked(VENVS / f"{key}.lock"):
            reused = (venv / COMPLETE).exists()
            if not reused:
                say(f"building the wheels and a fresh virtualenv: {venv}")
                wheels = tmp / "wheels"
                _pip(sys.executable, "wheel", "--no-deps", "--quiet", "--wheel-dir",
                     str(wheels), *map(str, sources), what="building the wheels")
                shutil.rmtree(venv, ignore_errors=True)
                _make_venv(venv, sorted(wheels.glob("*.whl")), constraints)
                (venv / COMPLETE).write_text(key + "\n", encoding="utf-8")
            os.utime(venv / COMPLETE)  # "recently used", for _prune
    _prune(keep=venv)
    return InstalledCopy(venv, key, reused, time.monotonic() - started)


def _copy_working_tree(dest: Path) -> Path:
    """What the wheel is built from: the files of the working tree that git tracks or would
    track (not ignored ones) at the top level (pyproject.toml, README.md, LICENSE…) and in
    the package. Tests, docs and benchmarks stay out, so editing them keeps the cached venv."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=REPO, capture_output=True, check=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise InstallError(f"cannot list the working tree's files with git: {exc}") from exc
    for name in filter(None, listed.decode().split("\0")):
        if "/" in name and not name.startswith(PACKAGE + "/"):
            continue
        source = REPO / name
        if source.is_file():  # a tracked file deleted in the working tree is not
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return dest


def _bare_project(dest: Path) -> Path:
    """A one-module project for the baseline app, with a console script like moviechat's."""
    dest.mkdir(parents=True)
    shutil.copy2(REPO / "benchmarks" / "bare_app.py", dest / f"{BARE_MODULE}.py")
    (dest / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=68"]\n'
        'build-backend = "setuptools.build_meta"\n\n'
        f'[project]\nname = "{BARE_DIST}"\nversion = "1.0"\ndependencies = ["textual"]\n\n'
        f'[project.scripts]\n{BARE_SCRIPT} = "{BARE_MODULE}:main"\n\n'
        f'[tool.setuptools]\npy-modules = ["{BARE_MODULE}"]\n', encoding="utf-8")
    return dest


def _pinned_versions() -> str:
    """A constraints file: every distribution installed here at its version here."""
    lines = set()
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"]
        if name and name.lower().replace("_", "-") not in ("moviechat-tui", BARE_DIST):
            lines.add(f"{name}=={dist.version}")
    return "\n".join(sorted(lines, key=str.lower)) + "\n"


def _key(sources: list[Path], constraints: Path) -> str:
    """Hash of what the wheels are built from (every file's path and bytes), the pinned
    versions and the interpreter: the same key means the same installed copy, so the wheels
    are built only when something changed."""
    digest = hashlib.sha256(sys.version.encode())
    digest.update(constraints.read_bytes())
    for root in sources:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            digest.update(str(path.relative_to(root.parent)).encode() + b"\0")
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _make_venv(venv: Path, wheels: list[Path], constraints: Path) -> None:
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True,
                       capture_output=True, timeout=300)
    except (OSError, subprocess.SubprocessError) as exc:
        raise InstallError(f"python -m venv failed: {exc}") from exc
    python = str(venv / "bin" / "python")
    install = ["install", "--quiet", "--no-index", "--find-links", str(WHEELHOUSE),
               "--constraint", str(constraints), *map(str, wheels)]
    try:
        _pip(python, *install, what="installing from the wheelhouse")
        return
    except InstallError:
        pass  # a dependency is not in the wheelhouse yet: fetch what is missing
    with tempfile.TemporaryDirectory(prefix="mc-bench-deps-") as fetched:
        _pip(sys.executable, "wheel", "--quiet", "--wheel-dir", fetched,
             "--find-links", str(WHEELHOUSE), "--constraint", str(constraints),
             *map(str, wheels), what="fetching the dependencies")
        ours = {wheel.name for wheel in wheels}
        for wheel in Path(fetched).glob("*.whl"):
            if wheel.name not in ours:
                shutil.move(str(wheel), WHEELHOUSE / wheel.name)
    _pip(python, *install, what="installing from the wheelhouse")


def _pip(python: str, *args: str, what: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    try:
        done = subprocess.run([python, "-m", "pip", *args], capture_output=True, text=True,
                              env=env, timeout=900)
    except (OSError, subprocess.SubprocessError) as exc:
        raise InstallError(f"{what} failed: {exc}") from exc
    if done.returncode != 0:
        errors = [line for line in done.stderr.splitlines()
                  if line.strip() and not line.startswith("WARNING")]
        raise InstallError(f"{what} failed (pip exit {done.returncode}): "
                           + (errors[-1] if errors else "no message"))


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One builder per virtualenv at a time (two suites may run at once on this machine)."""
    with open(path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _prune(keep: Path) -> None:
    """Delete all but the KEEP_VENVS most recently used virtualenvs."""
    venvs = sorted((p for p in VENVS.iterdir() if (p / COMPLETE).exists()),
                   key=lambda p: (p / COMPLETE).stat().st_mtime, reverse=True)
    for old in venvs[KEEP_VENVS:]:
        if old != keep:
            with contextlib.suppress(OSError), _locked(VENVS / f"{old.name}.lock"):
                shutil.rmtree(old, ignore_errors=True)
            with contextlib.suppress(OSError):
                (VENVS / f"{old.name}.lock").unlink()
