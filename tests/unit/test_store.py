"""ConversationStore: what a user would lose or see if the store got it wrong."""

from __future__ import annotations

import dataclasses
import errno
import os
import resource
import stat
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from moviechat_tui.core.conversation import SCHEMA_VERSION, Conversation, Message
from moviechat_tui.core.text import sanitize
from moviechat_tui.storage import files as store_files
from moviechat_tui.storage import format as store_format
from moviechat_tui.storage.store import (
    ConversationNotFound,
    ConversationStore,
    CorruptConversation,
    InvalidConversationId,
    ReadOnlyConversation,
    StoreWriteError,
)

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def conv_dir(tmp_path: Path) -> Path:
    return tmp_path / "conversations"


@pytest.fixture
def store(conv_dir: Path) -> ConversationStore:
    return ConversationStore(conv_dir)


def make_conv(
    conv_id: str = "c1", contents: tuple[str, ...] = ("hello",), **kw: object
) -> Conversation:
    conv = Conversation(id=conv_id, title="A film chat", model="gpt-test", created=T0, updated=T0)
    for key, value in kw.items():
        setattr(conv, key, value)
    for i, text in enumerate(contents):
        conv.messages.append(
            Message(
                role="user" if i % 2 == 0 else "assistant",
                content=text,
                created=T0 + timedelta(seconds=i),
                id=f"m{i:04d}",
            )
        )
    return conv


def as_loaded(conv: Conversation) -> Conversation:
    """What loading gives back: every text field that can be shown is sanitised (a file may
    have been edited by hand), so controls and escapes come back removed."""
    def clean(value: str | None) -> str | None:
        return None if value is None else sanitize(value)

    return dataclasses.replace(
        conv, title=sanitize(conv.title), persona=sanitize(conv.persona),
        model=sanitize(conv.model),
        messages=[dataclasses.replace(m, content=sanitize(m.content), persona=clean(m.persona),
                                      model=clean(m.model), finish_reason=clean(m.finish_reason),
                                      group=clean(m.group))
                  for m in conv.messages])


def leftovers(conv_dir: Path) -> list[str]:
    """Files other than conversations, their lock files and segment directories (temporary
    files, quarantine), also inside segment directories."""
    found = []
    for path in conv_dir.iterdir():
        if path.name.endswith(".d") and path.is_dir():
            found += [f"{path.name}/{p.name}" for p in path.iterdir()
                      if not store_format.SEGMENT_NAME.fullmatch(p.name)]
        elif not path.name.endswith((".toml", ".lock")):
            found.append(path.name)
    return sorted(found)


ALL_CONTROLS = "".join(chr(c) for c in [*range(0x20), 0x7F, *range(0x80, 0xA0)])
TRICKY = {
    "korean": "봉준호 감독의 〈기생충〉은 2019년 칸 황금종려상을 받았다.",
    "emoji": "🎬🍿 👩‍👩‍👧 🇰🇷 ❤️‍🔥",
    "quotes": "'single' \"double\" \"\"\"triple\"\"\" '''lit'''",
    "backslashes": r"C:\path\to\film \n is not a newline \\ \u0041 \x00",
    "controls": ALL_CONTROLS,
    "crlf": "line one\r\nline two\r\n\r\nlone CR\rend\n",
    "toml_lookalike": "x\n[[messages]]\nrole = 'x'\n[[messages]]\nmessage_count = 99\n",
    "starts_like_toml": "[[messages]]\nid = \"evil\"",
    "empty": "",
    "unicode_lines": "a\u2028b\u2029c\u0085d",
}


