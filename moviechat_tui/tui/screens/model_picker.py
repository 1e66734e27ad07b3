"""Pick the model: the endpoint's /v1/models list (fetched once, cached by the controller),
filtered as you type; Enter on the input uses exactly what was typed, for servers without a
list or models it does not advertise (when the filter matches nothing)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from textual import getters, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from moviechat_tui.core.errors import UserFacingError
from moviechat_tui.core.i18n import _
from moviechat_tui.tui.widgets.key_footer import KeyFooter

if TYPE_CHECKING:
    from moviechat_tui.tui.app import MovieChatApp


class ModelsScreen(ModalScreen[str | None]):
    CSS_PATH = Path(__file__).with_suffix(".tcss")
    AUTO_FOCUS = "#model-input"
    if TYPE_CHECKING:  # (app.py imports this module: no import of it at run time)
        app = getters.app(MovieChatApp)
    model_input = getters.query_one("#model-input", Input)
    model_list = getters.query_one("#model-list", OptionList)
    BINDINGS = [
        Binding("escape", "dismiss(None)", _("Close"), id="close_models"),
        Binding("down", "focus_list", _("List"), show=False),
    ]

    def __init__(self, current: str) -> None:
        super().__init__()
        self.current = current
        self._models: list[str] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="models-dialog"):
            yield Static(Content(_("Model (now: {model})").format(model=self.current)),
                         id="models-title")
            yield Input(placeholder=_("Filter, or type a model name and press Enter"),
                        id="model-input")
            yield OptionList(id="model-list")
            yield Static(Content(_("Loading the endpoint's models…")), id="models-status")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.load()

    @work(exclusive=True)
    async def load(self) -> None:
        status = self.query_one("#models-status", Static)
        try:
            self._models = await self.app.controller.list_models()
        except UserFacingError as exc:
            status.update(Content(exc.message + " " + _("Type a model name and press Enter.")))
            return
        if self._models:
            status.update(Content(_("{n} models. Enter picks the highlighted one; a name that "
                                    "matches none is used as typed.").format(
                                        n=len(self._models))))
        else:
            status.update(Content(
                _("The endpoint lists no models: type a name and press Enter.")))
        self._fill(self.model_input.value)

    def _fill(self, needle: str) -> None:
        options = self.model_list
        options.clear_options()
        needle = needle.casefold().strip()
        options.add_options([
            Option(Content(("● " if m == self.current else "  ") + m), id=m)
            for m in self._models if needle in m.casefold()
        ])
        if options.option_count:
            options.highlighted = 0

    @on(Input.Changed, "#model-input")
    def filter_changed(self, event: Input.Changed) -> None:
        self._fill(event.value)

    @on(Input.Submitted, "#model-input")
    def submit_typed(self, event: Input.Submitted) -> None:
        """The highlighted match if the filter matches any model, else the name as typed."""
        typed = event.value.strip()
        options = self.model_list
        highlighted = options.highlighted
        if highlighted is not None and options.option_count:
            self.dismiss(options.get_option_at_index(highlighted).id)
        elif typed:
            self.dismiss(typed)

    @on(OptionList.OptionSelected, "#model-list")
    def picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_focus_list(self) -> None:
        self.model_list.focus()
