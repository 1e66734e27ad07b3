"""My films on disk and the rules of a list: what a user adds stays, once; a damaged file is
moved aside and said so, never overwritten; a removal can be undone.

The crash and two-process cases are in tests/reliability/test_my_films_files.py."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from moviechat_tui.films.my_format import ListFormatError, parse_list, serialise_list
from moviechat_tui.films.my_lists import (
    Entry,
    EntryFilter,
    ListEditor,
    Outcome,
    entry_json,
    make_entry,
    sort_entries,
)
from moviechat_tui.films.my_store import (
    DamagedList,
    MyFilmsError,
    MyFilmsStore,
    NewerList,
)

D1, D2, D3 = date(2024, 3, 1), date(2024, 3, 9), date(2024, 4, 2)


def store_in(tmp_path: Path) -> MyFilmsStore:
    return MyFilmsStore(tmp_path / "my-films")


# -- the file --------------------------------------------------------------------------------

def test_a_list_reads_back_exactly_and_reads_as_a_list(tmp_path: Path) -> None:
    entries = (
        make_entry('The "Lost" Reel', 1999, "tt0000014", D1, watched=D1, rating=3.5,
                   rewatch=True, tags=["cinema", "with Min-ji"],
                   note="Line one\n\tindented 'quoted' \\ backslash\nlast"),
        make_entry("기생충", None, None, D2, watched=None, note="a note with ''' in it\nand more"),
        make_entry("Amélie", 2001, None, D3, watched=D3, note="one line"),
    )
    data = serialise_list("diary", entries)
    assert parse_list(data, "diary") == entries
    text = data.decode("utf-8")
    assert "[[diary]]" in text and 'title = "The \\"Lost\\" Reel"' in text
    assert "watched = 2024-03-01" in text and "rating = 3.5" in text
    assert "note = '''\nLine one\n\tindented 'quoted' \\ backslash\nlast'''" in text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=40), st.text(max_size=80), st.lists(st.text(max_size=10), max_size=3))
def test_any_text_a_user_or_a_file_gives_round_trips(title: str, note: str,
                                                      tags: list[str]) -> None:
    entry = make_entry(title or "x", 2001, None, D1, note=note, tags=tags)
    if not entry.title:
        return
    assert parse_list(serialise_list("watchlist", [entry]), "watchlist") == (entry,)


@pytest.mark.parametrize(("damage", "reason"), [
    (b"schema_version = 1\ncount = 2\n\n[[ratings]]\ntitle = \"A\"\ndate = 2024-01-01\n"
     b"rating = 4.0\n", "cut short"),
    (b"schema_version = 1\ncount = [\n", "not valid TOML"),
    (b"schema_version = 1\ncount = 1\n[[ratings]]\ntitle = \"caf\xe9\"\ndate = 2024-01-01\n",
     "UTF-8"),
    (b"schema_version = 1\ncount = 1\n[[ratings]]\ntitle = \"A\"\ndate = 2024-01-01\n"
     b"rating = 4.3\n", "half steps"),
    (b"schema_version = 1\ncount = 1\n[[ratings]]\ntitle = \"A\"\ndate = \"yesterday\"\n",
     "date"),
])
def test_a_damaged_list_is_moved_aside_reported_and_never_overwritten(
        tmp_path: Path, damage: bytes, reason: str) -> None:
    store = store_in(tmp_path)
    store.folder.mkdir(parents=True)
    store.path_of("ratings").write_bytes(damage)
    assert store.load().ratings == ()
    [problem] = store.take_problems()
    assert isinstance(problem, DamagedList) and reason in problem.message
    assert "ratings.toml.corrupt" in problem.message
    assert (store.folder / "ratings.toml.corrupt").read_bytes() == damage
    assert store.take_problems() == []  # said once
    store.rate("Parasite", 2019, "tt0000001", 5)
    assert [e.title for e in store.load().ratings] == ["Parasite"]
    assert (store.folder / "ratings.toml.corrupt").read_bytes() == damage


def test_a_damaged_list_in_a_folder_without_a_lock_is_reported_and_left_alone(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    from moviechat_tui.films import my_store
    from moviechat_tui.storage.errors import StoreWriteError

    def no_lock(lock: Path, report_as: Path | None = None) -> None:
        raise StoreWriteError(report_as or lock, OSError(errno.EROFS, "read-only"))

    store = store_in(tmp_path)
    store.folder.mkdir(parents=True)
    store.path_of("diary").write_bytes(b"schema_version = 1\ncount = [\n")
    monkeypatch.setattr(my_store, "exclusive_lock", no_lock)
    assert store.load().diary == ()
    [problem] = store.take_problems()
    assert "could not be read" in problem.message and "diary.toml" in problem.message
    assert store.path_of("diary").exists() and not list(store.folder.glob("*.corrupt"))


def test_a_list_from_a_newer_version_is_kept_and_never_written(tmp_path: Path) -> None:
    store = store_in(tmp_path)
    store.folder.mkdir(parents=True)
    newer = b"schema_version = 9\ncount = 0\nsomething_new = true\n"
    store.path_of("watchlist").write_bytes(newer)
    assert store.load().watchlist == ()
    [problem] = store.take_problems()
    assert isinstance(problem, NewerList) and "newer version" in problem.message
    with pytest.raises(NewerList):
        store.add_to_watchlist("Coco", 2017, None)
    assert store.path_of("watchlist").read_bytes() == newer
    assert not (store.folder / "watchlist.toml.corrupt").exists()


def test_a_folder_where_the_file_should_be_is_reported_not_moved(tmp_path: Path) -> None:
    store = store_in(tmp_path)
    store.path_of("diary").mkdir(parents=True)
    assert store.load().diary == ()
    [problem] = store.take_problems()
    assert "diary.toml" in problem.message
    with pytest.raises(MyFilmsError):
        store.log_watched("Coco", 2017, None)
    assert store.path_of("diary").is_dir()


def test_files_are_private_and_the_folder_too(tmp_path: Path) -> None:
    store = store_in(tmp_path)
    store.add_to_watchlist("Coco", 2017, None)
    assert store.folder.stat().st_mode & 0o777 == 0o700
    assert store.path_of("watchlist").stat().st_mode & 0o777 == 0o600


# -- two stores, one folder ------------------------------------------------------------------

def test_a_change_is_applied_to_the_file_as_it_is_now(tmp_path: Path) -> None:
    """Window A read the lists before window B added a film; A's own change keeps B's."""
    a, b = store_in(tmp_path), store_in(tmp_path)
    a.add_to_watchlist("Coco", 2017, None)
    assert len(a.load().watchlist) == 1
    b.add_to_watchlist("Parasite", 2019, "tt0000001")
    a.add_to_watchlist("Memories", 2015, None)
    assert {e.title for e in a.load().watchlist} == {"Coco", "Parasite", "Memories"}


def test_removal_in_one_window_is_not_undone_by_the_other(tmp_path: Path) -> None:
    a, b = store_in(tmp_path), store_in(tmp_path)
    a.add_to_watchlist("Coco", 2017, None)
    a.add_to_watchlist("Parasite", 2019, None)
    b.remove("watchlist", [e for e in b.load().watchlist if e.title == "Coco"])
    a.add_to_watchlist("Memories", 2015, None)
    assert {e.title for e in a.load().watchlist} == {"Parasite", "Memories"}


# -- the rules of a list ---------------------------------------------------------------------

def test_adding_the_same_film_twice_keeps_one_entry_and_merges(tmp_path: Path) -> None:
    store = store_in(tmp_path)
    assert store.add_to_watchlist("Parasite", 2019, None, on=D2, tags=["korea"]) is Outcome.ADDED
    assert store.add_to_watchlist("parasite", 2019, "tt0000001", on=D1,
                                  note="for Friday") is Outcome.UPDATED
    assert store.add_to_watchlist("Parasite", 2019, "tt0000001") is Outcome.UNCHANGED
    [entry] = store.load().watchlist
    assert (entry.film_id, entry.date, entry.tags, entry.note) == (
        "tt0000001", D1, ("korea",), "for Friday")


def test_a_matched_entry_without_a_year_gets_the_catalogues_year(tmp_path: Path) -> None:
    """A Letterboxd row with an empty Year, matched by title: rating the film later from a
    reply (which knows the catalogue's year) showed it yearless in `films mine` for good."""
    store = store_in(tmp_path)
    store.rate("Memories of Murder", None, "tt0000003", 4.5, on=D1)
    assert store.rate("Memories of Murder", 2003, "tt0000003", 3, on=D2) is Outcome.UPDATED
    [entry] = store.load().ratings
    assert (entry.year, entry.rating) == (2003, 3.0)
    store.add_to_watchlist("Alien", None, None, on=D1)  # no id: title and year are its identity
    store.add_to_watchlist("Alien", 1979, None, on=D2)
    assert sorted(str(e.year) for e in store.load().watchlist) == ["1979", "None"]


def test_two_films_sharing_a_title_and_a_year_stay_apart_once_matched() -> None:
    editor = ListEditor("watchlist", [])
    editor.put(make_entry("Coco", 2017, "tt0000004", D1))
    assert editor.put(make_entry("Coco", 2017, "tt0000005", D1)) is Outcome.ADDED
    assert editor.put(make_entry("Coco", 2017, None, D1)) is Outcome.UNCHANGED
    assert len(editor) == 2


def test_the_diary_keeps_a_viewing_per_day_and_dates_replace_seen() -> None:
    diary = ListEditor("diary", [])
    assert diary.put(make_entry("Alien", 1979, None, D1, watched=None)) is Outcome.ADDED
    assert diary.put(make_entry("Alien", 1979, None, D1, watched=None)) is Outcome.UNCHANGED
    assert diary.put(make_entry("Alien", 1979, None, D1, watched=D1,
                                rating=4)) is Outcome.UPDATED  # replaces "seen"
    assert diary.put(make_entry("Alien", 1979, None, D2, watched=D2)) is Outcome.ADDED
    assert diary.put(make_entry("Alien", 1979, None, D2, watched=None)) is Outcome.UNCHANGED
    assert [(e.watched, e.rating) for e in diary.entries()] == [(D1, 4.0), (D2, None)]


def test_a_newer_rating_wins_and_an_older_one_does_not(tmp_path: Path) -> None:
    store = store_in(tmp_path)
    store.rate("Alien", 1979, None, 4, on=D2)
    assert store.rate("Alien", 1979, None, 2, on=D1) is Outcome.UNCHANGED
    assert store.rate("Alien", 1979, None, 4.5, on=D3) is Outcome.UPDATED
    assert [(e.rating, e.date) for e in store.load().ratings] == [(4.5, D3)]
    with pytest.raises(ValueError, match="half steps"):
        store.rate("Alien", 1979, None, 4.2)


def test_logging_a_film_rates_it_and_takes_it_off_the_watchlist(tmp_path: Path) -> None:
    store = store_in(tmp_path)
    store.add_to_watchlist("Alien", 1979, "tt0078748")
    store.log_watched("Alien", 1979, "tt0078748", watched=D1, rating=4.5, tags=["cinema"])
    store.log_watched("Alien", 1979, "tt0078748", watched=D2)
    lists = store.load()
    assert lists.watchlist == ()
    assert [(e.watched, e.rewatch) for e in lists.diary] == [(D1, False), (D2, True)]
    assert [e.rating for e in lists.ratings] == [4.5]


def test_removing_and_undoing_puts_the_entries_back_once(tmp_path: Path) -> None:
    store = store_in(tmp_path)
    for title in ("Alien", "Aliens", "Coco"):
        store.log_watched(title, 1986, None, watched=D1, note=f"{title} night")
    gone = store.remove("diary", [e for e in store.load().diary if e.title.startswith("Alien")])
    assert len(gone.entries) == 2 and [e.title for e in store.load().diary] == ["Coco"]
    other = store_in(tmp_path)  # meanwhile, another window logs one of them again
    other.log_watched("Alien", 1986, None, watched=D1)
    assert store.undo_removal() == gone
    assert sorted((e.title, e.note) for e in store.load().diary) == [
        ("Alien", "Alien night"), ("Aliens", "Aliens night"), ("Coco", "Coco night")]
    assert store.undo_removal() is None


# -- filtering, sorting, JSON ----------------------------------------------------------------

def _diary() -> list[Entry]:
    return [make_entry("Amélie", 2001, None, D1, watched=D1, rating=4, tags=["paris"]),
            make_entry("Memories of Murder", 2003, None, D2, watched=D2, rating=5),
            make_entry("Spirited Away", None, None, D3, watched=None)]


def test_filter_as_you_type_ignores_accents_and_case_and_finds_tags_and_years() -> None:
    search = EntryFilter(_diary())
    assert [e.title for e in search.matching("ame")] == ["Amélie"]
    assert [e.title for e in search.matching("PARIS")] == ["Amélie"]
    assert [e.title for e in search.matching("2003")] == ["Memories of Murder"]
    assert [e.title for e in search.matching("mur mem")] == ["Memories of Murder"]
    assert search.matching("urder") == []
    assert len(search.matching("  ")) == 3


def test_sorting_by_each_key() -> None:
    diary = _diary()
    assert [e.title for e in sort_entries("diary", diary)] == [
        "Memories of Murder", "Amélie", "Spirited Away"]
    assert [e.title for e in sort_entries("diary", diary, "rating")] == [
        "Memories of Murder", "Amélie", "Spirited Away"]
    assert [e.title for e in sort_entries("diary", diary, "title")] == [
        "Amélie", "Memories of Murder", "Spirited Away"]
    assert [e.title for e in sort_entries("diary", diary, "year")] == [
        "Amélie", "Memories of Murder", "Spirited Away"]


def test_the_json_shape_has_every_key() -> None:
    assert entry_json("diary", _diary()[0]) == {
        "list": "diary", "title": "Amélie", "year": 2001, "id": None, "date": "2024-03-01",
        "watched_date": "2024-03-01", "rating": 4.0, "rewatch": False, "tags": ["paris"],
        "note": None}


def test_entries_made_from_untrusted_text_are_sanitised() -> None:
    entry = make_entry("Evil\x1b]52;c;aGk=\x07 Title\nTwo", 2001, None, D1,
                       tags=["a", "A", " ", "b\x1b[31m"], note="x\x00y", rating=4.3)
    assert (entry.title, entry.tags, entry.note, entry.rating) == (
        "Evil Title Two", ("a", "b"), "xy", None)


def test_parse_list_refuses_a_file_that_is_not_one() -> None:
    with pytest.raises(ListFormatError, match="schema_version"):
        parse_list(b"count = 0\n", "diary")


# -- the fast reader agrees with tomllib --------------------------------------------------

LINES = st.sampled_from([
    "[[diary]]", "[[ratings]]", "# a comment", "", "title = \"A\"", "title = \"A\" # c",
    "title = 'A'", "year = 2019", "year = 019", "year = 2_019", "year = +7", "rating = 4.5",
    "rating = 4.", "rating = 1e3", "date = 2024-02-29", "date = 2023-02-29",
    "date = 2024-01-01T10:00:00Z", "rewatch = true", "rewatch = True", "tags = []",
    "tags = [\"a\", \"b\"]", "tags = [\"a\",]", "tags = [1, 2]", "note = '''", "x'''",
    "x''''", "x''''''", "'''", "a = \"\\/\"", "a = \"\\U0001F600\"", "a = \"\\ud83d\\ude00\"",
    "a = \"\\u00e9\\n\\t\\\\\"", "a = \"tab\there\"", "a = \"\x7f\"", "diary = 1",
    "  indented = 1", "\"quoted key\" = 1", "dotted.key = 1", "a = 1", "a = 2",
    "title = \"Ünïcödé 기생충\"", "key =  1", "key = "])


@settings(max_examples=400, deadline=None)
@given(st.lists(LINES, max_size=12))
def test_the_fast_reader_reads_what_tomllib_reads_or_gives_up(lines: list[str]) -> None:
    import tomllib

    from moviechat_tui.films.my_toml import read_fast

    text = "\n".join(lines) + "\n"
    fast = read_fast(text)
    try:
        expected = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, ValueError):
        assert fast is None, text
        return
    assert fast is None or fast == expected, text


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.text(min_size=1, max_size=20),
                          st.text(alphabet=st.sampled_from("ab'\"\\\n\t\x01é기/"), max_size=40)
                          | st.text(max_size=40)), min_size=1, max_size=5))
def test_files_this_app_writes_take_the_fast_path(pairs: list[tuple[str, str]]) -> None:
    import tomllib

    from moviechat_tui.films.my_toml import read_fast

    entries = [make_entry(title, 2001, None, D1, note=note, tags=[note[:5]])
               for title, note in pairs]
    entries = [e for e in entries if e.title]
    text = serialise_list("diary", entries).decode("utf-8")
    assert read_fast(text) == tomllib.loads(text)
