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
import logging
import operator
import os
import time
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING

from moviechat_tui.core import events as ev
from moviechat_tui.core import records, versions
from moviechat_tui.core.capabilities import capabilities_for
from moviechat_tui.core.context import REPLY_RESERVE, Fitted, fit_history
from moviechat_tui.core.conversation import (
    FINISH_CANCELLED,
    FINISH_ERROR,
    FINISH_STREAMING,
    FINISH_TRUNCATED,
    Conversation,
    ConversationSummary,
    Message,
    default_title,
)
from moviechat_tui.core.i18n import _, ngettext
from moviechat_tui.core.persona import Persona, find
from moviechat_tui.core.secret import redact_everywhere
from moviechat_tui.core.text import StreamSanitizer, one_line, sanitize
from moviechat_tui.library.index_worker import BACKLOG_TO_SPAWN, IndexWorker
from moviechat_tui.llm.types import (
    BackendError,
    ChatRequest,
    ErrorKind,
    Finished,
    Retrying,
    TextDelta,
    Usage,
)
from moviechat_tui.settings.config import Settings
from moviechat_tui.storage.preferences import Preferences, load_preferences, save_preferences
from moviechat_tui.storage.store import ConversationStore, StoreError
from moviechat_tui.storage.view_cache import ViewCache

if TYPE_CHECKING:
    from moviechat_tui.library.index import LibraryIndex
    from moviechat_tui.llm.backend import ChatBackend
    from moviechat_tui.llm.local_server import LocalServer

log = logging.getLogger(__name__)

TITLE_PROMPT = (
    "Write a title of at most six words for a conversation about films that starts with "
    "the question and answer below. Reply with the title only: no quotes, no final period. "
    "Use the language of the question."
)

SAVE_INTERVAL = 0.5
OPEN_TAIL = 60
"""Messages read when a conversation opens: the newest ones, enough for the first screens.
The rest of a long conversation arrives in the background (`load_history`)."""
"""Seconds between saves of a streaming reply: the 'at most ~1 s lost on kill -9' promise."""

Emit = Callable[[ev.ControllerEvent], None]
BackendFactory = Callable[[Settings], "ChatBackend"]


def default_backend_factory(settings: Settings) -> ChatBackend:
    from moviechat_tui.llm.backend import OpenAIBackend

    include_usage = settings.include_usage
    if include_usage is None:
        include_usage = (settings.uses_default_endpoint
                         and capabilities_for(settings.model).reports_usage)
    return OpenAIBackend(
        settings.base_url,
        settings.api_key,
        timeout=settings.timeout,
        connect_timeout=settings.connect_timeout,
        max_attempts=settings.max_attempts,
        include_usage=include_usage,
        headers=settings.headers or None,
    )


