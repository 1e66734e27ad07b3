"""Which films and people a plain question names ("Who directed Parasite and when was it
released?"), for the catalogue facts given to models that cannot call tools.

    named = named_in("who directed parasite?", catalogue, earlier=("…",))
    named.films     # (FilmRef('tt0000001', 'Parasite', 2019, …),)
    named.people    # (PersonSummary(…'Bong Joon Ho'…),) for "films by Bong Joon Ho"

`mentions.find_mentions` reads a model's reply, where titles come marked (italics, a year
in parentheses, a list item's lead). A question has none of that: no year, no emphasis,
often no capitals. So every run of one to `MAX_WORDS` words that does not start or end in a
common word is a candidate, all of them are looked up in one batch of exact, normalised
title lookups (the `titles.norm` index: a few dozen index probes, ~1–3 ms at a million
titles), and the films found are ranked by the evidence of the words and then by votes:

1. **Marked**: in quotes or emphasis, or followed by the film's year ("Coco 2017").
2. **Capitalised** mid-sentence ("Is Parasite …", "about Memories of Murder") or in a
   script without case (Hangul, kana, Han).
3. **Plain** lowercase words: only a film with at least `PLAIN_VOTES` votes, and only when
   it is not a small fraction of the best film found (`PLAIN_SHARE`): in "i love parasite"
   the film *Love* loses to *Parasite*.

A longer run beats the runs inside it ("Memories of Murder" hides *Memories*), the current
question beats earlier turns, and a Korean particle at the end of a word is tried without
it (`기생충은` → `기생충`). People are found the same way among runs of two to four words
that are someone's exact name in the catalogue.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from typing import Protocol

from moviechat_tui.core.records import Record
from moviechat_tui.films.normalize import normalize, year_in
from moviechat_tui.films.records import FilmRef, PersonSummary

MAX_WORDS = 8
"""Longest run of words tried as a title."""
PLAIN_VOTES = 5_000
"""Votes a film needs to be taken from plain lowercase words."""
CAPITAL_VOTES = 50
"""Votes a film needs to be taken from capitalised words (a typo's near-empty namesake
is not worth the prompt's room)."""
PLAIN_SHARE = 0.1
"""A film from plain words is dropped when it has less than this share of the votes of
the best film found: a common word that happens to be a title loses to the real one."""
NOTABLE_PERSON_VOTES = 1_000
"""A person named in lowercase counts only if credited on a film with this many votes."""

_MARKED, _CAPITALISED, _PLAIN = 0, 1, 2

_WORD = re.compile(r"\w+(?:[-'’·.&]\w+)*", re.UNICODE)
_SENTENCE_BREAK = re.compile(r"[.?!;:\n]\s|[?!\n]|[.;:]$")
_CASELESS = re.compile("[\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u9fff\uac00-\ud7af]")
_HANGUL = re.compile("[\uac00-\ud7af]")
_OPEN_QUOTES = "\"'“‘«《「『*_"
_CLOSE_QUOTES = "\"'”’»》」』*_"
_KOREAN_PARTICLES = ("에서는", "에서", "으로", "이랑", "에게", "한테", "까지", "부터", "이라는",
                     "라는", "이란", "란", "은", "는", "이", "가", "을", "를", "의", "에", "도",
                     "와", "과", "로", "랑", "요", "야")
_ARTICLES = frozenset(("the", "a", "an"))
_STOPWORDS_TEXT = """
a about above after again against all also am an and any are as at be because been before
being below between both but by can could did do does doing done down during each else even
ever every few for from further get gets got had has have having he her here hers him his
how i if in into is it its itself just let lets like me more most much my myself no nor not
now of off on once only or other our out over own same she should so some such than that
the their them then there these they this those through to too under until up us very was
we were what when where which while who whom whose why will with would you your yours
yourself i'm it's what's who's don't doesn't didn't isn't wasn't can't won't i've i'd
tell know think please thanks thank want need give show find recommend recommended
recommendation recommendations suggest something anything someone anyone kind sort
movie movies film films cinema series show shows tv episode episodes season seasons
watch watched watching see seen saw look looking release released releases come came out
direct directed directing director directors write wrote written writer writers screenplay
star starred starring stars act acted acting actor actors actress actresses cast role roles
play played plays playing character characters make made making produce produced producer
compose composed composer music score soundtrack year years old new good great best better
worse worst bad favourite favorite similar same different plot story ending end scene
scenes about review rating rated ratings worth long short many first last next
genre genres horror comedy drama thriller action romance romantic animated animation
documentary sci fi scifi fantasy crime mystery western war musical family
"""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())
"""Words that never start or end a title candidate (nor stand alone as one): question
words, the vocabulary of talking about films, and English function words. A capitalised one
in mid-sentence may still stand alone ("Have you seen Her?")."""
_COMMON_TEXT = """
friend friends love loved lover night nights day days life lives home time times world man
men woman women people person girl girls boy boys child children kid kids house family
wife husband mother father mom dad son daughter brother sister baby heart mind soul body
face eyes hand hands head blood fire water rain rainy snow sun moon star stars sky sea
city town road street car cars train plane ship money gold war peace death dead alive
dream dreams night light dark darkness black white red blue green big small little young
old happy sad funny scary weird strange beautiful perfect real true truth lie lies game
games fun party school college class work job boss team friendship summer winter spring
fall autumn weekend tonight today tomorrow yesterday morning evening christmas halloween
birthday wedding date dates something nothing everything everyone nobody alone together
again still maybe actually really always never sometimes forever begin beginning fast
slow hot cold heat rush speed power force change chance choice luck trust hope fear
crash
"""
_COMMON = frozenset(_COMMON_TEXT.split())
"""Everyday words that are also the titles of much-voted films ("friends who love
comedy"): alone, in lowercase, they are taken for words. Written with a capital, or as part
of a longer title, they still count."""
_KOREAN_STOPWORDS_TEXT = """
영화 감독 배우 누구 언제 개봉 작품 추천 어때 뭐야 무엇 누가 어떤 그 이 저 좀 해줘 알려줘 주연
출연 각본 작가 음악 몇년 년도 제작 시리즈 드라마 장르 비슷한 최고 좋은 재미있는
"""
_KOREAN_STOPWORDS = frozenset(_KOREAN_STOPWORDS_TEXT.split())
_NAME_JOINERS = frozenset(("de", "da", "di", "del", "della", "van", "von", "der", "den",
                           "le", "la", "du", "bin", "al", "dos", "das", "y", "ter", "st"))


