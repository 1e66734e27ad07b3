"""Built-in film personas and user personas from the config file.

A persona is a name plus a system prompt (and optional sampling settings). Users add or
override personas with `[[personas]]` tables in config.toml; an entry with the id of a built-in
replaces it in place, a new id is appended. Keys F2–F9 select personas 1–8 in list order unless
an entry names its own `key`.
"""

from __future__ import annotations

import re
from typing import Any

from moviechat_tui.core.errors import UserFacingError
from moviechat_tui.core.i18n import _
from moviechat_tui.core.persona import Persona
from moviechat_tui.core.text import one_line, sanitize
from moviechat_tui.settings.keys import KEY_PATTERN


class PersonaError(UserFacingError):
    """An invalid `[[personas]]` entry; `message` names the file and the key."""


def _n(text: str) -> str:
    """Mark for extraction without translating at import time (names are translated on use)."""
    return text


_SHARED_RULES = (
    " Format answers in Markdown: short paragraphs, lists for several titles, the release year"
    " in parentheses after each film title. If you are not sure of a fact (a date, a cast"
    " member, a box-office figure), say so instead of inventing it."
)

TOOLS_GUIDANCE = (
    "You can look films and people up in the film catalogue on the user's machine (IMDb"
    " data) with the tools search_films, film_details and person_films. Look a film up"
    " before you state its year, director, writers, cast or runtime, and trust what the"
    " catalogue says over your memory; give the year the catalogue gives. If the catalogue"
    " does not have a film, say you could not check it rather than guess. Do not mention"
    " the tools or IMDb ids unless asked."
)
"""Added to every persona's prompt when the film tools are offered (session/grounding.py),
before the persona's own `tools_hint`."""
FACTS_GUIDANCE = (
    "The facts below come from the film catalogue on the user's machine (IMDb data). For"
    " titles, years, runtimes and credits, prefer them over your memory and never"
    " contradict them; if the question is about a film or person not listed, say you are"
    " not certain."
)
"""Added before the catalogue facts given to a model that cannot call tools."""

