"""A persona: a name, a description and the system prompt the model gets.

Plain data, shared by every layer (events carry it, the library names speakers with it). The
built-in personas and the `[[personas]]` config entries that make them are settings
(`settings/personas.py`).
"""

from __future__ import annotations

from moviechat_tui.core.i18n import _
from moviechat_tui.core.records import Record


class Persona(Record):
    id: str
    name: str
    system_prompt: str
    description: str = ""
    key: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    tools_hint: str = ""
    """When this persona should use the film tools, added to its prompt only when tools are
    offered (settings/personas.py has the built-ins' and the general one)."""

    @property
    def display_name(self) -> str:
        return _(self.name)


def find(personas: tuple[Persona, ...], persona_id: str) -> Persona | None:
    return next((p for p in personas if p.id == persona_id), None)
