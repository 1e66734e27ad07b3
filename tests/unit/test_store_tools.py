"""Replies with tool calls on disk: schema version 3 (docs/storage-format.md, "Tool calls").

What must hold for a user: a conversation in which the model looked films up comes back
exactly — the calls, their arguments and results, in order — so `--continue` sends the model
what it was sent before; files written before tool calls existed still load (and are still
written in their old layout while they have none); and an older app opens a file with tool
calls read-only instead of dropping them at its next save.
"""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from moviechat_tui.core.conversation import SCHEMA_VERSION, Conversation, Message
from moviechat_tui.core.tools import ToolCall, ToolRound
from moviechat_tui.storage import format as store_format
from moviechat_tui.storage import store as store_module
from moviechat_tui.storage.format import TAIL_LIMIT
from moviechat_tui.storage.store import ConversationStore, CorruptConversation

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
ROUNDS = (
    ToolRound((ToolCall("call_1", "search_films", '{"query": "Parasite", "year": 2019}',
                        '{"results":[{"id":"tt0000001","title":"Parasite","year":2019}]}'),
               ToolCall("call_2", "search_films", '{"query": "Schindler\'s List"}',
                        "line one\nline two with '''quotes''' and \\ backslash")),
              "Let me check.\n"),
    ToolRound((ToolCall("call_3", "film_detials", "{not json", "There is no tool named "
                        "“film_detials”.", failed=True),)),
)
OLD_APP_KEYS = {"id", "role", "created", "persona", "model", "finish_reason", "group",
                "hidden", "prompt_tokens", "completion_tokens", "content"}
"""What a version-2 app reads from a `[[messages]]` table (it ignores any other key)."""
OLD_APP_ROLES = {"user", "assistant", "system", "notice"}


def turn(index: int, *, tools: bool = False) -> list[Message]:
    created = T0 + timedelta(seconds=2 * index)
    question = Message("user", f"question {index}", created=created, id=f"u{index:05d}")
    reply = Message("assistant", ("Let me check.\n" if tools else "") + f"answer {index}",
                    created=created + timedelta(seconds=1), id=f"a{index:05d}",
                    persona="expert", model="gpt-test", finish_reason="stop",
                    tool_rounds=ROUNDS if tools else (),
                    facts=() if tools else ("Parasite (2019)",) if index % 3 == 0 else ())
    return [question, reply]


def conversation(turns: int, with_tools: set[int] = frozenset({0}), conv_id: str = "c1"
                 ) -> Conversation:
    messages = [m for i in range(turns) for m in turn(i, tools=i in with_tools)]
    return Conversation(id=conv_id, title="Tools", model="gpt-test", created=T0,
                        updated=T0 + timedelta(hours=1), messages=messages)


def version_of(path: Path) -> int:
    with path.open("rb") as handle:
        return int(tomllib.load(handle)["schema_version"])


@pytest.fixture
def conv_dir(tmp_path: Path) -> Path:
    return tmp_path / "conversations"


def test_tool_calls_and_facts_round_trip_exactly(conv_dir: Path) -> None:
    conv = conversation(3, with_tools={1})
    ConversationStore(conv_dir).save(conv)
    loaded = ConversationStore(conv_dir).load("c1").conversation
    assert loaded.messages == conv.messages
    reply = loaded.messages[3]
    assert reply.tool_rounds == ROUNDS
    assert [c.name for r in reply.tool_rounds for c in r.calls] == [
        "search_films", "search_films", "film_detials"]
    assert loaded.messages[1].facts == ("Parasite (2019)",)
    assert version_of(conv_dir / "c1.toml") == store_format.TOOLS_VERSION == SCHEMA_VERSION


def test_the_file_reads_as_written(conv_dir: Path) -> None:
    """Arguments read as the model wrote them, results as text, in the order they came."""
    ConversationStore(conv_dir).save(conversation(1))
    text = (conv_dir / "c1.toml").read_text("utf-8")
    assert "arguments = '{\"query\": \"Parasite\", \"year\": 2019}'" in text
    first, second = text.index('id = "call_1"'), text.index('id = "call_2"')
    assert text.index("[[messages.tool_rounds]]") < first < second \
        < text.index('id = "call_3"')
    assert "failed = true" in text


def test_without_tool_calls_the_old_layouts_are_kept(conv_dir: Path) -> None:
    """Facts alone change nothing an older app cares about: version 1 (or 2 when long)."""
    store = ConversationStore(conv_dir)
    store.save(conversation(3, with_tools=set()))
    assert version_of(conv_dir / "c1.toml") == store_format.SINGLE_FILE_VERSION
    store.save(conversation(TAIL_LIMIT, with_tools=set(), conv_id="long"))
    assert version_of(conv_dir / "long.toml") == store_format.SEGMENTED_VERSION


