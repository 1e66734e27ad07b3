"""Search results read as text: Markdown markers are gone from snippets, the match is in view
at any column width, and a long title keeps the "(branch)" that tells it from its original."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from rich.cells import cell_len

from moviechat_tui.core.conversation import Conversation, Message
from moviechat_tui.core.markdown import plain_text
from moviechat_tui.library.search import search_conversations
from moviechat_tui.storage.store import ConversationStore
from moviechat_tui.tui.render.library_rows import shorten, snippet_around
from tests.support.loopback_server import FILM_REPLY


def test_plain_text_drops_the_markers_and_keeps_the_words() -> None:
    assert plain_text("## Title\n\nSome **bold** and *em* text") == "Title Some bold and em text"
    assert plain_text("1. *Paths of Glory*\n2. Tokyo Story") == "1. Paths of Glory 2. Tokyo Story"
    assert plain_text("- a\n- b") == "- a - b"
    assert plain_text("See [the trailer](http://films.example/t) ![a poster](p.png)") == (
        "See the trailer a poster")
    assert plain_text("| Film | Year |\n|---|---|\n| Alien | 1979 |") == "Film Year Alien 1979"
    assert plain_text("```py\nprint(1)\n```\n\n> quoted `code`") == "print(1) quoted code"
    assert plain_text("") == ""


def _store(tmp_path: Path, content: str) -> ConversationStore:
    store = ConversationStore(tmp_path / "conversations")
    at = datetime(2025, 1, 1, tzinfo=UTC)
    conv = Conversation(id="c", title="Films", created=at, updated=at)
    conv.messages = [Message(role="assistant", content=content, id="m", created=at)]
    store.save(conv)
    return store


def test_a_snippet_is_plain_text_around_the_match(tmp_path: Path) -> None:
    hit, = search_conversations(_store(tmp_path, FILM_REPLY), "paths")
    assert "*" not in hit.snippet and "\n" not in hit.snippet
    assert hit.snippet[hit.match_start:hit.match_end] == "Paths"
    assert "started: 1. Paths of Glory (1957)" in hit.snippet


def test_a_match_inside_the_markup_shows_the_source(tmp_path: Path) -> None:
    hit, = search_conversations(_store(tmp_path, "See [it](http://films.example/x)"),
                                "films.example")
    assert hit.snippet[hit.match_start:hit.match_end] == "films.example"


@given(st.text(alphabet="ab 기생충…", min_size=1, max_size=120), st.data(),
       st.integers(min_value=6, max_value=90))
def test_the_match_stays_in_view_at_any_width(snippet: str, data: st.DataObject,
                                              width: int) -> None:
    start = data.draw(st.integers(min_value=0, max_value=len(snippet) - 1))
    end = data.draw(st.integers(min_value=start + 1, max_value=min(len(snippet), start + 3)))
    text = snippet_around(snippet, start, end, width)
    assert text.cell_len <= width
    highlighted = text.plain[text.spans[0].start:text.spans[0].end]
    assert highlighted and snippet[start:end].startswith(highlighted)


def test_a_short_parenthesised_ending_survives_shortening() -> None:
    title = "Three films like Parasite by Bong Joon-ho please (branch)"
    assert shorten(title, 80) == title
    assert shorten(title, 30) == "Three films like Par… (branch)"
    assert shorten("기생충 같은 영화 세 편 추천해 주세요 (분기)", 20) == "기생충 같은… (분기)"
    assert shorten("A long title without an ending in brackets", 12) == "A long titl…"
    for width in range(5, 60):
        assert cell_len(shorten(title, width)) <= width


def test_a_long_reply_is_read_near_the_match(tmp_path: Path) -> None:
    paragraphs = [f"Paragraph {n} about **film {n}**." for n in range(200)]
    paragraphs[120] = "Here *Stalker* (1979) is the one with the long takes."
    hit, = search_conversations(_store(tmp_path, "\n\n".join(paragraphs)), "stalker")
    assert hit.snippet[hit.match_start:hit.match_end] == "Stalker"
    assert "Here Stalker (1979)" in hit.snippet and "*" not in hit.snippet
    assert "film 119." in hit.snippet  # the paragraph before, read as Markdown too


SPOILED = ("Fight Club: an insomniac meets a soap seller. "
           "<spoiler>Tyler§ and§ the§ narrator§ are§ one§.</spoiler> Fincher directs.")


def test_a_match_inside_a_spoiler_shows_where_it_is_never_what(tmp_path: Path) -> None:
    hit, = search_conversations(_store(tmp_path, SPOILED), "narrator")
    assert "§" not in hit.snippet and "narrator" not in hit.snippet
    assert hit.snippet[hit.match_start:hit.match_end] == "[spoiler]"


def test_a_match_outside_the_spoilers_keeps_them_closed_in_the_snippet(
        tmp_path: Path) -> None:
    hit, = search_conversations(_store(tmp_path, SPOILED), "fincher")
    assert "§" not in hit.snippet and "<spoiler>" not in hit.snippet
    assert hit.snippet[hit.match_start:hit.match_end] == "Fincher"
    assert "[spoiler] Fincher" in hit.snippet


def test_a_spoilers_snippet_is_plain_text_like_any_other(tmp_path: Path) -> None:
    """Seen in the app: "…Oldboy* (2003) [spoiler]…" — the snippet of a match inside a
    spoiler was cut from the Markdown source, not from the text as read."""
    reply = "In *Oldboy* (2003) <spoiler>Dae-su§ learns§ the§ truth§</spoiler>. **Grim.**"
    hit, = search_conversations(_store(tmp_path, reply), "dae-su")
    assert "*" not in hit.snippet and "§" not in hit.snippet
    assert "In Oldboy (2003) [spoiler]. Grim." in hit.snippet
    assert hit.snippet[hit.match_start:hit.match_end] == "[spoiler]"
