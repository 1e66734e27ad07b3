"""How the user finds what the app can do: the command palette (ctrl+p) — the app's own
commands and searchable providers of saved conversations and the endpoint's models — and the
F1 screen's sections, both with the keys as `[keys]` remapped them.

The providers ask the controller (which reads headers / fetches /v1/models in threads and
caches); nothing here does I/O. Titles and model names are untrusted text: highlighted with
`matcher.highlight`, which builds Content without parsing markup, or escaped.

app.py imports this module, so this one knows the app's class only for type checking.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING, cast

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.markup import escape

from moviechat_tui.core.endpoint import OPENAI_BASE_URL
from moviechat_tui.core.errors import UserFacingError
from moviechat_tui.core.i18n import _
from moviechat_tui.settings.keys import descriptions
from moviechat_tui.settings.personas import key_for

if TYPE_CHECKING:
    from textual.screen import Screen

    from moviechat_tui.tui.app import MovieChatApp

HelpSections = list[tuple[str, list[tuple[str, str]]]]
"""(section title, [(keys, what they do)]) for the F1 screen."""


def help_sections(app: MovieChatApp) -> HelpSections:
    describe = descriptions()

    def row(binding_id: str) -> tuple[str, str]:
        return app.key_for(binding_id), describe[binding_id]

    general = [
        ("enter", _("Send the message")),
        ("ctrl+j", _("New line (shift+enter too, where the terminal sends it)")),
        row("stop"),
        row("regenerate"),
        row("edit_last"),
        ("ctrl+z", _("Undo in the prompt; right after a branch, undo the branch")),
        row("new_conversation"),
        row("open_conversations"),
        row("export"),
        row("film_search"),
        row("spoiler_shield"),
        row("my_films"),
        ("ctrl+p", _("Command palette: personas and every action")),
        row("help"),
        row("quit"),
    ]
    # Their own table: the long key names would narrow the other tables' descriptions.
    moving = [
        ("up", _("From an empty prompt: move through messages (up/down)")),
        ("pageup / pagedown", _("Scroll the conversation, also while typing")),
        ("ctrl+home / ctrl+end", _("First message / newest message")),
    ]
    message = [
        row("copy_message"),
        row("branch_message"),
        ("1…9", _("Copy code block 1…9 of the focused message")),
        row("older_version"),
        row("newer_version"),
        row("edit_message"),
        row("message_films"),
        row("open_spoiler"),
        ("esc", _("Back to the prompt (so does any other key, typed there)")),
    ]
    personas = [row("next_persona")]
    for index, persona in enumerate(app.settings.personas):
        key = key_for(app.settings.personas, index)
        personas.append(
            (key or "ctrl+p", persona.display_name + " — " + _(persona.description))
        )
    return [(_("Chat"), general), (_("Scrolling and moving"), moving),
            (_("Focused message"), message),
            (_("Library ({key})").format(key=app.key_for("open_conversations")), library_keys()),
            (_("Film card"), film_card_keys()),
            (_("Your lists: on a film card, a reply or in My films"), list_keys(app)),
            (_("My films ({key})").format(key=app.key_for("my_films")), my_films_keys()),
            (_("Personas"), personas)]


def list_keys(app: MovieChatApp) -> list[tuple[str, str]]:
    """The keys that put a film in your lists (remappable: `[keys]`)."""
    describe = descriptions()
    rows = [(app.key_for(binding_id), describe[binding_id])
            for binding_id in ("add_to_watchlist", "log_watched", "log_watched_on",
                               "rate_film")]
    rows.append(("", _("On a reply that names several films: in the list of its films")))
    return rows


def my_films_keys() -> list[tuple[str, str]]:
    """The My films screen's own keys, read from its bindings (they are not remappable)."""
    from moviechat_tui.tui.screens.my_films import MyFilmsScreen

    bound = {binding.id: binding.key for binding in MyFilmsScreen.BINDINGS
             if isinstance(binding, Binding) and binding.id}
    return [
        (_("typing"), _("Filters the list by title, year or tag")),
        ("down / up", _("From the filter into the list, and back")),
        (bound["next_my_list"], _("Next list: watchlist, diary, ratings (shift+tab: back)")),
        (bound["open_my_film"],
         _("The film's card (a film the catalogue did not match: the film search)")),
        (bound["ask_about_my_film"], _("Ask about the film in the chat (a draft is kept)")),
        (bound["sort_my_films"], _("Sort by date, title, year or rating")),
        (bound["remove_my_film"].replace(",", " / "), _("Remove it from the list")),
        (bound["undo_my_films_removal"], _("Put back what was just removed")),
        (bound["import_letterboxd"], _("Import a Letterboxd export")),
        (bound["close_my_films"], _("Back to the chat")),
    ]


def film_card_keys() -> list[tuple[str, str]]:
    """The film card's keys, read from its bindings (they are not remappable)."""
    from moviechat_tui.tui.screens.film_card import FilmCardScreen

    bound = {binding.id: binding.key for binding in FilmCardScreen.BINDINGS
             if isinstance(binding, Binding) and binding.id}
    return [
        (bound["copy_film_link"], _("Copy the film's IMDb link")),
        (bound["ask_about_film"],
         _("Ask about the film in the chat (a draft in the prompt is kept)")),
        (bound["open_film_page"], _("Open the film's IMDb page (after you confirm)")),
        (bound["close_film_card"], _("Back to the search or the chat")),
    ]


