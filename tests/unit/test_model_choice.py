"""The model a conversation uses, remembered in its file's header (issue 16, B10)."""

from __future__ import annotations

from pathlib import Path

from moviechat_tui.core.conversation import Conversation, Message
from moviechat_tui.core.endpoint import Endpoint
from moviechat_tui.core.secret import Secret
from moviechat_tui.storage.format import parse_conversation, parse_summary, serialise
from moviechat_tui.storage.store import ConversationStore


def _conversation(**header: str | None) -> Conversation:
    return Conversation(title="Noir night", model="gpt-4o-mini",
                        messages=[Message(role="user", content="Best noir?")], **header)


def test_the_chosen_model_round_trips_through_the_file() -> None:
    conv = _conversation(chosen_model="film-small",
                         chosen_model_endpoint="http://127.0.0.1:8765/v1")
    data, _cache = serialise(conv)
    back = parse_conversation(data, conv.id)
    assert (back.chosen_model, back.chosen_model_endpoint) == (
        "film-small", "http://127.0.0.1:8765/v1")
    # Header keys, before the first message: listing (which reads only the header) still works.
    header = data.split(b"[[messages]]")[0]
    assert b'chosen_model = "film-small"' in header
    assert parse_summary(header, conv.id).title == "Noir night"


def test_a_file_without_it_loads_as_before() -> None:
    conv = _conversation()
    data, _cache = serialise(conv)
    assert b"chosen_model" not in data
    back = parse_conversation(data, conv.id)
    assert back.chosen_model is None and back.chosen_model_endpoint is None


def test_a_bad_value_is_ignored_not_damage() -> None:
    conv = _conversation()
    data, _cache = serialise(conv)
    edited = data.replace(b"message_count", b'chosen_model = 7\nchosen_model_endpoint = "x"\n'
                                            b"message_count", 1)
    back = parse_conversation(edited, conv.id)
    assert back.chosen_model is None and back.messages[0].content == "Best noir?"
    half = data.replace(b"message_count", b'chosen_model = "film-small"\nmessage_count', 1)
    assert parse_conversation(half, conv.id).chosen_model is None  # both or neither


def test_the_store_keeps_it(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path)
    conv = _conversation(chosen_model="film-small", chosen_model_endpoint="local:smol.gguf")
    store.save(conv)
    loaded = store.load(conv.id).conversation
    assert (loaded.chosen_model, loaded.chosen_model_endpoint) == ("film-small",
                                                                   "local:smol.gguf")


def test_endpoint_identity_is_stable_across_local_server_ports(tmp_path: Path) -> None:
    model = tmp_path / "smol.gguf"
    one = Endpoint("http://127.0.0.1:40001/v1", Secret("k"), "m", local_model=model)
    two = Endpoint("http://127.0.0.1:40002/v1", Secret("k"), "m", local_model=model)
    assert one.identity == two.identity == "local:smol.gguf"
    remote = Endpoint("https://user:pw@example.net/v1?token=x", Secret("k"), "m")
    assert remote.identity == "https://example.net/v1"
