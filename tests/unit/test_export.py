"""Markdown export: a document whose structure is the conversation's, whatever the replies
hold, and a failure to write it that is one clear sentence."""

from __future__ import annotations

import errno
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from moviechat_tui.core.conversation import Conversation, Message
from moviechat_tui.library import export
from moviechat_tui.library.export import ExportError, export_markdown, write_export
from moviechat_tui.storage import files

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def _conv(*replies: tuple[str, str | None]) -> Conversation:
    messages = []
    for n, (text, finish) in enumerate(replies):
        messages.append(Message(role="user", content=f"question {n}",
                                created=T0 + timedelta(minutes=2 * n)))
        messages.append(Message(role="assistant", content=text, finish_reason=finish,
                                persona="expert", created=T0 + timedelta(minutes=2 * n + 1)))
    return Conversation(title="Alien", created=T0, updated=T0, messages=messages)


def _headings(markdown: str) -> list[tuple[str, str]]:
    """(tag, text) of every heading, as a Markdown reader sees the document."""
    tokens = MarkdownIt().enable("table").parse(markdown)
    return [(t.tag, tokens[i + 1].content) for i, t in enumerate(tokens)
            if t.type == "heading_open"]


def test_a_replys_headings_sit_below_its_speaker() -> None:
    reply = ("# Alien (1979)\n\n## Plot\n\nThe crew of the *Nostromo*.\n\n"
             "Cast\n----\n\n> ### Trivia\n\n- #### Deep\n\n###### Deepest\n\n"
             "```python\n# not a heading\n```\n\n    # indented code, not a heading\n")
    headings = _headings(export_markdown(_conv((reply, "stop")), []))
    assert headings == [
        ("h1", "Alien"), ("h2", "You · 2025-03-01 12:00"), ("h2", "expert · 2025-03-01 12:01"),
        ("h3", "Alien (1979)"), ("h4", "Plot"), ("h4", "Cast"), ("h5", "Trivia"),
        ("h6", "Deep"), ("h6", "Deepest")]


@pytest.mark.parametrize(("finish", "words"), [
    ("cancelled", "stopped"), ("error", "failed: incomplete"),
    ("truncated", "cut off: may be incomplete"), ("streaming", "interrupted: incomplete"),
    ("length", "hit the length limit")])
def test_a_reply_that_did_not_end_normally_says_so(finish: str, words: str) -> None:
    text = export_markdown(_conv(("Ridley Scott directed", finish), ("Yes.", "stop")), [])
    assert f"Ridley Scott directed\n\n*({words})*\n\n## You" in text
    assert text.count("*(") == 1  # the reply that ended normally says nothing


def test_a_code_block_a_stopped_reply_left_open_is_closed() -> None:
    text = export_markdown(_conv(("Here:\n\n```python\nprint('Alien'", "cancelled"),
                                 ("Next answer", "stop")), [])
    assert _headings(text)[-1] == ("h2", "expert · 2025-03-01 12:03")  # not code
    assert "*(stopped)*" in text and "```python\nprint('Alien'\n```\n\n*(stopped)*" in text


def test_a_failed_export_is_one_sentence(tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ExportError) as missing:
        write_export(tmp_path / "nowhere" / "x.md", "text")
    assert missing.value.message == (
        f"Could not export to {tmp_path / 'nowhere' / 'x.md'}: the folder does not exist.")

    def full_disk(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.tempfile, "mkstemp", full_disk)
    with pytest.raises(ExportError) as full:
        write_export(tmp_path / "x.md", "text")
    assert full.value.message == f"Could not export to {tmp_path / 'x.md'}: the disk is full."
    assert not (tmp_path / "x.md").exists()


def test_nested_markdown_leaves_other_text_alone() -> None:
    plain = "No headings here.\n\n| Film | # |\n|---|---|\n| Alien | 1 |\n"
    assert export.nested_markdown(plain) == plain


# -- tool traffic ----------------------------------------------------------------------------

def _with_tools() -> Conversation:
    from moviechat_tui.core.tools import ToolCall, ToolRound

    conv = _conv(("Bong Joon Ho directed *Parasite* (2019).", "stop"), ("Yes.", "stop"))
    conv.messages[1].tool_rounds = (ToolRound((
        ToolCall("call_1", "search_films", '{"query": "Parasite"}',
                 '{"results":[{"id":"tt0000001","title":"Parasite","note":"```"}]}'),
        ToolCall("call_2", "film_detials", "{}", "There is no tool named “film_detials”.",
                 failed=True)),),)
    conv.messages[3].facts = ("Parasite (2019)",)
    return conv


def test_tool_traffic_is_left_out_by_default() -> None:
    text = export_markdown(_with_tools(), [])
    assert "search_films" not in text and "tt0000001" not in text
    assert "Catalogue facts" not in text
    assert "Bong Joon Ho directed *Parasite* (2019)." in text


def test_with_tools_each_call_comes_before_the_reply_it_led_to() -> None:
    text = export_markdown(_with_tools(), [], tools=True)
    call = text.index("**Tool call `search_films`**")
    assert text.index("question 0") < call < text.index("Bong Joon Ho directed")
    assert "**Tool call `film_detials` (failed)**" in text
    assert '````\n{"results":[{"id":"tt0000001","title":"Parasite","note":"```"}]}\n````' in text
    assert "*Catalogue facts sent with the question: Parasite (2019)*" in text
    # The calls' code blocks do not change the document's structure.
    assert [h for h in _headings(text) if h[0] == "h2"] == [
        ("h2", h) for _tag, h in _headings(export_markdown(_with_tools(), []))
        if _tag == "h2"]


def test_moviechat_export_tools_includes_them(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    from moviechat_tui.cli import main
    from moviechat_tui.storage.store import ConversationStore

    conv = _with_tools()
    ConversationStore(tmp_path / "conversations").save(conv)
    env_args = ["--data-dir", str(tmp_path), "--config", str(tmp_path / "none.toml")]
    assert main(["--lang", "en", "export", conv.id[:8], *env_args]) == 0
    plain = capsys.readouterr().out
    assert main(["--lang", "en", "export", conv.id[:8], "--tools", *env_args]) == 0
    with_tools = capsys.readouterr().out
    assert "search_films" not in plain and "**Tool call `search_films`**" in with_tools


def test_a_replys_spoilers_are_kept_between_visible_marks() -> None:
    conv = _conv(("Fight Club: a soap seller. <spoiler>They are one.</spoiler> Then "
                  "<spoiler>an unclosed one", "stop"))
    text = export_markdown(conv, [])
    assert ("Fight Club: a soap seller. [spoiler]They are one.[/spoiler] Then "
            "[spoiler]an unclosed one[/spoiler]") in text
    assert "<spoiler>" not in text
