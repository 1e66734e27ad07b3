"""KeyFooter: Textual's footer, fitted to its width.

Textual's `Footer` lays every shown binding out in a row that scrolls sideways and docks the
command-palette key on the right. At 80 columns that went wrong twice:

- bindings that did not fit were cut mid-word under the palette key ("^t 페르소"), and
- in compact mode the palette key keeps the `margin-right: 1` every compact key gets, so it
  sits one cell in from the edge and the row scrolled under it shows through that last cell:
  "▏^p palettef" — the "f" of "f1 Help" further along.

This footer shows only the bindings that fit whole, in their order (the help key is kept
while there is any room for it, so F1 stays discoverable), re-chooses them when its width
changes, puts the palette key flush right, and names it through the catalogue. Bindings are
shown one per action, as Textual's footer does; binding groups are not used in this app.
"""

from __future__ import annotations

from collections.abc import Iterator

from rich.cells import cell_len
from textual import events
from textual.app import ComposeResult
from textual.binding import ActiveBinding, Binding, BindingsMap
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from moviechat_tui.core.i18n import _

KEPT_BINDING_IDS = frozenset({"help"})
"""Bindings given room before the others (the rest are dropped first when space is short)."""


class KeyFooter(Footer):
    DEFAULT_CSS = """
    KeyFooter.-compact FooterKey.-command-palette {
        margin-right: 0;
    }
    """

    def __init__(self, *, compact: bool = False) -> None:
        super().__init__(compact=compact)
        self._composed_width = -1

    def key_width(self, key_display: str, description: str) -> int:
        """Cells a FooterKey takes in the row, its margin included (see Footer's CSS)."""
        text = cell_len(key_display) + (cell_len(description) + 1 if description else 0)
        return text + 1 if self.compact else text + 2

    def palette_width(self, key_display: str, description: str) -> int:
        """Cells of the docked palette key: its left border, text and right padding."""
        text = cell_len(key_display) + (cell_len(description) + 1 if description else 0)
        return 1 + text + (0 if self.compact else 2)

    def shown_bindings(self) -> Iterator[tuple[Binding, bool, str]]:
        """(binding, enabled, tooltip) of each action the screen shows: the focused widget's
        first, then its containers', the screen's and the app's, each in the order they were
        declared. (Textual lists them by key, and a priority binding takes the place of the
        focused widget's binding for its key: the library's ctrl+d came first, where the
        filter box binds ctrl+d.)"""
        active = list(self.screen.active_bindings.items())

        def place(item: tuple[str, ActiveBinding]) -> tuple[int, int]:
            key, (node, _binding, _enabled, _tooltip) = item
            declared = list(getattr(node, "_bindings", BindingsMap()).key_to_bindings)
            depth = len(node.ancestors_with_self)
            return -depth, declared.index(key) if key in declared else len(declared)

        seen: set[str] = set()
        for _key, (_node, binding, enabled, tooltip) in sorted(active, key=place):
            if binding.show and binding.action not in seen:
                seen.add(binding.action)
                yield binding, enabled, tooltip

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        self._composed_width = width = self.size.width
        palette = self._palette_key()
        room = width - (self.palette_width(palette.key_display, palette.description)
                        if palette is not None else 0)
        candidates = [(binding, enabled, tooltip,
                       self.key_width(self.app.get_key_display(binding), binding.description))
                      for binding, enabled, tooltip in self.shown_bindings()]
        kept = [c for c in candidates if c[0].id in KEPT_BINDING_IDS and c[3] <= room]
        room -= sum(c[3] for c in kept)
        for candidate in candidates:
            if candidate in kept:
                yield self._key(*candidate[:3])
            elif candidate[3] <= room:
                room -= candidate[3]
                yield self._key(*candidate[:3])
        if palette is not None:
            yield palette

    def _key(self, binding: Binding, enabled: bool, tooltip: str) -> FooterKey:
        return self._fitted(FooterKey(binding.key, self.app.get_key_display(binding),
                                      binding.description, binding.action,
                                      disabled=not enabled, tooltip=tooltip))

    def _fitted(self, key: FooterKey) -> FooterKey:
        """`key` in this footer's style. Not `data_bind(compact=Footer.compact)`, as Textual's
        footer does: each binding adds a watcher to the footer that holds the key (and its
        widget tree) until `compact` changes, which it never does here, and the keys are made
        anew at every change of what the footer offers — the app grew ~0.5 MB a turn."""
        key.set_reactive(FooterKey.compact, self.compact)
        key.set_class(self.compact, "-compact")
        return key

    def watch_compact(self, compact: bool) -> None:
        """The keys follow (they are not bound to this setting; see `_fitted`)."""
        if self._bindings_ready:
            self.call_after_refresh(self.recompose)

    def _palette_key(self) -> FooterKey | None:
        """The command-palette key, labelled in the interface's language (Textual's own
        binding says "palette" in English)."""
        if not (self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE):
            return None
        found = self.screen.active_bindings.get(self.app.COMMAND_PALETTE_BINDING)
        if found is None:
            return None
        _node, binding, enabled, _tooltip = found
        return self._fitted(FooterKey(binding.key, self.app.get_key_display(binding),
                                      _("palette"), binding.action, classes="-command-palette",
                                      disabled=not enabled,
                                      tooltip=_("Open the command palette")))

    def on_resize(self, event: events.Resize) -> None:
        if self._bindings_ready and event.size.width != self._composed_width:
            self.call_after_refresh(self.recompose)
