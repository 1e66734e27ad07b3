"""The command line as a user types it: sub-commands with their own help, global flags on
either side of the command, a suggestion for a typo, exit codes, output in any encoding."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from moviechat_tui.cli import main
from moviechat_tui.core.conversation import Conversation, Message
from moviechat_tui.core.i18n import set_language
from moviechat_tui.settings.config import SAMPLE_CONFIG
from moviechat_tui.storage.store import ConversationStore

KOREAN_ID = "0123456789abcdef0123456789abcdef"


@pytest.fixture(autouse=True)
def english_afterwards() -> Iterator[None]:
    yield
    set_language("en")


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A data folder with one conversation whose title and messages are Korean."""
    when = datetime(2025, 1, 1, tzinfo=UTC)
    conv = Conversation(id=KOREAN_ID, title="기생충 이야기", persona="expert", model="m",
                        created=when, updated=when)
    conv.messages += [Message(role="user", content="봉준호의 기생충 어때?", id="m1", created=when),
                      Message(role="assistant", content="걸작이에요.", id="m2", created=when)]
    ConversationStore(tmp_path / "conversations").save(conv)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """main() as the console script runs it: the exit code, standard output and error."""
    try:
        code = main(["--lang", "en", *argv])
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def cli(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    """`moviechat ARGV` in its own process (bytes: the test decides how to decode)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "MOVIECHAT_"))}
    return subprocess.run([sys.executable, "-m", "moviechat_tui", "--lang", "en", *argv],
                          capture_output=True, timeout=60, env={**base, **(env or {})})


@pytest.mark.parametrize(("argv", "own"), [
    (["search", "--help"], ["usage: moviechat search", "TEXT", "--json",
                            "moviechat search Orson Welles"]),
    (["list", "--help"], ["usage: moviechat list", "--json", "moviechat list --json"]),
    (["export", "--help"], ["usage: moviechat export", "ID", "-o FILE", "moviechat export ID"]),
    (["config", "--help"], ["usage: moviechat config", "path", "init"]),
    (["config", "init", "--help"], ["usage: moviechat config init", "moviechat config init"]),
])
def test_each_command_has_its_own_help(capsys: pytest.CaptureFixture[str], argv: list[str],
                                       own: list[str]) -> None:
    code, out, _err = run(capsys, *argv)
    assert code == 0
    for text in [*own, "examples:", "--data-dir DIR", "--config FILE"]:
        assert text in out, f"{text!r} missing from {argv} --help:\n{out}"
    assert "--base-url" not in out and "--persona" not in out  # the chat's flags are not here


def test_the_apps_help_lists_the_commands_and_the_chat_flags(
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = run(capsys, "--help")
    assert code == 0
    for text in ["config", "list", "search", "export", "--base-url", "--continue",
                 "--data-dir", "examples:"]:
        assert text in out


@pytest.mark.parametrize(("argv", "message"), [
    (["serch", "x"], "unknown command 'serch'; did you mean 'search'?"),
    (["lsit"], "unknown command 'lsit'; did you mean 'list'?"),
    (["exprot", "x"], "unknown command 'exprot'; did you mean 'export'?"),
    (["config", "pth"], "unknown command 'pth'; did you mean 'path'?"),
    (["hello"], "unknown command 'hello' (commands: config, list, search, export, films, serve)"),
])
def test_a_mistyped_command_gets_a_suggestion(capsys: pytest.CaptureFixture[str],
                                               argv: list[str], message: str) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert message in err


def test_global_flags_work_before_and_after_the_command(
        capsys: pytest.CaptureFixture[str], data: Path) -> None:
    flags = ["--data-dir", str(data), "--config", str(data / "none.toml")]
    before = run(capsys, *flags, "list", "--json")
    after = run(capsys, "list", "--json", *flags)
    mixed = run(capsys, "--data-dir", "/nonexistent", "list", "--json", *flags)
    assert before == after == mixed
    assert before[0] == 0 and json.loads(before[1])[0]["id"] == KOREAN_ID
    code, out, _err = run(capsys, "config", "path", "--data-dir", str(data))
    assert code == 0 and str(data / "conversations") in out


def test_the_chats_flags_do_not_go_with_a_command(capsys: pytest.CaptureFixture[str],
                                                  data: Path) -> None:
    code, out, err = run(capsys, "--data-dir", str(data), "--model", "x", "list")
    assert code == 2 and out == ""
    assert ("moviechat list: error: --model is for the chat; `moviechat list` does not take "
            "it") in err
    code, _out, err = run(capsys, "--data-dir", str(data), "list", "--continue")
    assert code == 2 and "moviechat list: error: unrecognized arguments: --continue" in err
    assert err.startswith("usage: moviechat list ")  # the command's usage, not the app's


@pytest.mark.parametrize(("argv", "expected"), [
    (["list"], 0),
    (["list", "extra"], 2),
    (["search", "기생충"], 0),
    (["search", "nowhere-to-be-found"], 1),
    (["search"], 2),
    (["export", KOREAN_ID], 0),
    (["export", "missing"], 1),
    (["export"], 2),
    (["export", KOREAN_ID, "another"], 2),
    (["config"], 2),
    (["config", "path"], 0),
])
def test_exit_codes_are_as_documented(capsys: pytest.CaptureFixture[str], data: Path,
                                      argv: list[str], expected: int) -> None:
    code, _out, err = run(capsys, "--data-dir", str(data), "--config",
                          str(data / "none.toml"), *argv)
    assert code == expected, err
    assert "Traceback" not in err


def test_a_broken_config_file_stops_a_command_with_exit_code_2(
        capsys: pytest.CaptureFixture[str], data: Path) -> None:
    config = data / "config.toml"
    config.write_text("[request]\ntimeout = nan\n", encoding="utf-8")
    code, out, err = run(capsys, "list", "--data-dir", str(data), "--config", str(config))
    assert (code, out) == (2, "")
    assert err == f"moviechat: {config}:2: request.timeout must be a number from 1 to 3,600\n"


def test_output_survives_an_ascii_terminal(data: Path) -> None:
    """PYTHONIOENCODING=ascii (or a C locale): text for people replaces what the terminal
    cannot show; JSON and Markdown are UTF-8 as asked for; nothing raises."""
    ascii_ = {"PYTHONIOENCODING": "ascii"}
    flags = ["--data-dir", str(data), "--config", str(data / "none.toml")]
    listed = cli(*flags, "list", env=ascii_)
    assert listed.returncode == 0, listed.stderr.decode()
    assert listed.stdout.decode("ascii").startswith(f"{KOREAN_ID}  2025-01-01")
    assert "??? ???" in listed.stdout.decode("ascii")
    found = cli(*flags, "search", "기생충", env=ascii_)
    assert found.returncode == 0, found.stderr.decode()
    assert found.stdout.decode("ascii").startswith(KOREAN_ID)
    as_json = cli(*flags, "list", "--json", env=ascii_)
    assert as_json.returncode == 0, as_json.stderr.decode()
    assert json.loads(as_json.stdout.decode("utf-8"))[0]["title"] == "기생충 이야기"
    hits = cli(*flags, "search", "걸작", "--json", env=ascii_)
    assert json.loads(hits.stdout.decode("utf-8"))[0]["snippet"] == "걸작이에요."
    exported = cli(*flags, "export", KOREAN_ID, env=ascii_)
    assert exported.returncode == 0, exported.stderr.decode()
    assert exported.stdout.decode("utf-8").startswith("# 기생충 이야기\n")
    target = data / "기생충.md"
    to_file = cli(*flags, "export", KOREAN_ID, "-o", str(target), env=ascii_)
    assert to_file.returncode == 0, to_file.stderr.decode()
    assert target.read_text("utf-8").startswith("# 기생충 이야기\n")
    assert b"Exported to" in to_file.stderr
    helped = cli("--lang", "ko", "search", "--help", env=ascii_)
    assert helped.returncode == 0 and b"Traceback" not in helped.stderr
    assert b"usage: moviechat search" in helped.stdout


def test_a_reader_that_stops_early_ends_the_command_quietly(data: Path) -> None:
    """`moviechat list --json | head -1`: no BrokenPipeError on standard error."""
    store = ConversationStore(data / "conversations")
    when = datetime(2025, 1, 1, tzinfo=UTC)
    for n in range(300):
        store.save(Conversation(id=f"{n:032x}", title="x" * 200, persona="expert",
                                model="m", created=when, updated=when))
    command = [sys.executable, "-m", "moviechat_tui", "--data-dir", str(data), "--config",
               str(data / "none.toml"), "list", "--json"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.readline() == b"[\n"
    process.stdout.close()  # the reader leaves, as head does
    err = process.stderr.read()
    assert process.wait(timeout=60) == 0
    assert err == b""


def test_config_init_says_which_line_to_edit_and_what_to_run(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    config = tmp_path / "cfg" / "config.toml"
    code, out, _err = run(capsys, "--config", str(config), "config", "init")
    assert code == 0
    assert config.read_text("utf-8") == SAMPLE_CONFIG
    lines = config.read_text("utf-8").splitlines()
    api_key_line = next(n for n, line in enumerate(lines, 1) if line.startswith("# api_key ="))
    base_url_line = next(n for n, line in enumerate(lines, 1)
                         if line.startswith("# base_url ="))
    assert f"{config}:{api_key_line}" in out
    assert f"{config}:{base_url_line}" in out
    assert "export OPENAI_API_KEY=" in out
    assert "Then run `moviechat`" in out
    code, out, err = run(capsys, "--config", str(config), "config", "init")
    assert (code, out) == (1, "") and "not overwriting" in err


@pytest.mark.parametrize(("argv", "env", "message"), [
    (["--base-url", "not a url"], {},
     "moviechat: --base-url: 'not a url' is not an http(s) URL, e.g. http://127.0.0.1:8080/v1"),
    (["--base-url", "http://127.0.0.1:99999/v1"], {},
     "moviechat: --base-url: 'http://127.0.0.1:99999/v1': the port must be a number from 1 "
     "to 65535"),
    ([], {"OPENAI_BASE_URL": "http:///v1"},
     "moviechat: OPENAI_BASE_URL: 'http:///v1' has no host name"),
])
def test_a_malformed_base_url_stops_before_the_app_starts(
        tmp_path: Path, argv: list[str], env: dict[str, str], message: str) -> None:
    out = cli("--data-dir", str(tmp_path), "--config", str(tmp_path / "none.toml"), *argv,
              env=env)
    assert out.returncode == 2
    err = out.stderr.decode()
    assert err.startswith(message) and err.count("\n") == 1, err
    assert out.stdout == b""


def test_a_command_group_two_levels_deep_works_like_the_others(
        capsys: pytest.CaptureFixture[str]) -> None:
    """What the next command groups (`films letterboxd import`) are built with: help, global
    flags after the command, typo suggestions and usage errors at every level."""
    from moviechat_tui.cli.parser import CommandLineParser, Commands, add_global_flags

    parser = CommandLineParser(prog="moviechat")
    add_global_flags(parser, after_command=False)
    films = Commands(parser, dest="command", title="commands")
    letterboxd = films.group(films.add("films", summary="s", description="d"), title="c")
    inner = letterboxd.group(letterboxd.add("letterboxd", summary="s", description="d"),
                             title="c")
    importer = inner.add("import", summary="s", description="d",
                         examples=[("moviechat films letterboxd import ZIP", "what it does")],
                         handler=lambda args: 0)
    importer.add_argument("zip", metavar="ZIP")
    args = parser.parse_args(["--data-dir", "/a", "films", "letterboxd", "import", "x.zip",
                              "--lang", "ko"])
    assert (args.handler(args), args.zip, args.data_dir, args.lang) == (0, "x.zip", "/a", "ko")
    for argv, message in [(["films", "letterboxd", "imprt"], "did you mean 'import'?"),
                          (["films", "letterbox"], "did you mean 'letterboxd'?")]:
        with pytest.raises(SystemExit):
            parser.parse_args(argv)
        assert message in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parser.parse_args(["films", "letterboxd", "import", "--help"])
    out = capsys.readouterr().out
    assert "usage: moviechat films letterboxd import" in out
    assert "moviechat films letterboxd import ZIP" in out and "--data-dir DIR" in out
    args = parser.parse_args(["films", "letterboxd"])
    with pytest.raises(SystemExit):
        args.handler(args)
    assert "say which: import" in capsys.readouterr().err


def test_serve_hands_the_chat_and_global_flags_to_every_tab() -> None:
    """`serve` checks the chat's flags once and gives each tab's app the same ones, whether
    the global flags came before or after the command; its own flags stay with it."""
    from moviechat_tui.cli import dispatch, serve

    args, _parser, _flags = dispatch.parse(
        ["--data-dir", "/tmp/films", "serve", "--port", "0", "--open", "--local",
         "--persona", "critic", "--continue", "--lang", "ko", "--debug"])
    assert args.handler is serve.run_serve
    assert (args.port, args.open_browser, args.token) == (0, True, True)
    assert serve.tab_words(args) == ["--persona", "critic", "--local", "--continue",
                                     "--data-dir", "/tmp/films", "--lang", "ko", "--debug"]


def test_the_list_of_command_names_matches_the_parser() -> None:
    from moviechat_tui.cli import dispatch

    parser, _flags = dispatch.build_parser()
    registered = {name for action in parser._actions
                  if isinstance(action, argparse._SubParsersAction)
                  for name in action.choices}
    assert registered == dispatch.COMMANDS
