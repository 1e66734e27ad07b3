"""Where requests go: an OpenAI-compatible endpoint, and the URL rules every layer shares.

One definition of OpenAI's address and of "is this OpenAI?" (a host name test, not a
substring: `https://api.openai.com.example.net` is not OpenAI), so the settings, the backend
and the UI never disagree about whether a key is needed or what the user is talking to.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from moviechat_tui.core.i18n import _
from moviechat_tui.core.records import Record, field
from moviechat_tui.core.secret import Secret
from moviechat_tui.core.text import one_line

OPENAI_BASE_URL = "https://api.openai.com/v1"


def is_openai_url(base_url: str | None) -> bool:
    """True for OpenAI's own API (None means it), which always needs a key."""
    if base_url is None:
        return True
    try:
        host = (urlsplit(base_url).hostname or "").lower()
    except ValueError:
        return False
    return host == "openai.com" or host.endswith(".openai.com")


def is_loopback_url(base_url: str | None) -> bool:
    """True for http://127.x, localhost and [::1] URLs (servers on this machine)."""
    try:
        host = (urlsplit(base_url).hostname or "") if base_url else ""
    except ValueError:
        return False
    return host == "localhost" or host == "::1" or host.startswith("127.")


def display_url(url: str) -> str:
    """The URL as shown in messages: without user:password@ or a query (where tokens hide)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.port is not None:
            host = f"{host}:{parts.port}"
        return urlunsplit((parts.scheme, host, parts.path, "", ""))
    except ValueError:
        return one_line(url.split("?")[0].split("@")[-1], 80)


def base_url_problem(url: str) -> str | None:
    """What is wrong with the form of a base URL, as the end of a sentence that starts with
    where it came from ("--base-url: …"), or None when it is usable.

    Checked where a URL is read (flag, environment, config file, profile): without it
    `not a url` is retried three times as "could not connect" and a port out of range ends
    in "unhandled errors in a TaskGroup", long after the user could have fixed the typo."""
    # repr: quoted, and a control character or a trailing space shows as what it is.
    shown = repr(re.sub(r"//[^/@]*@", "//", url)[:100])  # without user:password@
    example = "http://127.0.0.1:8080/v1"
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed [ of an IPv6 address
        parts = None
    if (parts is None or any(c.isspace() or not c.isprintable() for c in url)
            or parts.scheme not in ("http", "https")
            or url[:len(parts.scheme) + 3].lower() != f"{parts.scheme}://"):
        return _("{url} is not an http(s) URL, e.g. {example}").format(
            url=shown, example=example)
    if not parts.hostname:
        return _("{url} has no host name, e.g. {example}").format(url=shown, example=example)
    try:
        port = parts.port
    except ValueError:  # not a number, or above 65535
        port = 0
    if port is not None and not 1 <= port <= 65535:
        return _("{url}: the port must be a number from 1 to 65535").format(url=shown)
    return None


class Endpoint(Record):
    """The server a conversation talks to, the key it sends and the model it asks for."""

    base_url: str | None
    """None means OpenAI's API (`OPENAI_BASE_URL`)."""
    api_key: Secret
    model: str
    headers: dict[str, str] = field(default_factory=dict)
    """Extra HTTP headers (from a profile)."""
    profile: str | None = None
    """The `[[profiles]]` entry this came from (None: the top-level settings)."""
    local_model: Path | None = None
    """`--local`: this GGUF file runs in llama.cpp's server on this machine; `base_url` and
    `api_key` are filled in once that server has started."""
    local_server_shared: bool = False
    """`--local` in a tab of `moviechat serve`: `serve` already runs the server for
    `local_model`, shared by every tab, and `base_url`/`api_key` are its; this process must
    neither start nor stop one (moviechat_tui/web/handoff.py)."""
    url_source: str = "--base-url"
    """Where the address came from, as an error message tells the user to check it:
    `--base-url`, `OPENAI_BASE_URL`, "base_url in FILE", a profile's base_url."""
    key_source: str | None = None
    """Where the key came from, for the same purpose (None: OPENAI_API_KEY or the config)."""

    @property
    def url(self) -> str:
        """The base URL requests go to (OpenAI's when none was configured)."""
        return self.base_url or OPENAI_BASE_URL

    @property
    def label(self) -> str:
        """The base URL as shown to the user."""
        return display_url(self.url)

    @property
    def identity(self) -> str:
        """What names this endpoint's models: the same identity, the same model names. The
        URL as shown (no password or query), or for `--local` the model file (its server's
        port changes with every start)."""
        if self.local_model is not None:
            return "local:" + self.local_model.name
        return self.label

    @property
    def is_openai(self) -> bool:
        return self.local_model is None and is_openai_url(self.base_url)
