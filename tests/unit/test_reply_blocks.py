"""A reply's blocks as the screen gets them (tui/render/reply_blocks.py): hidden passages
become `Spoiler` blocks whose text no Markdown block and no plain tail ever holds, however the
reply is cut into chunks, and the blocks do not depend on the chunking."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from moviechat_tui.tui.render.reply_blocks import (
    ReplyBlocks,
    Spoiler,
    hidden_passages,
    opened_text,
    reply_blocks,
)

REPLY = ("Se7en: two detectives hunt a killer.\n\n"
         "<spoiler>The§ box§ holds§ a§ head§.</spoiler>\n\n"
         "And later: <spoiler>Mills§ shoots§ Doe§.</spoiler> Bleak.\n\n"
         "## Verdict\n\nSee it. <SPOILER>Unclosed§ to§ the§ end§.\n\nStill§ hidden§.")


def test_each_passage_is_a_numbered_block_and_its_text_is_in_no_markdown_block() -> None:
    blocks = reply_blocks(REPLY)
    assert [b for b in blocks if isinstance(b, Spoiler)] == [Spoiler(0), Spoiler(1),
                                                             Spoiler(2)]
    markdown = "\n".join(b for b in blocks if isinstance(b, str))
    assert "§" not in markdown and "spoiler" not in markdown.lower()
    assert "Bleak." in markdown and "## Verdict" in markdown and "See it." in markdown


def test_an_opened_passage_reads_without_its_tags() -> None:
    passages = hidden_passages(REPLY)
    assert [opened_text(p) for p in passages] == [
        "The§ box§ holds§ a§ head§.", "Mills§ shoots§ Doe§.",
        "Unclosed§ to§ the§ end§.\n\nStill§ hidden§."]
    assert [p.closed for p in passages] == [True, True, False]


@settings(max_examples=300, deadline=None)
@given(st.sets(st.integers(1, len(REPLY) - 1), max_size=60))
def test_any_chunking_gives_the_same_blocks_and_never_a_hidden_character(
        cuts: set[int]) -> None:
    bounds = [0, *sorted(cuts), len(REPLY)]
    splitter = ReplyBlocks()
    blocks = []
    for _a, b in itertools.pairwise(bounds):
        new = splitter.feed(REPLY[:b])
        assert new is not None
        blocks += new
        shown = "\n".join([*(x for x in blocks if isinstance(x, str)), splitter.pending])
        assert "§" not in shown and "<spoiler" not in shown.lower()
        assert "</" not in shown
    last = splitter.finish(REPLY)
    assert last is not None
    assert [*blocks, *last] == reply_blocks(REPLY)


def test_an_empty_passage_that_closes_makes_the_caller_start_over() -> None:
    splitter = ReplyBlocks()
    assert splitter.feed("Hi <spoiler>") is not None
    assert splitter.feed("Hi <spoiler></spoiler> there") is None
    assert ReplyBlocks().finish("Hi <spoiler></spoiler> there") == ["Hi  there"]


def test_the_space_after_a_closing_tag_does_not_indent_the_tail_or_the_block() -> None:
    splitter = ReplyBlocks()
    splitter.feed("Premise. <spoiler>x§</spoiler>")
    splitter.feed("Premise. <spoiler>x§</spoiler>  ")
    splitter.feed("Premise. <spoiler>x§</spoiler>  Park directs")
    assert splitter.pending == "Park directs"
    assert reply_blocks("Premise. <spoiler>x§</spoiler>     Park directs.")[-1] == (
        "Park directs.")
