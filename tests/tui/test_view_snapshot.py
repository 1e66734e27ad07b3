"""Reopening a conversation shows its replies as the last run drew them, without rendering
Markdown again — only when nothing changed, and never trusting the kept file."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from moviechat_tui.tui.render import markdown_render
from moviechat_tui.tui.widgets.message_view import AssistantMessageView
from moviechat_tui.tui.widgets.rendered_markdown import RenderedMarkdown
from tests.support.apphelpers import make_app, make_settings, send, wait_idle
from tests.support.loopback_server import Reply

REPLY = """## Two films

| Film | Year |
|------|------|
| Oldboy | 2003 |
| Mother | 2009 |

```python
print("Memories of Murder")
```

See [the trailer](https://films.example/trailer) — **twice**."""


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every block Rich renders from now on."""
    seen: list[str] = []
    real = markdown_render.BlockRenderer.render

    def recording(self: markdown_render.BlockRenderer, block: str, width: int) -> list:  # type: ignore[type-arg]
        seen.append(block)
        return real(self, block, width)

    monkeypatch.setattr(markdown_render.BlockRenderer, "render", recording)
    return seen


async def chat_and_quit(tmp_path: Path, loopback: object, size: tuple[int, int]) -> list[str]:
    loopback.push(Reply(text=REPLY, delay=0.002))  # type: ignore[attr-defined]
    app = make_app(make_settings(tmp_path, loopback.base_url))  # type: ignore[attr-defined]
    async with app.run_test(size=size) as pilot:
        await send(pilot, "Two films, please")
        await wait_idle(pilot)
        shown = app.chat_screen.query(RenderedMarkdown).last().rendered_text()
        await pilot.press("ctrl+q")
    return shown


def kept_files(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "data" / "cache" / "views").glob("*.json"))


async def reopen(tmp_path: Path, loopback: object, size: tuple[int, int]) -> list[str]:
    app = make_app(make_settings(tmp_path, loopback.base_url), continue_latest=True)  # type: ignore[attr-defined]
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        view = app.chat_screen.query(AssistantMessageView).last()
        return view.query_one(RenderedMarkdown).rendered_text()


async def test_a_reopened_reply_is_shown_as_drawn_without_rendering(
        tmp_path: Path, loopback, renders: list[str]) -> None:
    drawn = await chat_and_quit(tmp_path, loopback, (100, 40))
    [kept] = kept_files(tmp_path)
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    for directory in (kept.parent, kept.parent.parent):  # views/ and cache/: private
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    renders.clear()
    assert await reopen(tmp_path, loopback, (100, 40)) == drawn
    assert renders == []  # nothing rendered: not even the renderer was needed


async def test_a_new_width_renders_again(tmp_path: Path, loopback, renders: list[str]) -> None:
    await chat_and_quit(tmp_path, loopback, (100, 40))
    renders.clear()
    narrow = await reopen(tmp_path, loopback, (70, 40))
    assert renders  # rendered for the new width
    assert max(len(line) for line in narrow) <= 70 and "Oldboy" in "\n".join(narrow)


@pytest.mark.parametrize("tamper", [
    lambda doc: doc["replies"][0]["lines"][0][0].__setitem__(0, "\x1b]52;c;cHduZWQ=\x07"),
    lambda doc: doc["styles"].__setitem__(0, ["link https://evil.example", None]),
    lambda doc: doc["styles"].__setitem__(0, ["not a [style", None]),
    lambda doc: doc.__setitem__("replies", "nonsense"),
])
async def test_a_tampered_snapshot_is_ignored(tmp_path: Path, loopback, renders: list[str],
                                              tamper) -> None:  # type: ignore[no-untyped-def]
    drawn = await chat_and_quit(tmp_path, loopback, (100, 40))
    [kept] = kept_files(tmp_path)
    doc = json.loads(kept.read_bytes())
    tamper(doc)
    kept.write_text(json.dumps(doc), encoding="utf-8")
    renders.clear()
    assert await reopen(tmp_path, loopback, (100, 40)) == drawn
    assert renders  # rendered from the conversation file instead


async def test_garbage_in_the_kept_file_is_ignored(tmp_path: Path, loopback) -> None:
    drawn = await chat_and_quit(tmp_path, loopback, (100, 40))
    [kept] = kept_files(tmp_path)
    kept.write_bytes(b"\x00\xff not json")
    assert await reopen(tmp_path, loopback, (100, 40)) == drawn


async def test_a_link_from_the_snapshot_still_asks_before_opening(tmp_path: Path,
                                                                  loopback) -> None:
    from moviechat_tui.tui.screens.link import LinkScreen

    await chat_and_quit(tmp_path, loopback, (100, 40))
    app = make_app(make_settings(tmp_path, loopback.base_url), continue_latest=True)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        body = app.chat_screen.query(AssistantMessageView).last().query_one(RenderedMarkdown)
        y = next(i for i, line in enumerate(body.rendered_text()) if "the trailer" in line)
        x = body.rendered_text()[y].index("the trailer")
        await pilot.click(body, offset=(x + 1, y))
        await pilot.pause()
        assert isinstance(app.screen, LinkScreen)
        assert "https://films.example/trailer" in str(app.screen.href)  # type: ignore[attr-defined]


async def test_deleting_the_conversation_removes_what_was_kept(tmp_path: Path,
                                                               loopback) -> None:
    await chat_and_quit(tmp_path, loopback, (100, 40))
    [kept] = kept_files(tmp_path)
    app = make_app(make_settings(tmp_path, loopback.base_url))
    async with app.run_test(size=(100, 40)):
        assert await app.library.delete(kept.stem)
    assert kept_files(tmp_path) == []
