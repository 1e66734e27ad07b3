"""How titles, names and queries are normalised, so they match "as a person expects".

One function, `normalize`, is applied to every title and name at import and to every query
and every title found in a reply, so the rules cannot drift apart:

- case-insensitive (`str.casefold`, so `ß` matches `ss`);
- accent-insensitive for the Latin, Greek and Cyrillic scripts: the combining marks that
  Unicode decomposition separates out are dropped (`Amélie` → `amelie`, `Ёлки` → `елки`),
  plus the letters that have no decomposition (`ø`, `æ`, `ł`, `đ`, `þ` …). Marks that change
  a word elsewhere are kept: Japanese dakuten (`が` stays `が`), Hangul (recomposed);
- compatibility forms folded (full-width `ＡＢＣ`, ligatures `ﬁ`);
- apostrophes vanish inside a word (`Schindler's` = `schindlers`) but separate an elided
  article (`L'Atalante` → `l atalante`, so `atalante` finds it); other punctuation
  separates words (`Spider-Man` → `spider man`); whitespace collapses;
- **every Han, kana and Hangul character becomes a word of its own**. Japanese and Chinese
  titles have no spaces, and Korean queries often drop them (`살인의추억` for `살인의 추억`);
  with one character per word, a run of characters is a phrase that matches wherever the
  same characters stand together, spaces or not (`神隠し` finds `千と千尋の神隠し`).

The result is plain words separated by single spaces, which SQLite FTS5's `unicode61`
tokenizer splits exactly as we do.
"""

from __future__ import annotations

import re
import unicodedata

_SPECIAL = {
    "ø": "o", "Ø": "o", "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe", "ł": "l", "Ł": "l",
    "đ": "d", "Đ": "d", "ð": "d", "Ð": "d", "þ": "th", "Þ": "th", "ı": "i",
    "'": "", "’": "", "‘": "", "ʼ": "", "ʻ": "", "`": "",
}
"""Letters without a Unicode decomposition that a person still reads as their base letter,
and the apostrophes that vanish."""
_ELISION = re.compile(r"\b(\w|qu)['’`ʼ](?=\w)", re.IGNORECASE)
_MARKS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_FOLDABLE = ((0xC0, 0x250), (0x370, 0x530), (0x1E00, 0x2000))
"""Latin, Greek and Cyrillic letters, whose accents are folded away."""
_fold: dict[int, str] | None = None


def _fold_table() -> dict[int, str]:
    """Each accented Latin/Greek/Cyrillic letter → its letter without the marks (`é` → `e`),
    for `str.translate`: one table lookup a character instead of decomposing, filtering and
    recomposing every title (28% faster on the non-ASCII titles of an import). Built on
    first use (~2 ms)."""
    global _fold
    if _fold is None:
        table = {ord(k): v for k, v in _SPECIAL.items()}
        for low, high in _FOLDABLE:
            for code in range(low, high):
                char = chr(code)
                bare = unicodedata.normalize(
                    "NFC", _MARKS.sub("", unicodedata.normalize("NFD", char)))
                if bare != char and char not in _SPECIAL:
                    table[code] = bare
        _fold = table
    return _fold


_NON_WORD = re.compile(r"[\W_]+")
_CJK_RANGES = ((0x3040, 0x3100), (0x3131, 0x318F), (0x3400, 0x4DC0), (0x4E00, 0xA000),
               (0xAC00, 0xD7A4), (0xF900, 0xFB00))
"""Kana, Hangul compatibility jamo, CJK ideographs (and extension A), Hangul syllables,
CJK compatibility ideographs: the characters that become words of their own."""
_CJK_WORD = re.compile("[" + "".join(f"{chr(a)}-{chr(b - 1)}" for a, b in _CJK_RANGES) + "]")
_spaced: dict[int, str] | None = None


def _spaced_table() -> dict[int, str]:
    """Each CJK character → itself between spaces, for `str.translate` (~40,000 entries,
    built on first use): one C pass instead of a regex substitution per character."""
    global _spaced
    if _spaced is None:
        _spaced = {code: f" {chr(code)} " for low, high in _CJK_RANGES
                   for code in range(low, high)}
    return _spaced
_YEAR = re.compile(r"(1[89]\d\d|20\d\d)")


def normalize(text: str) -> str:
    """The searchable form of a title, a name or a query (see the module docstring)."""
    if "'" in text or "`" in text or "’" in text or "ʼ" in text:
        text = _ELISION.sub(r"\1 ", text)
    if text.isascii():
        return " ".join(_NON_WORD.sub(" ", text.lower().replace("'", "").replace("`", ""))
                        .split())
    composed = unicodedata.normalize("NFKC", text)
    words = _NON_WORD.sub(" ", _MARKS.sub("", composed.translate(_fold_table())).casefold())
    if _CJK_WORD.search(words):
        words = words.translate(_spaced_table())
    return " ".join(words.split())


def is_cjk_word(word: str) -> bool:
    """True for the one-character words `normalize` makes of Han, kana and Hangul."""
    return len(word) == 1 and _CJK_WORD.match(word) is not None


def year_in(word: str) -> int | None:
    """`word` as a year (1800–2099), or None."""
    return int(word) if len(word) == 4 and _YEAR.fullmatch(word) else None
