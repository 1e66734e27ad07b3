"""Grounded answers: which path a question takes to the catalogue, and the facts it carries.

Two paths, chosen per question (`Grounding.plan`):

- **Tools**: a model that can call functions is offered the film tools (film_tools.py; MCP
  servers' tools join the same registry) and told when to use them; the tool loop
  (tool_loop.py) runs what it asks for.
- **Facts**: a model that cannot (the bundled SmolLM2, a server that refuses `tools`) gets
  the catalogue's facts about the films and people named in the question and the turns
  before it, in its system message, within a token budget — the format that turned the
  tiny model's "Guillermo del Toro" into "Bong Joon Ho … 2019" (docs/facts: three runs of
  three). The reply remembers which facts went along (`Message.facts`), and the chat says so.

Which path: `[films] grounding` ("auto", "tools", "facts", "off"). With "auto" the model's
entry in the capabilities table decides (a model the table does not know is offered tools
first); a server that answers a request offering tools with an error about tools gets the
question again with facts, and the endpoint and model are remembered (state.toml) so the
next question goes straight to facts.

MCP servers' tools (session/mcp/) are not about the catalogue, so the grounding setting
does not decide them: a model that can call tools (the capabilities table, and no refusal
remembered; "tools" forces it) is offered them on every path — with the film tools, next
to the catalogue facts ("facts", or "auto" without a catalogue), or alone ("off").

Either way, one more step adds the user's own lists when they may go along
(`_with_my_lists`, session/my_films.py): the summary of their taste in the system message
for recommendations, and the read-only `my_films` tool next to the film tools.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from moviechat_tui.core.capabilities import capabilities_for
from moviechat_tui.core.context import estimate_tokens
from moviechat_tui.core.conversation import Conversation
from moviechat_tui.core.endpoint import Endpoint
from moviechat_tui.core.persona import Persona
from moviechat_tui.core.records import Record, replace
from moviechat_tui.core.tools import ToolCall
from moviechat_tui.llm.types import BackendError, ErrorKind
from moviechat_tui.session.catalogue_access import CatalogueAccess
from moviechat_tui.session.film_tools import film_tools
from moviechat_tui.session.tools import ToolRegistry
from moviechat_tui.settings.films import GROUNDING_MODES
from moviechat_tui.settings.personas import FACTS_GUIDANCE, TOOLS_GUIDANCE
from moviechat_tui.storage.errors import StoreError
from moviechat_tui.storage.preferences import load_preferences, update_preferences

if TYPE_CHECKING:
    from moviechat_tui.films.catalogue import Catalogue
    from moviechat_tui.films.records import FilmDetails, PersonDetails
    from moviechat_tui.session.my_films import MyFilms

log = logging.getLogger(__name__)

AUTO, TOOLS, FACTS, OFF = GROUNDING_MODES
FACTS_BUDGET = 400
"""Most tokens of facts added to a system message (less for a small context window)."""
EARLIER_TURNS = 2
"""User messages before the question that are searched for names too ("when was it
released?" after "who directed Parasite?")."""
CAST_IN_FACTS = 3
FILMS_PER_ROLE = 4
ROLES_PER_PERSON = 3
"""A person's facts name their first roles (directing, writing, acting first), a few films
each, most-voted first."""
_TOOL_WORDS = re.compile(r"\btools?\b|tool_choice|\bfunctions?\b|function.call", re.I)


class Plan(Record):
    """How one request is grounded."""

    system: str
    """The system message: the persona's prompt, plus tool guidance or facts."""
    tools: tuple[dict[str, Any], ...] = ()
    """The functions offered (none: the facts path, or grounding off)."""
    facts: tuple[str, ...] = ()
    """What the facts in `system` are about, as the chat line names them."""
    may_fall_back: bool = False
    """Tools are offered on "auto": a refusal of them falls back to facts."""


def endpoint_key(endpoint: Endpoint, model: str) -> str:
    """How the memory of refusals names an endpoint and model (`Endpoint.identity`: the
    address as shown, or for `--local` the model file, whose server's port changes)."""
    return f"{endpoint.identity} {model}"


def refuses_tools(error: BackendError) -> bool:
    """The server rejected the request because of its `tools` (HTTP 400 "does not support
    tools", llama.cpp's "tools param requires --jinja", …), not for another reason."""
    if error.kind not in (ErrorKind.BAD_REQUEST, ErrorKind.SERVER, ErrorKind.NOT_FOUND,
                          ErrorKind.UNKNOWN, ErrorKind.PROTOCOL):
        return False
    return bool(_TOOL_WORDS.search(error.detail))


class Grounding:
    """One session's grounding: the mode, the tools offered, the refusals remembered."""

    def __init__(self, mode: str, access: CatalogueAccess, data_dir: Path,
                 my_films: MyFilms | None = None) -> None:
        self.mode = mode if mode in GROUNDING_MODES else AUTO
        self.access = access
        self.registry = ToolRegistry(film_tools(access))
        """Every tool a model may be offered (making them opens nothing)."""
        self.my_films = my_films
        """The user's lists (None: never sent), see `_with_my_lists`."""
        if my_films is not None:
            self.registry.add(my_films.tool())
        self._catalogue_tools = frozenset(self.registry.names)
        """The film tools and the `my_films` tool that goes with them (the rest are MCP
        servers' tools, added later)."""
        self._data_dir = data_dir
        self._refused: set[str] | None = None
        """Endpoint keys remembered as refusing tools (read from state.toml on first use)."""
        self._opening: asyncio.Task[None] | None = None

    def tool_specs(self) -> tuple[dict[str, Any], ...]:
        """The tools to offer now: the film tools only while a catalogue exists (one stat
        a question, so a catalogue imported meanwhile is used at once), then the others."""
        return self._film_specs() + self._other_specs()

    def _film_specs(self) -> tuple[dict[str, Any], ...]:
        """The catalogue's tools; the `my_films` tool only while the lists may go along
        (`[films] share_my_films`) and there are any."""
        if self.mode not in (AUTO, TOOLS) or not self.access.available():
            return ()
        withheld = (self.my_films.tool_name
                    if self.my_films is not None and not self.my_films.offers_tool() else None)
        return tuple(spec for spec in self.registry.specs()
                     if spec["function"]["name"] in self._catalogue_tools
                     and spec["function"]["name"] != withheld)

    def _other_specs(self) -> tuple[dict[str, Any], ...]:
        """MCP servers' tools (on every grounding path, for a model that calls tools)."""
        return tuple(spec for spec in self.registry.specs()
                     if spec["function"]["name"] not in self._catalogue_tools)

    @property
    def gives_facts(self) -> bool:
        """A model offered no tools gets catalogue facts (grounding is not off, and there is
        a catalogue)."""
        return self.mode != OFF and self.access.available()

    def describe(self, call: ToolCall, *, running: bool = False) -> str:
        """The chat's line for a call (see ToolRegistry.describe)."""
        return self.registry.describe(call, running=running)

    async def _refusals(self) -> set[str]:
        if self._refused is None:
            prefs = await asyncio.to_thread(load_preferences, self._data_dir)
            self._refused = set(prefs.no_tools)
        return self._refused

    async def calls_tools(self, key: str, model: str) -> bool:
        """`model` may be offered tools: "tools" says so; otherwise the capabilities table,
        unless this endpoint and model refused them before."""
        if self.mode == TOOLS:
            return True
        return capabilities_for(model).tools and key not in await self._refusals()

    async def offers_tools(self, key: str, model: str) -> bool:
        """The next question's request offers any tools (film or MCP)."""
        return await self.calls_tools(key, model) and bool(self.tool_specs())

    async def plan(self, conversation: Conversation, persona: Persona, model: str, key: str,
                   *, context_window: int | None = None, facts_only: bool = False) -> Plan:
        """The grounding of the next request. `facts_only`: tools were just refused."""
        plan = await self._catalogue_plan(conversation, persona, model, key,
                                          context_window=context_window,
                                          facts_only=facts_only)
        return await self._with_my_lists(plan, conversation, persona, model, context_window)

    async def _with_my_lists(self, plan: Plan, conversation: Conversation, persona: Persona,
                             model: str, context_window: int | None) -> Plan:
        """The step that adds the user's taste (session/my_films.py `taste_for`) to the
        system message, when it goes along."""
        if self.my_films is None:
            return plan
        window = capabilities_for(model, context_window=context_window).context_window
        taste = await self.my_films.taste_for(conversation, persona, context_window=window)
        return replace(plan, system=f"{plan.system}\n\n{taste}") if taste else plan

    async def _catalogue_plan(self, conversation: Conversation, persona: Persona, model: str,
                              key: str, *, context_window: int | None,
                              facts_only: bool) -> Plan:
        """The catalogue's part (tools offered, facts given, or nothing), with any MCP
        servers' tools beside it."""
        film: tuple[dict[str, Any], ...] = ()
        other: tuple[dict[str, Any], ...] = ()
        if not facts_only and await self.calls_tools(key, model):
            film, other = self._film_specs(), self._other_specs()
        if film:
            self._open_catalogue_soon()
            hint = " ".join(part for part in (TOOLS_GUIDANCE, persona.tools_hint) if part)
            return Plan(f"{persona.system_prompt}\n\n{hint}", film + other,
                        may_fall_back=self.mode == AUTO)
        # No film tools: catalogue facts (unless off), and any other tools beside them (a
        # refusal of those falls back to asking without them).
        plain = Plan(persona.system_prompt, other, may_fall_back=bool(other))
        if not self.gives_facts:
            return plain
        window = capabilities_for(model, context_window=context_window).context_window
        budget = min(FACTS_BUDGET, max(120, window // 6))
        question, earlier = _questions(conversation)
        if not question:
            return plain
        try:
            block, labels = await asyncio.to_thread(
                facts_for, question, earlier, self.access.catalogue(), budget)
        except Exception as exc:  # a damaged catalogue: answer without facts
            log.warning("no catalogue facts: %s", exc)
            return plain
        if not block:
            return plain
        return Plan(f"{persona.system_prompt}\n\n{FACTS_GUIDANCE}\n\n{block}", other,
                    facts=labels, may_fall_back=bool(other))

    def _open_catalogue_soon(self) -> None:
        """Warm the catalogue up in a thread while the model thinks: the first call would
        otherwise wait ~20 ms for it (see CatalogueAccess.warm_up)."""
        if self._opening is None and self.access.available():
            self._opening = asyncio.get_running_loop().create_task(
                asyncio.to_thread(self.access.warm_up))

    async def remember_refusal(self, key: str) -> None:
        """`key` refused tools: facts from now on, this run and the next ones."""
        refused = await self._refusals()
        if key in refused:
            return
        refused.add(key)
        try:
            await asyncio.to_thread(self._save_refusal, key)
        except StoreError as exc:  # remembered for this run at least
            log.warning("could not remember the refusal of tools: %s", exc.message)

    def _save_refusal(self, key: str) -> None:
        current = load_preferences(self._data_dir).no_tools
        if key not in current:
            update_preferences(self._data_dir, no_tools=(*current, key))


def _questions(conversation: Conversation) -> tuple[str, list[str]]:
    """The question being answered and the user's turns before it, newest first."""
    asked = [m.content for m in reversed(conversation.messages)
             if m.role == "user" and not m.hidden]
    if not asked:
        return "", []
    return asked[0], asked[1:1 + EARLIER_TURNS]


# -- the facts -----------------------------------------------------------------------------

def facts_for(question: str, earlier: Sequence[str], catalogue: Catalogue,
              budget: int) -> tuple[str, tuple[str, ...]]:
    """The facts block about what `question` (and `earlier`) names, within `budget` tokens,
    and a label per film or person in it ("Parasite (2019)"). ("", ()) when nothing."""
    from moviechat_tui.films.question_mentions import named_in

    named = named_in(question, catalogue, earlier=earlier)
    found: list[tuple[str, str]] = []
    for film in named.films:
        details = catalogue.film(film.id)
        if details is not None:
            found.append(film_facts(details))
    for person in named.people:
        credits = catalogue.person(person.id)
        if credits is not None:
            found.append(person_facts(credits))
    blocks: list[str] = []
    labels: list[str] = []
    used = estimate_tokens("Film catalogue facts:")
    for block, label in found:
        fitted = _fit(block, budget - used)
        if fitted is None:
            break
        used += estimate_tokens(fitted)
        blocks.append(fitted)
        labels.append(label)
    if not blocks:
        return "", ()
    return "Film catalogue facts:\n\n" + "\n\n".join(blocks), tuple(labels)


def _fit(block: str, room: int) -> str | None:
    """`block` without its last lines until it fits in `room` tokens (the first lines say
    the most: title and year, original title, runtime); None if not even two lines fit."""
    lines = block.split("\n")
    while len(lines) >= 2:
        text = "\n".join(lines)
        if estimate_tokens(text) <= room:
            return text
        lines.pop()
    return None


def _titled(title: str, year: int | None) -> str:
    return f"{title} ({year})" if year else title


def film_facts(details: FilmDetails) -> tuple[str, str]:
    """One film as short labelled lines, and its label: title and year, directors, original
    title, runtime, writers, the first cast members, genres — most asked about first, since
    a block cut to fit the budget loses its last lines."""
    film = details.film
    label = _titled(film.title, film.year)
    kind = {"movie": "", "tvMovie": "TV film", "tvSeries": "TV series",
            "tvMiniSeries": "TV mini-series", "short": "short film"}.get(film.kind, film.kind)
    lines = [f"Title: {label}" + (f", {kind}" if kind else "")]
    if film.directors:
        lines.append("Directed by: " + ", ".join(film.directors))
    if film.original_title and film.original_title != film.title:
        lines.append(f"Original title: {film.original_title}")
    if film.end_year and film.end_year != film.year:
        lines.append(f"Years: {film.year}–{film.end_year}")
    if film.runtime_minutes:
        lines.append(f"Runtime: {film.runtime_minutes} minutes")
    if details.writers:
        lines.append("Written by: " + ", ".join(details.writers[:4]))
    cast = [c.name for c in details.cast[:CAST_IN_FACTS]]
    if cast:
        lines.append("Starring: " + ", ".join(cast))
    if film.genres:
        lines.append("Genres: " + ", ".join(film.genres))
    return "\n".join(lines), label


_ROLE_WORDS = (("director", "Director of"), ("writer", "Writer of"),
               ("actor", "Actor in"), ("actress", "Actress in"), ("self", "Appears in"),
               ("producer", "Producer of"), ("composer", "Composer of"),
               ("cinematographer", "Cinematographer of"), ("editor", "Editor of"))


def person_facts(details: PersonDetails) -> tuple[str, str]:
    """One person: name and years, then the most-voted films per role."""
    person = details.person
    years = ""
    if person.birth_year and person.death_year:
        years = f" ({person.birth_year}–{person.death_year})"
    elif person.birth_year:
        years = f" (born {person.birth_year})"
    lines = [f"Person: {person.name}{years}"]
    for role, words in _ROLE_WORDS:
        if len(lines) > ROLES_PER_PERSON:
            break
        films: list[str] = []
        for credit in details.credits:
            shown = _titled(credit.film.title, credit.film.year)
            if credit.role == role and shown not in films:
                films.append(shown)
            if len(films) >= FILMS_PER_ROLE:
                break
        if films:
            lines.append(f"{words}: " + ", ".join(films))
    return "\n".join(lines), person.name
