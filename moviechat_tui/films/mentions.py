"""Which films a finished reply mentions, and which of its claims the catalogue contradicts.

    mentions = find_mentions(reply_markdown, catalogue)   # a Catalogue, or any TitleLookup
    for m in mentions:
        m.verdict   # RECOGNISED (m.film), UNKNOWN ("The Kingkrapers (2018)"),
                    # or YEAR_DIFFERS ("Parasite (2017)": m.film.year is the catalogue's)

A pure function of the text and the catalogue (two batched lookups), run when a reply has
finished — never on the streaming path. ~1,000 words take a few milliseconds at a million
titles (`python -m benchmarks.films`).

What counts as a mention, strongest evidence first:

1. **A marked title with a year**: italic, bold, quoted (“…”, "…", 《…》, 「…」, 『…』),
   a link's text, or the lead of a list item or the first cell of a table row, followed by
   a year in parentheses — `*Parasite* (2019)`, `1. Parasite (2019) — …`,
   `| Parasite | Bong Joon Ho | 2019 |`. These are what a model writes when it names films,
   so only they are reported as UNKNOWN when the catalogue has no such title (unless the
   bold text is the exact name of someone credited: "**Bong Joon Ho** (1969)" is a birth).
2. **A marked title without a year** (`*Parasite*`, a list item's lead before " — " or
   ":"): recognised only if the catalogue has a film of exactly that title with at least
   `NOTABLE_VOTES` votes; never UNKNOWN (italics also stress words, bold also names people:
   a bold name that is someone's exact name in the catalogue is skipped).
3. **Plain text followed by a year** — `I loved Parasite (2019)`: the longest run of
   title-like words before the parenthesis that the catalogue knows exactly. Never UNKNOWN
   (the words before "(2019)" may be no title at all), and YEAR_DIFFERS only when the
   title is notable.

Headings, code blocks and inline code are ignored. Titles are compared after `normalize`
(case, accents, punctuation; a leading article optional), so `*Amelie*` is Amélie. A year
that differs from the catalogue's by any amount is YEAR_DIFFERS: the card shows the
catalogue's year, and the user judges (festival years differ from release years).
Each distinct (title, year) is reported once, in the order of first appearance.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Protocol

from moviechat_tui.core.records import Record
from moviechat_tui.films.normalize import normalize
from moviechat_tui.films.records import FilmRef

RECOGNISED, UNKNOWN, YEAR_DIFFERS = "recognised", "unknown", "year_differs"
NOTABLE_VOTES = 1000
"""Votes a film needs before weak evidence (no year, or plain text) is trusted."""
MAX_TITLE = 120

_STRONG, _MARKED, _PLAIN = 0, 1, 2

_YEAR = r"(1[89]\d\d|20\d\d)"
_PAREN_YEAR = re.compile(
    r"\s*\((?:[^()\n]{0,60}?[,;]\s*)?" + _YEAR +
    r"(?:\s*[–—-]\s*(?:\d{2,4})?)?(?:\s+(?:film|movie|series|TV series|영화))?\)")
_FENCE = re.compile(r"^(\s{0,3})(```|~~~).*?(?:^\s{0,3}\2[^\n]*$|\Z)", re.M | re.S)
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s")
_LIST_ITEM = re.compile(r"^(\s*(?:[-*+]|\d{1,3}[.)])\s+)(.*)$")
_SPANS = (
    (re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*"), True),
    (re.compile(r"__(?=\S)(.+?)(?<=\S)__"), True),
    (re.compile(r"(?<![*\w])\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?![*\w])"), False),
    (re.compile(r"(?<![_\w])_(?=[^\s_])(.+?)(?<=[^\s_])_(?![_\w])"), False),
    (re.compile(r"“([^”\n]{1,120})”"), False),
    (re.compile(r'(?<![\w"])"([^"\n]{1,120})"(?!\w)'), False),
    (re.compile(r"[《〈「『]([^》〉」』\n]{1,120})[》〉」』]"), False),
    (re.compile(r"(?<!!)\[([^\]\n]{1,120})\]\([^)\n]*\)"), False),
)
_LEAD_SEPARATOR = re.compile(r"\s+[—–-]\s+|:\s+|\s+\(")
_TITLE_WORD = re.compile(r"[\w'’.:&!?,-]+")
_LOWER_JOINERS = frozenset((
    "of", "the", "a", "an", "and", "in", "on", "at", "to", "for", "from", "with", "de", "du",
    "la", "le", "les", "el", "del", "di", "da", "von", "van", "und", "y", "et", "vs"))
_EMPHASIS_CHARS = "*_"


class Mention(Record):
    text: str
    """The title as the reply wrote it."""
    year: int | None
    """The year the reply gave with it, if any."""
    start: int
    end: int
    """Where `text` is in the reply (offsets into the string passed in)."""
    verdict: str
    """RECOGNISED, UNKNOWN or YEAR_DIFFERS."""
    film: FilmRef | None = None
    """The film recognised; for YEAR_DIFFERS the most-voted film of that title (its
    `year` is what the catalogue says). None for UNKNOWN."""
    others: tuple[FilmRef, ...] = ()
    """Other films with the same title (and year, when one was given): ambiguous."""


class TitleLookup(Protocol):
    """What recognition needs from the catalogue (`Catalogue` provides it)."""

    def titled(self, norms: Iterable[str],
               with_years: Iterable[tuple[str, int]] = ()) -> dict[str, list[FilmRef]]: ...

    def people_named(self, norms: Iterable[str]) -> set[str]: ...


class _Candidate(Record):
    text: str
    year: int | None
    start: int
    end: int
    strength: int
    bold: bool = False
    alternatives: tuple[tuple[str, int], ...] = ()
    """For plain text: shorter trailing runs of words to try, with their start offsets."""


def find_mentions(markdown: str, catalogue: TitleLookup) -> list[Mention]:
    candidates = _candidates(markdown)
    if not candidates:
        return []
    norms: set[str] = set()
    with_years: set[tuple[str, int]] = set()
    for c in candidates:
        for text in (c.text, *(text for text, _start in c.alternatives)):
            keys = [key for key in _keys(text) if key]
            norms.update(keys)
            if c.year is not None:
                with_years.update((key, c.year) for key in keys)
    films = catalogue.titled(norms, with_years)
    bold_norms = {normalize(c.text) for c in candidates if c.bold}
    people = catalogue.people_named(bold_norms) if bold_norms else set()

    mentions: list[Mention] = []
    seen: set[tuple[str, int | None]] = set()
    for c in candidates:
        mention = _judge(c, films, people)
        if mention is None:
            continue
        key = (normalize(mention.text), mention.year)
        if key in seen:
            continue
        seen.add(key)
        mentions.append(mention)
    return mentions


def names_films(markdown: str) -> bool:
    """True if the text names films the way a model does (a marked title followed by a year:
    `*Parasite* (2019)`, a list item's lead, a table row) — with no catalogue at hand: what
    the app asks before offering to import one, so a reply about something else never
    brings the offer up."""
    return any(c.strength == _STRONG for c in _candidates(markdown))


def _keys(text: str) -> list[str]:
    """The normalised forms a title may be stored under: as written, and with or without a
    leading English article."""
    norm = normalize(text)
    keys = [norm]
    first, _, rest = norm.partition(" ")
    if rest and first in ("the", "a", "an"):
        keys.append(rest)
    elif norm:
        keys.append(f"the {norm}")
    return keys


def _lookup(text: str, films: dict[str, list[FilmRef]]) -> list[FilmRef]:
    found: dict[str, FilmRef] = {}
    for key in _keys(text):
        for film in films.get(key, ()):
            found.setdefault(film.id, film)
    return sorted(found.values(), key=lambda f: -(f.votes or 0))


def _judge(c: _Candidate, films: dict[str, list[FilmRef]],
           people: set[str]) -> Mention | None:
    options = [(c.text, c.start), *c.alternatives]
    for text, start in options:
        found = _lookup(text, films)
        if not found:
            continue
        end = start + len(text)
        best = found[0]
        notable = (best.votes or 0) >= NOTABLE_VOTES
        if c.year is not None:
            same = [f for f in found if f.year == c.year]
            if same:
                return Mention(text, c.year, start, end, RECOGNISED, same[0], tuple(same[1:]))
            if c.strength < _PLAIN or notable:
                return Mention(text, c.year, start, end, YEAR_DIFFERS, best,
                               tuple(found[1:]))
            return None
        if not notable or (c.bold and normalize(text) in people):
            return None
        return Mention(text, None, start, end, RECOGNISED, best, tuple(found[1:]))
    if c.year is not None and c.strength == _STRONG and c.text \
            and not (c.bold and normalize(c.text) in people):  # "**Bong Joon Ho** (1969)"
        return Mention(c.text, c.year, c.start, c.end, UNKNOWN)
    return None


# -- finding candidates ---------------------------------------------------------------------

def _blank(match: re.Match[str]) -> str:
    """Replace code with spaces of the same length (offsets stay valid)."""
    return re.sub(r"[^\n]", " ", match.group(0))


def _candidates(markdown: str) -> list[_Candidate]:
    text = _INLINE_CODE.sub(_blank, _FENCE.sub(_blank, markdown))
    out: list[_Candidate] = []
    offset = 0
    lines = text.split("\n")
    for index, line in enumerate(lines):
        start = offset
        offset += len(line) + 1
        if not line.strip() or _HEADING.match(line):
            continue
        stripped = line.strip()
        if stripped.startswith("|"):  # a table row, unless the separator or the header
            following = lines[index + 1].strip() if index + 1 < len(lines) else ""
            if not _is_separator(stripped) and not (following and _is_separator(following)):
                out += _table_row(line, start)
            continue
        covered: list[tuple[int, int]] = []
        out += _spans(line, start, covered)
        item = _LIST_ITEM.match(line)
        if item:
            out += _list_lead(item, start, covered)
        out += _plain(line, start, covered)
    out.sort(key=lambda c: c.start)
    return out


def _is_separator(row: str) -> bool:
    return set(row) <= set("|-: ")


def _clean_title(text: str) -> str:
    return text.strip().strip(_EMPHASIS_CHARS).strip().rstrip(",;:").strip()


def _spans(line: str, start: int, covered: list[tuple[int, int]]) -> list[_Candidate]:
    out: list[_Candidate] = []
    for pattern, bold in _SPANS:
        for m in pattern.finditer(line):
            if any(a <= m.start() < b for a, b in covered):
                continue
            inner = m.group(1)
            inner_start = m.start(1)
            year: int | None = None
            inside = _PAREN_YEAR.search(inner)
            if inside and inside.end() == len(inner):
                year = int(inside.group(1))
                inner = inner[:inside.start()]
            else:
                after = _PAREN_YEAR.match(line, m.end())
                if after:
                    year = int(after.group(1))
            title = _clean_title(inner)
            if not title or len(title) > MAX_TITLE or title.isdigit():
                continue
            title_start = start + inner_start + inner.find(title)
            covered.append((m.start(), m.end()))
            out.append(_Candidate(title, year, title_start, title_start + len(title),
                                  _STRONG if year is not None else _MARKED, bold))
    return out


def _list_lead(item: re.Match[str], start: int,
               covered: list[tuple[int, int]]) -> list[_Candidate]:
    body = item.group(2)
    body_start = item.start(2)
    if any(a <= body_start < b for a, b in covered):
        return []  # the item starts with an emphasised title: already a candidate
    year_match = _PAREN_YEAR.search(body)
    separator = _LEAD_SEPARATOR.search(body)
    if year_match and (separator is None or year_match.start() <= separator.start()):
        lead, year = body[:year_match.start()], int(year_match.group(1))
    elif separator:
        lead, year = body[:separator.start()], None
    else:
        return []
    title = _clean_title(lead)
    if not title or len(title) > MAX_TITLE or len(title.split()) > 12:
        return []
    title_start = start + body_start + lead.find(title)
    covered.append((body_start, body_start + len(lead)))
    return [_Candidate(title, year, title_start, title_start + len(title),
                       _STRONG if year is not None else _MARKED)]


def _table_row(line: str, start: int) -> list[_Candidate]:
    cells = line.split("|")
    position = 0
    spans = []
    for cell in cells:
        spans.append((position, cell))
        position += len(cell) + 1
    spans = spans[1:-1] if line.strip().endswith("|") else spans[1:]
    year: int | None = None
    for _, cell in spans:
        value = cell.strip()
        if len(value) == 4 and value.isdigit() and value[:2] in ("18", "19", "20"):
            year = int(value)
            break
    for cell_start, cell in spans:
        title = _clean_title(cell)
        if not title or title.isdigit():
            continue
        inside = _PAREN_YEAR.search(title)
        if inside and inside.end() == len(title):
            year = int(inside.group(1))
            title = _clean_title(title[:inside.start()])
        if year is None or len(title) > MAX_TITLE:
            return []
        title_start = start + cell_start + cell.find(title)
        return [_Candidate(title, year, title_start, title_start + len(title), _STRONG)]
    return []


def _plain(line: str, start: int, covered: list[tuple[int, int]]) -> list[_Candidate]:
    """`Title (2019)` in running text: the title-like words just before the year."""
    out: list[_Candidate] = []
    for m in _PAREN_YEAR.finditer(line):
        if any(a <= m.start() <= b for a, b in covered):
            continue
        before = line[:m.start()]
        words = list(_TITLE_WORD.finditer(before))
        run: list[re.Match[str]] = []
        for w in reversed(words):
            gap = before[w.end():run[0].start()] if run else before[w.end():]
            if gap.strip() or (run and len(gap) > 1):
                break
            token = w.group(0)
            if token[0].isupper() or not token[0].isalpha() or token.lower() in _LOWER_JOINERS \
                    or not token.isascii():
                run.insert(0, w)
                if len(run) >= 10:
                    break
                continue
            break
        while run and run[0].group(0).lower() in _LOWER_JOINERS and len(run) > 1:
            run.pop(0)
        if not run:
            continue
        options = []
        for i in range(len(run)):
            text = before[run[i].start():run[-1].end()].rstrip(",;:")
            if text and text[0].isalnum():
                options.append((text, start + run[i].start()))
        if not options:
            continue
        first_text, first_start = options[0]
        out.append(_Candidate(first_text, int(m.group(1)), first_start,
                              first_start + len(first_text), _PLAIN,
                              alternatives=tuple(options[1:])))
    return out
