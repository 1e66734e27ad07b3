"""The streaming baseline: the plainest Textual chat that does the same job as moviechat.

    python -m benchmarks.bare_chat --base-url http://127.0.0.1:PORT/v1

A prompt (`TextArea`, Enter sends), an anchored `VerticalScroll`, and for each reply a
`Markdown` widget fed chunk by chunk through `Markdown.get_stream()`; the same `openai`
`AsyncOpenAI` client, imported on the first request in a thread, as moviechat does. No
persistence, no sanitising, no controller. Ratios against it show what moviechat's own layers
cost on top of what Textual's Markdown streaming costs anyway.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from textual import events, work
from textual.app import App, ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Markdown, Static, TextArea


class Prompt(TextArea):
    class Submitted(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "enter":
            event.prevent_default()
            event.stop()
            if self.text.strip():
                self.post_message(self.Submitted(self.text))
            return
        await super()._on_key(event)


class _Segment:
    """One Markdown widget of a reply and the text written to it."""

    def __init__(self, view: Markdown) -> None:
        self.view = view
        self.stream = Markdown.get_stream(view)
        self.text = ""

    async def write(self, fragment: str) -> None:
        if fragment:
            self.text += fragment
            await self.stream.write(fragment)

    def boundary(self, batch: str) -> int | None:
        """Offset just after the last blank line in `batch` that is outside a code fence."""
        cut = batch.rfind("\n\n")
        while cut >= 0:
            if (self.text + batch[:cut]).count("```") % 2 == 0:
                return cut + 2
            cut = batch.rfind("\n\n", 0, cut)
        return None


class BareChat(App[None]):
    CSS = """
    #log { height: 1fr; }
    #log > .user { margin: 1 2 0 2; }
    #log > Markdown { margin: 1 2 0 2; }
    #log > Markdown.segment { margin: 0 2 0 2; }
    #log > RichLog.segment { height: auto; margin: 1 2 0 2; overflow-y: hidden; }
    #log > Static.segment { margin: 0 2 0 2; }
    #prompt { height: auto; max-height: 6; border: tall $accent; }
    """

    def __init__(self, base_url: str, flush_ms: float = 0.0, segment_blocks: int = 0,
                 plain_tail: bool = False, log_blocks: bool = False) -> None:
        super().__init__()
        self.plain_tail = plain_tail
        self.log_blocks = log_blocks
        self.base_url = base_url
        self.flush_ms = flush_ms
        self.segment_blocks = segment_blocks
        self.history: list[dict[str, str]] = []
        self.client: Any = None

    def compose(self) -> ComposeResult:
        yield VerticalScroll(id="log")
        yield Prompt(id="prompt", compact=True, placeholder="Ask about a film…",
                     soft_wrap=True, show_line_numbers=False, highlight_cursor_line=False)

    def on_mount(self) -> None:
        self.query_one("#log", VerticalScroll).anchor()
        self.query_one(Prompt).focus()

    async def on_prompt_submitted(self, message: Prompt.Submitted) -> None:
        self.query_one(Prompt).clear()
        log = self.query_one("#log", VerticalScroll)
        self.history.append({"role": "user", "content": message.text})
        reply = Markdown(open_links=False)
        await log.mount_all([Static(Content(message.text), classes="user"), reply])
        log.anchor()
        self.stream_reply(reply)

    async def _stream_log(self, view: Markdown, response: Any) -> str:
        """--log-blocks: finished blocks are rendered once (Rich Markdown) and appended to one
        append-only `RichLog`; only the block still arriving is re-rendered, as plain text in
        a small `Static`, at most every --flush-ms. Per update the work is the size of the tail,
        not of the reply, and a reply is two widgets instead of hundreds."""
        from rich.markdown import Markdown as RichMarkdown
        from textual.widgets import RichLog

        log = self.query_one("#log", VerticalScroll)
        done = RichLog(wrap=True, markup=False, classes="segment")
        tail = Static("", classes="segment")
        await log.mount_all([done, tail], before=view)
        view.display = False
        loop = asyncio.get_running_loop()
        segment = _Segment.__new__(_Segment)
        segment.text = ""
        text, pending, last = "", "", 0.0

        def flush(final: bool = False) -> None:
            nonlocal pending
            cut = len(pending) if final else segment.boundary(pending)
            if cut:
                block, pending = pending[:cut], pending[cut:]
                segment.text += block
                if block.strip():
                    done.write(RichMarkdown(block), expand=True)
            tail.update(Content(pending))

        async with response:
            async for chunk in response:
                await asyncio.sleep(0)
                if chunk.choices and chunk.choices[0].delta.content:
                    piece = chunk.choices[0].delta.content
                    text += piece
                    pending += piece
                    if (loop.time() - last) * 1000 >= self.flush_ms:
                        last = loop.time()
                        flush()
        flush(final=True)
        return text

    async def _stream_plain(self, view: Markdown, response: Any) -> str:
        """--plain-tail: show the text as plain `Content` while it streams (updated at most
        every --flush-ms), and render the Markdown once, when the reply is complete."""
        log = self.query_one("#log", VerticalScroll)
        live = Static("", classes="segment")
        await log.mount(live, before=view)
        view.display = False
        loop = asyncio.get_running_loop()
        text, shown, last = "", "", 0.0
        async with response:
            async for chunk in response:
                # The SDK yields buffered chunks without returning to the event loop: give
                # the UI (keys, refreshes) a turn per chunk.
                await asyncio.sleep(0)
                if chunk.choices and chunk.choices[0].delta.content:
                    text += chunk.choices[0].delta.content
                    if (loop.time() - last) * 1000 >= self.flush_ms:
                        last = loop.time()
                        live.update(Content(text))
                        shown = text
        if shown != text:
            live.update(Content(text))
        await view.update(text)
        view.display = True
        await live.remove()
        return text

    async def _write_batch(self, segment: _Segment, batch: str) -> _Segment:
        """Write `batch`; with --segment-blocks, continue in a new Markdown widget once the
        current one holds that many blocks and the batch has a block boundary."""
        if self.segment_blocks and len(segment.view.children) >= self.segment_blocks:
            cut = segment.boundary(batch)
            if cut is not None:
                await segment.write(batch[:cut])
                await segment.stream.stop()
                view = Markdown(open_links=False, classes="segment")
                await self.query_one("#log", VerticalScroll).mount(view)
                segment, batch = _Segment(view), batch[cut:].lstrip("\n")
        await segment.write(batch)
        return segment

    @work(exclusive=True)
    async def stream_reply(self, view: Markdown) -> None:
        if self.client is None:
            await asyncio.to_thread(__import__, "openai")
            import openai

            self.client = openai.AsyncOpenAI(api_key="sk-bench", base_url=self.base_url,
                                             max_retries=0)
        text = ""
        pending: list[str] = []
        last_flush = 0.0
        loop = asyncio.get_running_loop()
        segment = _Segment(view)
        response = await self.client.chat.completions.create(
            model="loopback-mini", messages=self.history, stream=True)
        if self.log_blocks or self.plain_tail:
            streamer = self._stream_log if self.log_blocks else self._stream_plain
            text = await streamer(view, response)
            self.history.append({"role": "assistant", "content": text})
            return
        async with response:
            async for chunk in response:
                if chunk.choices and chunk.choices[0].delta.content:
                    piece = chunk.choices[0].delta.content
                    text += piece
                    if not self.flush_ms:
                        await segment.write(piece)
                        continue
                    # --flush-ms: hand the widget one batch per interval, not every token.
                    pending.append(piece)
                    if (loop.time() - last_flush) * 1000 >= self.flush_ms:
                        last_flush = loop.time()
                        segment = await self._write_batch(segment, "".join(pending))
                        pending.clear()
        if pending:
            segment = await self._write_batch(segment, "".join(pending))
        await segment.stream.stop()
        self.history.append({"role": "assistant", "content": text})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--flush-ms", type=float, default=0.0,
                        help="batch tokens and write them to the Markdown at most this often "
                             "(0: every token, the baseline; >0: a what-if for the analysis)")
    parser.add_argument("--segment-blocks", type=int, default=0,
                        help="with --flush-ms: start a new Markdown widget after this many "
                             "blocks (a what-if: bounds the size of the widget being updated)")
    parser.add_argument("--plain-tail", action="store_true",
                        help="what-if: plain text while streaming, Markdown once at the end")
    parser.add_argument("--log-blocks", action="store_true",
                        help="what-if: finished blocks rendered once into an append-only "
                             "RichLog, only the tail re-rendered")
    args = parser.parse_args()
    app = BareChat(args.base_url, args.flush_ms, args.segment_blocks, args.plain_tail,
                   args.log_blocks)
    app.run()


if __name__ == "__main__":
    main()
