"""Command-palette providers beyond the app's actions: saved conversations and the
endpoint's models, searchable by name from ctrl+p.

Both ask the controller (which reads headers / fetches /v1/models in threads and caches);
nothing here does I/O. Titles and model names are untrusted text: highlighted with
`matcher.highlight`, which builds Content without parsing markup.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from moviechat_tui.core.errors import UserFacingError
from moviechat_tui.core.i18n import _

if TYPE_CHECKING:
    from moviechat_tui.tui.app import MovieChatApp


class _MovieChatProvider(Provider):
    @property
    def _app(self) -> MovieChatApp:
        """The app, typed. A provider is not a widget (`getters.app` does not apply) and its
        `app` is typed `App[object]`, which `MovieChatApp` (an `App[None]`) is not a subtype
        of; app.py imports this module, so the class can't be imported here to check."""
        return cast("MovieChatApp", self.app)


class ConversationCommands(_MovieChatProvider):
    """"Open: <title>" for each saved conversation (newest first)."""

    async def _entries(self) -> list[tuple[str, str]]:
        summaries = await self._app.controller.list_conversations()
        return [(s.id, _("Open: {title}").format(title=s.title or _("(untitled)")))
                for s in summaries[:500]]

    async def discover(self) -> Hits:
        for conv_id, title in (await self._entries())[:10]:
            yield DiscoveryHit(title, partial(self._app.open_conversation, conv_id),
                               help=_("Saved conversation"))

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for conv_id, title in await self._entries():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title),
                          partial(self._app.open_conversation, conv_id), text=title,
                          help=_("Saved conversation"))


class ModelCommands(_MovieChatProvider):
    """"Model: <name>" for each model the endpoint lists (fetched once, when first asked)."""

    async def search(self, query: str) -> Hits:
        if not query.strip():
            return
        try:
            models = await self._app.controller.list_models()
        except UserFacingError:
            return
        matcher = self.matcher(query)
        for model in models:
            title = _("Model: {name}").format(name=model)
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title),
                          partial(self._app.controller.set_model, model), text=title,
                          help=_("Use this model from the next reply on"))