def test_a_file_from_before_tool_calls_loads_and_gains_them(conv_dir: Path) -> None:
    conv_dir.mkdir(parents=True)
    (conv_dir / "old.toml").write_text('''schema_version = 1
id = "old"
title = "Before tools"
created = 2025-03-01 12:00:05+00:00
updated = 2025-03-01 12:00:09+00:00
persona = "expert"
model = "gpt-4o-mini"
message_count = 2

[[messages]]
id = "q"
role = "user"
created = 2025-03-01 12:00:05+00:00
content = "Who directed Alien?"

[[messages]]
id = "r"
role = "assistant"
created = 2025-03-01 12:00:07+00:00
persona = "expert"
model = "gpt-4o-mini"
finish_reason = "stop"
content = "Ridley Scott."
''', encoding="utf-8")
    store = ConversationStore(conv_dir)
    loaded = store.load("old")
    assert not loaded.read_only
    conv = loaded.conversation
    assert [m.content for m in conv.messages] == ["Who directed Alien?", "Ridley Scott."]
    assert conv.messages[1].tool_rounds == () and conv.messages[1].facts == ()
    conv.messages += turn(5, tools=True)
    store.save(conv)
    assert version_of(conv_dir / "old.toml") == store_format.TOOLS_VERSION
    assert ConversationStore(conv_dir).load("old").conversation.messages[3].tool_rounds == ROUNDS


def test_a_long_conversation_keeps_its_tool_calls_in_sealed_segments(conv_dir: Path) -> None:
    conv = conversation(TAIL_LIMIT + 20, with_tools={0, TAIL_LIMIT + 10})
    store = ConversationStore(conv_dir)
    store.save(conv)
    assert list((conv_dir / "c1.d").iterdir())
    assert version_of(conv_dir / "c1.toml") == store_format.TOOLS_VERSION
    fresh = ConversationStore(conv_dir)
    assert fresh.load("c1").conversation.messages == conv.messages
    tail = fresh.load_tail("c1", 20)
    assert tail.conversation.messages[-20:] == conv.messages[-20:]

    # The newest calls age into a segment and later saves have none in the main file: the
    # file stays version 3, since its segments still hold calls an older app would drop.
    conv.messages += [m for i in range(TAIL_LIMIT + 20, 2 * TAIL_LIMIT + 60)
                      for m in turn(i)]
    store.save(conv)
    assert not any(m.tool_rounds for m in
                   store.load_tail("c1", 1).conversation.messages[-100:])
    assert version_of(conv_dir / "c1.toml") == store_format.TOOLS_VERSION
    assert ConversationStore(conv_dir).load("c1").conversation.messages == conv.messages


def test_an_older_app_opens_a_file_with_tool_calls_read_only(
        conv_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What a version-2 app does with a version-3 file: its parser reads every message
    (no role or key it would refuse), and the newer version makes it read-only."""
    conv = conversation(2, with_tools={0})
    ConversationStore(conv_dir).save(conv)
    data = (conv_dir / "c1.toml").read_bytes()
    for table in tomllib.loads(data.decode())["messages"]:
        assert table["role"] in OLD_APP_ROLES
        assert set(table) - OLD_APP_KEYS <= {"tool_rounds", "facts"}

    for module in (store_module, store_format):
        monkeypatch.setattr(module, "SCHEMA_VERSION", 2)
    store = ConversationStore(conv_dir)
    loaded = store.load("c1")
    assert loaded.read_only and loaded.notice and "newer version" in loaded.notice
    assert [m.content for m in loaded.conversation.messages] == [
        m.content for m in conv.messages]
    assert (conv_dir / "c1.toml").read_bytes() == data


@pytest.mark.parametrize("bad", [
    "tool_rounds = 5\n",
    "[[messages.tool_rounds]]\ncalls = 3\n",
    "[[messages.tool_rounds]]\n[[messages.tool_rounds.calls]]\nid = \"x\"\nname = \"y\"\n",
    "facts = [1, 2]\n",
])
def test_a_damaged_tool_call_is_a_damaged_file(conv_dir: Path, bad: str) -> None:
    ConversationStore(conv_dir).save(conversation(1, with_tools=set()))
    path = conv_dir / "c1.toml"
    text = path.read_text("utf-8")
    if bad.startswith("[["):
        text += "\n" + bad
    else:
        at = text.rindex("content = ")
        text = text[:at] + bad + text[at:]
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CorruptConversation):
        ConversationStore(conv_dir).load("c1")
    assert (conv_dir / "c1.toml.corrupt").exists()


def test_control_sequences_in_stored_tool_traffic_are_removed(conv_dir: Path) -> None:
    """A file is untrusted: a result carrying an OSC 52 escape loses it on load."""
    hostile = ToolRound((ToolCall("c\x1b[31m1", "search\x07", "{}",
                                  "ok\x1b]52;c;ZXZpbA==\x07 done"),))
    conv = conversation(1, with_tools=set())
    conv.messages[1].tool_rounds = (hostile,)
    ConversationStore(conv_dir).save(conv)
    call = ConversationStore(conv_dir).load("c1").conversation.messages[1].tool_rounds[0].calls[0]
    assert "\x1b" not in call.result + call.id + call.name and "\x07" not in call.name
    assert call.result == "ok done"
