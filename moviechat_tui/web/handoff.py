"""What `moviechat serve` hands each tab's app process, and how that process takes it.

Each browser tab runs `moviechat` again, as a child of `serve`, with the user's own flags plus
the hidden `--web-tab SERVE_PID`. That flag does two things in the child:

1. **It ends with `serve`.** The child asks Linux for SIGTERM when its parent dies
   (PR_SET_PDEATHSIG), so even a `serve` killed with `kill -9` leaves no app behind: each tab
   gets the "terminal closed" signal, saves and exits. The request is made by the child itself,
   right after it starts (it is single-threaded then), not in a pre-exec hook inside `serve`,
   whose event loop has threads. If `serve` died before the request was made, the child sees
   another parent and exits at once.
2. **With `--local`, it uses the one llama.cpp server that `serve` started** instead of
   starting its own: one model in memory however many tabs are open. The server's address
   and its per-run key reach the child in two environment variables that `serve` sets for its
   children only (TabProcess), and the child removes them from its environment as soon as it
   has read them. Never on a command line, where `ps` shows them to every user; never to the
   browser: the page only ever receives the app's screen. The endpoint keeps `local_model`,
   so the tab still says "offline" and, for the bundled model, why its film facts are weak.
"""

from __future__ import annotations

import os
import signal
from collections.abc import MutableMapping
from typing import TYPE_CHECKING

from moviechat_tui.core.errors import UserFacingError
from moviechat_tui.core.i18n import _
from moviechat_tui.core.records import replace
from moviechat_tui.core.secret import Secret

if TYPE_CHECKING:
    from moviechat_tui.llm.local_server import LocalServer
    from moviechat_tui.settings.config import Settings

TAB_FLAG = "--web-tab"
"""The hidden flag `serve` gives each tab's command, followed by `serve`'s process id."""
LOCAL_URL_VARIABLE = "MOVIECHAT_SERVE_LOCAL_URL"
LOCAL_KEY_VARIABLE = "MOVIECHAT_SERVE_LOCAL_KEY"


class HandoffError(UserFacingError):
    """The tab cannot use what `serve` was meant to hand it."""


# --- the serve side ----------------------------------------------------------------------


def tab_arguments(app_arguments: list[str]) -> list[str]:
    """The user's flags for the app, plus the hidden flag naming this process as `serve`."""
    return [*app_arguments, TAB_FLAG, str(os.getpid())]


def tab_environment(local: LocalServer | None) -> dict[str, str]:
    """Extra environment for each tab's process: the shared `--local` server, if any."""
    if local is None or local.base_url is None:
        return {}
    return {LOCAL_URL_VARIABLE: local.base_url, LOCAL_KEY_VARIABLE: local.api_key.reveal()}


# --- the tab side (inside the app process, before the app starts) -------------------------


def become_tab(serve_pid: int) -> None:
    """Die with `serve` (SIGTERM, which the app answers by saving and quitting)."""
    from moviechat_tui.llm.local_server import _set_parent_death_signal

    _set_parent_death_signal(signal.SIGTERM)
    if os.getppid() != serve_pid:  # serve is already gone: nobody will ever see this tab
        raise SystemExit(1)


def adopt_shared_local(settings: Settings, environ: MutableMapping[str, str]) -> Settings:
    """`settings` for a `--local` tab: the server `serve` runs instead of one of our own.
    Without `--local` it only clears the variables. Raises HandoffError if they are missing."""
    url = environ.pop(LOCAL_URL_VARIABLE, None)
    key = environ.pop(LOCAL_KEY_VARIABLE, None)
    if settings.endpoint.local_model is None:
        return settings
    if not url or not key:
        raise HandoffError(_("This tab was started without the shared local model server; "
                             "stop `moviechat serve` and start it again."))
    return replace(settings, endpoint=replace(
        settings.endpoint, base_url=url, api_key=Secret(key), local_server_shared=True,
        url_source=_("the local model server (moviechat serve --local)")))
