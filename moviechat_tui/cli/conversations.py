"""`moviechat list`, `search` and `export`: the saved conversations, for scripts.

Each handler is a thin call into the library (library/search.py, library/index.py): what is
listed, found or exported is decided there, the same way the app's library screen decides
it; this module only reads flags and prints. docs/scripting.md describes the output.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from moviechat_tui.cli import output
from moviechat_tui.cli.context import settings_from
from moviechat_tui.core.i18n import _

if TYPE_CHECKING:
    from moviechat_tui.cli.parser import Commands
    from moviechat_tui.settings.config import Settings
    from moviechat_tui.storage.store import ConversationStore


def register(commands: Commands) -> None:
    listing = commands.add(
        "list", summary=_("list the saved conversations, newest first"),
        description=_("One line per conversation, most recently updated first: its id, the "
                      "update time, the number of messages and the title."),
        examples=[("moviechat list", _("every conversation, newest first")),
                  ("moviechat list --json | jq -r '.[0].id'",
                   _("the id of the most recently updated one"))],
        handler=run_list)
    listing.add_argument("--json", action="store_true",
                         help=_("print JSON (the keys are in docs/scripting.md)"))

    search = commands.add(
        "search", summary=_("find every message that contains TEXT"),
        description=_("Finds every message that contains TEXT, ignoring upper and lower "
                      "case; one line per message: the conversation's id and title, who "
                      "wrote it and the text around the match. Exit code 1 when nothing "
                      "matches."),
        examples=[("moviechat search Orson Welles", _("several words are searched as one text")),
                  ("moviechat search Kurosawa --json | jq -r '.[].title'",
                   _("the titles of the conversations that mention Kurosawa"))],
        handler=run_search)
    search.add_argument("text", nargs="+", metavar="TEXT", help=_("the text to find"))
    search.add_argument("--json", action="store_true",
                        help=_("print JSON (the keys are in docs/scripting.md)"))

    export = commands.add(
        "export", summary=_("write one conversation as Markdown"),
        description=_("Writes the conversation as Markdown (UTF-8), as ctrl+s does in the "
                      "app: to standard output, or with -o to a file that only you can "
                      "read."),
        examples=[("moviechat export ID > parasite.md", _("to standard output")),
                  ("moviechat export ID -o notes/parasite.md",
                   _("to a file, replacing it; says where on standard error"))],
        handler=run_export)
    export.add_argument("id", metavar="ID",
                        help=_("the conversation's id as `list` shows it, or its start "
                               "(as git takes a commit's)"))
    export.add_argument("-o", "--output", metavar="FILE",
                        help=_("write to FILE instead of standard output"))
    export.add_argument("--tools", action="store_true",
                        help=_("include the film lookups (tool calls with their arguments "
                               "and results) and the catalogue facts sent with questions"))


def _store(args: argparse.Namespace) -> tuple[ConversationStore, Settings]:
    from moviechat_tui.storage.store import ConversationStore

    settings = settings_from(args)
    return ConversationStore(settings.paths.conversations_dir), settings


def _print_json(value: object) -> None:
    import json

    output.write_document(json.dumps(value, ensure_ascii=False, indent=2) + "\n")


def run_list(args: argparse.Namespace) -> int:
    from moviechat_tui.core.text import one_line
    from moviechat_tui.library import json_shapes
    from moviechat_tui.library.index import index_for

    store, _settings = _store(args)
    summaries = index_for(store).summaries()
    if args.json:
        _print_json([json_shapes.summary_json(s) for s in summaries])
        return 0
    for s in summaries:
        print(f"{s.id}  {s.updated.astimezone():%Y-%m-%d %H:%M}  {s.message_count:>4}  "
              f"{one_line(s.title, 80)}")
    return 0


def run_search(args: argparse.Namespace) -> int:
    from moviechat_tui.core.text import one_line
    from moviechat_tui.library import json_shapes
    from moviechat_tui.library import search as library

    store, _settings = _store(args)
    hits = library.search_conversations(
        store, " ".join(args.text),
        on_backlog=lambda count: print(library.backlog_notice(count), file=sys.stderr))
    if args.json:
        _print_json([json_shapes.hit_json(h) for h in hits])
    else:
        for h in hits:
            print(f"{h.conversation_id}  {one_line(h.title, 40)}  {h.role}: "
                  f"{one_line(h.snippet, 120)}")
    return 0 if hits else 1


def run_export(args: argparse.Namespace) -> int:
    from moviechat_tui.library import export
    from moviechat_tui.storage.store import StoreError

    store, settings = _store(args)
    try:
        conv = store.load(store.resolve_id(args.id)).conversation
    except StoreError as exc:
        print(f"moviechat: {exc.message}", file=sys.stderr)
        return 1
    text = export.export_markdown(conv, settings.personas, tools=args.tools)
    if args.output:
        try:
            export.write_export(Path(args.output), text)
        except export.ExportError as exc:
            print(f"moviechat: {exc.message}", file=sys.stderr)
            return 1
        print(_("Exported to {path}").format(path=args.output), file=sys.stderr)
    else:
        output.write_document(text)
    return 0
