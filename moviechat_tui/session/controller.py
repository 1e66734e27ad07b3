"""The async conversation controller: the one place where a chat turn happens.

UI → controller → (backend, store) → events back to the UI. The controller owns the current
`Conversation`, turns user text into a request, streams the reply, saves at every step where a
word could otherwise be lost (the user's message before the request goes out, the reply at
least once a second while it streams, and when it ends, fails, is cancelled or the app quits),
and reports everything as events. It knows nothing of Textual.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import operator
from collections.abc import Coroutine, Iterable
from typing import TYPE_CHECKING

from moviechat_tui.core import events as ev
from moviechat_tui.core import versions
from moviechat_tui.core.context import Fitted
from moviechat_tui.core.conversation import (
    FINISH_CANCELLED,
    FINISH_ERROR,
    FINISH_STREAMING,
    Conversation,
    ConversationSummary,
    Message,
    default_title,
)
from moviechat_tui.core.i18n import _, ngettext
from moviechat_tui.core.persona import Persona, find
from moviechat_tui.core.records import replace
from moviechat_tui.core.spoilers import masked
from moviechat_tui.core.text import one_line, sanitize
from moviechat_tui.library.index_worker import BACKLOG_TO_SPAWN, IndexWorker
from moviechat_tui.llm.types import BackendError, ChatRequest, ErrorKind
from moviechat_tui.session import titles
from moviechat_tui.session.connection import (
    BackendFactory,
    Connection,
    Emit,
    default_backend_factory,
)
from moviechat_tui.session.turn import (
    build_request,
    ending_notice,
    too_long_notice,
)
from moviechat_tui.settings.config import Settings
from moviechat_tui.settings.keys import key_label
from moviechat_tui.storage.errors import StoreError
from moviechat_tui.storage.preferences import Preferences, load_preferences, update_preferences
from moviechat_tui.storage.store import ConversationStore
from moviechat_tui.storage.view_cache import ViewCache

if TYPE_CHECKING:
    from moviechat_tui.library.index import LibraryIndex
    from moviechat_tui.llm.backend import ChatBackend
    from moviechat_tui.session.catalogue_access import CatalogueAccess
    from moviechat_tui.session.grounding import Grounding, Plan
    from moviechat_tui.session.mcp.servers import McpServers
    from moviechat_tui.session.my_films import MyFilms
    from moviechat_tui.session.spoiler_shield import SpoilerShield

__all__ = ["BackendFactory", "ConversationController", "default_backend_factory"]

log = logging.getLogger(__name__)

OPEN_TAIL = 60
"""Messages read when a conversation opens: the newest ones, enough for the first screens.
The rest of a long conversation arrives in the background (`load_history`)."""


def busy_notice() -> str:
    """Said whenever something must wait for the reply that is still arriving."""
    return _("A reply is still arriving: wait for it or press Esc to stop it.")


class ConversationController:
    """One chat: the current conversation, its persona and model, the reply in flight."""

    def __init__(self, settings: Settings, store: ConversationStore, emit: Emit,
                 backend_factory: BackendFactory = default_backend_factory) -> None:
        self.store = store
        self.connection = Connection(settings, emit, backend_factory)
        self.view_cache = ViewCache(settings.paths.views_dir)
        self._emit = emit
        persona = find(settings.personas, settings.persona)
        assert persona is not None  # config validated it
        self.persona: Persona = persona
        self.model = one_line(settings.endpoint.model, 200)  # shown in the header: inert text
        self.conversation = self._blank()
        self.read_only = False
        self._reply_task: asyncio.Task[None] | None = None
        self._save_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[object]] = set()
        self._editing: Message | None = None
        """The user message being edited (`start_edit`); the next send replaces its turn."""
        self._removed: set[str] = set()
        """Ids this window deleted on purpose (so a merge does not bring them back)."""
        self._partial = False
        """`conversation` holds only the newest messages of a long conversation (opened with
        `store.load_tail`); `complete_history` brings in the rest."""
        self._history: asyncio.Task[None] | None = None
        self._indexer = IndexWorker(store.conversations_dir)
        self._backlog_checked = False
        """The first listing checks whether to start the background indexer; later ones
        do not scan the directory a second time for it."""
        self._grounding: Grounding | None = None
        self._mcp: McpServers | None = None

    @classmethod
    def for_settings(cls, settings: Settings, emit: Emit,
                     backend_factory: BackendFactory = default_backend_factory,
                     ) -> ConversationController:
        """The controller of a chat on the data folder `settings` name."""
        return cls(settings, ConversationStore(settings.paths.conversations_dir), emit,
                   backend_factory)

    # ------------------------------------------------------------------ state
    @property
    def settings(self) -> Settings:
        """The settings in use (the endpoint changes with a profile switch or --local)."""
        return self.connection.settings

    @property
    def grounding(self) -> Grounding:
        """The film tools or catalogue facts each question gets (session/grounding.py),
        made with the first question: the tools and their modules cost start-up nothing."""
        if self._grounding is None:
            from moviechat_tui.session.grounding import Grounding

            self._grounding = Grounding(self.settings.films.grounding, self.catalogue,
                                        self.settings.paths.data_dir, self.my_films)
        return self._grounding

    @property
    def mcp_servers(self) -> McpServers | None:
        """The `[[mcp_servers]]` of this session (None: none enabled), made with
        `start_mcp_servers`."""
        return self._mcp

    def start_mcp_servers(self) -> None:
        """Start the enabled MCP servers in the background (once): the app calls this after
        the first frame, when the user is idle; the first question does if it comes first.
        Nothing at all without any configured."""
        if self._mcp is None and any(c.enabled for c in self.settings.mcp_servers):
            from moviechat_tui.session.mcp.servers import McpServers

            paths = self.settings.paths
            self._mcp = McpServers(self.settings.mcp_servers, self.grounding.registry,
                                   self._emit, log_dir=paths.log_dir, data_dir=paths.data_dir)
        if self._mcp is not None:
            self._mcp.start()

    @functools.cached_property
    def my_films(self) -> MyFilms:
        """The user's lists (session/my_films.py): for the app's screens and keys, and what
        goes along with a request. Nothing is read until something asks."""
        from moviechat_tui.session.my_films import MyFilms

        return MyFilms(self.settings.paths.my_films_dir, self._emit,
                       share=self.settings.films.share_my_films)

    @functools.cached_property
    def catalogue(self) -> CatalogueAccess:
        """The film catalogue this session asks — for the film tools, the facts, and the
        film search and card (session/films.py): one `Catalogue`, opened on first use."""
        from moviechat_tui.session.catalogue_access import CatalogueAccess

        return CatalogueAccess.in_folder(self.settings.paths.films_dir)

    @functools.cached_property
    def spoiler_shield(self) -> SpoilerShield:
        """The shield's instruction for requests (session/spoiler_shield.py), made when a
        conversation with the shield on first asks something."""
        from moviechat_tui.session.spoiler_shield import SpoilerShield

        return SpoilerShield(self.settings.paths.data_dir,
                             lambda text: self._emit(ev.Notify(text, ev.Severity.WARNING)))

    @property
    def busy(self) -> bool:
        return self._reply_task is not None and not self._reply_task.done()

    @property
    def personas(self) -> tuple[Persona, ...]:
        return self.settings.personas

    def _blank(self) -> Conversation:
        return Conversation(persona=self.persona.id, model=self.model,
                            spoiler_shield=self.settings.interface.spoiler_shield)

    def report(self, problems: Iterable[StoreError]) -> None:
        """Store and index problems (a quarantined file, a merge) as warnings."""
        for problem in problems:
            self._emit(ev.Notify(problem.message, ev.Severity.WARNING))

    # ------------------------------------------------------------ conversations
    async def new_conversation(self) -> None:
        await self._finish_in_flight()
        async with self._save_lock:
            # A save of the old conversation still writing in its thread lands first: a
            # delete that follows must not see its file re-created after the move to trash.
            pass
        self._forget_history()
        self.conversation = self._blank()
        self.read_only = False
        self._editing = None  # an edit of the conversation left behind is over
        self._removed.clear()
        self._emit(ev.ConversationOpened(self.conversation))

    async def open_conversation(self, conv_id: str, scroll_to: str | None = None) -> bool:
        """Make a saved conversation current; returns False (with a notice) if it can't be.

        A long conversation opens with its newest messages only (a few milliseconds instead
        of parsing all of it); the rest follows with `load_history`, which the UI calls once
        it has painted, or which anything needing the whole history awaits
        (`complete_history`). A jump to an old message (`scroll_to`) loads everything."""
        await self._finish_in_flight()
        try:
            conv_id = await asyncio.to_thread(self.store.resolve_id, conv_id)  # or a prefix
            if scroll_to is None:
                loaded = await asyncio.to_thread(self.store.load_tail, conv_id, OPEN_TAIL)
            else:
                loaded = await asyncio.to_thread(self.store.load, conv_id)
        except StoreError as exc:
            self._emit(ev.Notify(exc.message, ev.Severity.ERROR))
            return False
        self.report(self.store.take_problems())
        self._forget_history()
        self.conversation = loaded.conversation
        self._partial = not loaded.complete
        self.read_only = loaded.read_only
        self._editing = None  # an edit of the conversation left behind is over
        self._removed.clear()
        if loaded.notice:
            self._emit(ev.Notify(loaded.notice, ev.Severity.WARNING))
        persona = find(self.personas, self.conversation.persona)
        if persona is not None:
            self.persona = persona
        self._emit(ev.ConversationOpened(self.conversation, self.read_only, scroll_to))
        self._emit(ev.PersonaChanged(self.persona))
        self._use_remembered_model()
        return True

    def _use_remembered_model(self) -> None:
        """The conversation just opened remembers a model chosen for it on this endpoint: use
        it again. Otherwise the model in use stays (the header `model` of the file is not
        used: a conversation started on another server may name a model this one lacks)."""
        conv = self.conversation
        if not conv.chosen_model or conv.chosen_model_endpoint != self.settings.endpoint.identity:
            return
        model = one_line(conv.chosen_model, 200)
        if model != self.model:
            self.model = model
            self._emit(ev.ModelChanged(model, announce=False))

    def _remember_model(self) -> None:
        """Keep the model in the conversation (saved in its header) when it is not the
        endpoint's configured one, with the endpoint it is for."""
        conv = self.conversation
        if self.model != one_line(self.settings.endpoint.model, 200):
            conv.chosen_model = self.model
            conv.chosen_model_endpoint = self.settings.endpoint.identity
        else:
            conv.chosen_model = conv.chosen_model_endpoint = None

    def kept_view(self) -> bytes | None:
        """What the UI kept of the open conversation's screen when it last quit (see
        view_cache), or None."""
        if not self.conversation.messages:
            return None
        return self.view_cache.read(self.conversation.id)

    async def keep_view(self, data: bytes) -> None:
        """Keep the UI's snapshot of the open conversation's screen for the next start."""
        if self.conversation.messages:
            await asyncio.to_thread(self.view_cache.write, self.conversation.id, data)

    @property
    def history_complete(self) -> bool:
        """False while only the newest messages of a long conversation are loaded."""
        return not self._partial

    def load_history(self) -> None:
        """Start reading the older messages of a conversation opened from its newest ones
        (no-op if there are none to read). Emits `HistoryLoaded` when they are in."""
        if self._partial and self._history is None:
            self._history = asyncio.create_task(self._load_history(self.conversation),
                                                name="moviechat-history")

    async def complete_history(self) -> None:
        """Wait until `conversation` holds every message (saving, exporting and branching
        need them all)."""
        self.load_history()
        if self._history is not None:
            # `wait`, not `await`: a load cancelled because another conversation was opened
            # must not cancel the caller (the save of what was current until then).
            await asyncio.wait([self._history])

    def _forget_history(self) -> None:
        if self._history is not None and not self._history.done():
            self._history.cancel()
        self._history = None
        self._partial = False

    async def _load_history(self, conv: Conversation) -> None:
        try:
            loaded = await asyncio.to_thread(self.store.load, conv.id)
        except StoreError as exc:
            # What is shown stays; a save merges with the file, so nothing on disk is lost.
            if conv is self.conversation:
                self._emit(ev.Notify(exc.message, ev.Severity.ERROR))
                self._partial = False
            return
        self.report(self.store.take_problems())
        if conv is not self.conversation or not self._partial:
            return
        full = loaded.conversation.messages
        ours = conv.messages
        index = {m.id: i for i, m in enumerate(full)}
        first = index.get(ours[0].id) if ours else len(full)
        if first is None:  # the newest messages changed under us: show the whole file
            merged = {m.id: m for m in full}
            merged.update((m.id, m) for m in ours)
            conv.messages = sorted(merged.values(), key=lambda m: (m.created, m.id))
            self._partial = False
            self._emit(ev.ConversationOpened(conv, self.read_only))
            return
        # Our objects stay (the UI is bound to them); messages another window added to the
        # file since come in with the next save's merge.
        conv.messages[:0] = full[:first]
        self._partial = False
        self._emit(ev.HistoryLoaded(conv, first))

    async def list_conversations(self) -> list[ConversationSummary]:
        """Saved conversations, newest first, from the library index (only new or changed
        files' headers are read)."""
        from moviechat_tui.library.index import index_for

        index = index_for(self.store)
        summaries = await asyncio.to_thread(index.summaries)
        self.report([*index.take_problems(), *self.store.take_problems()])
        if not self._backlog_checked:
            self._backlog_checked = True
            self._background(self._index_in_background(index))
        return summaries

    async def _index_in_background(self, index: LibraryIndex) -> None:
        """Once per run, after the first listing: if a first search would have to read many
        conversations, let a low-priority process read them now (see `index_worker`)."""
        try:
            backlog = await asyncio.to_thread(index.backlog)
        except Exception:  # the index is a cache: a search works without it, just slower
            log.warning("library index backlog check failed", exc_info=True)
            return
        if backlog >= BACKLOG_TO_SPAWN:
            await asyncio.to_thread(self._indexer.start)

    async def open_latest(self) -> bool:
        summaries = await self.list_conversations()
        if not summaries:
            self._emit(ev.Notify(_("No saved conversations yet: starting a new one.")))
            return False
        return await self.open_conversation(summaries[0].id)

    # ------------------------------------------------------------ spoiler shield
    def set_spoiler_shield(self, on: bool) -> None:
        """Turn the conversation's spoiler shield on or off, from the next request on (a
        reply already arriving keeps the instruction it was asked with). Saved with the
        conversation, in its header; a conversation with no messages yet is saved with its
        first one."""
        conv = self.conversation
        if conv.spoiler_shield == on:
            return
        conv.spoiler_shield = on
        if conv.messages:
            self._schedule_save()
        self._emit(ev.SpoilerShieldChanged(on))

    # ----------------------------------------------------------------- personas
    def set_persona(self, persona_id: str) -> None:
        """Switch persona; the very next request uses its system prompt."""
        persona = find(self.personas, persona_id)
        if persona is None or persona.id == self.persona.id:
            return
        self.persona = persona
        self.conversation.persona = persona.id
        if self.conversation.messages:
            divider = Message(role="notice", content=persona.name, persona=persona.id,
                              notice="persona")
            self.conversation.messages.append(divider)
            self.conversation.touch()
            self._emit(ev.MessageAdded(divider))
            self._schedule_save()
        self._emit(ev.PersonaChanged(persona))

    def cycle_persona(self, step: int = 1) -> None:
        ids = [p.id for p in self.personas]
        index = ids.index(self.persona.id) if self.persona.id in ids else 0
        self.set_persona(ids[(index + step) % len(ids)])

    # ------------------------------------------------------------------ sending
    def send(self, text: str) -> bool:
        """Start a turn. Returns False (draft stays with the user) if it can't start now."""
        text = sanitize(text).strip()
        if not text:
            return False
        if self.refuse_if_busy_or_read_only():
            return False
        too_long = too_long_notice(text, self.persona, self.model,
                                   context_window=self.settings.request.context_window)
        if too_long is not None:
            self._emit(ev.Notify(too_long, ev.Severity.ERROR))
            return False
        if self._editing is not None:
            hidden = versions.hide_turn_from(self.conversation, self._editing)
            self._editing = None
            self._emit(ev.MessagesHidden(tuple(hidden)))
        user = Message(role="user", content=text)
        self.conversation.messages.append(user)
        if not self.conversation.title:
            self.conversation.title = default_title(text)
            self._emit(ev.TitleChanged(self.conversation.title))
        self.conversation.persona = self.persona.id
        self.conversation.model = self.model
        self._remember_model()
        self.conversation.touch()
        self._emit(ev.MessageAdded(user))
        self._start_turn()
        return True

    def _start_turn(self, group: str | None = None) -> None:
        self._reply_task = asyncio.create_task(self._run_turn(group), name="moviechat-reply")
        self._emit(ev.BusyChanged(True))

    def refuse_if_busy(self) -> bool:
        """True (and says so) while a reply is arriving: the action must wait."""
        if self.busy:
            self._emit(ev.Notify(busy_notice(), ev.Severity.WARNING))
            return True
        return False

    def refuse_if_busy_or_read_only(self) -> bool:
        if self.read_only:
            self._emit(ev.Notify(
                _("This conversation was written by a newer version of moviechat and is "
                  "read-only. Start a new one with ctrl+n."), ev.Severity.WARNING))
            return True
        return self.refuse_if_busy()

    # --------------------------------------------------- regenerate and edit
    def regenerate(self) -> bool:
        """Ask again for the last reply; the current version stays reachable (< and >). If
        the last question has no reply (it failed with nothing received), send it again."""
        if self.refuse_if_busy_or_read_only():
            return False
        reply = versions.last_reply(self.conversation)
        if reply is None:
            if versions.unanswered(self.conversation) is None:
                self._emit(ev.Notify(_("There is no reply to regenerate yet.")))
                return False
            # The last turn failed before any text arrived (its empty reply was dropped):
            # ask again for the question that is already in the conversation.
            self._start_turn()
            return True
        group = versions.retire_for_regeneration(reply)
        self._emit(ev.MessagesHidden((reply,)))
        self._start_turn(group)
        return True

    def show_version(self, message: Message, step: int) -> bool:
        """Flip a regenerated reply to its previous (-1) or next (+1) version."""
        if self.busy or message.group is None:
            return False
        chosen = versions.select_version(self.conversation, message, step)
        if chosen is None:
            return False
        group = versions.group_of(self.conversation, chosen)
        self._emit(ev.VersionShown(message, chosen, group.index(chosen) + 1, len(group)))
        self.conversation.touch()
        self._schedule_save()
        return True

    def version_position(self, message: Message) -> tuple[int, int]:
        group = versions.group_of(self.conversation, message)
        return group.index(message) + 1, len(group)

    def start_edit(self) -> str | None:
        """Begin editing the last question: returns its text for the prompt (or None)."""
        if self.busy or self.read_only:
            return None
        self._editing = versions.last_user(self.conversation)
        return self._editing.content if self._editing else None

    def cancel_edit(self) -> bool:
        editing, self._editing = self._editing, None
        return editing is not None

    @property
    def editing(self) -> bool:
        return self._editing is not None

    def cancel(self) -> bool:
        """Stop the reply in flight (the partial text stays, marked as stopped)."""
        if self.busy and self._reply_task is not None:
            self._reply_task.cancel()
            return True
        return False

    def build_request(self, *, prompt_budget: int | None = None, plan: Plan | None = None,
                      pending: Message | None = None,
                      tool_choice: str | None = None) -> tuple[ChatRequest, Fitted]:
        """The request for the next reply, and what fitting the history did (session/turn):
        grounded by `plan` (its system message and tools), with the calls `pending` (the
        reply being written) has made so far."""
        return build_request(self.conversation, self.persona, self.model,
                             context_window=self.settings.request.context_window,
                             prompt_budget=prompt_budget,
                             system=plan.system if plan else None,
                             tools=plan.tools if plan else (), tool_choice=tool_choice,
                             pending=pending)

    async def _run_turn(self, group: str | None = None) -> None:
        reply: Message | None = None
        try:
            # The user's words are on disk before anything goes over the network.
            await self._save()
            backend = await self.connection.backend()
            from moviechat_tui.session.grounding import endpoint_key, refuses_tools

            key = endpoint_key(self.settings.endpoint, self.model)
            self.start_mcp_servers()
            if self._mcp is not None:
                await self._mcp.ready()  # their tools, if they come soon enough
            plan = await self._plan(key)
            reply = Message(role="assistant", content="", persona=self.persona.id,
                            model=self.model, finish_reason=FINISH_STREAMING, group=group,
                            facts=plan.facts)
            self.conversation.messages.append(reply)
            self._emit(ev.ReplyStarted(reply))
            try:
                stopped = await self._answer(backend, reply, plan)
            except BackendError as exc:
                if not (plan.may_fall_back and refuses_tools(exc) and not reply.content
                        and not reply.tool_rounds):
                    raise
                # The server does not take tools: the same question with facts, and
                # remembered for this endpoint and model.
                log.info("tools refused by %s: %s", key, exc.detail)
                await self.grounding.remember_refusal(key)
                if self.grounding.gives_facts:
                    refused = _("{model} does not accept tools here: it gets facts from the "
                                "film catalogue with each question instead.")
                else:
                    refused = _("{model} does not accept tools here: it is asked without "
                                "them from now on.")
                self._emit(ev.Notify(refused.format(model=self.model)))
                plan = await self._plan(key, facts_only=True)
                reply.facts = plan.facts
                if plan.facts:
                    self._emit(ev.FactsUsed(reply))
                stopped = await self._answer(backend, reply, plan)
            if stopped is not None:
                self._emit(ev.Notify(stopped, ev.Severity.WARNING))
        except asyncio.CancelledError:
            if reply is not None:
                reply.finish_reason = FINISH_CANCELLED
            await self._end_reply(reply)
            self._emit(ev.BusyChanged(False))
            raise
        except BackendError as error:
            failure = self.connection.explain(error)
            log.warning("reply failed: %s: %s", failure.kind, failure.message)
            if reply is not None:
                reply.finish_reason = FINISH_ERROR
            message = failure.message
            if failure.kind != ErrorKind.CONTEXT_TOO_LONG:
                message += " " + self._try_again_hint()
            await self._end_reply(reply, error=message)
        except Exception as exc:  # a bug must not take the conversation with it
            log.exception("reply failed")
            if reply is not None:
                reply.finish_reason = FINISH_ERROR
            await self._end_reply(
                reply, error=_("Unexpected error: {error}").format(error=one_line(str(exc)))
            )
        else:
            await self._end_reply(reply)
            if reply is not None and self.settings.generate_titles:
                self._maybe_generate_title(reply)
        self._emit(ev.BusyChanged(False))

    def _try_again_hint(self) -> str:
        """The sentence under a failed turn that names the key which sends it again."""
        return _("Press {key} to try again.").format(
            key=key_label("regenerate", self.settings.interface.keymap))

    async def _plan(self, key: str, *, facts_only: bool = False) -> Plan:
        """How this question is grounded: tools offered, or catalogue facts given; and,
        with the spoiler shield on, its instruction at the end of the system message."""
        plan = await self.grounding.plan(
            self.conversation, self.persona, self.model, key,
            context_window=self.settings.request.context_window, facts_only=facts_only)
        if self.conversation.spoiler_shield:
            shield = await self.spoiler_shield.instruction(self.conversation)
            plan = replace(plan, system=f"{plan.system}\n\n{shield}")
        return plan

    async def _answer(self, backend: ChatBackend, reply: Message, plan: Plan) -> str | None:
        """Stream the reply, with the rounds of tool calls it takes (session/tool_loop.py).
        Returns a notice if the model was stopped for calling tools too often."""
        announced = False

        def request_for(*, tool_choice: str | None,
                        prompt_budget: int | None) -> tuple[ChatRequest, int]:
            nonlocal announced
            request, estimate = self._request_for_turn(
                prompt_budget, plan=plan, pending=reply, tool_choice=tool_choice,
                announce=not announced)
            announced = True
            return request, estimate

        from moviechat_tui.session import tool_loop

        return await tool_loop.answer(backend, reply, request_for, self.grounding.registry,
                                      self._emit, self._schedule_save)

    def _request_for_turn(self, prompt_budget: int | None = None, *, plan: Plan | None = None,
                          pending: Message | None = None, tool_choice: str | None = None,
                          announce: bool = True) -> tuple[ChatRequest, int]:
        """The request (with a notice if history was left out, once per turn) and its
        estimated size."""
        request, fitted = self.build_request(prompt_budget=prompt_budget, plan=plan,
                                             pending=pending, tool_choice=tool_choice)
        dropped = fitted.dropped
        if dropped and announce:
            self._emit(ev.Notify(ngettext(
                "{n} earlier message was left out to fit the model's context window.",
                "{n} earlier messages were left out to fit the model's context window.",
                dropped).format(n=dropped)))
        log.debug("request: model=%s persona=%s messages=%d dropped=%d tools=%d facts=%d "
                  "system=%.80r", request.model, self.persona.id, len(request.messages),
                  dropped, len(request.tools), len(plan.facts) if plan else 0,
                  request.messages[0]["content"])
        return request, fitted.estimated_tokens

    def _maybe_generate_title(self, reply: Message) -> None:
        """After the first complete reply, ask for a better title in the background; the
        default title stays if anything goes wrong. Never blocks the chat."""
        question = titles.wants_title(self.conversation, reply)
        if question is not None:
            # Not the hidden passages: a title is shown where nothing can be kept closed.
            answer = masked(reply.content, "[…]")
            self._background(self._generate_title(self.conversation, question, answer))

    async def _generate_title(self, conv: Conversation, question: str, answer: str) -> None:
        backend = await self.connection.backend()
        title = await titles.generate_title(backend, self.model, question, answer)
        if title is None or conv is not self.conversation:
            return
        conv.title = title
        conv.touch()
        self._emit(ev.TitleChanged(title))
        await self._save()

    async def _end_reply(self, reply: Message | None, error: str | None = None) -> None:
        if reply is not None:
            if not reply.content and reply.finish_reason in (FINISH_ERROR, FINISH_CANCELLED):
                # Nothing arrived: drop the empty bubble, the notice below says why.
                self.conversation.messages.remove(reply)
                self._removed.add(reply.id)
            self._emit(ev.ReplyEnded(reply))
        notice_text = error
        if notice_text is None and reply is not None:
            notice_text = ending_notice(reply)
        if notice_text:
            notice = Message(role="notice", content=notice_text, notice="error")
            self.conversation.messages.append(notice)
            self._emit(ev.MessageAdded(notice))
        self.conversation.touch()
        await self._save()

    # ------------------------------------------------------------------ saving
    def emit(self, event: ev.ControllerEvent) -> None:
        """For the library actions, which report through the same channel."""
        self._emit(event)

    async def save_now(self) -> bool:
        return await self._save()

    def _background(self, work: Coroutine[object, object, object]) -> None:
        """Run `work` as a task the controller keeps a reference to until it ends."""
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _schedule_save(self) -> None:
        self._background(self._save())

    async def _save(self) -> bool:
        """Save a snapshot of the conversation off the event loop; merge what others wrote.
        Returns False if it could not be written (the text stays in memory)."""
        if self.read_only or not self.conversation.messages:
            return True
        if self._partial:
            await self.complete_history()
        async with self._save_lock:
            # The store copies the fields before it works in its thread, so the reply may go
            # on streaming into `self.conversation` meanwhile.
            try:
                merged = await asyncio.shield(asyncio.to_thread(
                    self.store.save, self.conversation, removed=tuple(self._removed)))
            except StoreError as exc:
                self._emit(ev.Notify(
                    exc.message + " " + _("The conversation is kept in memory and saved "
                                          "again with the next change."),
                    ev.Severity.ERROR))
                return False
            self.report(self.store.take_problems())
            self._adopt_merge(merged)
            return True

    def _adopt_merge(self, merged: Conversation) -> None:
        current = self.conversation.messages
        count = len(merged.messages)
        if count <= len(current) and all(map(operator.is_, merged.messages, current[:count])):
            return  # the usual case, checked at C speed: 5,000 messages cost ~0.1 ms
        ours = {m.id: m for m in current}
        if all(ours.get(m.id) is m for m in merged.messages):
            return
        log.debug("adopting merged messages from disk")
        # Another instance added or finished messages: the store hands back our own objects
        # for ours (a streaming reply stays bound to its widget) and new ones for theirs.
        self.conversation.messages = list(merged.messages)
        self._emit(ev.Notify(_("Messages from another moviechat window were merged in.")))
        self._emit(ev.ConversationOpened(self.conversation, self.read_only))

    async def _finish_in_flight(self) -> None:
        task = self._reply_task
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def shutdown(self, *, force: bool = False) -> bool:
        """Quit path: stop the reply (saving it), save, close the client, stop --local and
        the MCP servers.

        Returns False, and closes nothing, if the conversation could not be saved (disk full,
        read-only folder) unless `force`: the app then stays open so no word is lost."""
        await self._finish_in_flight()
        if not await self._save() and not force:
            return False
        stopping = [self.connection.close(), asyncio.to_thread(self._indexer.stop)]
        if self._mcp is not None:
            stopping.append(self._mcp.stop())
        await asyncio.gather(*stopping)  # side by side: each may wait for a process
        return True

    # ------------------------------------------------------------- preferences
    def load_preferences(self) -> Preferences:
        """Read once at start-up (a tiny file) so the first frame has the right theme."""
        return load_preferences(self.settings.paths.data_dir)

    def remember_theme(self, theme: str) -> None:
        self._background(self._remember_theme(theme))

    async def _remember_theme(self, theme: str) -> None:
        try:
            await asyncio.to_thread(update_preferences, self.settings.paths.data_dir,
                                    theme=theme)
        except StoreError as exc:
            self._emit(ev.Notify(exc.message, ev.Severity.WARNING))

    # ----------------------------------------------------------------- models
    async def prepare_backend(self) -> None:
        """Warm the backend up before the first request (see Connection.prepare)."""
        await self.connection.prepare()

    async def list_models(self) -> list[str]:
        """The endpoint's models (GET /v1/models), fetched once per endpoint and cached."""
        return await self.connection.list_models()

    def set_model(self, model: str) -> None:
        """Use `model` from the next reply on, in this conversation: it is remembered in the
        conversation's file and used again when the conversation is reopened on this
        endpoint (see `_use_remembered_model`)."""
        model = one_line(model, 200)
        if not model or model == self.model:
            return
        self.model = model
        self.conversation.model = model
        self._remember_model()
        if self.conversation.messages:
            self._schedule_save()
        self._emit(ev.ModelChanged(model))

    # -------------------------------------------------------- endpoint profiles
    async def switch_profile(self, name: str) -> bool:
        """Talk to another endpoint profile from the next reply on."""
        from moviechat_tui.settings.config import ConfigError, switch_profile

        if self.refuse_if_busy():
            return False
        try:
            settings = switch_profile(self.settings, name)
        except ConfigError as exc:
            self._emit(ev.Notify(exc.message, ev.Severity.ERROR))
            return False
        await self.connection.use(settings)
        self.model = one_line(settings.endpoint.model, 200)
        self.conversation.model = self.model
        self._emit(ev.ModelChanged(self.model))
        self._emit(ev.Notify(_("Endpoint: {name} ({url})").format(
            name=name, url=settings.endpoint.url)))
        return True

    # ------------------------------------------------------------ --local mode
    def start_local_endpoint(self) -> None:
        """With `--local`, start llama.cpp's server in the background (Connection)."""

        def failed(message: str) -> None:
            self._emit(ev.MessageAdded(Message(role="notice", content=message,
                                               notice="error")))

        self.connection.start_local(failed)

    def start_notices(self) -> list[Message]:
        """Lines shown at the top of a new chat (never saved): no key for OpenAI, or the
        bundled offline model's caveat."""
        problem = self.connection.api_problem()
        if problem is not None:
            return [Message(role="notice", content=problem.message, notice="error")]
        if self.connection.runs_bundled_model:
            return [Message(role="notice", notice="info", content=_(
                "Offline mode: {model} runs on this machine. It is tiny, fast and fun, but "
                "its film facts are unreliable; use a real model for answers you need.")
                .format(model=self.model))]
        return []

    def has_api_problem(self) -> BackendError | None:
        """A first-run problem we can report before the first request (no key for OpenAI)."""
        return self.connection.api_problem()
