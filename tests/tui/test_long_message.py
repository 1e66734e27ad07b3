"""A message longer than the model's whole context window is refused before it is sent.

Found with `--local`: a 13,860-character paste (about 3,400 tokens; SmolLM2 reads 2,048)
was answered with "sent something this app cannot read … check --base-url" — nothing was
wrong with the server, and the user gave no --base-url.
"""

from __future__ import annotations

from pathlib import Path

from tests.support.apphelpers import make_app, make_settings, saved_conversations, send
from tests.support.loopback_server import LoopbackServer

PASTE = "Here is the whole screenplay I wrote. " * 365  # 13,870 characters


async def test_a_message_too_long_for_the_model_says_so_and_stays_in_the_prompt(
        tmp_path: Path, loopback: LoopbackServer) -> None:
    settings = make_settings(tmp_path, loopback.base_url, model="SmolLM2-135M-Instruct")
    app = make_app(settings)
    async with app.run_test() as pilot:
        await send(pilot, PASTE)
        await pilot.pause()
        toasts = [str(n.message) for n in app._notifications]
        assert any("too long for SmolLM2-135M-Instruct" in t and "2,048" in t
                   for t in toasts), toasts
        assert app.screen.query_one("#prompt").text == PASTE  # nothing lost
    assert loopback.requests == []  # nothing was sent
    assert saved_conversations(settings) == []


async def test_a_model_whose_window_is_unknown_lets_the_server_decide(
        tmp_path: Path, loopback: LoopbackServer) -> None:
    settings = make_settings(tmp_path, loopback.base_url, model="some-new-model")
    app = make_app(settings)
    async with app.run_test() as pilot:
        await send(pilot, PASTE * 3)
        loopback.wait_for_requests(1)