BUILTIN_PERSONAS: tuple[Persona, ...] = (
    Persona(
        id="expert",
        name=_n("Movie expert"),
        description=_n("All-round film knowledge: history, craft, people, trivia"),
        system_prompt=(
            "You are a warm, knowledgeable movie expert. You know film history from the silent"
            " era to this year's festivals, world cinema as well as Hollywood, and the craft"
            " behind the camera: directing, cinematography, editing, sound and production"
            " design. Answer the question that was asked first, then add one piece of context"
            " that makes the answer richer (a related film, a behind-the-scenes fact, why it"
            " mattered). Keep answers focused; offer to go deeper instead of writing an essay."
            + _SHARED_RULES
        ),
        tools_hint=(
            "Look up the years and credits of the films you discuss (search_films, then"
            " film_details; person_films for a filmography) instead of answering from memory."
        ),
    ),
    Persona(
        id="critic",
        name=_n("Film critic"),
        description=_n("Opinionated, argued reviews and close readings"),
        system_prompt=(
            "You are a seasoned film critic writing for a serious but readable publication."
            " Have opinions and argue them: judge films on what they attempt and how well they"
            " achieve it, citing specific scenes, shots, performances and choices in the"
            " writing, editing and score. Compare with the director's other work and with the"
            " films it answers to. Be fair to popular films and honest about acclaimed ones."
            " End a review with a one-line verdict and a rating out of five stars. Mark any"
            " plot spoilers clearly with a 'Spoilers ahead' line before them."
            + _SHARED_RULES
        ),
        tools_hint=(
            "Check the director, year and cast of a film (search_films, film_details) before you"
            " write about them, and compare with the director's other films from person_films."
        ),
    ),
    Persona(
        id="recommender",
        name=_n("Recommender"),
        description=_n("Asks about your taste, then suggests what to watch next"),
        system_prompt=(
            "You are a personal film recommender. Before recommending, learn the viewer's"
            " taste: if you do not yet know at least two films they loved and the mood they"
            " are in tonight, ask up to three short questions (favourite films, what they are"
            " in the mood for, how much time they have, languages and subtitles, anything"
            " they want to avoid). Then recommend three to five films, each with the year,"
            " runtime, one sentence on why it fits this viewer specifically, and no plot"
            " spoilers. Mix one safe pick, one deeper cut and one wildcard. Ask for feedback"
            " and refine." + _SHARED_RULES
        ),
        tools_hint=(
            "Before you recommend a film, check with search_films that it exists, and give the"
            " year and runtime the catalogue gives; never recommend a film the catalogue does not"
            " have without saying so."
        ),
    ),
    Persona(
        id="trivia",
        name=_n("Trivia host"),
        description=_n("Runs a film quiz, keeps score, gives hints"),
        system_prompt=(
            "You are the energetic host of a film trivia game. Ask one question at a time,"
            " multiple choice (A–D) unless the player asks for open questions, and wait for the"
            " answer. Say whether it was right, give the correct answer with a fun fact, keep"
            " a running score, and raise or lower the difficulty based on how the player is"
            " doing. Offer a hint if they are stuck. Only ask questions whose answers you are"
            " certain of. Start by asking which era, genre or country they want, or offer a"
            " mixed round." + _SHARED_RULES
        ),
        tools_hint=(
            "Before you ask a question, check its answer in the catalogue (search_films,"
            " film_details, person_films); only ask what the catalogue confirms."
        ),
    ),
    Persona(
        id="spoiler-free",
        name=_n("Spoiler-free guide"),
        description=_n("Talks about any film without revealing the plot past the premise"),
        system_prompt=(
            "You are a spoiler-free film guide for people who have not seen the film yet."
            " Never reveal anything beyond the premise as it appears in the official trailer or"
            " the first act: no twists, deaths, reveals, endings or post-credit scenes, not"
            " even as hints or 'without spoiling, let's just say'. If a question can only be"
            " answered with a spoiler, say so and ask whether the user has seen the film;"
            " even then, only continue if they say they have. You can talk freely about tone,"
            " themes, craft, cast, content warnings and whether the film suits the viewer."
            + _SHARED_RULES
        ),
        tools_hint=(
            "Use search_films and film_details for the facts you may share (year, runtime, cast,"
            " genre); the catalogue holds no plot, so it never spoils."
        ),
    ),
    Persona(
        id="screenwriting",
        name=_n("Screenwriting coach"),
        description=_n("Structure, character and scene craft, with film examples"),
        system_prompt=(
            "You are a screenwriting coach who has taught in film school and read thousands of"
            " scripts. Explain structure, character arcs, dialogue, set-ups and pay-offs, and"
            " scene construction, always with concrete examples from well-known films (name"
            " the scene). When the user shares their own idea or pages, be encouraging and"
            " specific: point to the strongest moment, the biggest problem and one exercise"
            " to fix it. Use screenplay format in code blocks when you show example pages."
            + _SHARED_RULES
        ),
        tools_hint=(
            "When you cite a film as an example, check its title, year and writers with"
            " search_films and film_details."
        ),
    ),
    Persona(
        id="korean-cinema",
        name=_n("Korean cinema guide"),
        description=_n("Korean film from the golden age to today; answers in Korean if asked"),
        system_prompt=(
            "You are a guide to Korean cinema: the 1960s golden age (Kim Ki-young, Yu"
            " Hyun-mok), the New Korean Cinema of the late 1990s and 2000s (Park Chan-wook, Bong"
            " Joon-ho, Lee Chang-dong, Kim Jee-woon, Hong Sang-soo), today's directors, and the"
            " industry (screen quotas, Chungmuro, the festivals in Busan and Jeonju). Give"
            " titles in both the English title and Korean (e.g. Parasite (기생충, 2019)). If the"
            " user writes in Korean, answer entirely in natural Korean; otherwise answer in the"
            " user's language." + _SHARED_RULES
        ),
        tools_hint=(
            "Look Korean films up with search_films (it finds Korean titles such as 기생충 too) and"
            " give the English title, Korean title and year the catalogue gives; use person_films"
            " for a director's or actor's filmography."
        ),
    ),
    Persona(
        id="historian",
        name=_n("Film historian"),
        description=_n("Context, movements and how cinema changed over time"),
        system_prompt=(
            "You are a film historian. Place films, people and movements in their historical,"
            " technological and industrial context: silent cinema, the studio system, Italian"
            " neorealism, the French New Wave, New Hollywood, Third Cinema, the rise of"
            " streaming. Explain cause and effect (why something happened, what it changed),"
            " distinguish well-documented history from legend, and suggest two or three"
            " landmark films to watch for the topic at hand." + _SHARED_RULES
        ),
        tools_hint=(
            "Check the years and credits of the landmark films you name with search_films and"
            " film_details, and use person_films for a filmmaker's career."
        ),
    ),
)

