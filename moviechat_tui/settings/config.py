"""Typed settings from config.toml, the environment and command-line flags.

Precedence is flag > environment > file > default, resolved once at start-up into a frozen
`Settings`. Every problem becomes a `ConfigError` whose message names the file, the line and
the key, so the CLI can print one line and exit with status 2 instead of a traceback.
"""

from __future__ import annotations

import math
import os
import re
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from moviechat_tui.core.endpoint import Endpoint, base_url_problem
from moviechat_tui.core.errors import UserFacingError
from moviechat_tui.core.i18n import _
from moviechat_tui.core.persona import Persona, find
from moviechat_tui.core.records import Record, field, replace
from moviechat_tui.core.secret import Secret
from moviechat_tui.settings.films import FilmOptions, parse_films
from moviechat_tui.settings.keys import validate_keymap
from moviechat_tui.settings.mcp_servers import McpServerConfig, McpServerError, parse_mcp_servers
from moviechat_tui.settings.paths import Paths
from moviechat_tui.settings.personas import DEFAULT_PERSONA_ID, PersonaError, build_personas
from moviechat_tui.settings.profiles import Profile, ProfileError, find_profile, parse_profiles

DEFAULT_MODEL = "gpt-4o-mini"


class ConfigError(UserFacingError):
    """A config file, flag or environment value that cannot be used."""


class Overrides(Record):
    """Values given as command-line flags (None = not given)."""

    base_url: str | None = None
    model: str | None = None
    persona: str | None = None
    lang: str | None = None
    local_model: Path | None = None
    profile: str | None = None


class RequestOptions(Record):
    """`[request]`: how requests are sent."""

    timeout: float = 60.0
    """Seconds to wait for the server between two pieces of a reply."""
    connect_timeout: float = 10.0
    max_attempts: int = 3
    """Attempts per request for retryable failures (429, 5xx, refused) before text arrives."""
    context_window: int | None = None
    """Tokens the model accepts; None means the built-in table (core/capabilities.py)."""
    include_usage: bool | None = None
    """Ask for token usage; None means yes for models known to report it."""


class InterfaceOptions(Record):
    """How the app looks and answers to keys."""

    lang: str | None = None
    theme: str | None = None
    """The config file's starting theme (one picked in the palette is remembered instead)."""
    keymap: dict[str, str] = field(default_factory=dict)
    """`[keys]`: binding id → keys, applied over the defaults in settings/keys.py."""
    spoiler_shield: bool = False
    """`spoiler_shield`: new conversations start with the spoiler shield on (each
    conversation keeps its own setting once it has one)."""


class Settings(Record):
    """Everything read at start-up, resolved once (flag > environment > file > default)."""

    paths: Paths
    endpoint: Endpoint
    """Where requests go: the profile's or top-level endpoint, or `--local`."""
    persona: str
    """The persona to start with."""
    personas: tuple[Persona, ...]
    request: RequestOptions = field(default_factory=RequestOptions)
    interface: InterfaceOptions = field(default_factory=InterfaceOptions)
    profiles: tuple[Profile, ...] = ()
    plain_endpoint: Endpoint | None = None
    """The endpoint without any profile: what a profile that sets no URL or key falls back
    to, at start-up and when switched to from the palette alike (None: same as `endpoint`)."""
    generate_titles: bool = False
    """Ask the model for a short title after the first reply (one extra small request)."""
    films: FilmOptions = field(default_factory=FilmOptions)
    """`[films]`: the film catalogue's download source and what an import keeps."""
    mcp_servers: tuple[McpServerConfig, ...] = ()
    """`[[mcp_servers]]`: programs whose tools models may call (settings/mcp_servers.py)."""
    warnings: tuple[str, ...] = field(default_factory=tuple)


REQUEST_LIMITS: dict[str, tuple[int, int]] = {
    "timeout": (1, 3600),
    "connect_timeout": (1, 3600),
    "max_attempts": (1, 10),
    "context_window": (256, 10_000_000),
}
"""The smallest and largest value each number in `[request]` accepts (docs/configuration.md):
seconds for the timeouts (an hour between two pieces of a reply is already a hung server),
attempts, tokens (above the largest context any model offers)."""

_TOP_KEYS = {"base_url", "api_key", "model", "persona", "lang", "theme", "request", "personas",
             "keys", "profile", "profiles", "generate_titles", "films", "mcp_servers",
             "spoiler_shield"}
