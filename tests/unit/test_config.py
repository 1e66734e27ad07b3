"""Settings: precedence, clear errors that name file/line/key, personas from config."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from moviechat_tui.settings.config import (
    DEFAULT_MODEL,
    REQUEST_LIMITS,
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


@pytest.mark.parametrize(("key", "value"), [
    ("timeout", "nan"), ("timeout", "inf"), ("timeout", "-inf"), ("timeout", "-1"),
    ("timeout", "0.5"), ("timeout", "3601"), ("timeout", "1e300"),
    ("connect_timeout", "nan"), ("connect_timeout", "86400"),
    ("max_attempts", "0"), ("max_attempts", "11"), ("max_attempts", "2.5"),
    ("context_window", "255"), ("context_window", "10_000_001"), ("context_window", "inf"),
])
def test_request_numbers_must_be_finite_and_in_range(tmp_path: Path, key: str,
                                                     value: str) -> None:
    """nan, inf or a huge timeout used to be accepted, and every send then failed before a
    request was made, with a message about something else."""
    text = f'model = "m"\n[request]\n{key} = {value}\n'
    with pytest.raises(ConfigError) as info:
        load_settings(_paths(tmp_path, text), environ={})
    low, high = REQUEST_LIMITS[key]
    assert info.value.message == (
        f"{tmp_path / 'config.toml'}:3: request.{key} must be "
        f"{'a whole number' if key in ('max_attempts', 'context_window') else 'a number'} "
        f"from {low:,} to {high:,}")


def test_request_numbers_at_the_limits_are_accepted(tmp_path: Path) -> None:
    text = ("[request]\ntimeout = 3600\nconnect_timeout = 1\nmax_attempts = 10\n"
            "context_window = 10_000_000\n")
    request = load_settings(_paths(tmp_path, text), environ={}).request
    assert (request.timeout, request.connect_timeout, request.max_attempts,
            request.context_window) == (3600.0, 1.0, 10, 10_000_000)


@pytest.mark.parametrize(("url", "problem"), [
    ("not a url", "'not a url' is not an http(s) URL, e.g. http://127.0.0.1:8080/v1"),
    ("localhost:8080/v1", "'localhost:8080/v1' is not an http(s) URL"),
    ("ftp://example.com/v1", "'ftp://example.com/v1' is not an http(s) URL"),
    ("http://127.0.0.1:8080/v1 ", "'http://127.0.0.1:8080/v1 ' is not an http(s) URL"),
    ("http://[::1/v1", "'http://[::1/v1' is not an http(s) URL"),
    ("http://127.0.0.1:99999/v1", "'http://127.0.0.1:99999/v1': the port must be a number "
                                  "from 1 to 65535"),
    ("http://127.0.0.1:0/v1", "the port must be a number from 1 to 65535"),
    ("http://localhost:http/v1", "the port must be a number from 1 to 65535"),
    ("http:///v1", "'http:///v1' has no host name, e.g. http://127.0.0.1:8080/v1"),
    ("http://:8080/v1", "has no host name"),
    ("http://me:s3cret@:8080/v1", "'http://:8080/v1' has no host name"),  # no password shown
])
def test_a_malformed_base_url_is_named_with_where_it_came_from(tmp_path: Path, url: str,
                                                               problem: str) -> None:
    def problem_with(text: str | None, overrides: Overrides, environ: dict[str, str]) -> str:
        with pytest.raises(ConfigError) as info:
            load_settings(_paths(tmp_path, text), overrides, environ=environ)
        assert "s3cret" not in info.value.message
        return info.value.message

    where = tmp_path / "config.toml"
    for message, source in [
        (problem_with(None, Overrides(base_url=url), {}), "--base-url: "),
        (problem_with(None, Overrides(), {"OPENAI_BASE_URL": url}), "OPENAI_BASE_URL: "),
        (problem_with(f'model = "m"\nbase_url = "{url}"\n', Overrides(), {}),
         f"{where}:2: base_url: "),
        (problem_with(f'model = "m"\n[[profiles]]\nname = "p"\nbase_url = "{url}"\n',
                      Overrides(), {}), f"{where}:4: profiles[0].base_url: "),
    ]:
        assert message.startswith(source) and problem in message, message
        (tmp_path / "config.toml").unlink(missing_ok=True)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/v1", "https://api.openai.com/v1",
                                 "http://[::1]:11434/v1", "HTTPS://openrouter.ai/api/v1",
                                 "http://localhost/v1/", "http://user:pw@host:65535"])
def test_well_formed_base_urls_are_accepted(tmp_path: Path, url: str) -> None:
    settings = load_settings(_paths(tmp_path), Overrides(base_url=url), environ={})
    assert settings.endpoint.base_url == url.rstrip("/")