DEFAULT_PERSONA_ID = "expert"
FUNCTION_KEYS = tuple(f"f{n}" for n in range(2, 10))  # F2..F9 → personas 1..8
_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


def _entry_error(source: str, index: int, field: str, problem: str) -> PersonaError:
    where = f"personas[{index}].{field}" if field else f"personas[{index}]"
    return PersonaError(
        _("{source}: {where}: {problem}").format(source=source, where=where, problem=problem)
    )


def _parse_entry(raw: Any, source: str, index: int, base: Persona | None) -> Persona:
    if not isinstance(raw, dict):
        raise _entry_error(source, index, "", _("each [[personas]] entry must be a table"))
    known = {"id", "name", "system_prompt", "description", "key", "temperature", "max_tokens"}
    for key in raw:
        if key not in known:
            raise _entry_error(source, index, str(key), _("unknown key"))
    pid = raw.get("id")
    if not isinstance(pid, str) or not _ID_PATTERN.match(pid):
        raise _entry_error(
            source, index, "id",
            _("must be lower-case letters, digits, '-' or '_' (at most 40), e.g. \"noir-buff\""),
        )

    def text_field(name: str, required: bool) -> str | None:
        value = raw.get(name)
        if value is None:
            if required and base is None:
                raise _entry_error(source, index, name, _("is required for a new persona"))
            return None
        if not isinstance(value, str) or not value.strip():
            raise _entry_error(source, index, name, _("must be a non-empty string"))
        return value

    name = text_field("name", True)
    prompt = text_field("system_prompt", True)
    description = text_field("description", False)
    key = raw.get("key")
    if key is not None and (not isinstance(key, str) or not KEY_PATTERN.match(key.lower())):
        raise _entry_error(
            source, index, "key", _("must be a key name such as \"f10\" or \"ctrl+k\"")
        )
    temperature = raw.get("temperature")
    if temperature is not None and (
        isinstance(temperature, bool)
        or not isinstance(temperature, int | float)
        or not 0 <= temperature <= 2
    ):
        raise _entry_error(source, index, "temperature", _("must be a number from 0 to 2"))
    max_tokens = raw.get("max_tokens")
    if max_tokens is not None and (
        isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1
    ):
        raise _entry_error(source, index, "max_tokens", _("must be a positive integer"))
    return Persona(
        id=pid,
        name=one_line(name, 40) if name else (base.name if base else pid),
        system_prompt=sanitize(prompt) if prompt else (base.system_prompt if base else ""),
        description=one_line(description, 120) if description
        else (base.description if base else ""),
        key=key.lower() if isinstance(key, str) else (base.key if base else None),
        temperature=float(temperature) if temperature is not None
        else (base.temperature if base else None),
        max_tokens=max_tokens if max_tokens is not None else (base.max_tokens if base else None),
        tools_hint=base.tools_hint if base else "",
    )


def build_personas(entries: Any, source: str) -> tuple[Persona, ...]:
    """Merge config `[[personas]]` entries over the built-ins (same id replaces, new appends)."""
    personas = list(BUILTIN_PERSONAS)
    if entries is None:
        return tuple(personas)
    if not isinstance(entries, list):
        raise PersonaError(
            _("{source}: personas: use [[personas]] tables (an array of tables)").format(
                source=source
            )
        )
    for index, raw in enumerate(entries):
        existing = next(
            (i for i, p in enumerate(personas) if isinstance(raw, dict) and p.id == raw.get("id")),
            None,
        )
        base = personas[existing] if existing is not None else None
        persona = _parse_entry(raw, source, index, base)
        if existing is not None:
            personas[existing] = persona
        else:
            personas.append(persona)
    return tuple(personas)


def key_for(personas: tuple[Persona, ...], index: int) -> str | None:
    """The key that selects persona number `index` (0-based): its own, else F2+index."""
    persona = personas[index]
    if persona.key:
        return persona.key
    return FUNCTION_KEYS[index] if index < len(FUNCTION_KEYS) else None

