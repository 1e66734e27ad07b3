"""The domain stays free of Textual, and openai stays off the start-up path."""

from __future__ import annotations

import subprocess
import sys

DOMAIN_MODULES = [
    "moviechat_tui.models",
    "moviechat_tui.store",
    "moviechat_tui.personas",
    "moviechat_tui.config",
    "moviechat_tui.controller",
    "moviechat_tui.backend",
    "moviechat_tui.backend_types",
    "moviechat_tui.text",
    "moviechat_tui.events",
    "moviechat_tui.records",
    "moviechat_tui.paths",
    "moviechat_tui.secret",
    "moviechat_tui.i18n",
    "moviechat_tui.cli",
    "moviechat_tui.local_server",
    "moviechat_tui.errors",
    "moviechat_tui.store_format",
    "moviechat_tui.store_files",
    "moviechat_tui.store_merge",
    "moviechat_tui.store_errors",
    "moviechat_tui.store_segments",
    "moviechat_tui.view_cache",
    "moviechat_tui.library",
    "moviechat_tui.library_index",
    "moviechat_tui.library_controller",
    "moviechat_tui.index_worker",
    "moviechat_tui.trash",
]


def _modules_after_import(module: str) -> set[str]:
    code = f"import sys, {module}; print('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    return set(out.split())


def test_domain_never_imports_textual_or_openai() -> None:
    for module in DOMAIN_MODULES:
        loaded = _modules_after_import(module)
        assert "textual" not in loaded, f"{module} pulls in textual"
        assert "openai" not in loaded, f"{module} pulls in openai at import time"


def test_ui_modules_do_not_import_openai() -> None:
    loaded = _modules_after_import("moviechat_tui.tui.app")
    assert "openai" not in loaded