_REQUEST_KEYS = {"timeout", "connect_timeout", "max_attempts", "context_window",
                 "include_usage"}


def _line_of(text: str, key: str) -> int | None:
    pattern = re.compile(rf"^[ \t]*{re.escape(key)}[ \t]*=", re.MULTILINE)
    match = pattern.search(text)
    return text.count("\n", 0, match.start()) + 1 if match else None


def _with_entry_line(message: str, path: Path, text: str) -> str:
    """Add the line number to "FILE: personas[2].key: ..." (the entry's key, or its header)."""
    match = re.match(
        rf"^{re.escape(str(path))}: (personas|profiles|mcp_servers)\[(\d+)\](?:\.(\w+))?:",
                     message)
    if not match:
        return message
    table, index, key = match.group(1), int(match.group(2)), match.group(3)
    headers = [m.start() for m in re.finditer(rf"^[ \t]*\[\[{table}\]\]", text, re.MULTILINE)]
    if index >= len(headers):
        return message
    start = headers[index]
    body = text.find("\n", start) + 1 or len(text)
    following = re.search(r"^[ \t]*\[", text[body:], re.MULTILINE)
    end = body + following.start() if following else len(text)
    offset = start
    if key:
        found = re.search(rf"^[ \t]*{re.escape(key)}[ \t]*=", text[start:end], re.MULTILINE)
        if found:
            offset = start + found.start()
    line = text.count("\n", 0, offset) + 1
    return f"{path}:{line}:" + message[len(str(path)) + 1:]


def _where(path: Path, text: str, key: str) -> str:
    line = _line_of(text, key.rsplit(".", 1)[-1])
    return f"{path}:{line}" if line else str(path)


