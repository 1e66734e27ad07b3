"""`Record`: the cheap frozen value class the controller's events are made of."""

from __future__ import annotations

import dataclasses

import pytest

from moviechat_tui.core import events as ev
from moviechat_tui.core.conversation import Message
from moviechat_tui.core.records import Record, field, replace


class Point(Record):
    x: int
    y: int = 0
    label: str | None = None


def test_construction_defaults_equality_hash_and_repr() -> None:
    assert Point(1) == Point(x=1, y=0, label=None)
    assert Point(1, 2) != Point(1, 3)
    assert hash(Point(1, 2, "a")) == hash(Point(1, 2, "a"))
    assert len({Point(1), Point(1), Point(2)}) == 2
    assert repr(Point(1, label="a")) == "Point(x=1, y=0, label='a')"


def test_records_of_different_types_are_never_equal() -> None:
    assert ev.ModelChanged("x") != ev.TitleChanged("x")
    assert ev.BusyChanged(True) != (True,)


def test_fields_cannot_be_reassigned() -> None:
    point = Point(1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        point.x = 2  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del point.x


def test_wrong_arguments_are_refused() -> None:
    with pytest.raises(TypeError):
        Point()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Point(1, 2, "a", 4)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Point(1, z=3)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Point(1, x=1)  # type: ignore[misc]


def test_a_field_without_default_after_one_with_a_default_is_an_error() -> None:
    with pytest.raises(TypeError):
        class Bad(Record):
            a: int = 0
            b: int  # type: ignore[misc]


def test_match_patterns_work_like_a_dataclass() -> None:
    message = Message(role="user", content="hi")
    event: ev.ControllerEvent = ev.ReplyDelta(message, "text")
    match event:
        case ev.ReplyDelta(message=m, text=t):
            assert (m, t) == (message, "text")
        case _:
            pytest.fail("keyword pattern did not match")
    match Point(3, 4):
        case Point(a, b):
            assert (a, b) == (3, 4)
    assert ev.Notify("x").severity is ev.Severity.INFORMATION


class Tagged(Record):
    name: str
    tags: dict[str, str] = field(default_factory=dict)


def test_a_default_factory_gives_every_record_its_own_value() -> None:
    first, second = Tagged("a"), Tagged("b")
    first.tags["genre"] = "noir"
    assert second.tags == {}
    assert Tagged("c", {"x": "y"}).tags == {"x": "y"}


def test_replace_copies_with_changes_and_refuses_unknown_fields() -> None:
    point = Point(1, 2, "a")
    moved = replace(point, y=5)
    assert moved == Point(1, 5, "a") and point == Point(1, 2, "a")
    assert type(moved) is Point
    with pytest.raises(TypeError):
        replace(point, z=1)