class ConversationController:
    def __init__(self, settings: Settings, store: ConversationStore, emit: Emit,
                 backend_factory: BackendFactory = default_backend_factory) -> None:
        self.settings = settings
        self.store = store
        self.view_cache = ViewCache(store.conversations_dir.parent / "cache" / "views")
        self._emit = emit
        self._backend_factory = backend_factory
        self._backend: ChatBackend | None = None
        persona = find(settings.personas, settings.persona)
        assert persona is not None  # config validated it
        self.persona: Persona = persona
        self.model = one_line(settings.model, 200)  # shown in the header: inert text
        self.conversation = self._blank()
        self.read_only = False
        self._reply_task: asyncio.Task[None] | None = None
        self._save_lock = asyncio.Lock()
        self._local: LocalServer | None = None
        self._endpoint_ready: asyncio.Future[None] | None = None
        """Set while `--local` is starting its server; a turn waits for it."""
        self._tasks: set[asyncio.Task[object]] = set()
        self._models: list[str] | None = None
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

    # ------------------------------------------------------------------ state
    @property
    def busy(self) -> bool:
        return self._reply_task is not None and not self._reply_task.done()

    @property
    def personas(self) -> tuple[Persona, ...]:
        return self.settings.personas

    def _blank(self) -> Conversation:
        return Conversation(persona=self.persona.id, model=self.model)

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
        for problem in self.store.take_problems():
            self._emit(ev.Notify(problem.message, ev.Severity.WARNING))
        self._forget_history()
        self.conversation = loaded.conversation
        self._partial = not loaded.complete
        self.read_only = loaded.read_only
        self._removed.clear()
        if loaded.notice:
            self._emit(ev.Notify(loaded.notice, ev.Severity.WARNING))
        persona = find(self.personas, self.conversation.persona)
        if persona is not None:
            self.persona = persona
        # The model stays the configured one: a conversation started on another server may
        # name a model this endpoint does not have. Each reply records its own model.
        self._emit(ev.ConversationOpened(self.conversation, self.read_only, scroll_to))
        self._emit(ev.PersonaChanged(self.persona))
        return True

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
        for problem in self.store.take_problems():
            self._emit(ev.Notify(problem.message, ev.Severity.WARNING))
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
        for problem in [*index.take_problems(), *self.store.take_problems()]:
            self._emit(ev.Notify(problem.message, ev.Severity.WARNING))
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
        if self._refuse_if_busy_or_read_only():
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
        self.conversation.touch()
        self._emit(ev.MessageAdded(user))
        self._start_turn()
        return True

    def _start_turn(self, group: str | None = None) -> None:
        self._reply_task = asyncio.create_task(self._run_turn(group), name="moviechat-reply")
        self._emit(ev.BusyChanged(True))

    def _refuse_if_busy_or_read_only(self) -> bool:
        if self.read_only:
            self._emit(ev.Notify(
                _("This conversation was written by a newer version of moviechat and is "
                  "read-only. Start a new one with ctrl+n."), ev.Severity.WARNING))
            return True
        if self.busy:
            self._emit(ev.Notify(
                _("A reply is still arriving: wait for it or press Esc to stop it."),
                ev.Severity.WARNING))
            return True
        return False

    # --------------------------------------------------- regenerate and edit
    def regenerate(self) -> bool:
        """Ask again for the last reply; the current version stays reachable (< and >)."""
        if self._refuse_if_busy_or_read_only():
            return False
        reply = versions.last_reply(self.conversation)
        if reply is None or versions.last_user(self.conversation) is None:
            self._emit(ev.Notify(_("There is no reply to regenerate yet.")))
            return False
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

    def build_request(self, *, prompt_budget: int | None = None) -> tuple[ChatRequest, Fitted]:
        """The request for the next reply, and what fitting the history did.

        History is fitted into the model's context window, or into `prompt_budget` tokens
        when the server already said our estimate was too generous. Reasoning models get
        `max_completion_tokens` and no temperature (capabilities are data, see
        `capabilities.py`)."""
        caps = capabilities_for(self.model, context_window=self.settings.context_window)
        history = [
            {"role": m.role, "content": m.content}
            for m in self.conversation.messages
            if m.sent_to_model and m.finish_reason != FINISH_STREAMING
        ]
        reserve = self.persona.max_tokens or min(REPLY_RESERVE, caps.context_window // 4)
        window = caps.context_window if prompt_budget is None else prompt_budget + reserve
        fitted = fit_history({"role": "system", "content": self.persona.system_prompt},
                             history, context_window=window, reply_reserve=reserve)
        if caps.reasoning:
            extra: dict[str, object] = (
                {"max_completion_tokens": self.persona.max_tokens}
                if self.persona.max_tokens else {})
            request = ChatRequest(model=self.model, messages=fitted.messages, extra=extra)
        else:
            request = ChatRequest(model=self.model, messages=fitted.messages,
                                  temperature=self.persona.temperature,
                                  max_tokens=self.persona.max_tokens)
        return request, fitted

    async def _run_turn(self, group: str | None = None) -> None:
        reply: Message | None = None
        try:
            # The user's words are on disk before anything goes over the network.
            await self._save()
            if self._endpoint_ready is not None:
                await asyncio.shield(self._endpoint_ready)
            reply = Message(role="assistant", content="", persona=self.persona.id,
                            model=self.model, finish_reason=FINISH_STREAMING, group=group)
            self.conversation.messages.append(reply)
            self._emit(ev.ReplyStarted(reply))
            request, estimate = self._request_for_turn()
            try:
                await self._stream_into(reply, request)
            except BackendError as exc:
                if exc.kind != ErrorKind.CONTEXT_TOO_LONG or reply.content:
                    raise
                # Our estimate was too generous for this model: retry once with half of it.
                retry, _estimate = self._request_for_turn(prompt_budget=estimate // 2)
                await self._stream_into(reply, retry)
        except asyncio.CancelledError:
            if reply is not None:
                reply.finish_reason = FINISH_CANCELLED
            await self._end_reply(reply)
            self._emit(ev.BusyChanged(False))
            raise
        except BackendError as exc:
            log.warning("reply failed: %s: %s", exc.kind, exc.message)
            if reply is not None:
                reply.finish_reason = FINISH_ERROR
            await self._end_reply(reply, error=exc.message)
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

    def _request_for_turn(self, prompt_budget: int | None = None) -> tuple[ChatRequest, int]:
        """The request (with a notice if history was left out) and its estimated size."""
        request, fitted = self.build_request(prompt_budget=prompt_budget)
        dropped = fitted.dropped
        if dropped:
            self._emit(ev.Notify(ngettext(
                "{n} earlier message was left out to fit the model's context window.",
                "{n} earlier messages were left out to fit the model's context window.",
                dropped).format(n=dropped)))
        log.debug("request: model=%s persona=%s messages=%d dropped=%d system=%.80r",
                  request.model, self.persona.id, len(request.messages), dropped,
                  request.messages[0]["content"])
        return request, fitted.estimated_tokens

    def _maybe_generate_title(self, reply: Message) -> None:
        """After the first complete reply, ask for a better title in the background; the
        default title stays if anything goes wrong. Never blocks the chat."""
        conv = self.conversation
        users = [m for m in conv.messages if m.role == "user" and not m.hidden]
        if len(users) != 1 or reply.finish_reason != "stop" or conv.title != default_title(
                users[0].content):
            return
        self._background(self._generate_title(conv, users[0].content, reply.content))

    async def _generate_title(self, conv: Conversation, question: str, answer: str) -> None:
        assert self._backend is not None
        request = ChatRequest(model=self.model, max_tokens=24, temperature=0.3, messages=[
            {"role": "system", "content": TITLE_PROMPT},
            {"role": "user", "content": question[:2_000] + "\n\n---\n\n" + answer[:1_000]},
        ])
        parts: list[str] = []
        try:
            async with asyncio.timeout(30):
                async for event in self._backend.stream(request):
                    if isinstance(event, TextDelta):
                        parts.append(event.text)
        except (BackendError, TimeoutError) as exc:
            log.info("title generation failed: %s", exc)
            return
        title = one_line("".join(parts).strip().strip('"\'“”'), 80).rstrip(".")
        if not title or conv is not self.conversation:
            return
        conv.title = title
        conv.touch()
        self._emit(ev.TitleChanged(title))
        await self._save()

    async def _stream_into(self, reply: Message, request: ChatRequest) -> None:
        if self._backend is None:
            self._backend = self._backend_factory(self.settings)
        last_save = last_yield = time.monotonic()
        finished: str | None = None
        clean = StreamSanitizer()
        async for event in self._backend.stream(request):
            if isinstance(event, TextDelta):
                text = clean.feed(event.text)
                if not text:
                    continue
                reply.content += text
                self._emit(ev.ReplyDelta(reply, text))
                now = time.monotonic()
                if now - last_save >= SAVE_INTERVAL:
                    last_save = now
                    self._schedule_save()
                if now - last_yield >= 0.005:
                    # The SDK hands over chunks it has buffered without returning to the event
                    # loop: after a burst, let key presses and screen updates in.
                    await asyncio.sleep(0)
                    last_yield = time.monotonic()
            elif isinstance(event, Finished):
                finished = event.reason or "stop"
            elif isinstance(event, Retrying):
                self._emit(ev.RetryScheduled(event.attempt, event.max_attempts, event.delay,
                                             event.reason))
            elif isinstance(event, Usage):
                reply.prompt_tokens = event.prompt_tokens
                reply.completion_tokens = event.completion_tokens
        tail = clean.flush()
        if tail:
            reply.content += tail
            self._emit(ev.ReplyDelta(reply, tail))
        reply.finish_reason = finished or FINISH_TRUNCATED

    async def _end_reply(self, reply: Message | None, error: str | None = None) -> None:
        if reply is not None:
            if not reply.content and reply.finish_reason in (FINISH_ERROR, FINISH_CANCELLED):
                # Nothing arrived: drop the empty bubble, the notice below says why.
                self.conversation.messages.remove(reply)
                self._removed.add(reply.id)
            self._emit(ev.ReplyEnded(reply))
        notice_text = error
        if notice_text is None and reply is not None:
            if reply.finish_reason == FINISH_CANCELLED and not reply.content:
                notice_text = _("Stopped before any of the reply arrived.")
            elif reply.finish_reason == FINISH_TRUNCATED:
                notice_text = _("The connection closed before the reply finished: it may be "
                                "incomplete. Send your message again to retry.")
            elif reply.finish_reason == "length":
                notice_text = _("The reply stopped at the model's length limit. Ask it to "
                                "continue if you want more.")
        if notice_text:
            notice = Message(role="notice", content=notice_text, notice="error")
            self.conversation.messages.append(notice)
            self._emit(ev.MessageAdded(notice))
        self.conversation.touch()
        await self._save()

    # ------------------------------------------------------------------ saving
    def emit(self, event: ev.ControllerEvent) -> None:
        """For the library controller, which reports through the same channel."""
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
            for problem in self.store.take_problems():
                self._emit(ev.Notify(problem.message, ev.Severity.WARNING))
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
        """Quit path: stop the reply (saving it), save, close the client, stop --local.

        Returns False, and closes nothing, if the conversation could not be saved (disk full,
        read-only folder) unless `force`: the app then stays open so no word is lost."""
        await self._finish_in_flight()
        if not await self._save() and not force:
            return False
        if self._backend is not None:
            try:
                await self._backend.aclose()
            except Exception:  # closing must never block quitting
                log.debug("backend close failed", exc_info=True)
        if self._local is not None:
            await asyncio.to_thread(self._local.stop)
        await asyncio.to_thread(self._indexer.stop)
        return True

    # ------------------------------------------------------------- preferences
    def load_preferences(self) -> Preferences:
        """Read once at start-up (a tiny file) so the first frame has the right theme."""
        return load_preferences(self.settings.paths.data_dir)

    def remember_theme(self, theme: str) -> None:
        self._background(self._remember_theme(theme))

    async def _remember_theme(self, theme: str) -> None:
        try:
            await asyncio.to_thread(save_preferences, self.settings.paths.data_dir,
                                    Preferences(theme=theme))
        except StoreError as exc:
            self._emit(ev.Notify(exc.message, ev.Severity.WARNING))

    # ----------------------------------------------------------------- models
    async def prepare_backend(self) -> None:
        """Get the backend ready before the first request (for the OpenAI backend: import
        `openai` in a thread and build the client), so the first reply does not wait for it.
        Optional: a request does the same. Problems are left for that request to report."""
        try:
            if self._endpoint_ready is not None:
                await asyncio.shield(self._endpoint_ready)
            if self._backend is None:
                self._backend = self._backend_factory(self.settings)
            prepare = getattr(self._backend, "prepare", None)
            if prepare is not None:
                await prepare()
        except Exception:  # e.g. no API key: the first request says so
            log.debug("backend warm-up failed", exc_info=True)

    async def list_models(self) -> list[str]:
        """The endpoint's models (GET /v1/models), fetched once per endpoint and cached."""
        if self._models is None:
            if self._endpoint_ready is not None:
                await asyncio.shield(self._endpoint_ready)
            if self._backend is None:
                self._backend = self._backend_factory(self.settings)
            self._models = await self._backend.list_models()
        return self._models

    def set_model(self, model: str) -> None:
        """Use `model` from the next reply on (this session and this conversation)."""
        model = one_line(model, 200)
        if not model or model == self.model:
            return
        self.model = model
        self.conversation.model = model
        self._emit(ev.ModelChanged(model))

    # -------------------------------------------------------- endpoint profiles
    async def switch_profile(self, name: str) -> bool:
        """Talk to another endpoint profile from the next reply on."""
        from moviechat_tui.settings.config import ConfigError, switch_profile

        if self.busy:
            self._emit(ev.Notify(
                _("A reply is still arriving: wait for it or press Esc to stop it."),
                ev.Severity.WARNING))
            return False
        try:
            settings = switch_profile(self.settings, name)
        except ConfigError as exc:
            self._emit(ev.Notify(exc.message, ev.Severity.ERROR))
            return False
        old, self._backend = self._backend, None
        if old is not None:
            await old.aclose()
        self.settings = settings
        redact_everywhere(settings.api_key)
        self._models = None
        self.model = one_line(settings.model, 200)
        self.conversation.model = self.model
        self._emit(ev.ModelChanged(self.model))
        self._emit(ev.Notify(_("Endpoint: {name} ({url})").format(
            name=name, url=settings.endpoint_label)))
        return True

    # ------------------------------------------------------------ --local mode
    def start_local_endpoint(self) -> None:
        """Start llama.cpp's server for `settings.local_model` in the background.

        The first frame does not wait: the user can type at once, and a turn sent before the
        server is ready waits for it. Progress arrives as notifications; once ready, requests
        go through the same OpenAI backend as any endpoint.
        """
        if self.settings.local_model is None or self._endpoint_ready is not None:
            return
        loop = asyncio.get_running_loop()
        self._endpoint_ready = loop.create_future()
        self._endpoint_ready.add_done_callback(
            lambda f: f.exception() if not f.cancelled() else None)
        self._background(self._start_local(loop))

    async def _start_local(self, loop: asyncio.AbstractEventLoop) -> None:
        from moviechat_tui.llm.local_server import LocalServer, LocalServerError

        assert self.settings.local_model is not None and self._endpoint_ready is not None
        log_path = self.settings.paths.log_dir / f"llama-server-{os.getpid()}.log"
        server = LocalServer(self.settings.local_model, log_path=log_path)
        self._local = server

        def progress(line: str) -> None:
            loop.call_soon_threadsafe(self._emit, ev.Notify(line))

        try:
            url = await asyncio.to_thread(server.start, progress)
        except LocalServerError as exc:
            self._endpoint_ready.set_exception(
                BackendError(ErrorKind.CONNECTION, exc.message))
            self._emit(ev.MessageAdded(Message(role="notice", content=exc.message,
                                               notice="error")))
            return
        redact_everywhere(server.api_key)
        self.settings = records.replace(self.settings, base_url=url,
                                            api_key=server.api_key)
        self._endpoint_ready.set_result(None)

    def has_api_problem(self) -> BackendError | None:
        """A first-run problem we can report before the first request (no key for OpenAI)."""
        if self.settings.uses_default_endpoint and not self.settings.api_key:
            from moviechat_tui.llm.backend import no_api_key_error

            return no_api_key_error(self.settings.base_url)
        return None
