"""Conversation files a person can read: a reply of several lines is written as those lines,
and every text still reads back exactly (docs/storage-format.md, "The file")."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from moviechat_tui.core.conversation import Conversation, Message
from moviechat_tui.core.text import sanitize
from moviechat_tui.storage import format as store_format
from moviechat_tui.storage.format import SEGMENT_SIZE, TAIL_LIMIT
from moviechat_tui.storage.store import ConversationStore

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
CONTROLS = [chr(c) for c in [*range(0x20), 0x7F, *range(0x80, 0xA0)]]
PIECES = ["\n", "\r\n", "\r", '"', '"""', "'", "''", "'''", "\\", "\\n", "\\u0041", "\t",
          "[[messages]]", "\n[[messages]]\n", "content = ", "봉준호의 〈기생충〉", "ㅎㅏㄴ",
          " ", "\u2028", "\ufeff", *CONTROLS]
texts = st.lists(st.sampled_from(PIECES) | st.text(max_size=5), max_size=25).map("".join)


def _conv(contents: list[str], conv_id: str = "c1") -> Conversation:
    messages = [Message(role="user" if i % 2 == 0 else "assistant", content=text,
                        created=T0 + timedelta(seconds=i), id=f"m{i:05d}")
                for i, text in enumerate(contents)]
    return Conversation(id=conv_id, title="Readable", model="m", created=T0, updated=T0,
                        messages=messages)


def _raw_contents(data: bytes) -> list[str]:
    """The text in the file as TOML holds it, before the store sanitises what it reads."""
    return [m["content"] for m in tomllib.loads(data.decode("utf-8"))["messages"]]


@settings(max_examples=300, deadline=None)
@given(text=texts)
def test_every_text_is_written_so_that_it_reads_back_exactly(text: str) -> None:
    data, _ = store_format.serialise(_conv([text, text + "\n", "\n" + text]))
    assert _raw_contents(data) == [text, text + "\n", "\n" + text]
    parsed = store_format.parse_conversation(data, "c1")
    assert [m.content for m in parsed.messages] == [sanitize(text), sanitize(text + "\n"),
                                                    sanitize("\n" + text)]


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=texts)
def test_every_text_round_trips_through_the_store(tmp_path: Path, text: str) -> None:
    conv = _conv([text, "plain", text])
    ConversationStore(tmp_path).save(conv)
    assert _raw_contents((tmp_path / "c1.toml").read_bytes()) == [text, "plain", text]
    loaded = ConversationStore(tmp_path).load("c1").conversation
    assert [m.content for m in loaded.messages] == [sanitize(text), "plain", sanitize(text)]


@pytest.mark.parametrize("text", [
    "ends with a newline\n",
    'holds """triple""" and "double" quotes\n',
    "C:\\films\\new \\n is not a newline\n\\",
    "".join(CONTROLS) + "\nafter the controls",
    "windows\r\nline endings\r\n",
    "a lone\rCR\nand a newline",
    "봉준호 감독의 〈기생충〉은\n2019년 칸 황금종려상을 받았다.\n",
    "it's ''quoted'' and ends with a quote'",
    "'''docstring'''\nin a code block",
    "\n\nstarts with blank lines",
])
def test_tricky_text_reads_back_exactly(tmp_path: Path, text: str) -> None:
    ConversationStore(tmp_path).save(_conv(["q", text]))
    assert _raw_contents((tmp_path / "c1.toml").read_bytes()) == ["q", text]


def test_a_reply_reads_in_the_file_as_it_reads_on_screen(tmp_path: Path) -> None:
    reply = ('## "Parasite" (2019)\n\nBong Joon-ho\'s film:\n\n- the stairs\n'
             '- `C:\\scripts\\semi-basement.txt`\n\n기생충은 계단의 영화입니다.\n')
    ConversationStore(tmp_path).save(_conv(["Who directed Parasite?", reply]))
    text = (tmp_path / "c1.toml").read_text("utf-8")
    assert "content = '''\n" + reply + "'''\n" in text  # every line as it is, no escapes
    assert 'content = "Who directed Parasite?"\n' in text  # one line stays one line


def test_text_with_a_carriage_return_stays_one_escaped_line(tmp_path: Path) -> None:
    ConversationStore(tmp_path).save(_conv(["q", "one\r\ntwo"]))
    data = (tmp_path / "c1.toml").read_bytes()
    assert b"\r" not in data
    assert b'content = "one\\r\\ntwo"\n' in data


def test_the_header_is_still_everything_before_the_first_message(tmp_path: Path) -> None:
    """A line of a reply may now start with `[[messages]]`: listing reads only up to the
    first such line, which is still the first message's table."""
    store = ConversationStore(tmp_path)
    store.save(_conv(["[[messages]]\nmessage_count = 99\n", "x\n[[messages]]\n"]))
    [summary] = ConversationStore(tmp_path).list_summaries()
    assert (summary.title, summary.message_count) == ("Readable", 2)
    header = store_format.read_header(tmp_path / "c1.toml")
    assert b"content" not in header and header.endswith(b"message_count = 2\n\n")


OLD_FILE = '''\
schema_version = 1
id = "3f2a9c0e5b7d4e1fa6c8b2d4e6f80a1c"
title = "Who directed Alien?"
created = 2025-03-01 12:00:05.123456+00:00
updated = 2025-03-01 12:00:14.123456+00:00
persona = "expert"
model = "gpt-4o-mini"
message_count = 2

