"""The browser mode's rules that need no server: which addresses are private, what a tab
takes from `serve`, how a download is named."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from urllib.parse import unquote

import pytest

from moviechat_tui.core.records import replace
from moviechat_tui.settings.config import load_settings
from moviechat_tui.settings.paths import Paths
from moviechat_tui.web.access import is_loopback_host
from moviechat_tui.web.handoff import (
    LOCAL_KEY_VARIABLE,
    LOCAL_URL_VARIABLE,
    HandoffError,
    adopt_shared_local,
)
from moviechat_tui.web.serve import page_address


@pytest.mark.parametrize(("host", "private"), [
    ("127.0.0.1", True), ("127.8.9.10", True), ("localhost", True), ("::1", True),
    ("[::1]", True), ("0.0.0.0", False), ("::", False), ("192.168.1.20", False),
    ("10.0.0.1", False), ("my-laptop.local", False), ("", False),
])
def test_only_loopback_addresses_count_as_private(host: str, private: bool) -> None:
    assert is_loopback_host(host) is private


def test_the_printed_address_is_one_this_machine_can_open() -> None:
    assert page_address("127.0.0.1", 8000, "abc") == "http://127.0.0.1:8000/?token=abc"
    assert page_address("0.0.0.0", 8000, "abc") == "http://127.0.0.1:8000/?token=abc"
    assert page_address("::", 8001, None) == "http://[::1]:8001/"


def _settings(tmp_path: Path, *, local: bool):
    settings = load_settings(Paths(data_dir=tmp_path / "data",
                                   config_file=tmp_path / "none.toml", log_dir=tmp_path))
    if local:
        settings = replace(settings, endpoint=replace(
            settings.endpoint, local_model=tmp_path / "SmolLM2-135M-Instruct.Q4_1.gguf"))
    return settings


def test_a_local_tab_uses_the_shared_server_and_forgets_its_key(tmp_path: Path) -> None:
    environ = {LOCAL_URL_VARIABLE: "http://127.0.0.1:5555/v1", LOCAL_KEY_VARIABLE: "k" * 32,
               "HOME": "/home/me"}
    endpoint = adopt_shared_local(_settings(tmp_path, local=True), environ).endpoint
    assert endpoint.base_url == "http://127.0.0.1:5555/v1"
    assert endpoint.api_key.reveal() == "k" * 32
    assert endpoint.local_server_shared and endpoint.local_model is not None  # still "offline"
    assert environ == {"HOME": "/home/me"}  # nothing the app starts inherits the key


def test_a_tab_without_local_ignores_and_clears_the_variables(tmp_path: Path) -> None:
    settings = _settings(tmp_path, local=False)
    environ = {LOCAL_URL_VARIABLE: "http://127.0.0.1:5555/v1", LOCAL_KEY_VARIABLE: "secret"}
    assert adopt_shared_local(settings, environ) == settings
    assert environ == {}


def test_a_local_tab_without_the_shared_server_says_so(tmp_path: Path) -> None:
    with pytest.raises(HandoffError, match="without the shared local model server"):
        adopt_shared_local(_settings(tmp_path, local=True), {})


@pytest.mark.skipif(importlib.util.find_spec("textual_serve") is None,
                    reason="needs the [web] extra (textual-serve)")
def test_a_download_keeps_a_korean_title_and_is_never_shown_as_a_page() -> None:
    from moviechat_tui.web.server import content_disposition

    header = content_disposition("/data/exports/기생충-이야기-1a2b3c4d.md")
    assert header.startswith('attachment; filename="')
    fallback = header.split('filename="', 1)[1].split('"', 1)[0]
    assert fallback.isascii() and fallback.endswith("-1a2b3c4d.md")
    assert unquote(header.split("filename*=UTF-8''", 1)[1]) == "기생충-이야기-1a2b3c4d.md"
    assert ";" not in content_disposition('a";b.md').split("filename=", 1)[1].split('"')[1]
