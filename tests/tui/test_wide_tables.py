"""A Markdown table in a reply never disappears: one that fits is drawn as a table, one that
cannot fit (20 or 40 columns at 80 or 120 terminal columns) becomes one record per row,
"Column: value" lines, with every cell's text on screen."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from moviechat_tui.core.conversation import Conversation, Message
from moviechat_tui.storage.store import ConversationStore
from moviechat_tui.tui.widgets.message_view import AssistantMessageView
from moviechat_tui.tui.widgets.rendered_markdown import RenderedMarkdown
from tests.support.apphelpers import make_app, make_settings

ROWS = 3


def _table(columns: int) -> str:
    header = "| " + " | ".join(f"Head{c}" for c in range(columns)) + " |"
    rule = "|" + "|".join("---" for _ in range(columns)) + "|"
    rows = ["| " + " | ".join(f"r{r}c{c}" for c in range(columns)) + " |"
            for r in range(ROWS)]
    return "\n".join([header, rule, *rows])


def _save_reply(tmp_path: Path, text: str) -> object:
    settings = make_settings(tmp_path, "http://127.0.0.1:9/v1")
    at = datetime(2025, 3, 14, 20, 0, tzinfo=UTC)
    conv = Conversation(id="t1", title="Tables", created=at, updated=at, persona="expert",
                        model="m")
    conv.messages = [
        Message(role="user", content="A big table please", created=at, id="u1"),
        Message(role="assistant", content=text, created=at, id="a1", persona="expert",
                model="m", finish_reason="stop"),
    ]
    ConversationStore(settings.paths.conversations_dir).save(conv)
    return settings


async def _reply_lines(tmp_path: Path, text: str, size: tuple[int, int]) -> list[str]:
    app = make_app(_save_reply(tmp_path, text), continue_latest=True)  # type: ignore[arg-type]
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        await pilot.pause()
        reply = app.chat_screen.query_one(AssistantMessageView)
        body = reply.query_one(RenderedMarkdown)
        lines = body.rendered_text()
        assert lines, "the reply shows nothing"
        assert max(len(line) for line in lines) <= body.size.width
        return lines


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
@pytest.mark.parametrize("columns", [5, 20, 40])
async def test_every_cell_of_a_wide_table_is_on_screen(tmp_path: Path, columns: int,
                                                       size: tuple[int, int]) -> None:
    text = f"Here it is:\n\n{_table(columns)}\n\nThat is all."
    lines = await _reply_lines(tmp_path, text, size)
    shown = "\n".join(lines)
    assert "Here it is:" in shown and "That is all." in shown
    for row in range(ROWS):
        for column in range(columns):
            assert f"r{row}c{column}" in shown, f"cell r{row}c{column} missing"
    for column in range(columns):
        assert f"Head{column}" in shown, f"heading {column} missing"
    assert "…" not in shown  # nothing cut


async def test_a_table_that_fits_stays_a_table(tmp_path: Path) -> None:
    lines = await _reply_lines(tmp_path, _table(5), (80, 24))
    # One line per row (and the heading): the cells side by side.
    assert any("r1c0" in line and "r1c4" in line for line in lines)


async def test_a_table_too_wide_becomes_one_record_per_row(tmp_path: Path) -> None:
    lines = await _reply_lines(tmp_path, _table(20), (80, 24))
    assert "Head0: r0c0" in lines
    assert "Head19: r2c19" in lines
    # Rows stay apart and in order.
    assert lines.index("Head0: r0c0") < lines.index("Head0: r1c0") < lines.index("Head0: r2c0")


async def test_long_cells_in_a_record_wrap_on_words(tmp_path: Path) -> None:
    long_value = " ".join(f"word{n}" for n in range(40))
    header = "| " + " | ".join(f"H{c}" for c in range(20)) + " |"
    rule = "|" + "|".join("---" for _ in range(20)) + "|"
    row = "| " + " | ".join([long_value] + [f"v{c}" for c in range(1, 20)]) + " |"
    lines = await _reply_lines(tmp_path, "\n".join([header, rule, row]), (80, 24))
    shown = " ".join(line.strip() for line in lines)
    assert f"H0: {long_value}" in shown