class Named(Record):
    films: tuple[FilmRef, ...] = ()
    people: tuple[PersonSummary, ...] = ()


class QuestionLookup(Protocol):
    """What the matcher needs of the catalogue (`Catalogue` provides it)."""

    def titled(self, norms: Iterable[str],
               with_years: Iterable[tuple[str, int]] = ()) -> dict[str, list[FilmRef]]: ...

    def people_named(self, norms: Iterable[str]) -> set[str]: ...

    def people_with_name(self, norm: str, *, limit: int = 3) -> list[PersonSummary]: ...


class _Span(Record):
    text: str
    """As written."""
    norm: str
    turn: int
    """0 for the question, 1 for the turn before it, …"""
    start: int
    end: int
    """Token positions [start, end) within its turn."""
    evidence: int
    words: int
    year: int | None = None


def named_in(question: str, lookup: QuestionLookup, *, earlier: Sequence[str] = (),
             max_films: int = 3, max_people: int = 2) -> Named:
    """The films and people `question` (then `earlier` turns, newest first) names, best
    first. Two or three batched lookups; see the module docstring for the ranking."""
    spans: list[_Span] = []
    people_spans: list[_Span] = []
    for turn, text in enumerate((question, *earlier)):
        if text:
            found, names = _candidates(text[:2_000], turn)
            spans += found
            people_spans += names
    if not spans and not people_spans:
        return Named()
    norms = {span.norm for span in spans}
    with_years = {(span.norm, span.year) for span in spans if span.year is not None}
    films = lookup.titled(norms, with_years) if norms else {}
    name_norms = lookup.people_named({s.norm for s in people_spans}) if people_spans else set()

    chosen_people = _people(people_spans, name_norms, lookup, max_people)
    taken = {(span.turn, position) for span, _person in chosen_people
             for position in range(span.start, span.end)}
    chosen_films = _films(spans, films, taken, max_films)
    return Named(tuple(chosen_films), tuple(person for _span, person in chosen_people))


# -- films ---------------------------------------------------------------------------------

def _films(spans: list[_Span], films: dict[str, list[FilmRef]],
           taken: set[tuple[int, int]], limit: int) -> list[FilmRef]:
    scored: list[tuple[tuple[float, ...], _Span, FilmRef]] = []
    for span in spans:
        found = films.get(span.norm) or []
        if not found:
            continue
        best = max(found, key=lambda f: (span.year is not None and f.year == span.year,
                                         f.votes or 0))
        evidence = _MARKED if span.year is not None and best.year == span.year \
            else span.evidence
        votes = best.votes or 0
        if evidence == _PLAIN and votes < PLAIN_VOTES:
            continue
        if evidence == _CAPITALISED and votes < CAPITAL_VOTES:
            continue
        rank: tuple[float, ...] = (span.turn, evidence, -span.words, -math.log10(votes + 1))
        scored.append((rank, span, best))
    if not scored:
        return []
    top_votes = max(film.votes or 0 for _rank, _span, film in scored)
    scored.sort(key=lambda item: item[0])
    chosen: list[tuple[_Span, FilmRef]] = []
    covered = set(taken)
    for rank, span, film in scored:
        positions = {(span.turn, p) for p in range(span.start, span.end)}
        if positions & covered or any(film.id == c.id for _s, c in chosen):
            continue
        if rank[1] == _PLAIN and (film.votes or 0) < PLAIN_SHARE * top_votes:
            continue
        covered |= positions
        chosen.append((span, film))
        if len(chosen) >= limit:
            break
    # Chosen best first; given in the order the user named them.
    return [film for _span, film in sorted(chosen, key=lambda c: (c[0].turn, c[0].start))]


