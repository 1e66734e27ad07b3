"""Synthetic conversation data, written once in the store's own format and cached.

Files are made with `moviechat_tui.storage.format.split_for_disk` (the exact files
`ConversationStore.save` writes: one file, or for a long conversation a main file plus sealed
segments in `<id>.d/`) but without the store's lock, merge and fsync, which would make 10,000
conversations take minutes instead of seconds. A finished data set lives in
`$TMPDIR/moviechat-bench-cache/<name>/` and is reused by later runs of the suite; it is built in
a sibling directory and renamed into place, so an interrupted build is never mistaken for a
finished one. The content is deterministic (seeded), mixed English and Korean, and the
assistant messages carry the Markdown a model writes: headings, lists, emphasis, code, tables.
"""

from __future__ import annotations

import os
import random
import shutil
import tempfile
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from moviechat_tui.core.conversation import Conversation, Message
from moviechat_tui.storage import format as store_format

GENERATOR_VERSION = 2
"""Part of a data set's cache name: bump when the content or the store's file format changes,
so a benchmark reads files as the code under test writes them (2: texts of several lines are
written as multi-line strings)."""
CACHE_ROOT = Path(tempfile.gettempdir()) / "moviechat-bench-cache"
NEWEST_MARKER = "Newest-message-marker"
"""Text at the end of the last message of the long conversation (what `--continue` shows)."""

_FILMS = ["Parasite", "Alien", "Tokyo Story", "The Third Man", "Oldboy", "Memories of Murder",
          "In the Mood for Love", "Burning", "Mother", "Chungking Express", "Vertigo",
          "Decision to Leave", "The Handmaiden", "Paths of Glory", "Poetry", "Stalker"]
_DIRECTORS = ["Bong Joon-ho", "Park Chan-wook", "Lee Chang-dong", "Wong Kar-wai", "Ozu",
              "Hitchcock", "Kubrick", "Tarkovsky", "Carol Reed", "Ridley Scott"]
_EN_QUESTIONS = [
    "What should I watch if I loved {film}?",
    "Why does the ending of {film} work so well?",
    "Who shot {film}, and what lenses did they favour?",
    "Compare {film} with the other films by {director}.",
    "Is {film} a good first film to show a friend who hates subtitles?",
]
_KO_QUESTIONS = [
    "{film} 같은 영화를 더 추천해 줄 수 있나요?",
    "{director} 감독의 연출 스타일을 설명해 주세요.",
    "{film}의 결말은 어떤 의미인가요?",
    "주말에 볼 만한 스릴러 영화 세 편만 골라 주세요.",
    "{film}에서 가장 유명한 장면은 무엇인가요?",
]
_EN_SENTENCES = [
    "{film} builds its tension out of small domestic details before anything happens.",
    "{director} stages the key scene in one long take, so the audience cannot look away.",
    "The score stays quiet for most of the running time, which makes the finale land harder.",
    "Critics at the time were divided, but the film has aged better than its rivals.",
    "Watch how the framing keeps the characters apart even when they share a room.",
    "It rewards a second viewing: the first act plants almost every later reveal.",
]
_KO_SENTENCES = [
    "{film}은(는) 일상적인 디테일로 긴장감을 차곡차곡 쌓아 올리는 영화입니다.",
    "{director} 감독은 핵심 장면을 롱테이크로 찍어 관객이 눈을 돌릴 수 없게 만듭니다.",
    "음악은 대부분 조용하게 깔려 있어서 마지막 장면이 더 크게 다가옵니다.",
    "개봉 당시에는 평가가 엇갈렸지만 지금은 고전으로 자리 잡았습니다.",
    "두 번째 볼 때 첫 30분에 숨겨진 복선이 훨씬 잘 보입니다.",
]


def _fill(rng: random.Random, template: str) -> str:
    return template.format(film=rng.choice(_FILMS), director=rng.choice(_DIRECTORS))


def _paragraph(rng: random.Random, korean: bool, sentences: int) -> str:
    pool = _KO_SENTENCES if korean else _EN_SENTENCES
    return " ".join(_fill(rng, rng.choice(pool)) for _ in range(sentences))


