"""The spoiler shield's rules, below any UI: the marker, what the model is told, and which
parts of a reply may be shown while it is still arriving.

**The marker is `<spoiler>…</spoiler>`.** Why this one:

- models reproduce XML-like tags reliably — they are everywhere in what they learned from,
  and instructions that name a tag pair are followed even by small models, which tend to
  garble `||…||` or Reddit's `>!…!<` (the closing half goes missing, or the pipes become a
  table);
- it cannot occur by accident in a conversation about films: `||` turns up in code and
  tables, `>!` in quotes, but a literal `<spoiler>` tag only when the user talks about
  exactly this;
- the opening and closing halves differ, so where a passage ends is never ambiguous, and
  the opening tag can be recognised before the closing one arrives (a streamed reply).

Tags are matched ignoring case. A `</spoiler>` with no opening one is dropped (it is a
marker, not prose); a `<spoiler>` inside a passage is part of the hidden text.

**Streaming.** `split_spoilers(text)` is given the whole reply so far, every time. Outside a
passage, a tail that could still become a marker (`<`, `<spo`, `</spoil`) is held back until
the next chunk says what it is, so a marker split across chunks never lets a character of the
hidden text, or of the tag, be shown. Once an opening tag has arrived, everything after it is
hidden until a closing tag does; a reply that ends without one stays hidden to the end
(`closed=False`: the UI can still let the user open it). With `finished=True` nothing more is
coming, so a held-back tail that never became a marker is shown.

The safe text only ever grows, from one call to the next, by text appended at its end:
what was shown is never taken back (tests/unit/test_spoilers.py checks it over every way to
cut a reply into chunks).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from moviechat_tui.core.i18n import _
from moviechat_tui.core.records import Record

OPEN = "<spoiler>"
CLOSE = "</spoiler>"
_MARKER = re.compile(r"<spoiler>|</spoiler>", re.IGNORECASE)
_CLOSE = re.compile(r"</spoiler>", re.IGNORECASE)
_LONGEST_PARTIAL = max(len(OPEN), len(CLOSE)) - 1

SHIELD_PROMPT = (
    "Spoiler shield is on: the user may not have seen the films you discuss. Wrap every "
    "passage that reveals the plot beyond the premise — twists, deaths, who did it, the "
    "ending, anything a trailer would not show — in <spoiler> and </spoiler>, for example: "
    "\"A family of con artists takes jobs with a rich family. <spoiler>The former housekeeper "
    "has been hiding her husband in the basement.</spoiler>\" Keep the premise, the cast, the "
    "themes, the style and the reception outside the tags, close every tag you open, and do "
    "not mention the tags themselves.")
"""Added to the system message while the shield is on. For the model, so in English (as the
personas' prompts are): it answers in the user's language whatever the prompt's."""


def shield_prompt(safe_films: Sequence[str] = ()) -> str:
    """The instruction, plus the films the user has seen (from their diary: films/taste.py
    `seen_titles`), whose plots need no marking."""
    if not safe_films:
        return SHIELD_PROMPT
    return (SHIELD_PROMPT + " The user has seen these films, so their plots may be discussed "
            "openly, without the tags: " + "; ".join(safe_films) + ".")


class Passage(Record):
    """A piece of a reply: shown as it is (`hidden` False), or hidden behind a closed block
    until the user opens it. `closed` is False for a hidden passage whose closing tag has not
    arrived (yet, or ever)."""

    text: str
    hidden: bool = False
    closed: bool = True


def _partial_marker(text: str) -> int:
    """The length of the longest end of `text` that could still grow into a marker."""
    for size in range(min(len(text), _LONGEST_PARTIAL), 0, -1):
        tail = text[-size:].lower()
        if OPEN.startswith(tail) or CLOSE.startswith(tail):
            return size
    return 0


def split_spoilers(text: str, *, finished: bool = False) -> list[Passage]:
    """The reply so far as passages, in order (see the module docstring). Adjacent shown
    text is one passage and empty ones are left out — except an unclosed hidden passage,
    listed as soon as its opening tag arrives, so a closed block can be shown at once."""
    passages: list[Passage] = []

    def shown(piece: str) -> None:
        if not piece:
            return
        if passages and not passages[-1].hidden:
            passages[-1] = Passage(passages[-1].text + piece)
        else:
            passages.append(Passage(piece))

    position = 0
    while position <= len(text):
        marker = _MARKER.search(text, position)
        if marker is None:
            rest = text[position:]
            held = 0 if finished else _partial_marker(rest)
            shown(rest[:len(rest) - held])
            break
        shown(text[position:marker.start()])
        position = marker.end()
        if marker.group().lower() == CLOSE:  # a closing tag with nothing open: dropped
            continue
        closing = _CLOSE.search(text, position)
        if closing is None:
            rest = text[position:]
            held = 0 if finished else _partial_marker(rest)
            passages.append(Passage(rest[:len(rest) - held], hidden=True, closed=False))
            break
        if closing.start() > position:
            passages.append(Passage(text[position:closing.start()], hidden=True))
        position = closing.end()
    return passages


def shown_text(passages: Sequence[Passage]) -> str:
    """What may be on screen: the shown passages, joined."""
    return "".join(p.text for p in passages if not p.hidden)


def without_markers(text: str) -> str:
    """The reply with every tag removed and nothing hidden: what a revealed reply reads as
    (and what an export or a copy takes)."""
    return _MARKER.sub("", text)


def has_markers(text: str) -> bool:
    return _MARKER.search(text) is not None


def masked(text: str, placeholder: str = "") -> str:
    """The reply as it may be read where a passage cannot be opened — a search snippet, the
    request for a conversation's title, the films a reply names: each hidden passage (an
    unclosed one to the end) replaced by `placeholder`, the tags removed."""
    if not has_markers(text):
        return text
    return "".join(placeholder if p.hidden else p.text
                   for p in split_spoilers(text, finished=True))


def visibly_marked(text: str, word: str | None = None) -> str:
    """The reply with every passage's text kept between "[spoiler]" and "[/spoiler]" (`word`
    in the interface's language by default): for the user's own copies — an export, the
    clipboard — where the text is theirs but where the spoilers were should still show. The
    brackets read the same in a text editor and in any Markdown viewer (the tags themselves
    would vanish there as unknown HTML); a passage the model never closed is closed at the
    end."""
    if not has_markers(text):
        return text
    if word is None:
        word = _("spoiler")
    return "".join(f"[{word}]{without_markers(p.text)}[/{word}]" if p.hidden else p.text
                   for p in split_spoilers(text, finished=True))
