"""Reading list files fast: the few TOML forms moviechat writes, with tomllib for the rest.

tomllib parses a 10,000-entry diary in ~330 ms on this machine (it is pure Python and
looks at every character), the whole of a list's load time; the file is rewritten by every
change and read by every other window. This reader takes the layout `my_format.py` writes —
one `key = value` per line, `[[name]]` tables, comments — and reads each value with the
C-level parsers of the standard library (`json.loads` for strings and arrays of strings,
`int`, `float`, `date.fromisoformat`), in ~50 ms.

It is never the judge of what TOML means: any line it does not recognise exactly — a
hand-edited file with a quoted key, a comment after a value, an escape JSON and TOML read
differently (`\\/`, `\\U…`, `\\u` of a surrogate), a raw control character, a CR —
makes it give up (return None), and tomllib parses the whole file instead, errors
included. Its answers are checked against tomllib's in tests/unit/test_my_films_store.py,
over text Hypothesis writes.
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

_KEY_VALUE = re.compile(r"([A-Za-z0-9_-]+) = (.+)")
_TABLE = re.compile(r"\[\[([A-Za-z0-9_-]+)\]\]")
_INT = re.compile(r"[+-]?(?:0|[1-9][0-9]*)")
_FLOAT = re.compile(r"[+-]?(?:0|[1-9][0-9]*)\.[0-9]+")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_JSON_ONLY = re.compile(r"(?<!\\)(?:\\\\)*\\(?:[/U]|u[dD][89a-fA-F])|[\x00-\x1f\x7f]")
"""What JSON and TOML read differently inside a basic string: `\\/` (JSON only), `\\U`
(TOML only), a surrogate escape (JSON pairs them, TOML refuses them), raw control
characters (TOML allows a raw tab, JSON none)."""
_LITERAL_BAD = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


class _GiveUp(Exception):
    pass


def _value(raw: str) -> Any:
    first = raw[0]
    if first == '"':
        if _JSON_ONLY.search(raw):
            raise _GiveUp
        try:
            value = json.loads(raw)
        except ValueError:
            raise _GiveUp from None
        if not isinstance(value, str):
            raise _GiveUp
        return value
    if first == "[":
        if _JSON_ONLY.search(raw):
            raise _GiveUp
        try:
            items = json.loads(raw)
        except ValueError:
            raise _GiveUp from None
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise _GiveUp
        return items
    if raw == "true":
        return True
    if raw == "false":
        return False
    if _INT.fullmatch(raw):
        return int(raw)
    if _FLOAT.fullmatch(raw):
        return float(raw)
    if _DATE.fullmatch(raw):
        try:
            return date.fromisoformat(raw)
        except ValueError:
            raise _GiveUp from None
    raise _GiveUp


def read_fast(text: str) -> dict[str, Any] | None:
    """The document, if `text` is entirely in the forms described above; else None."""
    if "\r" in text:
        return None
    try:
        return _read(text.split("\n"))
    except _GiveUp:
        return None


def _read(lines: list[str]) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    table = doc
    array_tables: set[str] = set()
    index = 0
    count = len(lines)
    while index < count:
        line = lines[index]
        index += 1
        if not line or line[0] == "#":
            continue
        if line[0] == "[":
            match = _TABLE.fullmatch(line)
            if match is None:
                raise _GiveUp
            name = match.group(1)
            if name in doc and name not in array_tables:
                raise _GiveUp  # a key of that name already: tomllib says what is wrong
            array_tables.add(name)
            table = {}
            doc.setdefault(name, []).append(table)
            continue
        match = _KEY_VALUE.fullmatch(line)
        if match is None:
            raise _GiveUp
        key, raw = match.groups()
        if key in table:
            raise _GiveUp
        if raw == "'''":  # a multi-line literal string, as my_format writes a note
            body: list[str] = []
            while True:
                if index >= count:
                    raise _GiveUp
                part = lines[index]
                index += 1
                if "'''" in part:
                    end = part.find("'''")
                    rest = part[end:]
                    if rest.strip("'") or len(rest) > 5:
                        raise _GiveUp
                    body.append(part[:end] + rest[3:])
                    break
                body.append(part)
            value = "\n".join(body)
            if _LITERAL_BAD.search(value.replace("\n", "")):
                raise _GiveUp
            table[key] = value
            continue
        table[key] = _value(raw)
    return doc
