"""Code blocks are highlighted without compiling a lexer on the event loop."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from moviechat_tui.tui.render import highlighters
from moviechat_tui.tui.widgets.rendered_markdown import RenderedMarkdown
from tests.support.apphelpers import make_app, make_settings, send, wait_idle
from tests.support.loopback_server import Reply


def test_languages_are_read_from_every_fence_of_a_block() -> None:
    assert highlighters.languages("Plain words with `code` in them.") == set()
    assert highlighters.languages("```Python\nx = 1\n```") == {"python"}
    assert highlighters.languages("Run:\n~~~ bash\nls\n~~~\n\n```sql\n```") == {"bash", "sql"}
    assert highlighters.languages("```\nno language\n```") == set()
    assert highlighters.languages("```js {.numbers}\nf()\n```") == {"js"}


async def test_a_code_block_is_highlighted_once_its_lexer_is_prepared_in_a_thread(
        tmp_path: Path, loopback, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(highlighters, "_prepared", set())  # a new session: nothing prepared
    threads: list[str] = []
    real_prepare = highlighters.prepare

    def recording_prepare(block: str) -> None:
        threads.append(threading.current_thread().name)
        real_prepare(block)

    monkeypatch.setattr(highlighters, "prepare", recording_prepare)
    reply = "Here is the scene list:\n\n```haskell\nmain = putStrLn \"Oldboy\"\n```\n\nEnjoy."
    loopback.push(Reply(text=reply, delay=0.005))
    app = make_app(make_settings(tmp_path, loopback.base_url))
    async with app.run_test(size=(100, 40)) as pilot:
        await send(pilot, "Show me code")
        await wait_idle(pilot)
        body = app.chat_screen.query(RenderedMarkdown).last()
        shown = "\n".join(body.rendered_text())
        assert "main = putStrLn" in shown and "```" not in shown  # rendered, not the source
        assert body.rendered_blocks == body.blocks
        assert threads and threading.main_thread().name not in threads
        assert highlighters.ready("```haskell\n```")


async def test_a_failing_preparation_still_renders_the_block(
        tmp_path: Path, loopback, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(highlighters, "_prepared", set())

    def broken_import() -> None:
        raise ImportError("pygments is broken")

    monkeypatch.setattr("moviechat_tui.tui.render.renderers.load_renderer",
                        broken_import)
    loopback.push(Reply(text="```python\nprint('Mother')\n```", delay=0.005))
    app = make_app(make_settings(tmp_path, loopback.base_url))
    async with app.run_test(size=(100, 40)) as pilot:
        await send(pilot, "Code please")
        await wait_idle(pilot)
        body = app.chat_screen.query(RenderedMarkdown).last()
        assert body.rendered_blocks == body.blocks
        assert "print('Mother')" in "\n".join(body.rendered_text())
