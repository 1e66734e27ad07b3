"""MovieChatApp: wiring between Textual and the controller.

Controller events arrive through `emit`, each posted as a `ControllerEventArrived` (a Textual
message) to the app's queue, so they are handled in order, on the UI's own schedule, and are
forwarded to the chat screen. (In the UI, `Message` is the conversation's; Textual's is
imported as `TextualMessage`, and message widgets are `…View`s.)

Start-up is one pass: with --continue/--open the conversation is opened while the app loads
(`on_load`, before the terminal is taken over), then the chat screen — the app's default
screen — composes what the first frame shows. Screens other than the chat are imported when
first opened.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Iterable
from functools import cached_property, partial
from pathlib import Path
from typing import TYPE_CHECKING

from textual import events, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.message import Message as TextualMessage
from textual.screen import Screen

from moviechat_tui.core import events as ev
from moviechat_tui.core.i18n import _
from moviechat_tui.core.records import Record
from moviechat_tui.session.controller import (
    BackendFactory,
    ConversationController,
    default_backend_factory,
)
from moviechat_tui.settings.config import Settings
from moviechat_tui.settings.keys import DEFAULT_KEYS, key_label
from moviechat_tui.settings.personas import key_for
from moviechat_tui.tui.commands import (
    ConversationCommands,
    ModelCommands,
    help_sections,
    system_commands,
    textual_commands,
)
from moviechat_tui.tui.render.renderers import load_renderer
from moviechat_tui.tui.runtime import bracketed_paste, quit_signals
from moviechat_tui.tui.runtime.keystrokes import Keystrokes
from moviechat_tui.tui.screens.chat import ChatScreen

if TYPE_CHECKING:
    from moviechat_tui.core.conversation import Message
    from moviechat_tui.films.records import FilmSummary
    from moviechat_tui.session.films import FilmLookup
    from moviechat_tui.session.library_actions import LibraryController
    from moviechat_tui.tui.my_films_actions import MyFilmsActions
    from moviechat_tui.tui.render.view_snapshot import Rendered
    from moviechat_tui.tui.widgets.film_marks import FilmMarker
    from moviechat_tui.tui.widgets.message_view import AssistantMessageView, MessageView

WARM_UP_DELAY: float | None = 1.0
"""Seconds without a key press, after the first frame, before the backend is warmed up
(`openai` imported in a thread, ~1 s); None: only on the first request. The import competes
with the interface for the GIL (measured: key echo p95 14 → 34 ms while it runs), so it waits
for a pause in the typing."""

FILMS_AFTER_FIRST_FRAME = 0.3
"""Seconds after the first frame before the replies on screen are checked for films (in a
worker thread; the catalogue is opened then, if there is one)."""


class ControllerEventArrived(TextualMessage):
    """A controller event, on its way through the app's queue to the chat screen."""

    def __init__(self, event: ev.ControllerEvent) -> None:
        super().__init__()
        self.event = event


class StartupAction(Record):
    """What to show first: a new chat, the latest conversation, or a given one."""

    continue_latest: bool = False
    open_id: str | None = None


