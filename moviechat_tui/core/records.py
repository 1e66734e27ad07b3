"""`Record`: a frozen value class, like `@dataclass(frozen=True)`, that is cheap to define.

`dataclasses` writes and compiles the source of `__init__`, `__eq__`, `__hash__`,
`__setattr__`, ... for every class it decorates: ~0.5–1 ms each, so the controller's dozen
event classes cost ~10 ms of every start-up. A `Record` subclass only lists its fields (once,
from its annotations, in `__init_subclass__`); the methods are shared. Type checkers see a
frozen dataclass (`dataclass_transform`), so constructors are checked as before.

Semantics kept from frozen dataclasses: positional or keyword construction with defaults,
`field(default_factory=...)` for defaults made fresh per record, `==` and `hash` by type and
field values, a readable `repr`, attributes that cannot be reassigned, `match` class patterns
(`__match_args__`) and `replace(record, **changes)`. Plain defaults must be immutable.

Why not everywhere: the classes people mutate (`models.Message`, `Conversation`) stay
dataclasses; a `Record` is for values that are made, passed on and compared.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import FrozenInstanceError
from typing import Any, ClassVar, TypeVar, cast, dataclass_transform

_MISSING: Any = object()
T = TypeVar("T")
R = TypeVar("R", bound="Record")


class _Factory:
    __slots__ = ("make",)

    def __init__(self, make: Callable[[], Any]) -> None:
        self.make = make


def field(*, default_factory: Callable[[], T]) -> T:
    """A default made by calling `default_factory` for each new record (a dict, a clock)."""
    return cast(T, _Factory(default_factory))


def replace(record: R, /, **changes: Any) -> R:
    """A copy of `record` with some fields changed, like `dataclasses.replace`."""
    values = {name: record.__dict__[name] for name in record._fields}
    for name in changes:
        if name not in values:
            raise TypeError(f"{type(record).__name__} has no field {name!r}")
    values.update(changes)
    return type(record)(**values)


@dataclass_transform(eq_default=True, frozen_default=True, field_specifiers=(field,))
class Record:
    _fields: ClassVar[tuple[str, ...]] = ()
    _defaults: ClassVar[tuple[Any, ...]] = ()
    """One entry per field: its default, or _MISSING."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = tuple(inspect.get_annotations(cls))
        fields = cls._fields + tuple(name for name in own if name not in cls._fields)
        defaults = tuple(cls.__dict__.get(name, _MISSING) if name in own
                         else dict(zip(cls._fields, cls._defaults, strict=True))[name]
                         for name in fields)
        seen_default = False
        for name, default in zip(fields, defaults, strict=True):
            if default is _MISSING and seen_default:
                raise TypeError(f"{cls.__name__}: field {name!r} without a default follows "
                                "one with a default")
            seen_default = seen_default or default is not _MISSING
        cls._fields = fields
        cls._defaults = defaults
        setattr(cls, "__match_args__", fields)  # noqa: B010  (mypy: a class-level slot)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        fields = self._fields
        if len(args) > len(fields):
            raise TypeError(f"{type(self).__name__}() takes {len(fields)} arguments, "
                            f"{len(args)} given")
        values = self.__dict__
        for name, value in zip(fields, args, strict=False):
            values[name] = value
        for name, default in zip(fields[len(args):], self._defaults[len(args):], strict=True):
            if name in kwargs:
                values[name] = kwargs.pop(name)
            elif default is not _MISSING:
                values[name] = default.make() if type(default) is _Factory else default
            else:
                raise TypeError(f"{type(self).__name__}() missing argument {name!r}")
        if kwargs:
            unknown = next(iter(kwargs))
            raise TypeError(f"{type(self).__name__}() got an unexpected or repeated argument "
                            f"{unknown!r}")

    def _values(self) -> tuple[Any, ...]:
        return tuple(self.__dict__[name] for name in self._fields)

    def __repr__(self) -> str:
        inside = ", ".join(f"{name}={self.__dict__[name]!r}" for name in self._fields)
        return f"{type(self).__qualname__}({inside})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Record)
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash((self.__class__, self._values()))

    def __setattr__(self, name: str, value: object) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")