@pytest.mark.parametrize("name", sorted(TRICKY))
def test_content_round_trips(conv_dir: Path, name: str) -> None:
    text = TRICKY[name]
    conv = make_conv(contents=(text, text + "!"), title=text, persona=text or "p", model=text)
    conv.messages[1].persona = text
    conv.messages[1].finish_reason = text
    ConversationStore(conv_dir).save(conv)

    fresh = ConversationStore(conv_dir)  # no in-memory state: only the file speaks
    assert fresh.load("c1").conversation == as_loaded(conv)
    [summary] = fresh.list_summaries()
    assert (summary.title, summary.model, summary.message_count) == (
        sanitize(text), sanitize(text), 2)


def test_one_megabyte_message_round_trips(store: ConversationStore, conv_dir: Path) -> None:
    big = ("장면 \"take\" \\ 🎞\r\n" * 60_000)[: 1024 * 1024]
    conv = make_conv(contents=("q", big))
    store.save(conv)
    assert ConversationStore(conv_dir).load("c1").conversation.messages[1].content == sanitize(big)


def test_lone_surrogate_is_replaced_instead_of_breaking_the_file(
    store: ConversationStore, conv_dir: Path
) -> None:
    conv = make_conv(contents=("ok", "bad \ud800 half", "after"), title="t\udfff")
    store.save(conv)
    loaded = ConversationStore(conv_dir).load("c1").conversation
    assert [m.content for m in loaded.messages] == ["ok", "bad \ufffd half", "after"]
    assert loaded.title == "t\ufffd"


def test_file_layout_puts_header_before_messages_even_for_short_messages(
    store: ConversationStore, conv_dir: Path
) -> None:
    # tomli-w alone would write short tables as an inline array, hiding them from listing.
    store.save(make_conv(contents=("a", "b")))
    text = (conv_dir / "c1.toml").read_text()
    header, _, rest = text.partition("\n[[messages]]\n")
    for key in ("schema_version", "id", "title", "created", "updated", "persona", "model",
                "message_count"):
        assert f"\n{key} = " in "\n" + header
    assert rest.count("[[messages]]") == 1  # two tables in all


