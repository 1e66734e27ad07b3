"""`moviechat serve`: the app in a browser tab (moviechat_tui/web/), private by default.

`serve` takes the chat's own flags too (`--local`, `--profile`, `--model` …): they are checked
here once — a broken config is one line, not one per tab — and handed unchanged to every
tab's app process, which is `moviechat` again with those flags.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from moviechat_tui.cli import chat
from moviechat_tui.core.i18n import _, set_language

if TYPE_CHECKING:
    from moviechat_tui.cli.parser import Commands

GLOBAL_FLAGS = (("data_dir", "--data-dir"), ("config", "--config"), ("lang", "--lang"))


def register(commands: Commands) -> None:
    from moviechat_tui.web.serve import DEFAULT_HOST, DEFAULT_PORT

    serve = commands.add(
        "serve", summary=_("serve the app to a web browser (needs the [web] extra)"),
        description=_("Serve moviechat to a web browser: each tab is its own moviechat, on "
                      "the same conversations. Private by default: this machine only, and "
                      "a secret link (see docs/web.md). The chat options below apply to "
                      "every tab."),
        examples=[("moviechat serve --open", _("serve and open it in your browser")),
                  ("moviechat serve --local", _("fully offline, one model for every tab")),
                  ("moviechat serve --host 0.0.0.0 --port 8080",
                   _("reachable from your home network (read docs/web.md first)"))],
        handler=run_serve)
    web = serve.add_argument_group(_("serve options"))
    web.add_argument("--host", default=DEFAULT_HOST,
                     help=_("address to listen on (default: {host}, this machine only)")
                     .format(host=DEFAULT_HOST))
    web.add_argument("--port", type=int, default=DEFAULT_PORT,
                     help=_("port to listen on (default: {port}; 0 picks a free one)")
                     .format(port=DEFAULT_PORT))
    web.add_argument("--open", dest="open_browser", action="store_true",
                     help=_("open the address in the default web browser"))
    web.add_argument("--no-token", dest="token", action="store_false",
                     help=_("do not require the link's token (only on a loopback address; "
                            "every user of this machine can then use the app)"))
    flags = chat.add_flags(serve, open_id=False)
    serve.set_defaults(takes_chat_flags=True, tab_flags=flags)


def tab_words(args: argparse.Namespace) -> list[str]:
    """The flags each tab's app gets: the chat's and the global ones the user gave."""
    words: list[str] = []
    for action in args.tab_flags:
        value = getattr(args, action.dest, action.default)
        if value is None or value == action.default:
            continue
        option = action.option_strings[-1]
        words += [option] if isinstance(value, bool) else [option, str(value)]
    for dest, option in GLOBAL_FLAGS:
        value = getattr(args, dest, None)
        if value is not None:
            words += [option, str(value)]
    if getattr(args, "debug", False):
        words.append("--debug")
    return words


def run_serve(args: argparse.Namespace) -> int:
    from moviechat_tui.core.errors import UserFacingError
    from moviechat_tui.settings.config import Overrides, load_settings
    from moviechat_tui.settings.paths import Paths
    from moviechat_tui.web import serve

    local_model: Path | None = None
    try:
        if args.local or args.local_model:
            if args.base_url:
                print(_("moviechat: --local and --base-url cannot be used together"),
                      file=sys.stderr)
                return 2
            local_model = chat.resolve_local_model(args.local_model)
        settings = load_settings(
            Paths.default(data_dir=args.data_dir, config_file=args.config),
            Overrides(base_url=args.base_url, model=args.model, persona=args.persona,
                      lang=args.lang, local_model=local_model, profile=args.profile))
    except UserFacingError as exc:  # ConfigError, LocalServerError
        print(f"moviechat: {exc.message}", file=sys.stderr)
        return 2
    if settings.interface.lang and not args.lang:
        set_language(settings.interface.lang)
    flags = serve.ServeFlags(host=args.host, port=args.port, open_browser=args.open_browser,
                             token=args.token)
    return serve.run(serve.ServeOptions(flags=flags, app_arguments=tuple(tab_words(args)),
                                        log_dir=settings.paths.log_dir,
                                        local_model=local_model))
