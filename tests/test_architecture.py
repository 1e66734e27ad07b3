"""The layers stay apart: checked over every module the package has, not a hand-kept list.

The rules (docs/architecture.md, "Layers"):

- `core` imports nothing else of the package; `settings`, `storage` and `llm` import only
  `core`; `library` and `films` only `core` and `storage`; `session` anything but `tui`.
- `tui` reaches storage and the backend only through `session` (and the library's and the
  film catalogue's plain types): it never imports `storage` or `llm`. Inside it, `render/`
  and `runtime/` import no widgets or screens, and widgets no screens.
- `web` (the `moviechat serve` server) imports only `core`, `settings` and `llm`: the app
  runs in a child process per browser tab, so the server never needs Textual.
- Nothing outside `tui/` imports `textual`; only `llm/backend.py` imports `openai`.
- No import cycles between modules, and a package's `__init__` imports none of its modules
  (importing one module of a layer must not load the whole layer at start-up).
- mypy is strict for every package, the UI included.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "moviechat_tui"

ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "settings": {"core"},
    "storage": {"core"},
    "llm": {"core"},
    "library": {"core", "storage"},
    "films": {"core", "storage"},
    "session": {"core", "settings", "storage", "library", "llm", "films"},
    "tui": {"core", "settings", "session", "library", "films"},
    "web": {"core", "settings", "llm"},
}
"""Which layers each layer may import (besides itself)."""
ENTRY_POINTS = {"__init__", "__main__", "cli"}
"""Top-level modules that wire everything together (the command line)."""


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def all_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted((ROOT / PACKAGE).rglob("*.py"))}


def _type_checking_only(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def imports_of(path: Path, *, runtime_only: bool = True) -> Iterator[str]:
    """Every module `path` imports (at module level or inside functions), resolved to full
    names; imports under `if TYPE_CHECKING:` are left out when `runtime_only`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    this = module_name(path)
    package = this if path.name == "__init__.py" else this.rpartition(".")[0]

    def walk(node: ast.AST) -> Iterator[str]:
        for child in ast.iter_child_nodes(node):
            if runtime_only and _type_checking_only(child):
                continue
            if isinstance(child, ast.Import):
                yield from (alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - child.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                for alias in child.names:
                    # `from pkg import module` imports the module; `from mod import name` mod.
                    yield f"{base}.{alias.name}"
                    yield base
            yield from walk(child)

    yield from walk(tree)


def resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The package module `name` refers to (a name imported from a module is the module)."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def layer_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_every_module_belongs_to_a_layer() -> None:
    for module in all_modules():
        layer = layer_of(module)
        assert layer in ALLOWED or layer in ENTRY_POINTS, (
            f"{module} is outside the layer packages: put it in one of {sorted(ALLOWED)}")


def test_layers_import_only_the_layers_below() -> None:
    modules = all_modules()
    problems = set()
    for module, path in modules.items():
        layer = layer_of(module)
        if layer in ENTRY_POINTS:
            continue
        for imported in set(imports_of(path)):
            target = resolve(imported, modules)
            if target is None or target == PACKAGE:
                continue
            other = layer_of(target)
            if other != layer and other not in ALLOWED[layer]:
                problems.add(f"{module} imports {target} ({layer} -> {other})")
    assert not problems, "\n".join(sorted(problems))


UI_PARTS: dict[str, set[str]] = {
    "render": set(),
    "runtime": set(),
    "widgets": {"render", "runtime"},
    "screens": {"render", "runtime", "widgets"},
}
"""Inside tui/: which parts each part may import (besides itself); app.py and commands.py sit
on top. render/ (Markdown to lines) and runtime/ (process behaviour) know no widgets."""


def test_ui_parts_import_only_the_parts_below() -> None:
    modules = all_modules()
    problems = set()
    for module, path in modules.items():
        parts = module.split(".")
        if layer_of(module) != "tui" or len(parts) < 4 or parts[2] not in UI_PARTS:
            continue
        part = parts[2]
        for imported in set(imports_of(path)):
            target = resolve(imported, modules) or ""
            other = target.split(".")
            if layer_of(target) != "tui" or len(other) < 3 or other[2] == part:
                continue
            if other[2] not in UI_PARTS[part]:
                problems.add(f"{module} imports {target} (tui/{part} -> tui/{other[2]})")
    assert not problems, "\n".join(sorted(problems))


def test_textual_only_in_tui_and_openai_only_in_the_backend() -> None:
    problems = []
    for module, path in all_modules().items():
        roots = {name.split(".")[0] for name in imports_of(path, runtime_only=False)}
        if "textual" in roots and layer_of(module) != "tui":
            problems.append(f"{module} imports textual")
        if "openai" in roots and module != f"{PACKAGE}.llm.backend":
            problems.append(f"{module} imports openai")
        if "mcp" in roots and module != f"{PACKAGE}.session.mcp.connection":
            problems.append(f"{module} imports mcp (the [mcp] extra)")
    assert not problems, "\n".join(problems)


def _module_level_imports(path: Path) -> Iterator[str]:
    """What importing `path` itself imports: its top-level import statements (not those in
    functions, which run only when called)."""
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def test_package_inits_import_none_of_their_modules() -> None:
    """The entry point's `__init__` (`moviechat_tui.cli:main`, the console script's target)
    may import its dispatcher inside that function, when the command runs; every other
    package's `__init__` imports none of its modules, even in a function."""
    modules = all_modules()
    for module, path in modules.items():
        if path.name != "__init__.py" or module == PACKAGE:
            continue
        names = (_module_level_imports(path) if layer_of(module) in ENTRY_POINTS
                 else imports_of(path))
        inside = [name for name in names
                  if (resolve(name, modules) or "").startswith(module + ".")]
        assert not inside, f"{module}/__init__.py imports {inside}: start-up pays for them"


def test_no_import_cycles() -> None:
    modules = all_modules()
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        targets = {resolve(name, modules) for name in imports_of(path)}
        # A package's __init__ is imported with any of its modules; it is not a dependency.
        graph[module] = {t for t in targets
                         if t and t != module and modules[t].name != "__init__.py"}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt):], nxt])
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [])
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_mypy_is_strict_everywhere() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    strict = {pattern for override in config["tool"]["mypy"]["overrides"]
              if override.get("strict") for pattern in override["module"]}
    for layer in ALLOWED:
        assert f"{PACKAGE}.{layer}.*" in strict, f"mypy is not strict for {layer}/"
    for entry in ENTRY_POINTS - {"__init__"}:
        assert f"{PACKAGE}.{entry}" in strict, f"mypy is not strict for {entry}"


def _modules_after_import(module: str) -> set[str]:
    code = f"import sys, {module}; print('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout
    return set(out.split())


@pytest.mark.parametrize("layer", sorted(set(ALLOWED) - {"tui"}))
def test_importing_a_layer_loads_neither_textual_nor_openai(layer: str) -> None:
    """Besides the static rules: what importing every module of a layer really loads."""
    names = [m for m in all_modules() if layer_of(m) == layer]
    if not names:
        pytest.skip(f"no {layer}/ package yet")
    loaded = _modules_after_import(", ".join(names))
    assert "textual" not in loaded, f"importing {layer}/ pulls in textual"
    assert "openai" not in loaded, f"importing {layer}/ pulls in openai at import time"
    assert "mcp" not in loaded, f"importing {layer}/ pulls in the mcp SDK at import time"


def test_ui_modules_do_not_import_openai() -> None:
    loaded = _modules_after_import(f"{PACKAGE}.tui.app")
    assert "openai" not in loaded
    assert "mcp" not in loaded  # imported only once a configured server starts