[[messages]]
id = "9b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e"
role = "user"
content = "Who directed Alien?"
created = 2025-03-01 12:00:05.123456+00:00

[[messages]]
id = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
role = "assistant"
content = "Ridley Scott, in 1979.\\n\\nThe \\"Nostromo\\" crew…\\n"
created = 2025-03-01 12:00:07.123456+00:00
persona = "expert"
model = "gpt-4o-mini"
finish_reason = "stop"
'''


def test_a_file_written_by_an_earlier_version_loads_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "3f2a9c0e5b7d4e1fa6c8b2d4e6f80a1c.toml"
    path.write_text(OLD_FILE, encoding="utf-8")
    store = ConversationStore(tmp_path)
    conv = store.load(path.stem).conversation
    assert [m.content for m in conv.messages] == [
        "Who directed Alien?", 'Ridley Scott, in 1979.\n\nThe "Nostromo" crew…\n']
    assert path.read_text("utf-8") == OLD_FILE  # reading never changes a file
    store.save(conv)
    assert "content = '''\nRidley Scott, in 1979.\n\nThe \"Nostromo\" crew…\n'''\n" in (
        path.read_text("utf-8"))
    assert ConversationStore(tmp_path).load(path.stem).conversation == conv


def test_sealed_segments_written_before_stay_as_they_were(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A long conversation saved by an earlier version (every text on one escaped line):
    later saves write new messages readably and never rewrite the old segments."""
    with monkeypatch.context() as old_version:
        old_version.setattr(store_format, "_content_toml",
                            lambda text: tomli_w.dumps({"content": text}))
        conv = _conv([f"message {i}\nsecond line" for i in range(TAIL_LIMIT)], "long")
        ConversationStore(tmp_path).save(conv)
    segments = tmp_path / "long.d"
    before = {p.name: p.read_bytes() for p in segments.iterdir()}
    assert len(before) == 1 and b"message 0\\nsecond line" in next(iter(before.values()))

    store = ConversationStore(tmp_path)
    conv = store.load("long").conversation
    for i in range(SEGMENT_SIZE + 1):  # enough to seal one more segment
        conv.messages.append(Message(role="user", content=f"new {i}\nline",
                                     created=T0 + timedelta(hours=1, seconds=i)))
        store.save(conv)
    after = {p.name: p.read_bytes() for p in segments.iterdir()}
    assert len(after) == 2
    assert {name: after[name] for name in before} == before
    [new] = set(after) - set(before)
    assert b"content = '''\nmessage 100\nsecond line'''\n" in after[new]
    final = ConversationStore(tmp_path).load("long").conversation
    assert final.messages == conv.messages
