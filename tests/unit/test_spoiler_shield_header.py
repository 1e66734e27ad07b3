"""The spoiler shield's state is saved in the conversation file's header: on survives a
save and a load, off writes nothing, and every older file (no key) loads as off."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from moviechat_tui.core.conversation import Conversation, Message
from moviechat_tui.storage import format as store_format
from moviechat_tui.storage.store import ConversationStore

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def _conversation(shield: bool) -> Conversation:
    return Conversation(id="c1", title="Twists", created=T0, updated=T0, spoiler_shield=shield,
                        messages=[Message(role="user", content="No spoilers please",
                                          created=T0, id="m1")])


def test_the_shield_survives_a_save_and_a_load(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path)
    store.save(_conversation(True))
    assert "spoiler_shield = true" in (tmp_path / "c1.toml").read_text(encoding="utf-8")
    assert ConversationStore(tmp_path).load("c1").conversation.spoiler_shield is True


def test_off_writes_no_key_and_loads_as_off(tmp_path: Path) -> None:
    ConversationStore(tmp_path).save(_conversation(False))
    assert "spoiler_shield" not in (tmp_path / "c1.toml").read_text(encoding="utf-8")
    assert ConversationStore(tmp_path).load("c1").conversation.spoiler_shield is False


def test_an_older_file_without_the_key_loads_as_off() -> None:
    older = (b'schema_version = 1\nid = "c1"\ntitle = "Old"\ncreated = 2024-01-01T00:00:00Z\n'
             b'updated = 2024-01-01T00:00:00Z\npersona = "expert"\nmodel = "m"\n'
             b"message_count = 0\n")
    assert store_format.parse_conversation(older, "c1").spoiler_shield is False


def test_a_long_conversation_keeps_the_shield_in_its_main_file() -> None:
    conv = _conversation(True)
    conv.messages = [Message(role="user", content=f"q{i}", created=T0, id=f"m{i}")
                     for i in range(store_format.TAIL_LIMIT + 5)]
    main, segments = store_format.split_for_disk(conv)
    assert segments
    parsed, _refs = store_format.parse_main(main, "c1")
    assert parsed.spoiler_shield is True