def _assistant_text(rng: random.Random, korean: bool) -> str:
    parts = [_paragraph(rng, korean, rng.randint(1, 3))]
    shape = rng.random()
    if shape < 0.35:
        parts.append("\n".join(f"{i}. **{rng.choice(_FILMS)}** — {_fill(rng, '{director}')}"
                               for i in range(1, rng.randint(3, 5))))
    elif shape < 0.5:
        parts.append("| Film | Director | Year |\n|---|---|---|\n" + "\n".join(
            f"| {rng.choice(_FILMS)} | {rng.choice(_DIRECTORS)} | {rng.randint(1940, 2024)} |"
            for _ in range(3)))
    elif shape < 0.6:
        parts.append("```python\nwatchlist = " + repr(rng.sample(_FILMS, 3)) +
                     "\nprint(sorted(watchlist))\n```")
    if rng.random() < 0.5:
        parts.append(_paragraph(rng, korean, rng.randint(1, 2)))
    return "\n\n".join(parts)


def _messages(rng: random.Random, count: int, start: datetime) -> list[Message]:
    messages = []
    moment = start
    for index in range(count):
        korean = rng.random() < 0.5
        moment += timedelta(seconds=rng.randint(5, 90))
        if index % 2 == 0:
            pool = _KO_QUESTIONS if korean else _EN_QUESTIONS
            messages.append(Message(role="user", content=_fill(rng, rng.choice(pool)),
                                    created=moment, id=uuid.UUID(int=rng.getrandbits(128)).hex))
        else:
            messages.append(Message(role="assistant", content=_assistant_text(rng, korean),
                                    created=moment, id=uuid.UUID(int=rng.getrandbits(128)).hex,
                                    persona="expert", model="loopback-mini",
                                    finish_reason="stop"))
    return messages


def _conversation(rng: random.Random, messages: int, start: datetime) -> Conversation:
    msgs = _messages(rng, messages, start)
    title = msgs[0].content[:60] if msgs else "Untitled"
    return Conversation(id=uuid.UUID(int=rng.getrandbits(128)).hex, title=title,
                        created=start, updated=msgs[-1].created if msgs else start,
                        persona="expert", model="loopback-mini", messages=msgs)


def _write(conversations_dir: Path, conv: Conversation) -> None:
    data, segments = store_format.split_for_disk(conv)
    (conversations_dir / f"{conv.id}.toml").write_bytes(data)
    if segments:
        directory = conversations_dir / f"{conv.id}.d"
        directory.mkdir(mode=0o700)
        for name, segment in segments:
            (directory / name).write_bytes(segment)


def _layout(messages: int) -> int:
    """The file layout (`schema_version`) a conversation of `messages` is written in."""
    if messages >= store_format.TAIL_LIMIT:
        return store_format.SEGMENTED_VERSION
    return store_format.SINGLE_FILE_VERSION


def _cached(name: str, build: Callable[[Path], None], layout: int) -> Path:
    """The data dir for `name`, building it first if this machine has not cached it."""
    final = CACHE_ROOT / f"{name}-s{layout}-g{GENERATOR_VERSION}"
    if (final / "complete").exists():
        return final
    CACHE_ROOT.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=CACHE_ROOT))
    conversations = work / "conversations"
    conversations.mkdir(mode=0o700)
    build(conversations)
    (work / "complete").write_text("ok\n")
    try:
        os.rename(work, final)
    except OSError:  # another run finished first
        shutil.rmtree(work, ignore_errors=True)
    return final


def many_conversations(count: int, messages_each: int = 20) -> Path:
    """A data dir (pass as --data-dir) holding `count` conversations of ~`messages_each`."""

    def build(conversations: Path) -> None:
        rng = random.Random(count * 7919 + messages_each)
        start = datetime(2024, 1, 1, tzinfo=UTC)
        for index in range(count):
            jitter = rng.randint(-2, 2)
            conv = _conversation(rng, max(2, messages_each + jitter),
                                 start + timedelta(minutes=37 * index))
            _write(conversations, conv)

    return _cached(f"many-{count}x{messages_each}", build, _layout(messages_each + 2))


def long_conversation(messages: int) -> Path:
    """A data dir holding one conversation of `messages` messages; its last message (an
    assistant reply) ends with `NEWEST_MARKER`, the text `--continue` must show."""

    def build(conversations: Path) -> None:
        rng = random.Random(messages)
        conv = _conversation(rng, messages - 1, datetime(2024, 6, 1, tzinfo=UTC))
        conv.messages.append(Message(
            role="assistant",
            content=f"마지막으로, **Decision to Leave** 어떠세요? {NEWEST_MARKER}",
            created=conv.messages[-1].created + timedelta(seconds=30),
            id=uuid.UUID(int=rng.getrandbits(128)).hex, persona="expert", model="loopback-mini",
            finish_reason="stop"))
        conv.updated = conv.messages[-1].created
        _write(conversations, conv)

    return _cached(f"long-{messages}", build, _layout(messages))
