"""`[[mcp_servers]]` in config.toml: read, typed, refused with file:line and the entry when
wrong; `$VARIABLE`s in `env` expanded from moviechat's environment; the function names a
model sees stay within OpenAI's rule and never collide."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from moviechat_tui.session.mcp.tools import function_names
from moviechat_tui.settings.config import ConfigError, load_settings
from moviechat_tui.settings.mcp_servers import MissingVariable, expand_env
from moviechat_tui.settings.paths import Paths

OPENAI_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def _load(tmp_path: Path, text: str) -> tuple[Path, object]:
    config = tmp_path / "config.toml"
    config.write_text(text, encoding="utf-8")
    return config, load_settings(Paths(tmp_path / "data", config, tmp_path / "logs"),
                                 environ={})


def test_every_key_is_read(tmp_path: Path) -> None:
    _config, settings = _load(tmp_path, '''
[[mcp_servers]]
name = "github"
command = "github-mcp-server"
args = ["stdio", "--read-only"]
env = { TOKEN = "$GITHUB_TOKEN" }
allow = ["get_issue"]

[[mcp_servers]]
name = "notes"
command = "notes-server"
enabled = false
''')
    github, notes = settings.mcp_servers  # type: ignore[attr-defined]
    assert (github.name, github.command, github.args) == (
        "github", "github-mcp-server", ("stdio", "--read-only"))
    assert github.env == {"TOKEN": "$GITHUB_TOKEN"} and github.enabled
    assert github.allows("get_issue") and not github.allows("create_issue")
    assert (notes.enabled, notes.args, notes.env, notes.allow) == (False, (), {}, ())


@pytest.mark.parametrize(("entry", "expected"), [
    ('name = "bad name"\ncommand = "x"',
     ":2: mcp_servers[0].name: is required: up to 24 letters and digits"),
    ('command = "x"', ":1: mcp_servers[0].name: is required"),  # the header
    ('name = "a"', ":1: mcp_servers[0].command: is required"),
    ('name = "a"\ncommand = "x"\nargs = "stdio"', ":4: mcp_servers[0].args: must be a list"),
    ('name = "a"\ncommand = "x"\nenv = { A = 1 }', ":4: mcp_servers[0].env: must be a table"),
    ('name = "a"\ncommand = "x"\nenabled = "yes"',
     ":4: mcp_servers[0].enabled: must be true or false"),
    ('name = "a"\ncommand = "x"\nallowed = []',
     ":4: mcp_servers[0].allowed: unknown key (known: allow, args, command, enabled, env, "
     "name)"),
])
def test_a_bad_entry_is_one_line_naming_it(tmp_path: Path, entry: str, expected: str) -> None:
    with pytest.raises(ConfigError) as raised:
        _load(tmp_path, f"[[mcp_servers]]\n{entry}\n")
    message = str(raised.value.message)
    assert "\n" not in message
    assert message.startswith(str(tmp_path / "config.toml")) and expected in message


def test_two_servers_may_not_share_a_name(tmp_path: Path) -> None:
    entry = '[[mcp_servers]]\nname = "a"\ncommand = "x"\n'
    with pytest.raises(ConfigError, match=r"mcp_servers\[1\]\.name: another MCP server"):
        _load(tmp_path, entry + entry)


def test_env_names_variables_of_moviechats_environment() -> None:
    env = {"TOKEN": "$GITHUB_TOKEN", "AUTH": "Bearer ${GITHUB_TOKEN}", "PRICE": "$$5"}
    assert expand_env(env, {"GITHUB_TOKEN": "ghp_1"}) == {
        "TOKEN": "ghp_1", "AUTH": "Bearer ghp_1", "PRICE": "$5"}
    with pytest.raises(MissingVariable) as missing:
        expand_env(env, {})
    assert (missing.value.variable, missing.value.key) == ("GITHUB_TOKEN", "TOKEN")


def test_function_names_follow_openais_rule_and_never_collide() -> None:
    tools = ["get issue", "get/issue", "x" * 100, "y" * 100, "", "ok"]
    names = function_names("a-server_name", tools)
    assert all(OPENAI_NAME.match(name) for name in names), names
    assert len(set(names)) == len(names)
    assert names[0] == "a-server_name__get_issue" and names[1].endswith("_2")
    assert names[-1] == "a-server_name__ok"
