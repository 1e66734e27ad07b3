"""The empty-chat welcome: what the app is for and a few questions to start with."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from moviechat_tui.i18n import _


def example_questions() -> list[str]:
    return [
        _("What should I watch if I loved Parasite and Knives Out?"),
        _("Why is the opening shot of Touch of Evil so famous?"),
        _("Give me a five-question quiz on 1970s New Hollywood."),
        _("Explain the three-act structure using Back to the Future."),
    ]


class Greeting(Vertical):
    @dataclass
    class ExampleChosen(Message):
        text: str

    def __init__(self, persona_name: str) -> None:
        super().__init__(id="greeting")
        self.persona_name = persona_name

    def compose(self) -> ComposeResult:
        yield Static(Content("🎬 " + _("Lights down, phones off.")), id="greeting-title")
        yield Static(
            Content(
                _("Ask anything about films: what to watch tonight, who shot that scene, why "
                  "an ending works. You are talking to the {persona}; F2–F9 or ctrl+t switch "
                  "personas.").format(persona=self.persona_name)
            ),
            id="greeting-text",
        )
        yield Static(Content(_("Try one of these (shift+tab, then Enter):")), id="greeting-hint")
        yield OptionList(
            *[Option(Content(q), id=str(i)) for i, q in enumerate(example_questions())],
            id="examples",
        )

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.post_message(self.ExampleChosen(example_questions()[event.option_index]))
