"""The command-line parser: argparse, plus what a command line with sub-commands needs.

- A command group (`cli/config.py`, `cli/conversations.py`, …) is one module with a
  `register(commands: Commands)` function that adds its sub-commands, each with its own
  help, examples and handler (`args -> exit code`). Handlers import what they need when they
  run, so building the parser loads nothing heavy.
- The global flags (`--data-dir`, `--config`, `--lang`, `--debug`) work before *or* after a
  sub-command: every sub-command's parser repeats them with SUPPRESS defaults, so a flag
  given before the sub-command is not reset by the sub-command's own default.
- A mistyped command name gets a suggestion ("did you mean 'search'?") instead of
  argparse's list of choices.
- Help keeps example lines as written and wraps the prose.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable, Sequence

from moviechat_tui.core.errors import UserFacingError
from moviechat_tui.core.i18n import _

TYPE_CHECKING = False  # typing itself is not loaded on the way to the app's first frame
if TYPE_CHECKING:
    from typing import Any, NoReturn

Handler = Callable[[argparse.Namespace], int]
"""Runs one sub-command and returns its exit code: 0 ok, 1 runtime failure or nothing found,
2 usage or configuration error."""

Example = tuple[str, str]
"""A command line and what it does, shown under "examples:" in the sub-command's help."""


class CommandError(UserFacingError):
    """A sub-command cannot go on: `message` is printed as `moviechat: message` on standard
    error and the command ends with `exit_code`."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def unknown_command(word: str, known: Iterable[str]) -> str:
    """What to say about a command name that is not one: the closest name if there is one."""
    import difflib  # only when someone mistyped

    names = list(known)
    close = difflib.get_close_matches(word, names, n=1, cutoff=0.6)
    if close:
        return _("unknown command {word!r}; did you mean {suggestion!r}?").format(
            word=word, suggestion=close[0])
    return _("unknown command {word!r} (commands: {known})").format(
        word=word, known=", ".join(names))


def _wrap(text: str, width: int) -> list[str]:
    """Words into lines of at most `width` terminal cells: a Hangul or CJK character takes
    two (textwrap counts one, and Korean help would run past the edge)."""
    import unicodedata  # only when help is printed

    def cells(word: str) -> int:
        return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in word)

    lines: list[str] = []
    line, used = "", 0
    for word in text.split():
        size = cells(word)
        if line and used + 1 + size > width:
            lines.append(line)
            line, used = word, size
        elif line:
            line, used = f"{line} {word}", used + 1 + size
        else:
            line, used = word, size
    return [*lines, line] if line else lines


class HelpFormatter(argparse.HelpFormatter):
    """Help in the interface language, wrapped by terminal cells. Descriptions are wrapped
    paragraph by paragraph (a line break is kept); indented lines, the examples, are kept
    exactly as written so they can be copied."""

    def add_usage(self, usage: str | None, actions: Iterable[argparse.Action],
                  groups: Iterable[argparse._MutuallyExclusiveGroup],
                  prefix: str | None = None) -> None:
        super().add_usage(usage, actions, groups, _("usage: ") if prefix is None else prefix)

    def _split_lines(self, text: str, width: int) -> list[str]:
        return _wrap(text, width)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        lines = []
        for line in text.splitlines():
            if not line.strip():
                lines.append("")
            elif line.startswith(" "):
                lines.append(indent + line)
            else:
                lines += [indent + part for part in _wrap(line, width - len(indent))]
        return "\n".join(lines)


class CommandLineParser(argparse.ArgumentParser):
    """An ArgumentParser that speaks the interface language (its headings, -h, errors) and
    answers a mistyped sub-command with a suggestion."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)
        # argparse's own words, in English whatever the language (its gettext domain is not
        # ours): the headings and -h's line. Its error details stay English.
        self._positionals.title = _("positional arguments")
        self._optionals.title = _("options")
        for action in self._actions:
            if "--help" in action.option_strings:
                action.help = _("show this help and exit")

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, _("{prog}: error: {message}").format(prog=self.prog, message=message)
                  + "\n")

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        # argparse checks a sub-command name here, before calling the sub-parser.
        if (isinstance(action, argparse._SubParsersAction) and action.choices is not None
                and value not in action.choices):
            raise argparse.ArgumentError(None, unknown_command(str(value), action.choices))
        super()._check_value(action, value)


def add_global_flags(parser: argparse.ArgumentParser, *, after_command: bool) -> None:
    """The flags every command takes. On a sub-command (`after_command`) they default to
    SUPPRESS: only a flag actually given there lands in the result, over one given before."""
    absent: Any = argparse.SUPPRESS if after_command else None
    group = parser.add_argument_group(_("global options"))
    group.add_argument("--data-dir", metavar="DIR", default=absent,
                       help=_("where conversations and the film catalogue are kept"))
    group.add_argument("--config", metavar="FILE", default=absent,
                       help=_("config file to use"))
    group.add_argument("--lang", metavar="LANG", default=absent,
                       help=_("interface language, e.g. en (default: the system locale)"))
    group.add_argument("--debug", action="store_true",
                       default=argparse.SUPPRESS if after_command else False,
                       help=_("write request details to the log file (see `config path`)"))


def examples_text(examples: Sequence[Example]) -> str | None:
    if not examples:
        return None
    lines = [_("examples:")]
    for command, meaning in examples:
        lines += [f"  {command}", f"      {meaning}"]
    return "\n".join(lines)


class Commands:
    """The sub-commands of one parser: what a command group's `register` adds to."""

    def __init__(self, parser: CommandLineParser, *, dest: str, title: str) -> None:
        self._flags_after = CommandLineParser(add_help=False)
        add_global_flags(self._flags_after, after_command=True)
        # prog given, or argparse would build sub-commands' names from a custom usage text.
        self._subparsers = parser.add_subparsers(title=title, dest=dest, metavar="COMMAND",
                                                 prog=parser.prog)

    @property
    def names(self) -> list[str]:
        return list(self._subparsers.choices)

    def add(self, name: str, *, summary: str, description: str,
            examples: Sequence[Example] = (), handler: Handler | None = None
            ) -> CommandLineParser:
        """A sub-command: `summary` is its line in the parent's help, `description` heads
        its own `--help`, `examples` end it."""
        parser: CommandLineParser = self._subparsers.add_parser(
            name, help=summary, description=description, epilog=examples_text(examples),
            parents=[self._flags_after])
        # The innermost command given reports its own usage errors (see dispatch.parse).
        parser.set_defaults(command_parser=parser)
        if handler is not None:
            parser.set_defaults(handler=handler)
        return parser

    def group(self, parser: CommandLineParser, *, title: str) -> Commands:
        """Sub-commands under a sub-command (`config path`, `films letterboxd import`). The
        group alone (`moviechat config`) is a usage error that lists them."""
        inner = Commands(parser, dest=f"{parser.prog.split()[-1]}_command", title=title)

        def missing(args: argparse.Namespace) -> int:
            parser.error(_("say which: {names}").format(names=", ".join(inner.names)))

        parser.set_defaults(handler=missing)
        return inner
