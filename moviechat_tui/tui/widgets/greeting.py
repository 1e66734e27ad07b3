"""The empty-chat welcome: what the app is for and a few questions to start with."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message as TextualMessage
from textual.widgets import Static

from moviechat_tui.core.i18n import _

if TYPE_CHECKING:
    from textual.widgets import OptionList


def example_questions() -> list[str]:
    return [
        _("What should I watch if I loved Parasite and Knives Out?"),
        _("Why is the opening shot of Touch of Evil so famous?"),
        _("Give me a five-question quiz on 1970s New Hollywood."),
        _("Explain the three-act structure using Back to the Future."),
    ]


class Greeting(Vertical):
    """The title, a word on what to ask, and example questions to pick.

    The example list (an `OptionList`) is mounted right after the first frame: the first
    frame needs only the text, and the list's widget and styles cost start-up time."""

    class ExampleChosen(TextualMessage):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(self, persona_name: str) -> None:
        super().__init__(id="greeting")
        self.persona_name = persona_name

    def compose(self) -> ComposeResult:
        yield Static(Content("🎬 " + _("Lights down, phones off.")), id="greeting-title")
        yield Static(Content(self._intro()), id="greeting-text")
        yield Static(Content(_("Try one of these (shift+tab, then Enter):")), id="greeting-hint")

    def _intro(self) -> str:
        return _("Ask anything about films: what to watch tonight, who shot that scene, why "
                 "an ending works. You are talking to the {persona}; F2–F9 or ctrl+t switch "
                 "personas.").format(persona=self.persona_name)

    def on_mount(self) -> None:
        self.call_after_refresh(self._mount_examples)

    async def _mount_examples(self) -> None:
        from textual.widgets import OptionList
        from textual.widgets.option_list import Option

        if not self.is_attached or self.query_children("#examples"):
            return
        await self.mount(OptionList(
            *[Option(Content(q), id=str(i)) for i, q in enumerate(example_questions())],
            id="examples",
        ))

    def set_persona(self, persona_name: str) -> None:
        self.persona_name = persona_name
        self.query_one("#greeting-text", Static).update(Content(self._intro()))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.post_message(self.ExampleChosen(example_questions()[event.option_index]))
