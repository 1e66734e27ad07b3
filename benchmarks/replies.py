"""Reply texts for the streaming benchmarks, cut to an exact number of tokens.

A token is what the loopback server sends as one SSE chunk by default: a run of whitespace
followed by one word (`Reply.pieces`). The long reply mixes everything a film model writes —
headings, paragraphs (English and Korean), lists, code blocks, tables, quotes — and its very
last token is a unique marker word, so "the last token is on screen" is a plain text search.
"""

from __future__ import annotations

import re

_PIECE = re.compile(r"\s*\S+|\s+")

_SECTIONS = [
    "## {n}. Why *Memories of Murder* still matters\n\n"
    "Bong Joon-ho's second feature follows two detectives in rural Gyeonggi Province who "
    "chase a serial killer with little more than instinct and intimidation. The film is "
    "funny until it is not, and the tonal shifts are the whole point: the comedy of "
    "incompetence turns into horror at the system that produced it.",
    "### Key facts\n\n"
    "| Film | Director | Year | Runtime |\n"
    "|------|----------|------|---------|\n"
    "| Memories of Murder | Bong Joon-ho | 2003 | 132 min |\n"
    "| Oldboy | Park Chan-wook | 2003 | 120 min |\n"
    "| Burning | Lee Chang-dong | 2018 | 148 min |\n"
    "| Decision to Leave | Park Chan-wook | 2022 | 138 min |",
    "봉준호 감독은 이 영화에서 장르의 규칙을 비틀어 관객의 기대를 배반합니다. 마지막 장면에서 "
    "송강호가 카메라를 똑바로 바라보는 순간, 관객은 범인이 바로 자신들 사이에 있을지도 모른다는 "
    "사실을 깨닫게 됩니다. 이 장면은 한국 영화사에서 가장 유명한 엔딩 중 하나로 꼽힙니다.",
    "If you keep your watch list in a script, this is all it takes:\n\n"
    "```python\n"
    "watchlist = {\n"
    '    "Memories of Murder": 2003,\n'
    '    "Oldboy": 2003,\n'
    '    "Burning": 2018,\n'
    "}\n"
    "for title, year in sorted(watchlist.items(), key=lambda item: item[1]):\n"
    '    print(f"{year}  {title}")\n'
    "```",
    "- **Cinematography:** Kim Hyung-koo shoots the fields in muted greens and browns.\n"
    "- **Score:** Taro Iwashiro's theme returns at every dead end of the investigation.\n"
    "- **Editing:** long takes in the interrogation room, quick cuts in the rain.",
    "> \"I wanted the audience to feel the weight of an unsolved case.\" — Bong Joon-ho\n\n"
    "Watch it with *Zodiac* (2007) for a double bill about obsession and the limits of what "
    "investigators can know. Both films end without the catharsis of a confession, and both "
    "are better for it.",
]


def tokens(text: str) -> list[str]:
    return _PIECE.findall(text)


def long_markdown(count: int, marker: str) -> str:
    """Markdown of exactly `count` tokens whose last token is ` <marker>`."""
    parts: list[str] = []
    used = 0
    section = 0
    while True:
        block = _SECTIONS[section % len(_SECTIONS)].replace("{n}", str(section // 6 + 1))
        needed = len(tokens("\n\n" + block if parts else block))
        if used + needed > count - 1:
            break
        parts.append(block)
        used += needed
        section += 1
    text = "\n\n".join(parts)
    # Fill the remaining tokens with a closing paragraph, then the marker.
    filler = re.findall(r"\S+", "That is the short version of a long story about a film "
                        "that keeps giving back more each time you return to it")
    remaining = count - 1 - len(tokens(text))
    if remaining > 0:
        text += "\n\n" + " ".join(filler[i % len(filler)] for i in range(remaining))
    text += f" {marker}"
    assert len(tokens(text)) == count, (len(tokens(text)), count)
    return text