# -- people --------------------------------------------------------------------------------

def _people(spans: list[_Span], names: set[str], lookup: QuestionLookup,
            limit: int) -> list[tuple[_Span, PersonSummary]]:
    ordered = sorted((s for s in spans if s.norm in names),
                     key=lambda s: (s.turn, s.evidence, -s.words))
    chosen: list[tuple[_Span, PersonSummary]] = []
    covered: set[tuple[int, int]] = set()
    for span in ordered:
        positions = {(span.turn, p) for p in range(span.start, span.end)}
        if positions & covered:
            continue
        people = lookup.people_with_name(span.norm, limit=1)
        if not people:
            continue
        person = people[0]
        if span.evidence == _PLAIN and max(
                (f.votes or 0 for f in person.known_for), default=0) < NOTABLE_PERSON_VOTES:
            continue
        if any(person.id == p.id for _s, p in chosen):
            continue
        covered |= positions
        chosen.append((span, person))
        if len(chosen) >= limit:
            break
    return chosen


# -- candidates ----------------------------------------------------------------------------

def _candidates(text: str, turn: int) -> tuple[list[_Span], list[_Span]]:
    """Title candidates and name candidates of one turn."""
    tokens = list(_WORD.finditer(text))
    titles: list[_Span] = []
    names: list[_Span] = []
    seen: set[str] = set()
    for i in range(len(tokens)):
        for j in range(i + 1, min(i + MAX_WORDS, len(tokens)) + 1):
            if j - 1 > i and _SENTENCE_BREAK.search(text, tokens[j - 2].end(),
                                                     tokens[j - 1].start()):
                break  # a run never crosses the end of a sentence
            run = tokens[i:j]
            words = [t.group(0) for t in run]
            lowered = [w.lower() for w in words]
            span_text = text[run[0].start():run[-1].end()]
            if all(year_in(w) is not None or w.isdigit() for w in words):
                continue
            evidence = _evidence(text, run)
            if not _title_shaped(lowered, evidence):
                continue
            year = _year_after(text, run[-1].end())
            for variant in _variants(span_text):
                norm = normalize(variant)
                if not norm or norm in seen:
                    continue
                seen.add(norm)
                titles.append(_Span(variant, norm, turn, i, j, evidence, len(words), year))
            if 2 <= len(words) <= 4 and _name_shaped(words, lowered):
                names.append(_Span(span_text, normalize(span_text), turn, i, j, evidence,
                                   len(words)))
    return titles, names


def _title_shaped(lowered: list[str], evidence: int) -> bool:
    first, last = lowered[0], lowered[-1]
    if len(lowered) == 1:
        return evidence != _PLAIN or (first not in STOPWORDS and first not in _COMMON
                                      and _stem(first) not in _KOREAN_STOPWORDS)
    if (first in STOPWORDS and first not in _ARTICLES) or last in STOPWORDS:
        return evidence == _MARKED
    return _stem(last) not in _KOREAN_STOPWORDS and first not in _KOREAN_STOPWORDS


def _name_shaped(words: list[str], lowered: list[str]) -> bool:
    if any(w in STOPWORDS or w in _KOREAN_STOPWORDS for w in lowered):
        return False
    if lowered[0] in _NAME_JOINERS or lowered[-1] in _NAME_JOINERS:
        return False
    return all(w.isalpha() or "-" in w or "'" in w or "." in w for w in words)


def _stem(word: str) -> str:
    """A Korean word without its particle (`감독은` → `감독`)."""
    if _HANGUL.search(word):
        for particle in _KOREAN_PARTICLES:
            if word.endswith(particle) and len(word) > len(particle):
                return word[:-len(particle)]
    return word


def _variants(span_text: str) -> list[str]:
    """The run as written, and without a Korean particle at its end."""
    stemmed = _stem(span_text)
    return [span_text] if stemmed == span_text else [span_text, stemmed]


def _evidence(text: str, run: list[re.Match[str]]) -> int:
    start, end = run[0].start(), run[-1].end()
    before = text[start - 1] if start else ""
    after = text[end] if end < len(text) else ""
    if before and after and before in _OPEN_QUOTES and after in _CLOSE_QUOTES:
        return _MARKED
    words = [t.group(0) for t in run]
    if all(_CASELESS.search(w) for w in words):
        return _CAPITALISED
    sentence_start = not text[:start].strip() or bool(
        re.search(r"[.?!\n]\s*[\"'“(]?$", text[:start]))
    # The first word of a sentence is capitalised anyway: it is no evidence.
    candidates = words[1:] if sentence_start else words
    significant = [w for w in candidates if w.lower() not in STOPWORDS] or candidates
    if significant and all(w[0].isupper() or w[0].isdigit() for w in significant) and \
            any(w[0].isupper() for w in significant):
        return _CAPITALISED
    return _PLAIN


def _year_after(text: str, end: int) -> int | None:
    """A year right after the run: "Coco 2017", "Coco (2017)"."""
    match = re.match(r"\s*\(?\s*(\d{4})\b", text[end:end + 12])
    return year_in(match.group(1)) if match else None
