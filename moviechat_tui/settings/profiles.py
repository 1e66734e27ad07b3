"""Endpoint profiles: named sets of base URL, key variable, model and extra headers.

`[[profiles]]` in config.toml; `--profile NAME` (or `profile = "NAME"` in the file) picks one
at start-up and the command palette switches between them while the app runs. A profile names
the *environment variable* that holds its key, never the key itself, so config files can be
shared and keys stay in the environment.
"""

from __future__ import annotations

import re
from typing import Any

from moviechat_tui.core.endpoint import base_url_problem
from moviechat_tui.core.errors import UserFacingError
from moviechat_tui.core.i18n import _
from moviechat_tui.core.records import Record, field
from moviechat_tui.core.text import one_line

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")
_HEADER = re.compile(r"^[A-Za-z0-9-]{1,100}$")


class ProfileError(UserFacingError):
    """An invalid `[[profiles]]` entry; the message names the file and the key."""


class Profile(Record):
    name: str
    base_url: str | None = None
    api_key_env: str | None = None
    model: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


def parse_profiles(entries: Any, source: str) -> tuple[Profile, ...]:
    if entries is None:
        return ()
    if not isinstance(entries, list):
        raise ProfileError(_("{source}: profiles: use [[profiles]] tables").format(
            source=source))
    profiles: list[Profile] = []
    for index, raw in enumerate(entries):
        def bad(key: str, problem: str, index: int = index) -> ProfileError:
            return ProfileError(_("{source}: profiles[{index}].{key}: {problem}").format(
                source=source, index=index, key=key, problem=problem))

        if not isinstance(raw, dict):
            raise bad("", _("each [[profiles]] entry must be a table"))
        for key in raw:
            if key not in {"name", "base_url", "api_key_env", "model", "headers"}:
                raise bad(str(key), _("unknown key"))
        name = raw.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            raise bad("name", _("is required: letters, digits, '.', '-' or '_'"))
        if any(p.name == name for p in profiles):
            raise bad("name", _("another profile already has this name"))
        base_url = raw.get("base_url")
        if base_url is not None and not isinstance(base_url, str):
            raise bad("base_url", _("must be an http:// or https:// URL"))
        problem = base_url_problem(base_url) if base_url is not None else None
        if problem:
            raise bad("base_url", problem)
        key_env = raw.get("api_key_env")
        if key_env is not None and (not isinstance(key_env, str) or not _ENV.match(key_env)):
            raise bad("api_key_env", _("must be the name of an environment variable"))
        model = raw.get("model")
        if model is not None and (not isinstance(model, str) or not model.strip()):
            raise bad("model", _("must be a non-empty string"))
        headers = raw.get("headers", {})
        if not isinstance(headers, dict) or not all(
                isinstance(k, str) and _HEADER.match(k) and isinstance(v, str)
                for k, v in headers.items()):
            raise bad("headers", _("must be a table of header names to string values"))
        profiles.append(Profile(
            name=name,
            base_url=base_url.rstrip("/") if base_url else None,
            api_key_env=key_env,
            model=model,
            headers={k: one_line(v, 1000) for k, v in headers.items()},
        ))
    return tuple(profiles)


def find_profile(profiles: tuple[Profile, ...], name: str) -> Profile | None:
    return next((p for p in profiles if p.name == name), None)
