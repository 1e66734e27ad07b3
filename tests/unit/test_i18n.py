"""Every user-facing string goes through one gettext catalogue."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from moviechat_tui.core import i18n

ROOT = Path(__file__).resolve().parents[2]
POT = ROOT / "moviechat_tui" / "locale" / "moviechat.pot"


def _msgids(path: Path) -> set[str]:
    with path.open("rb") as handle:
        return {str(m.id) if isinstance(m.id, str) else str(m.id[0]) for m in read_po(handle)
                if m.id}


def test_catalogue_template_is_up_to_date(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
         "-k", "_n", "-k", "ngettext:1,2", "--no-location", "-o", str(fresh), "."],
        cwd=ROOT, check=True, capture_output=True,
    )
    missing = _msgids(fresh) - _msgids(POT)
    assert not missing, f"run scripts/update-catalogue; new strings: {sorted(missing)[:5]}"


def test_a_compiled_catalogue_translates_the_ui(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from babel.messages.catalog import Catalog

    catalog = Catalog(locale="ko")
    catalog.add("New conversation", "새 대화")
    target = tmp_path / "ko" / "LC_MESSAGES"
    target.mkdir(parents=True)
    with (target / "moviechat.mo").open("wb") as handle:
        write_mo(handle, catalog)
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    try:
        assert i18n.set_language("ko") == "ko"
        assert i18n._("New conversation") == "새 대화"
        assert i18n._("Untranslated stays English") == "Untranslated stays English"
    finally:
        i18n.set_language("en")
    assert i18n._("New conversation") == "New conversation"


def test_language_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LANG", "ko_KR.UTF-8")
    assert i18n.detect_language() == "ko"
    monkeypatch.setenv("LC_ALL", "C")
    assert i18n.detect_language() == "ko"
