"""The domain stays free of Textual, and openai stays off the start-up path."""

from __future__ import annotations

import subprocess
import sys

DOMAIN_MODULES = [
    "moviechat_tui.core.conversation",
    "moviechat_tui.storage.store",
    "moviechat_tui.settings.personas",
    "moviechat_tui.settings.config",
    "moviechat_tui.session.controller",
    "moviechat_tui.llm.backend",
    "moviechat_tui.llm.types",
    "moviechat_tui.core.text",
    "moviechat_tui.core.events",
    "moviechat_tui.core.records",
    "moviechat_tui.settings.paths",
    "moviechat_tui.core.secret",
    "moviechat_tui.core.i18n",
    "moviechat_tui.cli",
    "moviechat_tui.llm.local_server",
    "moviechat_tui.core.errors",
    "moviechat_tui.storage.format",
    "moviechat_tui.storage.files",
    "moviechat_tui.storage.merge",
    "moviechat_tui.storage.errors",
    "moviechat_tui.storage.segments",
    "moviechat_tui.storage.view_cache",
    "moviechat_tui.library.search",
    "moviechat_tui.library.index",
    "moviechat_tui.session.library_actions",
    "moviechat_tui.library.index_worker",
    "moviechat_tui.library.trash",
    "moviechat_tui.library.export",
    "moviechat_tui.library.json_shapes",
    "moviechat_tui.storage.scan",
    "moviechat_tui.storage.repair",
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
