"""Settings: precedence, clear errors that name file/line/key, personas from config."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from moviechat_tui.settings.config import (
    DEFAULT_MODEL,
    ConfigError,
    Overrides,
    load_settings,
    write_sample_config,
)
from moviechat_tui.settings.paths import Paths
from moviechat_tui.settings.personas import BUILTIN_PERSONAS


def _paths(tmp_path: Path, text: str | None = None) -> Paths:
    config = tmp_path / "config.toml"
    if text is not None:
        config.write_text(text, encoding="utf-8")
    return Paths(tmp_path / "data", config, tmp_path / "logs")


def test_defaults_without_a_config_file(tmp_path: Path) -> None:
    settings = load_settings(_paths(tmp_path), environ={})
    assert settings.endpoint.model == DEFAULT_MODEL
    assert settings.endpoint.base_url is None
    assert settings.persona == "expert"
    assert not settings.endpoint.api_key


def test_precedence_flag_over_env_over_file(tmp_path: Path) -> None:
    paths = _paths(tmp_path, 'model = "file-model"\nbase_url = "http://file/v1"\n')
    env = {"MOVIECHAT_MODEL": "env-model", "OPENAI_BASE_URL": "http://env/v1"}
    assert load_settings(paths, environ={}).endpoint.model == "file-model"
    assert load_settings(paths, environ=env).endpoint.model == "env-model"
    assert load_settings(paths, environ=env).endpoint.base_url == "http://env/v1"
    flags = Overrides(model="flag-model", base_url="http://flag/v1/")
    settings = load_settings(paths, flags, environ=env)
    assert (settings.endpoint.model, settings.endpoint.base_url) == ("flag-model", "http://flag/v1")


def test_api_key_is_masked_everywhere_it_could_be_printed(tmp_path: Path) -> None:
    settings = load_settings(_paths(tmp_path), environ={"OPENAI_API_KEY": "sk-SENTINEL-123"})
    assert settings.endpoint.api_key.reveal() == "sk-SENTINEL-123"
    assert "SENTINEL" not in repr(settings)
    assert "SENTINEL" not in str(settings.endpoint.api_key)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('model = "x\n', "config.toml:1:"),
        ("model = 3\n", "config.toml:1: model must be a string"),
        ('\n\nmodle = "x"\n', "config.toml:3: unknown key 'modle'"),
        ('persona = "nobody"\n', "persona 'nobody' does not exist"),
        ("[request]\ntimeout = -1\n", "config.toml:2: request.timeout must be"),
        ('[[personas]]\nid = "noir"\n', "config.toml:1: personas[0].name: is required"),
        ('[[personas]]\nid = "Bad Id"\nname="x"\nsystem_prompt="y"\n', "personas[0].id"),
        ('[[personas]]\nid = "x"\nname="x"\nsystem_prompt="y"\ntemperature=9\n',
         "config.toml:5: personas[0].temperature"),
    ],
)
def test_bad_config_gives_one_clear_error(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(_paths(tmp_path, text), environ={})
    assert expected in info.value.message
    assert "Traceback" not in info.value.message


def test_non_utf8_config_is_a_clear_error(tmp_path: Path) -> None:
    paths = _paths(tmp_path)
    paths.config_file.write_bytes(b'model = "\xff"\n')
    with pytest.raises(ConfigError, match="not valid UTF-8"):
        load_settings(paths, environ={})


def test_user_personas_override_and_extend_builtins(tmp_path: Path) -> None:
    text = '''
[[personas]]
id = "critic"
system_prompt = "Be brutal."

[[personas]]
id = "noir"
name = "Noir buff"
system_prompt = "You love film noir."
key = "F10"
'''
    settings = load_settings(_paths(tmp_path, text), environ={})
    ids = [p.id for p in settings.personas]
    assert ids[: len(BUILTIN_PERSONAS)] == [p.id for p in BUILTIN_PERSONAS]
    critic = settings.personas[ids.index("critic")]
    assert critic.system_prompt == "Be brutal." and critic.name == "Film critic"
    noir = settings.personas[-1]
    assert (noir.id, noir.name, noir.key) == ("noir", "Noir buff", "f10")


def test_key_in_group_readable_config_warns(tmp_path: Path) -> None:
    paths = _paths(tmp_path, 'api_key = "sk-abc"\n')
    os.chmod(paths.config_file, 0o644)
    settings = load_settings(paths, environ={})
    assert settings.endpoint.api_key.reveal() == "sk-abc"
    assert any("chmod 600" in w for w in settings.warnings)
    os.chmod(paths.config_file, 0o600)
    assert not load_settings(paths, environ={}).warnings


def test_sample_config_is_valid_private_and_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "cfg" / "config.toml"
    assert write_sample_config(path)
    assert path.stat().st_mode & 0o077 == 0
    path.write_text('model = "mine"\n')
    assert not write_sample_config(path)
    assert path.read_text() == 'model = "mine"\n'
    path.unlink()
    write_sample_config(path)
    settings = load_settings(Paths(tmp_path, path, tmp_path), environ={})
    assert settings.endpoint.model == DEFAULT_MODEL