def library_keys() -> list[tuple[str, str]]:
    """The conversation library's keys, read from its bindings (they are not remappable)."""
    from moviechat_tui.tui.screens.conversations import ConversationsScreen

    bound = {binding.id: binding.key for binding in ConversationsScreen.BINDINGS
             if isinstance(binding, Binding) and binding.id}
    return [
        ("enter", _("Open the highlighted conversation (at the message found; in the trash: "
                    "restore it)")),
        ("down", _("From the filter box into the list")),
        (bound["search_text"], _("Search the text of every message; again: back to titles")),
        (bound["show_trash"], _("Show the trash (kept 30 days); again: back to titles")),
        (bound["rename_conversation"], _("Rename the highlighted conversation")),
        (bound["delete_conversation"],
         _("Move the highlighted conversation to the trash (after you confirm)")),
        (bound["close"], _("Close the library")),
    ]


def textual_commands(app: MovieChatApp, screen: Screen[object]) -> Iterator[SystemCommand]:
    """Textual's own palette commands, named in the interface's language. Its "Keys" (a
    panel of the focused widget's keys) is left out: the app's "Keys" (F1) lists every key,
    and two entries of one name were confusing."""
    names = {
        "Theme": (_("Theme"), _("Change the colour theme (remembered for the next start)")),
        "Quit": (_("Quit"), _("Quit the app (the reply in flight is saved first)")),
        "Maximize": (_("Maximize"), _("Maximize the focused widget")),
        "Minimize": (_("Minimize"), _("Restore the maximized widget to its normal size")),
        "Screenshot": (_("Screenshot"), _("Save an SVG picture of the screen")),
    }
    for command in App.get_system_commands(app, screen):
        if command.title == "Keys":
            continue
        title, help_text = names.get(command.title, (command.title, command.help))
        yield SystemCommand(escape(title), escape(help_text), command.callback,
                            command.discover)


def system_commands(app: MovieChatApp) -> Iterator[SystemCommand]:
    """The app's own palette commands, after Textual's: personas, chat actions, endpoint
    profiles, export, rename, delete, the model picker and the keys."""

    def titled(title: str, binding_id: str) -> str:
        return escape(f"{title} ({app.key_for(binding_id)})")

    for index, persona in enumerate(app.settings.personas):
        key = key_for(app.settings.personas, index)
        title = _("Persona: {name}").format(name=persona.display_name)
        if key:
            title += f" ({key.upper()})"
        yield SystemCommand(escape(title), escape(_(persona.description)),
                            partial(app.action_persona, persona.id))
    chat = app.chat_screen
    controller = app.controller
    actions: list[tuple[str, str, str, Callable[[], object]]] = [
        (_("New conversation"), "new_conversation", _("Start an empty conversation"),
         app.action_new_conversation),
        (_("Open conversation"), "open_conversations", _("Resume a saved conversation"),
         app.action_open_conversations),
        (_("Stop reply"), "stop", _("Stop the reply that is streaming"), controller.cancel),
        (_("Regenerate reply"), "regenerate",
         _("Ask again; the current version stays reachable"), chat.action_regenerate),
        (_("Edit last question"), "edit_last",
         _("Put your last question back in the prompt to change and resend"),
         chat.action_edit_last),
    ]
    for title, binding_id, help_text, callback in actions:
        yield SystemCommand(titled(title, binding_id), help_text, callback)
    for profile in controller.settings.profiles:
        current = " ●" if profile.name == controller.settings.endpoint.profile else ""
        yield SystemCommand(
            escape(_("Endpoint: {name}").format(name=profile.name) + current),
            escape(profile.base_url or OPENAI_BASE_URL),
            partial(controller.switch_profile, profile.name))
    yield SystemCommand(titled(_("Export conversation to Markdown"), "export"),
                        _("Writes a .md file in the data folder's exports/"),
                        chat.action_export)
    yield SystemCommand(_("Rename conversation…"), _("Give this conversation a new title"),
                        app.action_rename_current)
    yield SystemCommand(_("Delete conversation…"),
                        _("Move this conversation to the trash (30 days)"),
                        app.action_delete_current)
    shield_on = controller.conversation.spoiler_shield
    yield SystemCommand(
        titled(_("Spoiler shield: turn off") if shield_on else _("Spoiler shield: turn on"),
               "spoiler_shield"),
        _("On in this conversation: the model marks plot revelations, and they stay closed "
          "until you open them") if shield_on else
        _("Ask the model to mark plot revelations in this conversation, and keep them "
          "closed until you open them"),
        app.action_toggle_spoiler_shield)
    yield SystemCommand(titled(_("Look up a film…"), "film_search"),
                        _("Search the film catalogue by title, in any language"),
                        app.action_look_up_film)
    yield SystemCommand(titled(_("My films"), "my_films"),
                        _("Your watchlist, diary and ratings"), app.action_my_films)
    yield SystemCommand(_("Import from Letterboxd…"),
                        _("Add a Letterboxd export (ZIP, folder or CSV) to your lists"),
                        app.action_import_letterboxd)
    yield SystemCommand(_("Choose model…"),
                        _("Pick from the endpoint's model list, or type a name"),
                        app.action_choose_model)
    yield SystemCommand(titled(_("Keys"), "help"), _("Show every key"), app.action_help)


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
