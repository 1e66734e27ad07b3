"""The spoiler shield below the UI: a hidden passage never shows, whatever the chunks.

The property tests build replies whose hidden passages hold only the character `§` (which
appears nowhere else), cut them into chunks every possible way Hypothesis finds, and at each
step check what `split_spoilers` would let the screen show: never a `§`, never a piece of a
tag, and only ever more of the same text."""

from __future__ import annotations

import itertools
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from moviechat_tui.core.spoilers import (
    CLOSE,
    OPEN,
    SHIELD_PROMPT,
    Passage,
    has_markers,
    shield_prompt,
    shown_text,
    split_spoilers,
    without_markers,
)


def steps(chunks: list[str]) -> list[list[Passage]]:
    text, seen = "", []
    for chunk in chunks:
        text += chunk
        seen.append(split_spoilers(text))
    return seen


def test_a_closed_passage_is_hidden_and_the_rest_shown() -> None:
    reply = f"A family of grifters. {OPEN}The housekeeper's husband lives below.{CLOSE} Great."
    assert split_spoilers(reply) == [
        Passage("A family of grifters. "),
        Passage("The housekeeper's husband lives below.", hidden=True),
        Passage(" Great."),
    ]


def test_a_marker_split_across_chunks_never_shows_a_piece_of_itself_or_the_secret() -> None:
    chunks = ["The premise. <", "spo", "iler>Rosebud", " is a sled.</spo", "iler> The end."]
    shown = [shown_text(p) for p in steps(chunks)]
    assert shown == ["The premise. ", "The premise. ", "The premise. ", "The premise. ",
                     "The premise.  The end."]
    assert all("Rosebud" not in s and "<" not in s for s in shown)


def test_an_unclosed_marker_hides_everything_after_it_to_the_end() -> None:
    reply = f"Intro. {OPEN}He was dead all along. And then the credits."
    passages = split_spoilers(reply, finished=True)
    assert passages == [Passage("Intro. "),
                        Passage("He was dead all along. And then the credits.", hidden=True,
                                closed=False)]
    assert shown_text(passages) == "Intro. "


def test_an_opening_tag_alone_already_shows_a_closed_block() -> None:
    assert split_spoilers(f"Intro. {OPEN}") == [Passage("Intro. "),
                                                 Passage("", hidden=True, closed=False)]


def test_a_held_back_tail_that_never_became_a_marker_shows_at_the_end() -> None:
    assert shown_text(split_spoilers("x < y and a <spo")) == "x < y and a "
    assert shown_text(split_spoilers("x < y and a <spo", finished=True)) == "x < y and a <spo"
    assert shown_text(split_spoilers("heart <3")) == "heart <3"


def test_tags_ignore_case_and_a_stray_closing_tag_is_dropped() -> None:
    assert split_spoilers("a <SPOILER>b</Spoiler> c </spoiler>d") == [
        Passage("a "), Passage("b", hidden=True), Passage(" c d")]


def test_several_passages_and_nested_opening_tags_stay_hidden() -> None:
    reply = f"1 {OPEN}x {OPEN}y{CLOSE} 2 {OPEN}z{CLOSE} 3"
    assert split_spoilers(reply) == [Passage("1 "), Passage(f"x {OPEN}y", hidden=True),
                                     Passage(" 2 "), Passage("z", hidden=True), Passage(" 3")]


def test_revealed_text_is_the_reply_without_its_tags() -> None:
    reply = f"A {OPEN}B{CLOSE} C"
    assert has_markers(reply) and not has_markers("A B C")
    assert without_markers(reply) == "A B C"


def test_the_prompt_names_the_marker_and_the_films_safe_to_discuss() -> None:
    assert OPEN in SHIELD_PROMPT and CLOSE in SHIELD_PROMPT
    prompt = shield_prompt(["Parasite (2019)", "Memories of Murder (2003)"])
    assert prompt.startswith(SHIELD_PROMPT)
    assert "Parasite (2019); Memories of Murder (2003)" in prompt
    assert shield_prompt([]) == SHIELD_PROMPT


# -- every chunking --------------------------------------------------------------------------

SAFE = st.text(alphabet="ab <>/spoilerSPOILER\n", max_size=12)
SECRET = st.text(alphabet="§", min_size=1, max_size=6)


def _no_opening_tag(text: str) -> str:
    return re.sub("(?i)<spoiler>", "<spoile>", text)


@st.composite
def replies(draw: st.DrawFn) -> str:
    """Shown text with `<`, partial tags and stray closing tags, and passages of `§`, some
    closed and possibly the last one not."""
    parts = []
    for _ in range(draw(st.integers(0, 4))):
        parts.append(_no_opening_tag(draw(SAFE)))
        parts.append(OPEN if draw(st.booleans()) else OPEN.upper())
        parts.append(draw(SECRET))
        parts.append(CLOSE)
    parts.append(_no_opening_tag(draw(SAFE)))
    if draw(st.booleans()):
        parts += [OPEN, draw(SECRET)]
        if draw(st.booleans()):
            parts.append(CLOSE[: draw(st.integers(1, len(CLOSE) - 1))])
    return "".join(parts)


@st.composite
def chunked(draw: st.DrawFn) -> list[str]:
    reply = draw(replies())
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(reply) - 1)), max_size=len(reply))))
    bounds = [0, *[c for c in cuts if c < len(reply)], len(reply)]
    return [reply[a:b] for a, b in itertools.pairwise(bounds) if b > a]


@settings(max_examples=400, deadline=None)
@given(chunked())
def test_no_chunking_ever_shows_a_hidden_character(chunks: list[str]) -> None:
    final = split_spoilers("".join(chunks), finished=True)
    final_shown = shown_text(final)
    assert "§" not in final_shown
    previous = ""
    for passages in steps(chunks):
        shown = shown_text(passages)
        assert "§" not in shown
        assert shown.startswith(previous), (previous, shown)  # never taken back
        assert final_shown.startswith(shown), (shown, final_shown)
        previous = shown


@settings(max_examples=200, deadline=None)
@given(chunked())
def test_hidden_text_is_exactly_the_secrets(chunks: list[str]) -> None:
    final = split_spoilers("".join(chunks), finished=True)
    hidden = "".join(p.text for p in final if p.hidden)
    assert set(hidden) <= set("§" + CLOSE + CLOSE.upper())
    assert hidden.count("§") == "".join(chunks).count("§")