def test_directory_is_private_and_created_only_on_first_write(tmp_path: Path) -> None:
    conv_dir = tmp_path / "data" / "conversations"
    store = ConversationStore(conv_dir)
    assert store.list_summaries() == []
    assert store.latest() is None
    assert not conv_dir.exists()
    store.save(make_conv())
    assert stat.S_IMODE(conv_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((conv_dir / "c1.toml").stat().st_mode) == 0o600


# --- failed writes ------------------------------------------------------------------------


def test_failed_rename_leaves_old_file_intact(
    store: ConversationStore, conv_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.save(make_conv(contents=("first",)))
    before = (conv_dir / "c1.toml").read_bytes()

    def disk_full(*args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store_files.os, "replace", disk_full)
    with pytest.raises(StoreWriteError) as info:
        store.save(make_conv(contents=("first", "second")))
    assert "disk is full" in info.value.message
    assert "c1.toml" in info.value.message
    assert (conv_dir / "c1.toml").read_bytes() == before
    assert leftovers(conv_dir) == []


def test_write_cut_off_midway_leaves_old_file_intact(
    store: ConversationStore, conv_dir: Path
) -> None:
    """A real short write: the kernel refuses to grow any file beyond 16 KiB (EFBIG)."""
    store.save(make_conv(contents=("first",)))
    before = (conv_dir / "c1.toml").read_bytes()
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (16 * 1024, hard))
    try:
        with pytest.raises(StoreWriteError) as info:
            store.save(make_conv(contents=("first", "x" * 200_000)))
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert "too large" in info.value.message
    assert (conv_dir / "c1.toml").read_bytes() == before
    assert leftovers(conv_dir) == []
    assert ConversationStore(conv_dir).load("c1").conversation.messages[0].content == "first"


def test_unwritable_directory_gives_readable_error(
    store: ConversationStore, conv_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.save(make_conv())
    before = (conv_dir / "c1.toml").read_bytes()
    if os.geteuid() == 0:  # root ignores directory permissions: refuse the way the kernel would
        def denied(*args: object, **kwargs: object) -> None:
            raise PermissionError(errno.EACCES, "Permission denied")

        monkeypatch.setattr(store_files.tempfile, "mkstemp", denied)
    conv_dir.chmod(0o500)
    try:
        with pytest.raises(StoreWriteError, match="permission denied"):
            store.save(make_conv(contents=("changed",)))
    finally:
        conv_dir.chmod(0o700)
    assert (conv_dir / "c1.toml").read_bytes() == before


# --- damaged files --------------------------------------------------------------------------


def _truncated_at_boundary(conv_dir: Path) -> bytes:
    ConversationStore(conv_dir).save(make_conv(contents=("one", "two", "three")))
    data = (conv_dir / "c1.toml").read_bytes()
    cut = data.rindex(b"\n[[messages]]")
    assert store_format.parse_conversation(data, "c1")  # the intact file is fine
    return data[: cut + 1]


DAMAGED = {
    "not_toml": lambda d: b'schema_version = 1\ntitle = "unterminated\n',
    "not_utf8": lambda d: b'schema_version = 1\ntitle = "\xff\xfe caf\xe9"\n',
    "truncated_at_boundary": _truncated_at_boundary,
    "missing_key": lambda d: b'schema_version = 1\nid = "c1"\ntitle = "x"\n',
    "wrong_type": lambda d: (
        b'schema_version = 1\nid = "c1"\ntitle = 5\ncreated = 2025-01-01T00:00:00Z\n'
        b'updated = 2025-01-01T00:00:00Z\npersona = "p"\nmodel = "m"\nmessage_count = 0\n'
    ),
}


@pytest.mark.parametrize("kind", sorted(DAMAGED))
def test_damaged_file_is_quarantined_with_its_bytes(conv_dir: Path, kind: str) -> None:
    conv_dir.mkdir(parents=True, exist_ok=True)
    damaged = DAMAGED[kind](conv_dir)
    (conv_dir / "c1.toml").write_bytes(damaged)

    with pytest.raises(CorruptConversation) as info:
        ConversationStore(conv_dir).load("c1")
    err = info.value
    assert err.quarantined_to == conv_dir / "c1.toml.corrupt"
    assert err.quarantined_to.read_bytes() == damaged
    assert not (conv_dir / "c1.toml").exists()
    assert "c1.toml" in err.message and "c1.toml.corrupt" in err.message
    if kind == "truncated_at_boundary":
        assert "3 messages" in err.reason and "has 2" in err.reason


def test_second_quarantine_never_overwrites_the_first(
    store: ConversationStore, conv_dir: Path
) -> None:
    conv_dir.mkdir(parents=True)
    (conv_dir / "c1.toml").write_bytes(b"first = [broken")
    with pytest.raises(CorruptConversation):
        store.load("c1")
    (conv_dir / "c1.toml").write_bytes(b"second = [broken")
    with pytest.raises(CorruptConversation) as info:
        store.load("c1")
    assert (conv_dir / "c1.toml.corrupt").read_bytes() == b"first = [broken"
    second = info.value.quarantined_to
    assert second is not None and second.name.startswith("c1.toml.corrupt-")
    assert second.read_bytes() == b"second = [broken"


def test_save_moves_a_damaged_file_aside_before_writing(
    store: ConversationStore, conv_dir: Path
) -> None:
    conv_dir.mkdir(parents=True)
    (conv_dir / "c1.toml").write_bytes(b"\xff garbage [[[")
    store.save(make_conv(contents=("mine",)))
    assert (conv_dir / "c1.toml.corrupt").read_bytes() == b"\xff garbage [[["
    assert [m.content for m in store.load("c1").conversation.messages] == ["mine"]
    [problem] = store.take_problems()
    assert isinstance(problem, CorruptConversation)
    assert store.take_problems() == []  # each problem is shown once


# --- newer schema ---------------------------------------------------------------------------


def _newer_file(conv_dir: Path) -> bytes:
    ConversationStore(conv_dir).save(make_conv(contents=("hi", "there")))
    path = conv_dir / "c1.toml"
    newer = f"schema_version = {SCHEMA_VERSION + 1}".encode()
    data = path.read_bytes().replace(b"schema_version = 1", newer, 1)
    data = data.replace(b"message_count", b'future_key = "x"\nmessage_count', 1)
    path.write_bytes(data)
    return data


def test_newer_schema_loads_read_only_and_is_never_rewritten(conv_dir: Path) -> None:
    data = _newer_file(conv_dir)
    store = ConversationStore(conv_dir)
    loaded = store.load("c1")
    assert loaded.read_only and loaded.notice and "newer version" in loaded.notice
    assert [m.content for m in loaded.conversation.messages] == ["hi", "there"]

    loaded.conversation.messages.append(Message(role="user", content="more"))
    with pytest.raises(ReadOnlyConversation):
        store.save(loaded.conversation)
    with pytest.raises(ReadOnlyConversation):  # even from a conversation made by this version
        store.save(make_conv(contents=("overwrite?",)))
    assert (conv_dir / "c1.toml").read_bytes() == data
    assert store.list_summaries()[0].message_count == 2


def test_newer_schema_with_syntax_we_cannot_parse_is_kept_not_quarantined(conv_dir: Path) -> None:
    conv_dir.mkdir(parents=True)
    data = b'schema_version = 7\nid = "c1"\n\n[[messages]]\nx = {a = 1, \n b = 2}\n'
    (conv_dir / "c1.toml").write_bytes(data)
    store = ConversationStore(conv_dir)
    with pytest.raises(ReadOnlyConversation):
        store.load("c1")
    assert store.list_summaries() == []
    assert isinstance(store.take_problems()[0], ReadOnlyConversation)
    with pytest.raises(ReadOnlyConversation):
        store.save(make_conv())
    assert (conv_dir / "c1.toml").read_bytes() == data
    assert leftovers(conv_dir) == []


# --- listing --------------------------------------------------------------------------------


def test_listing_is_newest_first(store: ConversationStore) -> None:
    for i, conv_id in enumerate(["old", "newest", "middle"]):
        store.save(make_conv(conv_id, updated=T0 + timedelta(hours=[1, 3, 2][i])))
    assert [s.id for s in store.list_summaries()] == ["newest", "middle", "old"]
    latest = store.latest()
    assert latest is not None and latest.id == "newest"


def test_listing_reads_only_headers(store: ConversationStore, conv_dir: Path) -> None:
    store.save(make_conv(contents=("x" * 100_000,) * 20))
    path = conv_dir / "c1.toml"
    header = path.read_bytes().split(b"\n[[messages]]")[0]
    # Same header, then a messages part that would not even decode.
    path.write_bytes(header + b"\n[[messages]]\n\xff\xfe not toml at all [[[" + b"\x00" * 5000)
    fresh = ConversationStore(conv_dir)
    [summary] = fresh.list_summaries()
    assert (summary.title, summary.message_count) == ("A film chat", 20)
    assert path.exists()  # listing did not judge (or move) what it did not read


def test_listing_uses_cache_and_notices_external_edits(
    store: ConversationStore, conv_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for conv_id in ("a", "b", "c"):
        store.save(make_conv(conv_id))
    reads: list[Path] = []
    real = store_format.read_header
    monkeypatch.setattr(store_format, "read_header", lambda p: reads.append(p) or real(p))
    assert len(store.list_summaries()) == 3
    assert len(reads) == 3
    reads.clear()
    assert len(store.list_summaries()) == 3
    assert reads == []  # unchanged files are not read again

    path = conv_dir / "b.toml"
    path.write_bytes(path.read_bytes().replace(b'title = "A film chat"', b'title = "Edited"'))
    titles = {s.id: s.title for s in store.list_summaries()}
    assert titles == {"a": "A film chat", "b": "Edited", "c": "A film chat"}
    assert reads == [path]


def test_listing_skips_strangers_and_reports_bad_headers(
    store: ConversationStore, conv_dir: Path, tmp_path: Path
) -> None:
    store.save(make_conv("good"))
    outside = tmp_path / "secret.toml"
    outside.write_bytes((conv_dir / "good.toml").read_bytes())
    (conv_dir / "link.toml").symlink_to(outside)
    (conv_dir / ".good.abc.tmp").write_bytes(b"partial")
    (conv_dir / "old.toml.corrupt").write_bytes(b"junk")
    (conv_dir / "bad name.toml").write_bytes(b"junk")
    (conv_dir / "broken.toml").write_bytes(b'schema_version = 1\ntitle = "no end\n')

    assert [s.id for s in store.list_summaries()] == ["good"]
    [problem] = store.take_problems()
    assert isinstance(problem, CorruptConversation) and "broken.toml" in problem.message
    assert (conv_dir / "broken.toml.corrupt").exists()
    assert outside.exists() and (conv_dir / "link.toml").is_symlink()
    with pytest.raises(ConversationNotFound):
        store.load("link")


def test_hand_edited_layout_without_marker_line_still_lists(
    store: ConversationStore, conv_dir: Path
) -> None:
    conv_dir.mkdir(parents=True)
    (conv_dir / "hand.toml").write_text(textwrap.dedent("""\
        schema_version = 1
        id = "hand"
        title = "Written by hand"
        created = 2025-01-01T00:00:00Z
        updated = 2025-01-02T00:00:00Z
        persona = "critic"
        model = "m"
        message_count = 1
        messages = [{ id = "a", role = "user", content = "hi", created = 2025-01-01T00:00:00Z }]
    """))
    [summary] = store.list_summaries()
    assert (summary.title, summary.message_count) == ("Written by hand", 1)
    assert store.load("hand").conversation.messages[0].content == "hi"


# --- merging ----------------------------------------------------------------------------------


def test_two_instances_keep_each_others_messages(conv_dir: Path) -> None:
    app_a, app_b = ConversationStore(conv_dir), ConversationStore(conv_dir)
    app_a.save(make_conv(contents=("q1",)))
    conv_b = app_b.load("c1").conversation
    conv_a = app_a.load("c1").conversation

    conv_a.messages.append(Message(role="assistant", content="from A", id="a1"))
    app_a.save(conv_a)
    mine = Message(role="user", content="from B", id="b1")
    conv_b.messages.append(mine)
    merged = app_b.save(conv_b)

    assert {m.id for m in merged.messages} == {"m0000", "a1", "b1"}
    assert next(m for m in merged.messages if m.id == "b1") is mine  # caller's object kept
    assert {m.content for m in app_a.load("c1").conversation.messages} == {"q1", "from A", "from B"}


def test_stale_copy_does_not_undo_a_reply_finished_elsewhere(conv_dir: Path) -> None:
    app_a, app_b = ConversationStore(conv_dir), ConversationStore(conv_dir)
    conv_a = make_conv(contents=("who directed Alien?", "Ridley"))
    reply = conv_a.messages[1]
    reply.finish_reason = "streaming"
    app_a.save(conv_a)
    conv_b = app_b.load("c1").conversation  # B sees the half-streamed reply

    reply.content, reply.finish_reason = "Ridley Scott, in 1979.", "stop"
    app_a.save(conv_a)
    conv_b.messages.append(Message(role="user", content="and Aliens?", created=T0 + timedelta(1)))
    merged = app_b.save(conv_b)
    assert merged.messages[1].content == "Ridley Scott, in 1979."  # B is shown the full reply

    # B ignores that and saves its stale copy again: the finished reply still survives.
    conv_b.messages.append(Message(role="user", content="thanks", created=T0 + timedelta(2)))
    app_b.save(conv_b)

    final = ConversationStore(conv_dir).load("c1").conversation.messages
    assert (final[1].content, final[1].finish_reason) == ("Ridley Scott, in 1979.", "stop")
    assert [m.content for m in final[2:]] == ["and Aliens?", "thanks"]


def test_edit_in_this_instance_wins_over_disk(conv_dir: Path) -> None:
    app_a, app_b = ConversationStore(conv_dir), ConversationStore(conv_dir)
    app_a.save(make_conv(contents=("q", "draft")))
    conv_b = app_b.load("c1").conversation
    conv_a = app_a.load("c1").conversation
    conv_a.messages[1].content = "A's edit"
    app_a.save(conv_a)
    conv_b.messages[1].content = "B's edit"
    app_b.save(conv_b)
    assert ConversationStore(conv_dir).load("c1").conversation.messages[1].content == "B's edit"


def test_only_explicit_removal_deletes_messages(store: ConversationStore, conv_dir: Path) -> None:
    conv = make_conv(contents=("q", "bad answer", "q2"))
    store.save(conv)
    dropped = conv.messages.pop(1)
    store.save(conv)  # forgetting it in memory is not a deletion: other instances do that
    assert len(store.load("c1").conversation.messages) == 3
    store.save(conv, removed=[dropped.id])
    assert [m.content for m in store.load("c1").conversation.messages] == ["q", "q2"]


WORKER = """
import sys
from pathlib import Path
from moviechat_tui.core.conversation import Conversation, Message
from moviechat_tui.storage.store import ConversationNotFound, ConversationStore

store = ConversationStore(Path(sys.argv[1]))
for i in range(100):
    try:
        conv = store.load("shared").conversation
    except ConversationNotFound:
        conv = Conversation(id="shared")
    conv.messages.append(Message(role="user", content=f"{sys.argv[2]} {i}"))
    store.save(conv)
"""


def test_two_processes_appending_lose_nothing(conv_dir: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    procs = [
        subprocess.Popen([sys.executable, "-c", WORKER, str(conv_dir), tag], env=env)
        for tag in ("A", "B")
    ]
    assert [p.wait(timeout=60) for p in procs] == [0, 0]
    loaded = ConversationStore(conv_dir).load("shared").conversation
    contents = sorted(m.content for m in loaded.messages)
    assert contents == sorted(f"{tag} {i}" for tag in "AB" for i in range(100))
    assert leftovers(conv_dir) == []


# --- ids and properties ---------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["../x", "..", ".", "a/b", "/etc/passwd", "", "x" * 65,
                                 "a.b", "a\x00b", "é"])
def test_ids_that_could_escape_the_directory_are_rejected(
    store: ConversationStore, tmp_path: Path, bad: str
) -> None:
    with pytest.raises(InvalidConversationId):
        store.path_for(bad)
    with pytest.raises(InvalidConversationId):
        store.load(bad)
    with pytest.raises(InvalidConversationId):
        store.save(make_conv(conv_id=bad))
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_missing_conversation(store: ConversationStore) -> None:
    with pytest.raises(ConversationNotFound):
        store.load("nope")
    assert not store.exists("nope")


_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=300)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(content=_text, title=_text, persona=_text)
def test_any_text_round_trips(conv_dir: Path, content: str, title: str, persona: str) -> None:
    conv = make_conv("prop", contents=(content, content), title=title, persona=persona)
    conv.messages[0].persona = persona
    ConversationStore(conv_dir).save(conv)
    fresh = ConversationStore(conv_dir)
    assert fresh.load("prop").conversation == as_loaded(conv)
    [summary] = fresh.list_summaries()
    assert (summary.title, summary.persona) == (sanitize(title), sanitize(persona))


def test_schema_version_written_is_ours(store: ConversationStore, conv_dir: Path) -> None:
    store.save(make_conv())
    # A short conversation keeps the single-file layout (version 1), which every version reads.
    assert "schema_version = 1\n" in (conv_dir / "c1.toml").read_text()
