"""The bare `moviechat` command: the chat app itself, with the flags only it takes.

Nothing here is imported before it is needed: the settings when the app is about to start,
Textual right before the first frame (see `run`).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from pathlib import Path

from moviechat_tui.core.i18n import _, set_language

MAX_FPS = 120
"""Textual's frame-rate cap (TEXTUAL_FPS) unless the user set one: see _run_app."""


def add_flags(parser: argparse.ArgumentParser, *,
              open_id: bool = True) -> list[argparse.Action]:
    """The chat's own flags, on the bare command (and `serve`, which hands them to every
    tab: there `--open` opens the browser, so `open_id` is False); returns them so a
    sub-command given with one of them can be told it does not apply."""
    group = parser.add_argument_group(_("chat options (without a command)"))
    flags = [
        group.add_argument("--base-url", metavar="URL",
                           help=_("OpenAI-compatible endpoint, e.g. http://127.0.0.1:8080/v1 "
                                  "(env OPENAI_BASE_URL)")),
        group.add_argument("--model", metavar="NAME",
                           help=_("model name (env MOVIECHAT_MODEL)")),
        group.add_argument("--profile", metavar="NAME",
                           help=_("endpoint profile from the config file ([[profiles]])")),
        group.add_argument("--persona", metavar="ID",
                           help=_("persona to start with: expert, critic, recommender, trivia, "
                                  "spoiler-free, screenwriting, korean-cinema, historian, or "
                                  "one from your config")),
        group.add_argument("--local", action="store_true",
                           help=_("run fully offline on a small bundled model (llama.cpp "
                                  "server + SmolLM2-135M; needs the [local] extra)")),
        group.add_argument("--local-model", metavar="PATH",
                           help=_("run this GGUF model file offline (implies --local)")),
    ]
    reopen = group.add_mutually_exclusive_group()
    flags.append(reopen.add_argument("--continue", dest="continue_latest", action="store_true",
                                     help=_("reopen the latest conversation")))
    if open_id:
        flags.append(reopen.add_argument(
            "--open", metavar="ID", dest="open_id",
            help=_("open the conversation with this id (or its start)")))
    return flags


def misplaced_flag(args: argparse.Namespace, flags: list[argparse.Action]) -> str | None:
    """The first chat flag given together with a sub-command, e.g. `--model`."""
    for action in flags:
        if getattr(args, action.dest, action.default) != action.default:
            return action.option_strings[-1] if action.option_strings else action.dest
    return None


def run(args: argparse.Namespace) -> int:
    """Start the app. No cyclic garbage collection until its first frame is on screen:
    start-up allocates hundreds of thousands of long-lived objects (modules, classes, styles,
    widgets) and the collector would scan them again and again (~40 ms, a tenth of the
    start); the app freezes them into the permanent generation and turns collection back on
    right after the first frame (MovieChatApp._after_first_frame)."""
    gc.disable()
    try:
        return _run_app(args)
    finally:
        gc.enable()


def resolve_local_model(given: str | None) -> Path:
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


def _run_app(args: argparse.Namespace) -> int:
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
            local_model = resolve_local_model(args.local_model)
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
