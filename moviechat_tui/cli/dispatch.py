"""The `moviechat` command: parse, then open the app or run a sub-command.

Imports nothing heavy at module level: `moviechat --version`, `--help` and `config path`
answer instantly, and the app's imports start only when the app does (cli/chat.py).
Exit codes: 0 ok, 1 runtime failure or nothing found, 2 usage or configuration error.

A command group is one module with a `register(commands)` function (cli/parser.py); adding
one is that module and its name in `build_parser`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from moviechat_tui import __version__
from moviechat_tui.cli import chat, output
from moviechat_tui.cli.parser import CommandError, CommandLineParser, Commands, add_global_flags
from moviechat_tui.core.i18n import _, set_language

USAGE = ("%(prog)s [OPTION ...]\n"
         "       %(prog)s COMMAND [OPTION ...] [ARGUMENT ...]")
"""argparse would show the optional command as required ("COMMAND ...") after every flag."""


COMMANDS = frozenset({"config", "list", "search", "export", "films", "serve"})
"""The command names: words after which the small parser of the bare command must not be
tried (`serve --open` is not the chat's `--open ID`). tests/unit/test_cli.py checks that it
matches what the groups register."""


def build_parser(*, with_commands: bool = True
                 ) -> tuple[CommandLineParser, list[argparse.Action]]:
    """The parser, and the chat's flags (refused together with a sub-command).

    Without the commands (and without -h), it is what the bare `moviechat` needs: argparse
    looks up its own messages' translations on disk for every parser it builds (~0.5 ms
    each), so the sub-commands' parsers are only built when a command or help was asked for.
    """
    parser = CommandLineParser(
        prog="moviechat", usage=USAGE, add_help=with_commands,
        description=_("Talk about films with a language model, in your terminal. Without a "
                      "command, the app opens; the commands below work on its files "
                      "(`moviechat COMMAND --help` for each)."),
        epilog="\n".join([_("examples:"),
                          "  moviechat --base-url http://127.0.0.1:8080/v1",
                          "      " + _("talk to a llama.cpp server on this machine"),
                          "  moviechat --continue",
                          "      " + _("reopen the latest conversation"),
                          "  moviechat search Kurosawa",
                          "      " + _("find every message that mentions Kurosawa")]),
    )
    parser.add_argument("--version", action="version", version=f"moviechat {__version__}",
                        help=_("print the version and exit"))
    chat_flags = chat.add_flags(parser)
    # A tab of `moviechat serve` (its process id follows): see moviechat_tui/web/handoff.py.
    parser.add_argument("--web-tab", type=int, metavar="PID", help=argparse.SUPPRESS)
    add_global_flags(parser, after_command=False)
    if with_commands:
        # The command groups, in the order `moviechat --help` lists them: one module each.
        from moviechat_tui.cli import config, conversations, films, serve

        commands = Commands(parser, dest="command", title=_("commands"))
        for group in (config, conversations, films, serve):
            group.register(commands)
    return parser, chat_flags


def parse(words: list[str]) -> tuple[argparse.Namespace, CommandLineParser,
                                      list[argparse.Action]]:
    """The arguments, the parser that reports usage errors (the command's, if one was given)
    and the chat's flags. The bare command (flags only, the common case) is parsed with the
    small parser; anything else (a command, help, a stray word or flag) with the whole one,
    which also gives the errors."""
    if not COMMANDS.intersection(words):
        parser, chat_flags = build_parser(with_commands=False)
        args, rest = parser.parse_known_args(words)
        if not rest:
            return args, parser, chat_flags
    parser, chat_flags = build_parser()
    args, rest = parser.parse_known_args(words)
    # Usage errors after the command name belong to that command: its usage, its name.
    parser = getattr(args, "command_parser", parser)
    if rest:
        parser.error(_("unrecognized arguments: {words}").format(words=" ".join(rest)))
    return args, parser, chat_flags


def _early_lang(argv: Sequence[str]) -> str | None:
    """--lang must apply before the parser is built, or --help would ignore it."""
    for index, word in enumerate(argv):
        if word == "--lang" and index + 1 < len(argv):
            return argv[index + 1]
        if word.startswith("--lang="):
            return word.split("=", 1)[1]
    return None


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    output.tolerate_any_encoding()  # help and messages too: before anything is printed
    set_language(_early_lang(words))
    args, parser, chat_flags = parse(words)
    if args.lang:
        set_language(args.lang)
    handler = getattr(args, "handler", None)
    if handler is None:
        return chat.run(args)
    flag = None if getattr(args, "takes_chat_flags", False) else chat.misplaced_flag(
        args, chat_flags)
    if flag:
        parser.error(_("{flag} is for the chat; `moviechat {command}` does not take it").format(
            flag=flag, command=parser.prog.removeprefix("moviechat ")))
    try:
        code: int = handler(args)
        sys.stdout.flush()  # here, where a reader that left can still be handled
    except CommandError as exc:
        print(f"moviechat: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:
        output.reader_left()
        return 0
    return code
