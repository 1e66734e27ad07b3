"""The remappable keys: binding ids, their default keys, what they do.

The UI's `Binding`s use these ids; `[keys]` in config.toml maps an id to other keys (Textual
keymap syntax: "ctrl+k" or several, comma-separated: "f5,ctrl+g"). Kept in the domain so the
config can be validated without importing Textual.
"""

from __future__ import annotations

import re

from moviechat_tui.core.i18n import _

DEFAULT_KEYS: dict[str, str] = {
    "quit": "ctrl+q",
    "help": "f1",
    "new_conversation": "ctrl+n",
    "open_conversations": "ctrl+o",
    "next_persona": "ctrl+t",
    "stop": "escape",
    "regenerate": "ctrl+r",
    # Not ctrl+e: in the prompt that is "end of line", as in every readline. ctrl+g reaches
    # the app in xterm, tmux and the common desktop terminals (it is BEL, 0x07) and no
    # editing key uses it.
    "edit_last": "ctrl+g",
    "export": "ctrl+s",
    "copy_message": "c",
    "branch_message": "b",
    "edit_message": "e",
    "older_version": "left,less_than_sign",
    "newer_version": "right,greater_than_sign",
    # ctrl+f: every terminal sends it (0x06), the prompt's TextArea does not bind it, and in
    # the conversation library (its own screen) it keeps meaning "search the text".
    "film_search": "ctrl+f",
    "message_films": "f",
    # F12 where function keys reach the app (tmux, xterm and most terminals); ctrl+backslash
    # (0x1c) where the terminal keeps F12 for itself (a drop-down terminal's toggle): raw
    # mode delivers it as a key, not SIGQUIT, and the prompt does not bind it.
    "spoiler_shield": "f12,ctrl+backslash",
    "open_spoiler": "s",
    # My films. F10: every ctrl+letter the prompt leaves free is taken or is a terminal's
    # own (ctrl+b is tmux's prefix); F2–F9 are the personas.
    "my_films": "f10",
    # On a film card, a reply's films (the focused reply, its `f` list) and in My films.
    "add_to_watchlist": "w",
    "log_watched": "l",
    "log_watched_on": "d",
    "rate_film": "r",
}

KEY_PATTERN = re.compile(r"^[a-z0-9_+]{1,40}$")
"""A key name as `[keys]` and a persona's `key` accept it (Textual's key names)."""


def descriptions() -> dict[str, str]:
    return {
        "quit": _("Quit (the reply in flight is saved first)"),
        "help": _("This help"),
        "new_conversation": _("New conversation"),
        "open_conversations": _("Open a saved conversation"),
        "next_persona": _("Next persona"),
        "stop": _("Stop the reply that is streaming (or cancel an edit)"),
        "regenerate": _("Regenerate the last reply (earlier versions are kept)"),
        "edit_last": _("Edit and resend your last question"),
        "export": _("Export this conversation to Markdown (in the data folder's exports/)"),
        "copy_message": _("Copy the focused message"),
        "branch_message": _("Branch: a new conversation up to the focused message"),
        "edit_message": _("On your last question: edit and resend it"),
        "older_version": _("Previous version of a regenerated reply"),
        "newer_version": _("Next version of a regenerated reply"),
        "film_search": _("Look up a film in the catalogue (title, year, cast …)"),
        "message_films": _("The films the focused message names, checked against the "
                           "catalogue"),
        "spoiler_shield": _("Spoiler shield on or off for this conversation (plot "
                            "revelations in replies stay closed)"),
        "open_spoiler": _("On a reply: open its next closed spoiler (when all are open: "
                          "close them again)"),
        "my_films": _("My films: your watchlist, diary and ratings"),
        "add_to_watchlist": _("Add the film to your watchlist"),
        "log_watched": _("Log the film as watched today (it leaves the watchlist)"),
        "log_watched_on": _("Log the film as watched on a day you choose"),
        "rate_film": _("Rate the film: 1–5 stars, . adds a half"),
    }


def key_label(binding_id: str, keymap: dict[str, str]) -> str:
    """The key(s) an action answers to, after `[keys]` remapping, as the UI names them:
    "ctrl+r", "left / <"."""
    keys = keymap.get(binding_id, DEFAULT_KEYS[binding_id])
    return " / ".join(k.replace("less_than_sign", "<").replace("greater_than_sign", ">")
                      .replace("backslash", "\\") for k in keys.split(","))


def validate_keymap(raw: object) -> tuple[dict[str, str], str | None, str]:
    """Returns (keymap, problem, key): `problem` describes the first bad entry, `key` names
    it (so the caller can point at its line)."""
    if not isinstance(raw, dict):
        return {}, _("keys must be a table ([keys])"), "keys"
    keymap: dict[str, str] = {}
    for binding_id, keys in raw.items():
        if binding_id not in DEFAULT_KEYS:
            return {}, _("keys.{id}: unknown action (known: {known})").format(
                id=binding_id, known=", ".join(DEFAULT_KEYS)), str(binding_id)
        if not isinstance(keys, str) or not all(
                KEY_PATTERN.match(k.strip().lower()) for k in keys.split(",")):
            return {}, _("keys.{id}: must be a key such as \"ctrl+k\" or \"f5,ctrl+g\"").format(
                id=binding_id), str(binding_id)
        keymap[binding_id] = ",".join(k.strip().lower() for k in keys.split(","))
    return keymap, None, ""