class MovieChatApp(App[None]):
    TITLE = "moviechat"
    # The chat screen is the default screen, whose CSS_PATH Textual does not read: its sheet
    # is loaded with the app's.
    CSS_PATH = [Path(__file__).with_name("app.tcss"),
                Path(__file__).parent / "screens" / "chat.tcss"]
    ENABLE_COMMAND_PALETTE = True
    COMMANDS = App.COMMANDS | {ConversationCommands, ModelCommands}

    BINDINGS = [
        Binding(DEFAULT_KEYS["quit"], "quit", _("Quit"), id="quit", priority=True),
        Binding(DEFAULT_KEYS["help"], "help", _("Help"), id="help"),
        Binding(DEFAULT_KEYS["new_conversation"], "new_conversation", _("New"),
                id="new_conversation"),
        Binding(DEFAULT_KEYS["open_conversations"], "open_conversations", _("Open"),
                id="open_conversations"),
        Binding(DEFAULT_KEYS["next_persona"], "next_persona", _("Persona"), id="next_persona"),
        Binding(DEFAULT_KEYS["film_search"], "look_up_film", _("Films"), id="film_search"),
        Binding(DEFAULT_KEYS["spoiler_shield"], "toggle_spoiler_shield", _("Spoiler shield"),
                show=False, id="spoiler_shield"),
        Binding(DEFAULT_KEYS["my_films"], "my_films", _("My films"), id="my_films"),
    ]

    def __init__(self, settings: Settings, *, startup: StartupAction | None = None,
                 backend_factory: BackendFactory = default_backend_factory) -> None:
        super().__init__()
        bracketed_paste.install(self)  # pasted text in order, control codes dropped
        self.settings = settings
        self.startup = startup or StartupAction()
        self.controller = ConversationController.for_settings(settings, self._emit,
                                                              backend_factory)
        self.keystrokes = Keystrokes()
        """When the user last pressed a key; work waiting for the next key's echo."""
        self._unsaved_quit_at = -1e9
        self._quitting = False
        """A quit is under way (ctrl+q or a signal, see _signalled): others wait."""
        self._freeze_after_warm_up = False
        self._chat: ChatScreen | None = None
        self._shown_before: dict[str, Rendered] = {}
        self._opened_at_start: object | None = None
        """The conversation opened in `on_load`: the chat screen composes with it, so the
        ConversationOpened event that opening queued is not shown a second time."""
        if settings.interface.keymap:
            self.set_keymap(settings.interface.keymap)
        for index, persona in enumerate(settings.personas):
            key = key_for(settings.personas, index)
            if key:
                # priority: a persona key must work while the prompt (a TextArea that binds
                # F6, F7, ctrl+k, ...) has focus, which is nearly always.
                self._bindings.bind(key, f"persona('{persona.id}')",
                                    description=persona.display_name, show=False,
                                    priority=True)
        # The theme last picked in the palette wins over the config file's starting theme.
        self._theme_problem: str | None = None
        remembered = self.controller.load_preferences().theme
        if remembered in self.available_themes:
            self.theme = remembered
        elif settings.interface.theme:
            if settings.interface.theme in self.available_themes:
                self.theme = settings.interface.theme
            else:
                self._theme_problem = _(
                    "Unknown theme {theme!r} in the config file; using the default. Known: "
                    "{known}").format(theme=settings.interface.theme,
                                      known=", ".join(sorted(self.available_themes)))

    # ------------------------------------------------------------------ events
    def _emit(self, event: ev.ControllerEvent) -> None:
        """Hand a controller event to the UI.

        Reply text does not go through the App's message queue, which also carries key
        presses: a fast model sends thousands of chunks, and one queued message each put
        typing behind all of them (measured: 8 s key echo at 2,000 tok/s). The reply's view
        reads the text from the message itself on its own timer; a `ReplyDelta` only wakes
        it. Every other event is queued in the order the controller emitted it."""
        if isinstance(event, ev.ReplyDelta):
            if self._chat is not None:
                self._chat.reply_text_arrived(event.message)
            return
        self.post_message(ControllerEventArrived(event))

    async def on_controller_event_arrived(self, arrived: ControllerEventArrived) -> None:
        event = arrived.event
        if (isinstance(event, ev.ConversationOpened)
                and event.conversation is self._opened_at_start):
            self._opened_at_start = None  # the screen was composed with it
            return
        if not self.chat_screen.is_attached:
            # Quitting: what the shutdown stops (a reply, a tool call waiting for the user's
            # answer) ends after the app began to exit; nothing can be mounted any more.
            return
        await self.chat_screen.handle_event(event)
        self._films_after(event)

    @cached_property
    def library(self) -> LibraryController:
        """Conversation-library actions (rename, delete, search, export), set up when first
        used: the first frame does not need them."""
        from moviechat_tui.session.library_actions import LibraryController

        return LibraryController(self.controller)

    @cached_property
    def films(self) -> FilmLookup:
        """The film catalogue, as the screens ask it (session/films.py), set up when first
        used: the catalogue is opened in a worker thread then, never for the first frame."""
        from moviechat_tui.session.films import FilmLookup

        return FilmLookup(self.settings.paths, self.controller.catalogue)

    @cached_property
    def my_films_actions(self) -> MyFilmsActions:
        """The keys that put a film in your lists (tui/my_films_actions.py)."""
        from moviechat_tui.tui.my_films_actions import MyFilmsActions

        return MyFilmsActions(self)

    @cached_property
    def film_marker(self) -> FilmMarker:
        """Puts the line of films under replies (widgets/film_marks.py), when first needed."""
        from moviechat_tui.tui.widgets.film_marks import FilmMarker

        return FilmMarker(self)

    def _films_after(self, event: ev.ControllerEvent) -> None:
        """Films under replies: the one that just ended, and those a new view put on
        screen (never while a reply streams)."""
        if isinstance(event, ev.ReplyEnded):
            from moviechat_tui.tui.widgets.message_view import AssistantMessageView

            for shown in self.chat_screen.message_pane.query_children(AssistantMessageView):
                if shown.message is event.message:
                    self.film_marker.reply_finished(shown)
        elif isinstance(event, ev.ConversationOpened | ev.HistoryLoaded | ev.VersionShown):
            self.call_after_refresh(self._films_on_screen)

    def _films_on_screen(self) -> None:
        from moviechat_tui.tui.widgets.message_view import AssistantMessageView

        chat = self._chat
        # Not attached: the app is closing (this runs from a timer, which can fire then).
        if chat is None or not chat.is_attached:
            return
        try:
            replies = chat.message_pane.query_children(AssistantMessageView)
        except NoMatches:  # the screen's widgets already went with the app
            return
        if replies:
            self.film_marker.check_on_screen()

    def _pane_scrolled(self, _scroll_y: float) -> None:
        self.film_marker.scrolled()

    @property
    def chat_screen(self) -> ChatScreen:
        assert self._chat is not None, "the app has not started"
        return self._chat

    def watch_theme(self, theme: str) -> None:
        if self.is_running:
            self.controller.remember_theme(theme)

    def watch_app_focus(self, focused: bool) -> None:
        """In a browser tab (`moviechat serve`) the app starts blurred, before the chat
        screen has focused its prompt, and Textual then never focuses it: the first keys
        typed in the page went nowhere. When the app gets focus with nothing focused, the
        prompt gets it at once, so the key that brought the focus is typed into it (Textual's
        own watcher, which restores the focus a blur took away, runs first)."""
        if (focused and self._chat is not None and self.screen is self._chat
                and self._chat.focused is None):
            self._chat.set_focus(self._chat.query_one("#prompt"))

    async def on_load(self) -> None:
        """--continue/--open: open the conversation before anything is drawn, so the first
        frame shows it (not an empty chat that is then replaced)."""
        opened = False
        if self.startup.open_id:
            opened = await self.controller.open_conversation(self.startup.open_id)
        elif self.startup.continue_latest:
            opened = await self.controller.open_latest()
        if opened:
            self._opened_at_start = self.controller.conversation
            kept = self.controller.kept_view()
            if kept is not None:
                # The replies as the last run showed them: the first frame needs no Markdown
                # rendering (nor the renderer's import) if the width and theme are the same.
                from moviechat_tui.tui.render import view_snapshot

                self._shown_before = view_snapshot.restore(kept, self.controller.conversation,
                                                           self.theme)

    def get_default_screen(self) -> ChatScreen:
        self._chat = ChatScreen(
            shown_before=self._shown_before,
            notices=self.controller.start_notices(),
            header_extra=_("offline") if self.settings.endpoint.local_model else "",
        )
        return self._chat

    def on_mount(self) -> None:
        self.call_after_refresh(self._after_first_frame)
        quit_signals.install(self._signalled)
        self.controller.start_local_endpoint()
        if self._theme_problem:
            self.notify(self._theme_problem, severity="warning", markup=False, timeout=10)
        for warning in self.settings.warnings:
            self.notify(warning, severity="warning", markup=False, timeout=10)

    def _signalled(self, signum: int) -> None:
        """SIGTERM or SIGHUP: quit as ctrl+q does (see quit_signals)."""
        # Once: a closed terminal often sends SIGHUP twice (the shell passes it on to its
        # jobs), and a second quit must not cut the first one's save short. A save that
        # hangs is ended by quit_signals' watchdog.
        if self._quitting:
            return
        self._quitting = True

        def exit_app(code: int) -> None:
            self.exit(return_code=code)

        self.run_worker(quit_signals.quit_for_signal(
            signum, partial(self._shut_down, force=True), exit_app),
            group="quit-on-signal", exit_on_error=False)

    def _after_first_frame(self) -> None:
        """The first frame is on screen: what start-up put off can happen now."""
        # `moviechat` starts with the cyclic garbage collector off (cli.py). What start-up
        # allocated lives as long as the app: freeze it so the collector never rescans it (the
        # few thousand objects of start-up garbage it holds, <1 MB, are not worth the 25 ms
        # a full collection takes here), then turn collection on.
        if not gc.isenabled():
            gc.freeze()
            gc.enable()
            self._freeze_after_warm_up = True
        if WARM_UP_DELAY is not None:
            self.set_timer(WARM_UP_DELAY, self._warm_up_backend, name="backend warm-up")
        # `[[mcp_servers]]`: started in the background (nothing at all without any).
        self.controller.start_mcp_servers()
        # Replies shown from disk: their films once they are on screen (as it scrolls too).
        if self._chat is not None:
            self.watch(self._chat.message_pane, "scroll_y", self._pane_scrolled, init=False)
            self.set_timer(FILMS_AFTER_FIRST_FRAME, self._films_on_screen,
                           name="films on screen")

    def _warm_up_backend(self) -> None:
        """Prepare the backend while the user reads, instead of after their first Enter —
        once no key has been pressed for WARM_UP_DELAY seconds."""
        assert WARM_UP_DELAY is not None
        quiet_for = self.keystrokes.seconds_since_key
        if quiet_for < WARM_UP_DELAY:
            self.set_timer(WARM_UP_DELAY - quiet_for, self._warm_up_backend,
                           name="backend warm-up")
            return
        self.run_worker(self._prepare_backend(), group="backend-warm-up", exclusive=True,
                        exit_on_error=False)

    async def _prepare_backend(self) -> None:
        await self.controller.prepare_backend()
        # The Markdown renderer too (~30 ms to import): the first reply need not wait for it.
        await asyncio.to_thread(load_renderer)
        # Your lists too: the first F10 then draws at once instead of parsing 10,000 entries
        # (~300 ms at that size; benchmarks/my_films.py).
        await asyncio.to_thread(self.controller.my_films.warm_up)
        if self._freeze_after_warm_up:
            # openai and pydantic live as long as the app too, and a full collection that
            # scans them takes 100–150 ms (a stall the user feels): freeze them as well.
            gc.freeze()

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key):
            self.keystrokes.pressed()
            # Typing always reaches the prompt (the chat) or the filter (My films).
            route = getattr(self.screen, "route_typed_key", None)
            if route is not None:
                route(event)
        await super().on_event(event)

    # ----------------------------------------------------------------- actions
    async def action_quit(self) -> None:
        """Quit once everything is saved. If saving fails (disk full), stay open and say so;
        the same key again within 10 s quits anyway."""
        if self._quitting:  # a quit (this key pressed twice, or a signal) is under way
            return
        force = time.monotonic() - self._unsaved_quit_at < 10
        self._quitting, saved = True, False
        try:
            saved = await self._shut_down(force=force)
            if saved:
                self.exit()
                return
        finally:
            self._quitting = saved
        self._unsaved_quit_at = time.monotonic()
        self.notify(_("Not quitting: this conversation could not be saved (see the message "
                      "above). Free some space or fix the folder, then quit again; press "
                      "{key} again now to quit without saving.").format(
                          key=self.key_for("quit")),
                    severity="error", markup=False, timeout=10)

    async def _shut_down(self, *, force: bool) -> bool:
        """What every way of quitting does before the app exits: stop and save everything
        (controller.shutdown), then keep the screen for the next start. False if the
        conversation could not be saved (unless `force`), and then nothing is kept."""
        if not await self.controller.shutdown(force=force):
            return False
        await self._keep_view()
        return True

    async def _keep_view(self) -> None:
        """Keep the replies on screen, rendered, for the next start (see view_snapshot)."""
        from moviechat_tui.tui.render import view_snapshot

        replies = self.chat_screen.rendered_replies()
        if replies:
            await self.controller.keep_view(view_snapshot.take(
                self.controller.conversation, self.theme, replies))

    def action_help(self) -> None:
        from moviechat_tui.tui.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(help_sections(self)))

    async def action_new_conversation(self) -> None:
        await self.controller.new_conversation()
        self.chat_screen.prompt.focus()

    def action_open_conversations(self) -> None:
        from moviechat_tui.tui.screens.conversations import ConversationsScreen

        if isinstance(self.screen, ConversationsScreen):
            return

        async def opened(choice: tuple[str, str | None] | None) -> None:
            if choice:
                await self.controller.open_conversation(choice[0], scroll_to=choice[1])

        self.push_screen(ConversationsScreen(), opened)

    @work(group="rename-current")
    async def action_rename_current(self) -> None:
        from moviechat_tui.tui.screens.dialogs import TextDialog

        conv = self.controller.conversation
        if not conv.messages:
            self.notify(_("Nothing to rename yet: send a message first."), markup=False)
            return
        title = await self.push_screen_wait(TextDialog(_("Rename conversation"), conv.title))
        if title:
            await self.library.rename(conv.id, title)

    @work(group="delete-current")
    async def action_delete_current(self) -> None:
        from moviechat_tui.tui.screens.dialogs import ConfirmDialog

        conv = self.controller.conversation
        if not conv.messages:
            return
        question = _("Move “{title}” to the trash? It can be restored for 30 days.").format(
            title=conv.title or _("(untitled)"))
        if await self.push_screen_wait(ConfirmDialog(question, _("Delete"))):
            await self.library.delete(conv.id)

    def action_choose_model(self) -> None:
        from moviechat_tui.tui.screens.model_picker import ModelsScreen

        def chosen(model: str | None) -> None:
            if model:
                self.controller.set_model(model)

        self.push_screen(ModelsScreen(self.controller.model), chosen)

    async def open_conversation(self, conv_id: str) -> None:
        await self.controller.open_conversation(conv_id)

    def action_toggle_spoiler_shield(self) -> None:
        """The conversation's spoiler shield on or off (the controller saves it)."""
        self.controller.set_spoiler_shield(not self.controller.conversation.spoiler_shield)

    def action_next_persona(self) -> None:
        self.controller.cycle_persona()

    def action_persona(self, persona_id: str) -> None:
        self.controller.set_persona(persona_id)

    # ------------------------------------------------------------------ films
    def action_look_up_film(self, query: str = "") -> None:
        """The film search (ctrl+f, the palette, or a title from a message's films)."""
        from moviechat_tui.tui.screens.film_search import FilmSearchScreen

        if isinstance(self.screen, FilmSearchScreen) and not query:
            return
        self.push_screen(FilmSearchScreen(query))

    def open_film_card(self, film_id: str) -> None:
        from moviechat_tui.tui.screens.film_card import FilmCardScreen

        self.push_screen(FilmCardScreen(film_id))

    def ask_about_film(self, film: FilmSummary) -> None:
        """Back to the chat with a question about `film` started in the prompt. A draft in
        the prompt is kept: the film is written into it where the cursor is."""
        from moviechat_tui.films.card import title_with_year

        reference = title_with_year(film)
        if film.directors:
            reference = _("{film}, directed by {director}").format(
                film=reference, director=film.directors[0])
        self.ask_about(reference, title_with_year(film))

    def ask_about(self, reference: str, label: str) -> None:
        """Back to the chat with `reference` ("Parasite (2019), directed by …") written into
        the prompt: as the start of a question, or where the cursor is in a draft."""
        chat = self.chat_screen
        while len(self.screen_stack) > 1 and self.screen is not chat:
            self.pop_screen()
        prompt = chat.prompt
        if prompt.text.strip():
            prompt.insert(reference)
            self.notify(_("Added {film} to your draft.").format(film=label), markup=False)
        else:
            prompt.insert(_("About {film}: ").format(film=reference))
        prompt.focus()

    # ------------------------------------------------------------- my films
    def action_my_films(self) -> None:
        """The My films screen (F10, the palette)."""
        from moviechat_tui.tui.screens.my_films import MyFilmsScreen

        if isinstance(self.screen, MyFilmsScreen):
            return
        self.push_screen(MyFilmsScreen())

    def action_import_letterboxd(self) -> None:
        """The Letterboxd import dialog (from My films, or the palette)."""
        from moviechat_tui.tui.screens.letterboxd_import import LetterboxdImportScreen

        if not isinstance(self.screen, LetterboxdImportScreen):
            self.push_screen(LetterboxdImportScreen())

    def on_assistant_message_view_film_action_requested(
            self, request: AssistantMessageView.FilmActionRequested) -> None:
        self.film_action_on_reply(request.view.message, request.action)

    @work(group="reply-film-action")
    async def film_action_on_reply(self, message: Message, action: str) -> None:
        """w, l, d, r on a reply: on its film, or — when it names several — in the list of
        its films, where the key acts on the one chosen."""
        from moviechat_tui.session.films import NoCatalogue
        from moviechat_tui.session.my_films import ListFilm
        from moviechat_tui.tui.screens.message_films import MessageFilmsScreen
        from moviechat_tui.tui.widgets.film_marks import known_films

        mentions = await self.films.mentions(message)
        if isinstance(mentions, NoCatalogue):
            self.notify(mentions.message, markup=False, timeout=10)
            return
        films = known_films(mentions)
        if len(films) == 1:
            film = films[0]
            await self.my_films_actions.run(action, ListFilm(film.title, film.year, film.id))
        elif films:
            self.push_screen(MessageFilmsScreen(mentions))
            self.notify(_("This reply names {n} films: choose one, then press {key}.").format(
                n=len(films), key=self.key_for(action)), markup=False)

    def on_message_view_films_requested(self, request: MessageView.FilmsRequested) -> None:
        self.show_message_films(request.view.message)

    @work(group="message-films", exclusive=True)
    async def show_message_films(self, message: Message) -> None:
        """`f` on a message: the films it names, each with its mark (a list → the card)."""
        from moviechat_tui.session.films import NoCatalogue
        from moviechat_tui.tui.screens.message_films import MessageFilmsScreen

        mentions = await self.films.mentions(message)
        if isinstance(mentions, NoCatalogue):
            self.notify(mentions.message, markup=False, timeout=10)
        elif not mentions:
            self.notify(_("The catalogue recognises no film in this message."), markup=False)
        else:
            self.push_screen(MessageFilmsScreen(mentions))

    def open_link(self, href: str) -> None:
        from moviechat_tui.tui.screens.link import LinkScreen

        def chosen(choice: str | None) -> None:
            if choice == "open":
                self.open_url(href)
            elif choice == "copy":
                self.copy_to_clipboard(href)
                self.notify(_("Link copied to the clipboard."), markup=False)

        self.push_screen(LinkScreen(href), chosen)

    # ------------------------------------------------------------ discovery
    def key_for(self, binding_id: str) -> str:
        """The key(s) an action answers to now, after `[keys]` remapping."""
        return key_label(binding_id, self.settings.interface.keymap)

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from textual_commands(self, screen)
        yield from system_commands(self)

    def action_command_palette(self) -> None:
        """Textual's palette, with its placeholder in the interface's language."""
        from textual.command import CommandPalette

        if self.use_command_palette and not isinstance(self.screen, CommandPalette):
            self.push_screen(CommandPalette(id="--command-palette",
                                            placeholder=_("Search for commands…")))

    def search_themes(self) -> None:
        """ctrl+p → Theme, with its placeholder in the interface's language."""
        from textual.command import CommandPalette
        from textual.theme import ThemeProvider

        self.push_screen(CommandPalette(providers=[ThemeProvider],
                                        placeholder=_("Search for themes…")))
