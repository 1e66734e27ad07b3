"""The configuration a user copies from the docs works.

People paste the TOML examples from docs/ into their config file and run `moviechat config
init` to get the commented sample; a drift between either and the parser would greet them
with an error on the next start. These tests load every example the way the app does.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from moviechat_tui.settings.config import SAMPLE_CONFIG, Overrides, Settings, load_settings
from moviechat_tui.settings.paths import Paths

DOCS = Path(__file__).resolve().parent.parent / "docs"
_TOML_BLOCK = re.compile(r"^```toml\n(.*?)^```", re.MULTILINE | re.DOTALL)
# A commented setting in the sample: "# key = value" (not prose such as "# Seconds to ...").
_COMMENTED_SETTING = re.compile(r"^# ((?:\[\[?[a-z_]+\]\]?)|(?:[a-z_]+ = .+))$")


def _load(tmp_path: Path, text: str) -> Settings:
    config = tmp_path / "config.toml"
    config.write_text(text, encoding="utf-8")
    config.chmod(0o600)  # as the docs tell anyone who puts a key in the file
    return load_settings(Paths(tmp_path / "data", config, tmp_path / "logs"),
                         Overrides(), environ={})


def _doc_examples() -> list[tuple[str, str]]:
    """Config examples only: conversation files (storage-format.md) and a `profile = …` line
    that names a profile defined in another block are not configs on their own."""
    examples = []
    for page in sorted(DOCS.glob("*.md")):
        for number, match in enumerate(_TOML_BLOCK.finditer(page.read_text("utf-8")), 1):
            text = match.group(1)
            if re.search(r"^\[\[messages\]\]|^schema_version|^conversation = ", text,
                         re.MULTILINE):
                continue
            if text.lstrip().startswith("profile = ") and "[[profiles]]" not in text:
                continue
            examples.append((f"{page.name}#{number}", text))
    return examples


@pytest.mark.parametrize(("where", "text"), _doc_examples(), ids=lambda v: str(v)[:40])
def test_every_toml_example_in_the_docs_is_a_valid_config(
    tmp_path: Path, where: str, text: str
) -> None:
    settings = _load(tmp_path, text)
    assert not settings.warnings, f"{where}: {settings.warnings}"


def test_the_sample_config_loads_as_the_defaults(tmp_path: Path) -> None:
    sample = _load(tmp_path, SAMPLE_CONFIG)
    bare = load_settings(Paths(tmp_path / "d2", tmp_path / "none.toml", tmp_path / "l2"),
                         Overrides(), environ={})
    assert sample.endpoint == bare.endpoint
    assert sample.request == bare.request
    assert sample.persona == bare.persona
    assert sample.films == bare.films
    assert not sample.warnings


def test_uncommenting_every_setting_in_the_sample_gives_a_valid_config(tmp_path: Path) -> None:
    """What `config init` writes says "values here are the defaults": uncommenting a line must
    never break the file. Alternatives for the same key (two base_url examples) keep the last."""
    lines = []
    for line in SAMPLE_CONFIG.splitlines():
        match = _COMMENTED_SETTING.match(line)
        lines.append(match.group(1) if match else line)
    text = "\n".join(lines)
    # Keys given twice as alternatives: keep the last occurrence of each top-level key.
    seen: dict[str, int] = {}
    out = text.splitlines()
    table = ""
    for index, line in enumerate(out):
        if line.startswith("["):
            table = line
            continue
        key = line.split(" = ", 1)[0] if " = " in line and not line.startswith("#") else None
        if key and not table:
            if key in seen:
                out[seen[key]] = "# " + out[seen[key]]
            seen[key] = index
    text = "\n".join(out).replace('api_key = "sk-..."', 'api_key = "sk-sample"')
    settings = _load(tmp_path, text)
    assert [p.name for p in settings.profiles] == ["ollama", "openrouter"]
    assert settings.endpoint.profile == "ollama" or settings.endpoint.base_url
    assert any(p.id == "noir" for p in settings.personas)
    assert [s.name for s in settings.mcp_servers] == ["github"]
