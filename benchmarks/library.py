"""Conversation-library figures (issue "Conversation library"): listing, full-text search,
opening a 5,000-message conversation, and the cost of saving one turn at message 10 versus
message 5,000 — each with the baseline it is compared to, measured in the same run.

Run: `python -m benchmarks.library [--quick]`. In-process (the store and the app under
Textual's headless driver), medians of several runs, printed as a table.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.datasets import long_conversation, many_conversations
from moviechat_tui.core.conversation import Message
from moviechat_tui.library.index import LibraryIndex
from moviechat_tui.library.search import search_conversations
from moviechat_tui.settings.config import Overrides, load_settings
from moviechat_tui.settings.paths import Paths
from moviechat_tui.storage.store import ConversationStore


def _median_ms(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _fresh_store(conversations: Path) -> ConversationStore:
    return ConversationStore(conversations)  # no in-process caches: a cold listing


def _library_rows(many: Path, count: int, repeat: int,
                  index_path: Path) -> list[tuple[str, float, str, float | None, str]]:
    """Listing and search through the library index. "Cold" is what a new process sees: new
    store and index objects, the index file on disk up to date. The index lives in `index_path`
    (not in the shared data set), so the first three rows always start without one."""

    def fresh() -> tuple[ConversationStore, LibraryIndex]:
        store = _fresh_store(many)
        return store, LibraryIndex(store, index_path)

    def search(query: str) -> list[object]:
        store, index = fresh()
        return list(search_conversations(store, query, index=index))

    def touch_one() -> None:  # a changed file (new mtime, same bytes: the data set stays valid)
        path = next(p for p in many.iterdir() if p.suffix == ".toml")
        os.utime(path, ns=(time.time_ns(), time.time_ns()))

    def after_touch(work: Callable[[], object]) -> Callable[[], object]:
        def run() -> object:
            touch_one()
            return work()
        return run

    rows: list[tuple[str, float, str, float | None, str]] = []
    rebuild = _median_ms(lambda: fresh()[1].summaries(), 1)
    rows.append(("first listing, no index yet (rebuild)", rebuild, "", None, "once"))
    # A first search reads conversations newest first and stops once the first 500 matches
    # are certain (a common word); a rare word has to read them all.
    rows.append(("first search, common word (stops early)",
                 _median_ms(lambda: search("Tarkovsky"), 1), "", None, "once"))
    rows.append(("next search, rare word (reads all the rest)",
                 _median_ms(lambda: search("Kurosawa"), 1), "", None, "once"))
    headers = _median_ms(lambda: _fresh_store(many).list_summaries(), repeat)
    list_ms = _median_ms(lambda: fresh()[1].summaries(), repeat)
    rows.append((f"list {count:,} conversations (cold)", list_ms, "read every header",
                 list_ms / headers, "≤ 300 ms"))
    rows.append(("list, every header read (no index)", headers, "", None, ""))
    rows.append(("list after one file changed", _median_ms(
        after_touch(lambda: fresh()[1].summaries()), repeat), "", None, "≤ 300 ms"))
    rows.append((f"full-text search over {count:,} (English)",
                 _median_ms(lambda: search("Tarkovsky"), repeat), "", None, "≤ 500 ms"))
    rows.append((f"full-text search over {count:,} (Korean)",
                 _median_ms(lambda: search("롱테이크"), repeat), "", None, "≤ 500 ms"))
    rows.append(("search, 2 letters, no match (all text)",
                 _median_ms(lambda: search("기셍"), repeat), "", None, "≤ 500 ms"))
    rows.append(("search after one file changed", _median_ms(
        after_touch(lambda: search("Tarkovsky")), repeat), "", None, "≤ 500 ms"))
    return rows


async def _first_paint_ms(data_dir: Path, conv_id: str) -> float:
    from moviechat_tui.tui.app import MovieChatApp, StartupAction
    from moviechat_tui.tui.widgets.message_view import MessageView

    settings = load_settings(Paths(data_dir, data_dir / "none.toml", data_dir / "logs"),
                             Overrides(base_url="http://127.0.0.1:9/v1"), environ={})
    start = time.perf_counter()
    app = MovieChatApp(settings, startup=StartupAction(open_id=conv_id))
    async with app.run_test(size=(120, 40)) as pilot:
        while not app.chat_screen.query(MessageView):
            await pilot.pause(0.005)
        return (time.perf_counter() - start) * 1000


def _copy_long(messages: int, into: Path) -> tuple[Path, str]:
    source = long_conversation(messages) / "conversations"
    target = into / f"long-{messages}" / "conversations"
    shutil.copytree(source, target)
    conv_id = next(target.glob("*.toml")).stem
    return target.parent, conv_id


def _save_turn_ms(data_dir: Path, conv_id: str, repeat: int) -> float:
    store = ConversationStore(data_dir / "conversations")
    conv = store.load(conv_id).conversation
    store.save(conv)  # warm the formatted-message cache, as a running app has

    def turn() -> None:
        conv.messages.append(Message(role="user", content="One more question about Parasite?"))
        store.save(conv)

    return _median_ms(turn, repeat)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.library")
    parser.add_argument("--quick", action="store_true", help="small data, 1 repetition")
    args = parser.parse_args()
    count, long_len, repeat = (500, 500, 1) if args.quick else (10_000, 5_000, 5)

    many = many_conversations(count) / "conversations"
    rows: list[tuple[str, float, str, float | None, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        rows += _library_rows(many, count, repeat, Path(tmp) / "library.sqlite3")

    with tempfile.TemporaryDirectory() as tmp:
        long_dir, long_id = _copy_long(long_len, Path(tmp))
        short_dir, short_id = _copy_long(10, Path(tmp))
        open_long = statistics.median(asyncio.run(_first_paint_ms(long_dir, long_id))
                                      for _ in range(repeat))
        open_short = statistics.median(asyncio.run(_first_paint_ms(short_dir, short_id))
                                       for _ in range(repeat))
        rows.append((f"open {long_len:,}-message chat to first paint", open_long,
                     "10-message chat", open_long / open_short, "≤ 300 ms, ≤ 2×"))
        rows.append(("open 10-message chat to first paint", open_short, "", None, ""))
        save_long = _save_turn_ms(long_dir, long_id, max(repeat, 5))
        save_short = _save_turn_ms(short_dir, short_id, max(repeat, 5))
        rows.append((f"save one turn at message {long_len:,}", save_long,
                     "at message 10", save_long / save_short, "ratio ≤ 3"))
        rows.append(("save one turn at message 10", save_short, "", None, ""))

    print(f"{'metric':48} {'ms':>9}  {'baseline':16} {'ratio':>6}  goal")
    for name, value, baseline, ratio, goal in rows:
        ratio_text = f"{ratio:5.2f}×" if ratio is not None else ""
        print(f"{name:48} {value:9.1f}  {baseline:16} {ratio_text:>6}  {goal}")


if __name__ == "__main__":
    main()