def read_config_file(path: Path) -> tuple[dict[str, Any], str]:
    """Parse the file; a missing file is an empty config, anything else unreadable is an error."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}, ""
    except OSError as exc:
        raise ConfigError(
            _("{path}: cannot read the config file: {reason}").format(
                path=path, reason=exc.strerror or exc
            )
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            _("{path}: the config file is not valid UTF-8 (byte {pos})").format(
                path=path, pos=exc.start
            )
        ) from None
    import tomllib  # here, not at import time: a start without a config file needs none

    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        detail = str(exc)
        match = re.search(r"\(at line (\d+), column (\d+)\)", detail)
        reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", detail)
        where = f"{path}:{match.group(1)}:{match.group(2)}" if match else str(path)
        raise ConfigError(
            _("{where}: invalid TOML: {reason}").format(where=where, reason=reason)
        ) from None


def _string(data: dict[str, Any], key: str, path: Path, text: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(
            _("{where}: {key} must be a string").format(where=_where(path, text, key), key=key)
        )
    return value


def _number(data: dict[str, Any], key: str, path: Path, text: str, *,
            integer: bool = False) -> float | None:
    """A `[request]` number within REQUEST_LIMITS: nan, inf and out-of-range values would only
    fail later, at every send, with a message about something else."""
    value = data.get(key)
    if value is None:
        return None
    low, high = REQUEST_LIMITS[key]
    ok_type = int if integer else (int, float)
    if (isinstance(value, bool) or not isinstance(value, ok_type) or not math.isfinite(value)
            or not low <= value <= high):
        kind = _("a whole number") if integer else _("a number")
        raise ConfigError(
            _("{where}: request.{key} must be {kind} from {low} to {high}").format(
                where=_where(path, text, key), key=key, kind=kind, low=f"{low:,}",
                high=f"{high:,}")
        )
    return float(value)


def _checked_url(url: str | None, source: str) -> str | None:
    """The base URL if its form is usable; a ConfigError naming `source` otherwise."""
    if url is None:
        return None
    problem = base_url_problem(url)
    if problem:
        raise ConfigError(f"{source}: {problem}")
    return url


def profile_key(profile: Profile, environ: Mapping[str, str]) -> Secret:
    return Secret(environ.get(profile.api_key_env or "", ""))


def profile_endpoint(profile: Profile, plain: Endpoint, environ: Mapping[str, str],
                     config_file: Path) -> Endpoint:
    """The endpoint a profile describes; what it leaves out comes from `plain`. Its sources
    name the profile, so an error says what to fix ("the base_url of profile “ollama”")."""
    return Endpoint(
        base_url=profile.base_url.rstrip("/") if profile.base_url else plain.base_url,
        api_key=profile_key(profile, environ) if profile.api_key_env else plain.api_key,
        model=profile.model or plain.model,
        headers=dict(profile.headers),
        profile=profile.name,
        url_source=_("the base_url of profile “{name}” in {path}").format(
            name=profile.name, path=config_file) if profile.base_url else plain.url_source,
        key_source=_("the {variable} environment variable (profile “{name}”)").format(
            variable=profile.api_key_env, name=profile.name)
        if profile.api_key_env else plain.key_source,
    )


def switch_profile(settings: Settings, name: str,
                   environ: Mapping[str, str] | None = None) -> Settings:
    """Settings for another endpoint profile (palette switch); raises ConfigError if unknown."""
    profile = find_profile(settings.profiles, name)
    if profile is None:
        raise ConfigError(_("No endpoint profile named {name!r}.").format(name=name))
    env = os.environ if environ is None else environ
    plain = settings.plain_endpoint or settings.endpoint
    # The model in use stays when the profile names none (as the palette always did).
    plain = replace(plain, model=settings.endpoint.model)
    return replace(settings, endpoint=profile_endpoint(profile, plain, env,
                                                       settings.paths.config_file))


def file_is_exposed(path: Path) -> bool:
    """True if the file is readable by group or others (a problem when it holds a key)."""
    try:
        return bool(path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO))
    except OSError:
        return False


def load_settings(paths: Paths, overrides: Overrides | None = None,
                  environ: dict[str, str] | None = None) -> Settings:
    overrides = overrides or Overrides()
    env = os.environ if environ is None else environ
    path = paths.config_file
    data, text = read_config_file(path)

    for key in data:
        if key not in _TOP_KEYS:
            raise ConfigError(
                _("{where}: unknown key {key!r} (known: {known})").format(
                    where=_where(path, text, key), key=key, known=", ".join(sorted(_TOP_KEYS))
                )
            )
    request = data.get("request", {})
    if not isinstance(request, dict):
        raise ConfigError(_("{where}: request must be a table ([request])").format(
            where=_where(path, text, "request")))
    for key in request:
        if key not in _REQUEST_KEYS:
            raise ConfigError(
                _("{where}: unknown key request.{key}").format(
                    where=_where(path, text, key), key=key
                )
            )

    try:
        personas = build_personas(data.get("personas"), str(path))
        profiles = parse_profiles(data.get("profiles"), str(path))
        mcp_servers = parse_mcp_servers(data.get("mcp_servers"), str(path))
    except (PersonaError, ProfileError, McpServerError) as exc:
        raise ConfigError(_with_entry_line(exc.message, path, text)) from None
    profile_name = overrides.profile or _string(data, "profile", path, text)
    profile = find_profile(profiles, profile_name) if profile_name else None
    if profile_name and profile is None:
        known = ", ".join(p.name for p in profiles) or _("none defined")
        raise ConfigError(_("profile {name!r} is not defined in {path} (profiles: {known})")
                          .format(name=profile_name, path=path, known=known))

    warnings: list[str] = []
    file_key = _string(data, "api_key", path, text)
    if file_key and file_is_exposed(path):
        warnings.append(
            _("{path} holds an API key and is readable by other users: run chmod 600 {path}")
            .format(path=path)
        )

    file_base_url = _checked_url(_string(data, "base_url", path, text),
                                 f"{_where(path, text, 'base_url')}: base_url")
    env_base_url = _checked_url(env.get("OPENAI_BASE_URL") or None, "OPENAI_BASE_URL")
    plain_base_url = env_base_url or file_base_url
    flag_base_url = _checked_url(overrides.base_url, "--base-url")
    plain_key = Secret(env.get("OPENAI_API_KEY") or file_key)
    model = overrides.model or (profile.model if profile else None) or (
        None if overrides.local_model else (
            env.get("MOVIECHAT_MODEL") or _string(data, "model", path, text)
        )
    ) or (overrides.local_model.stem if overrides.local_model else DEFAULT_MODEL)
    plain = Endpoint(
        base_url=plain_base_url.rstrip("/") if plain_base_url else None,
        api_key=plain_key, model=model,
        url_source=("OPENAI_BASE_URL" if env_base_url else
                    _("the base_url in {path}").format(path=path) if file_base_url else
                    _("the address (--base-url, OPENAI_BASE_URL or base_url in the config)")),
        key_source=("OPENAI_API_KEY" if env.get("OPENAI_API_KEY") else
                    _("the api_key in {path}").format(path=path) if file_key else None),
    )
    endpoint = profile_endpoint(profile, plain, env, path) if profile else plain
    endpoint = replace(endpoint, model=model, local_model=overrides.local_model)
    if flag_base_url:
        endpoint = replace(endpoint, base_url=flag_base_url.rstrip("/"), url_source="--base-url")
    persona = overrides.persona or _string(data, "persona", path, text) or DEFAULT_PERSONA_ID
    if find(personas, persona) is None:
        known = ", ".join(p.id for p in personas)
        if overrides.persona:
            raise ConfigError(
                _("--persona {persona}: no such persona (known: {known})").format(
                    persona=persona, known=known
                )
            )
        raise ConfigError(
            _("{where}: persona {persona!r} does not exist (known: {known})").format(
                where=_where(path, text, "persona"), persona=persona, known=known
            )
        )

    timeout = _number(request, "timeout", path, text)
    connect_timeout = _number(request, "connect_timeout", path, text)
    attempts = _number(request, "max_attempts", path, text, integer=True)
    context_window = _number(request, "context_window", path, text, integer=True)
    generate_titles = data.get("generate_titles", False)
    if not isinstance(generate_titles, bool):
        raise ConfigError(_("{where}: generate_titles must be true or false").format(
            where=_where(path, text, "generate_titles")))
    spoiler_shield = data.get("spoiler_shield", False)
    if not isinstance(spoiler_shield, bool):
        raise ConfigError(_("{where}: spoiler_shield must be true or false").format(
            where=_where(path, text, "spoiler_shield")))
    keymap, problem, bad_key = validate_keymap(data.get("keys", {}))
    if problem:
        raise ConfigError(f"{_where(path, text, bad_key)}: {problem}")
    include_usage = request.get("include_usage")
    if include_usage is not None and not isinstance(include_usage, bool):
        raise ConfigError(_("{where}: request.include_usage must be true or false").format(
            where=_where(path, text, "include_usage")))
    films, problem, bad_key = parse_films(data.get("films", {}))
    if problem:
        raise ConfigError(f"{_where(path, text, bad_key)}: {problem}")

    return Settings(
        paths=paths,
        endpoint=endpoint,
        plain_endpoint=plain,
        persona=persona,
        personas=personas,
        request=RequestOptions(
            timeout=timeout or 60.0,
            connect_timeout=connect_timeout or 10.0,
            max_attempts=int(attempts or 3),
            context_window=int(context_window) if context_window else None,
            include_usage=include_usage,
        ),
        interface=InterfaceOptions(
            lang=overrides.lang or env.get("MOVIECHAT_LANG") or _string(data, "lang", path, text),
            theme=_string(data, "theme", path, text),
            keymap=keymap,
            spoiler_shield=spoiler_shield,
        ),
        generate_titles=generate_titles,
        films=films,
        mcp_servers=mcp_servers,
        profiles=profiles,
        warnings=tuple(warnings),
    )


SAMPLE_CONFIG = '''\
# moviechat-tui configuration. Every setting is optional; values here are the defaults.
# Precedence: command-line flag > environment variable > this file > default.

# The OpenAI-compatible endpoint. Unset means OpenAI (https://api.openai.com/v1).
# Environment: OPENAI_BASE_URL. Flag: --base-url.
# base_url = "http://127.0.0.1:8080/v1"     # llama.cpp server
# base_url = "http://127.0.0.1:11434/v1"    # Ollama

# The API key. Prefer the OPENAI_API_KEY environment variable; if you put it here, keep this
# file private (chmod 600). Local servers (llama.cpp, Ollama) need no key.
# api_key = "sk-..."

# Model name sent to the server. Environment: MOVIECHAT_MODEL. Flag: --model.
# model = "gpt-4o-mini"

# Persona to start with (see `moviechat --help` or docs/personas.md). Flag: --persona.
# persona = "expert"

# Endpoint profile to start with (see [[profiles]] below). Flag: --profile.
# profile = "ollama"

# Ask the model for a short title after the first reply (one small extra request; off by
# default). Without it the title is the start of your first message.
# generate_titles = false

# Start new conversations with the spoiler shield on: the model is asked to mark plot
# revelations and the chat keeps them closed until you open them (F12 turns it on and off
# per conversation; each conversation keeps its own setting).
# spoiler_shield = false

# Interface language; default from the system locale. Flag: --lang.
# lang = "en"

# Colour theme: any Textual theme name, e.g. "textual-dark", "nord", "gruvbox".
# theme = "textual-dark"

[request]
# Seconds to wait for the server between two pieces of a reply.
# timeout = 60
# Seconds to wait for a connection.
# connect_timeout = 10
# Attempts for retryable failures (rate limit, server error, refused) before giving up.
# max_attempts = 3
# Tokens the model accepts (prompt + reply). Unset: a built-in table by model name, else 8192.
# Older turns are left out of the request (never out of the file) to fit.
# context_window = 8192
# Ask the server for token usage (shown under each reply). Unset: on for OpenAI models.
# Some compatible servers reject the option.
# include_usage = true

[films]
# The film catalogue (docs/films.md): where `moviechat films update` downloads IMDb's datasets
# from, and what an import keeps. Another base URL must hold the same *.tsv.gz file names.
# source_url = "https://datasets.imdbws.com/"
# Title kinds to keep: any of movie, short, tvMovie, tvSeries, tvMiniSeries, tvSpecial,
# tvShort, tvEpisode, tvPilot, video, videoGame.
# kinds = ["movie", "tvMovie", "tvSeries", "tvMiniSeries", "short"]
# Votes a short needs to be kept (most shorts have a handful).
# short_min_votes = 100
# Keep adult titles.
# include_adult = false
# Keep alternative titles only from these regions (plus original titles); unset: all regions.
# aka_regions = ["KR", "US"]
# How answers use the catalogue: "auto" offers the film tools to models that can call them and
# puts catalogue facts in the system message for the others; "tools" or "facts" always does
# that; "off" does neither.
# grounding = "auto"
# Let your lists (watchlist, diary, ratings) go along with requests: a summary of your taste
# when you ask for recommendations, and the read-only my_films tool. false keeps them out.
# share_my_films = true

# Endpoint profiles: switch with --profile NAME or the command palette ("Endpoint: ...").
# A profile names the environment variable holding its key, never the key itself.
# [[profiles]]
# name = "ollama"
# base_url = "http://127.0.0.1:11434/v1"
# model = "llama3.2"
# [[profiles]]
# name = "openrouter"
# base_url = "https://openrouter.ai/api/v1"
# api_key_env = "OPENROUTER_API_KEY"
# model = "openai/gpt-4o-mini"
# headers = { "X-Title" = "moviechat" }

# MCP servers (docs/configuration.md): programs that speak the Model Context Protocol on
# their standard input and output. Models that can call tools are offered their tools,
# named <name>__<tool>; a tool the server does not mark read-only asks you before it runs,
# unless `allow` lists it. `env` values may name variables of moviechat's environment
# ("$GITHUB_TOKEN"): keep secrets there, not in this file.
# [[mcp_servers]]
# name = "github"
# command = "github-mcp-server"
# args = ["stdio"]
# env = { GITHUB_PERSONAL_ACCESS_TOKEN = "$GITHUB_TOKEN" }
# allow = ["get_issue"]
# enabled = true

# Change keys: action id = "key" (several: "f5,ctrl+g"). Ids: quit, help, new_conversation,
# open_conversations, next_persona, stop, regenerate, edit_last, export, copy_message,
# branch_message, edit_message, older_version, newer_version, film_search, message_films,
# spoiler_shield, open_spoiler, my_films, add_to_watchlist, log_watched, log_watched_on,
# rate_film.
# See docs/keybindings.md. In the prompt, ctrl+a, ctrl+e, ctrl+k, ctrl+u and ctrl+w edit as
# in a shell: leave them.
[keys]
# regenerate = "f5"
# edit_last = "ctrl+g"

# Add a persona, or override a built-in one by using its id. Keys F2-F9 select personas 1-8;
# `key` gives a persona its own key.
# [[personas]]
# id = "noir"
# name = "Noir buff"
# description = "Hard-boiled talk about film noir"
# system_prompt = """You are an expert on film noir, 1940-1959 ..."""
# key = "f11"
# temperature = 0.7
'''


def sample_config_line(key: str) -> int:
    """The line of the sample where the commented-out `key` is first given (`# key = …`), for
    `config init` to say where to edit."""
    for number, line in enumerate(SAMPLE_CONFIG.splitlines(), 1):
        if line.startswith(f"# {key} = "):
            return number
    raise KeyError(key)


def write_sample_config(path: Path) -> bool:
    """Write the commented sample; never overwrite. Returns False if the file existed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(SAMPLE_CONFIG)
    return True
