"""API keys in an object that will not print itself.

Textual's crash screen and tracebacks with locals print `repr()` of every local variable; a
plain `str` key would be shown on screen and in logs. `Secret` masks `repr` and `str`; the
only way to the value is the explicit `reveal()` call, made in one place (the backend).
"""

from __future__ import annotations


class Secret:
    __slots__ = ("_value",)

    def __init__(self, value: str | None) -> None:
        self._value = value or ""

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('****')" if self._value else "Secret('')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> tuple[object, ...]:  # never pickle the value by accident
        raise TypeError("Secret values cannot be pickled")


def redact(text: str, *secrets: Secret) -> str:
    """Remove any secret's value from text that is about to be shown or logged."""
    for secret in secrets:
        value = secret.reveal()
        if value and len(value) >= 4:
            text = text.replace(value, "****")
    return text


_redacted_everywhere: list[Secret] = []


def redact_everywhere(secret: Secret) -> None:
    """Also redact `secret` from every log record from now on: keys that become known after
    start-up (the per-run key of `--local`, the key of a profile switched to in the palette)
    must be as invisible in the log as the one the app started with."""
    if secret and secret not in _redacted_everywhere:
        _redacted_everywhere.append(secret)


def redacted_everywhere() -> tuple[Secret, ...]:
    return tuple(_redacted_everywhere)
