"""films/ stays a lower layer: it imports only core/ and storage/ (and the package root for
its version), never Textual or openai, and its package `__init__` imports nothing.

Walks the package, so a new module cannot slip past a hand-kept list."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

FILMS = Path(__file__).resolve().parents[2] / "moviechat_tui" / "films"
ALLOWED = ("moviechat_tui.core", "moviechat_tui.storage", "moviechat_tui.films")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "moviechat_tui":
                names.update(f"moviechat_tui.{alias.name}" for alias in node.names)
            else:
                names.add(node.module)
    return names


def test_films_imports_only_core_and_storage() -> None:
    modules = sorted(FILMS.glob("*.py"))
    assert len(modules) >= 10
    for path in modules:
        for name in _imports(path):
            if name.startswith("moviechat_tui"):
                assert name.startswith(ALLOWED) or name == "moviechat_tui.__version__", \
                    f"{path.name} imports {name}"
            assert not name.startswith(("textual", "openai", "rich")), \
                f"{path.name} imports {name}"


def test_the_package_init_imports_nothing() -> None:
    assert _imports(FILMS / "__init__.py") == set()


def test_no_films_module_pulls_in_textual_or_openai() -> None:
    names = [f"moviechat_tui.films.{p.stem}" for p in sorted(FILMS.glob("*.py"))
             if p.stem != "__init__"]
    code = ("import sys\n" + "".join(f"import {n}\n" for n in names) +
            "print('textual' in sys.modules, 'openai' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["False", "False"]
