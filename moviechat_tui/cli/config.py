"""`moviechat config path|init`: where the files live, and a commented config to start from."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from moviechat_tui.cli.context import paths_from
from moviechat_tui.core.i18n import _

if TYPE_CHECKING:
    from moviechat_tui.cli.parser import Commands


def register(commands: Commands) -> None:
    config = commands.add(
        "config", summary=_("show where files live; write a sample config"),
        description=_("The config file, the conversations and the logs."),
        examples=[("moviechat config path", _("the files in use")),
                  ("moviechat config init", _("write a commented sample config"))])
    actions = commands.group(config, title=_("commands"))
    actions.add(
        "path", summary=_("print the config file, conversations and log folders in use"),
        description=_("Prints the config file, the conversations folder and the log folder "
                      "in use, after --config, --data-dir and the environment variables."),
        examples=[("moviechat config path", _("where everything is")),
                  ("moviechat --data-dir /tmp/films config path",
                   _("where a data folder given on the command line keeps its files"))],
        handler=run_path)
    actions.add(
        "init", summary=_("write a commented sample config (never overwrites)"),
        description=_("Writes a commented sample config to the config file's location, "
                      "readable only by you, and says which lines to edit. An existing file "
                      "is never overwritten (exit code 1)."),
        examples=[("moviechat config init", _("write it where `config path` says")),
                  ("moviechat --config ./work.toml config init",
                   _("write it to another file"))],
        handler=run_init)


def run_path(args: argparse.Namespace) -> int:
    paths = paths_from(args)
    print(_("config file:   {path}").format(path=paths.config_file))
    print(_("conversations: {path}").format(path=paths.conversations_dir))
    print(_("logs:          {path}").format(path=paths.log_dir))
    return 0


def run_init(args: argparse.Namespace) -> int:
    from moviechat_tui.settings.config import sample_config_line, write_sample_config

    path = paths_from(args).config_file
    if not write_sample_config(path):
        print(_("{path} already exists; not overwriting it.").format(path=path),
              file=sys.stderr)
        return 1
    api_key = f"{path}:{sample_config_line('api_key')}"
    base_url = f"{path}:{sample_config_line('base_url')}"
    print(_("Wrote a sample config to {path}").format(path=path))
    print(_("Every setting in it is commented out: remove the \"# \" before one to use it."))
    print(_("For OpenAI, put your key in the environment (e.g. in your shell's profile), "
            "not in a file:"))
    print("    export OPENAI_API_KEY=sk-...")
    print(_("  or uncomment api_key at {where} and keep the file private.").format(
        where=api_key))
    print(_("For a local server (llama.cpp, Ollama), uncomment base_url at {where}; it needs "
            "no key.").format(where=base_url))
    print(_("Then run `moviechat` (or `moviechat --local` to try the bundled model offline)."))
    return 0
