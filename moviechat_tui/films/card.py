"""A film as words: the facts of a film card and a search result's one line, in the interface
language — written once, so `moviechat films show`/`search` and the app's film card and
search screen say the same things the same way.

    for label, values in card_facts(details):      # ("Directed by", ["Bong Joon Ho"]), …
        ...
    summary_line(film)   # "2019 · film · Bong Joon Ho · ★ 8.5 (950,000)"

Plain strings, never markup: the caller shows them as literal text. Titles and names were
sanitised at import; `one_line` here only bounds their length.
"""

from __future__ import annotations

from moviechat_tui.core.i18n import _
from moviechat_tui.core.text import one_line
from moviechat_tui.films.records import Credit, FilmDetails, FilmSummary

CARD_AKAS = 40
"""Alternative titles a card lists (a famous film has a hundred, many near-identical)."""


def kind_label(kind: str) -> str:
    """IMDb's titleType in words ("tvMiniSeries" → "TV mini-series")."""
    return {
        "movie": _("film"),
        "short": _("short film"),
        "tvMovie": _("TV film"),
        "tvSeries": _("TV series"),
        "tvMiniSeries": _("TV mini-series"),
        "tvSpecial": _("TV special"),
        "tvShort": _("TV short"),
        "tvEpisode": _("TV episode"),
        "tvPilot": _("TV pilot"),
        "video": _("video"),
        "videoGame": _("video game"),
    }.get(kind, kind)


def years_text(film: FilmSummary) -> str:
    """"2019"; a series "2015–2019", or "2015–" while it runs; "" when unknown."""
    if film.year is None:
        return ""
    if film.kind in ("tvSeries", "tvMiniSeries") and film.end_year != film.year:
        return f"{film.year}–{film.end_year or ''}"
    return str(film.year)


def title_with_year(film: FilmSummary) -> str:
    """"Parasite (2019)", the way a person names a film."""
    years = years_text(film)
    title = one_line(film.title, 200)
    return f"{title} ({years})" if years else title


def rating_text(film: FilmSummary) -> str:
    """"★ 8.5 (950,000)"; "" without a rating."""
    if film.rating is None:
        return ""
    votes = f" ({film.votes:,})" if film.votes else ""
    return f"★ {film.rating:.1f}{votes}"


def summary_line(film: FilmSummary) -> str:
    """What a search result says after its title: year, kind, director, rating."""
    parts = [years_text(film), kind_label(film.kind)]
    if film.directors:
        parts.append(", ".join(one_line(d, 60) for d in film.directors[:2])
                     + ("…" if len(film.directors) > 2 else ""))
    parts.append(rating_text(film))
    return " · ".join(p for p in parts if p)


def _credit(credit: Credit) -> str:
    name = one_line(credit.name, 100)
    if credit.characters:
        return f"{name} — {one_line(' / '.join(credit.characters), 120)}"
    return name


def _crew(credit: Credit) -> str:
    what = credit.job or credit.role.replace("_", " ")
    return f"{one_line(credit.name, 100)} ({one_line(what, 60)})"


def card_facts(details: FilmDetails) -> list[tuple[str, list[str]]]:
    """Every fact of a film card, in order, as (label, values); absent facts left out."""
    film = details.film
    facts: list[tuple[str, list[str]]] = [(_("Title"), [one_line(film.title, 300)])]
    if film.original_title and film.original_title != film.title:
        facts.append((_("Original title"), [one_line(film.original_title, 300)]))
    if film.year is not None:
        facts.append((_("Years") if film.kind in ("tvSeries", "tvMiniSeries") else _("Year"),
                      [years_text(film)]))
    facts.append((_("Kind"), [kind_label(film.kind)]))
    if film.runtime_minutes:
        facts.append((_("Runtime"), [_("{minutes} min").format(minutes=film.runtime_minutes)]))
    if film.genres:
        facts.append((_("Genres"), [", ".join(film.genres)]))
    if film.directors:
        facts.append((_("Directed by"), [", ".join(one_line(d, 100) for d in film.directors)]))
    if details.writers:
        facts.append((_("Written by"),
                      [", ".join(one_line(w, 100) for w in details.writers)]))
    if details.cast:
        facts.append((_("Cast"), [_credit(c) for c in details.cast]))
    if details.crew:
        facts.append((_("Crew"), [_crew(c) for c in details.crew]))
    if film.rating is not None:
        votes = film.votes or 0
        facts.append((_("Rating"), [_("{rating:.1f}/10 from {votes} votes").format(
            rating=film.rating, votes=f"{votes:,}")]))
    if details.akas:
        akas = []
        for aka in details.akas[:CARD_AKAS]:
            where = ", ".join(p for p in (aka.region, aka.language) if p)
            title = one_line(aka.title, 200)
            akas.append(f"{title} ({where})" if where else title)
        if len(details.akas) > CARD_AKAS:
            akas.append(_("… and {n} more").format(n=len(details.akas) - CARD_AKAS))
        facts.append((_("Also known as"), akas))
    facts.append(("IMDb", [f"{film.id}  {film.url}"]))
    return facts
