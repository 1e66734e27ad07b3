"""`[films]` in config.toml: where `moviechat films update` downloads from, and what an
import keeps.

Every key is optional, and an unset key (None here) means the film catalogue's own default
(`films/download.py` DEFAULT_SOURCE, `films/importer.py` ImportOptions), so each default is
written in one place. The values are checked when the config is read, like every other
section: a typo in a kind or a URL stops the command with file:line:key, before a download
of a gigabyte and a twenty-minute import that would then keep the wrong films.
"""

from __future__ import annotations

import re

from moviechat_tui.core.endpoint import base_url_problem
from moviechat_tui.core.i18n import _
from moviechat_tui.core.records import Record

TITLE_KINDS = ("movie", "short", "tvMovie", "tvSeries", "tvMiniSeries", "tvSpecial",
               "tvShort", "tvEpisode", "tvPilot", "video", "videoGame")
"""The `titleType` values of IMDb's title.basics: what `kinds` may name."""
SHORT_MIN_VOTES_MAX = 10_000_000
_REGION = re.compile(r"^[A-Za-z]{2,4}$")
"""IMDb's regions: ISO 3166 codes (KR, US) and a few of its own (XWW, SUHH)."""

FILMS_KEYS = ("source_url", "kinds", "short_min_votes", "include_adult", "aka_regions",
              "grounding", "share_my_films")
GROUNDING_MODES = ("auto", "tools", "facts", "off")
"""`grounding`: how answers use the film catalogue (session/grounding.py)."""


class FilmOptions(Record):
    """`[films]`: None means the catalogue's default for that key (see docs/films.md)."""

    source_url: str | None = None
    """Base URL holding the six `*.tsv.gz` files (None: IMDb's dataset site)."""
    kinds: tuple[str, ...] | None = None
    """Title kinds to keep (None: movie, tvMovie, tvSeries, tvMiniSeries, short)."""
    short_min_votes: int | None = None
    """Votes a short needs to be kept (None: 100)."""
    include_adult: bool | None = None
    """Keep adult titles (None: no)."""
    aka_regions: tuple[str, ...] | None = None
    """Keep alternative titles only from these regions, plus original titles (None: all)."""
    grounding: str = "auto"
    """How answers use the catalogue: "auto" offers the film tools to models that can call
    them and gives catalogue facts in the system message to the others; "tools" or "facts":
    always that; "off": neither."""
    share_my_films: bool = True
    """Your lists (watchlist, diary, ratings) may go along with requests: a summary of your
    taste when you ask for recommendations, and the read-only `my_films` tool. False keeps
    them out of every request (session/my_films.py)."""


def parse_films(raw: object) -> tuple[FilmOptions, str | None, str]:
    """`[films]` as read from the file. Returns (options, problem, key): `problem` is the
    first thing wrong ("films.kinds: …"), `key` names it so the caller can give its line."""
    if not isinstance(raw, dict):
        return FilmOptions(), _("films must be a table ([films])"), "films"
    for key in raw:
        if key not in FILMS_KEYS:
            return FilmOptions(), _("unknown key films.{key} (known: {known})").format(
                key=key, known=", ".join(FILMS_KEYS)), str(key)

    source_url = raw.get("source_url")
    if source_url is not None:
        if not isinstance(source_url, str):
            return FilmOptions(), _("films.source_url must be a string"), "source_url"
        problem = base_url_problem(source_url)
        if problem:
            return FilmOptions(), f"films.source_url: {problem}", "source_url"

    kinds = raw.get("kinds")
    if kinds is not None:
        if (not isinstance(kinds, list) or not kinds
                or not all(isinstance(k, str) and k in TITLE_KINDS for k in kinds)):
            return FilmOptions(), _(
                "films.kinds must be a list of IMDb title kinds, e.g. [\"movie\", "
                "\"tvSeries\"] (known: {known})").format(known=", ".join(TITLE_KINDS)), "kinds"
        kinds = tuple(dict.fromkeys(kinds))

    votes = raw.get("short_min_votes")
    if votes is not None and (isinstance(votes, bool) or not isinstance(votes, int)
                              or not 0 <= votes <= SHORT_MIN_VOTES_MAX):
        return FilmOptions(), _(
            "films.short_min_votes must be a whole number from 0 to {high}").format(
                high=f"{SHORT_MIN_VOTES_MAX:,}"), "short_min_votes"

    adult = raw.get("include_adult")
    if adult is not None and not isinstance(adult, bool):
        return FilmOptions(), _("films.include_adult must be true or false"), "include_adult"

    regions = raw.get("aka_regions")
    if regions is not None:
        if not isinstance(regions, list) or not all(
                isinstance(r, str) and _REGION.match(r) for r in regions):
            return FilmOptions(), _(
                "films.aka_regions must be a list of region codes, e.g. [\"KR\", \"US\"]"
            ), "aka_regions"
        regions = tuple(dict.fromkeys(r.upper() for r in regions))

    grounding = raw.get("grounding", "auto")
    if grounding not in GROUNDING_MODES:
        return FilmOptions(), _("films.grounding must be one of {modes}").format(
            modes=", ".join(f'"{mode}"' for mode in GROUNDING_MODES)), "grounding"

    share = raw.get("share_my_films", True)
    if not isinstance(share, bool):
        return FilmOptions(), _("films.share_my_films must be true or false"), "share_my_films"

    return FilmOptions(source_url=source_url, kinds=kinds, short_min_votes=votes,
                       include_adult=adult, aka_regions=regions,
                       grounding=grounding, share_my_films=share), None, ""
