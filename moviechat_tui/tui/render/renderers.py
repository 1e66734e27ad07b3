"""The Markdown renderer, imported and built only when needed.

`markdown_render` pulls in markdown-it, Rich's Markdown and pygments (~30–40 ms), which an
empty chat's first frame should not wait for: the app imports it in a worker thread once the
user is idle (`load_renderer`), and a reply view asks for a renderer when it first renders a
block (`renderer_for`).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from moviechat_tui.tui.render.markdown_render import BlockRenderer, Palette


def load_renderer() -> None:
    """Import the Markdown renderer (~30 ms; call it in a worker thread)."""
    import moviechat_tui.tui.render.markdown_render  # noqa: F401


def renderer_for(theme_variables: Mapping[str, str], dark: bool) -> BlockRenderer:
    """The renderer for a theme (its CSS variables), shared by every reply in that theme."""
    from moviechat_tui.tui.render.markdown_render import Palette

    return _renderer_for(Palette.from_variables(theme_variables, dark))


@lru_cache(maxsize=4)
def _renderer_for(palette: Palette) -> BlockRenderer:
    from moviechat_tui.tui.render.markdown_render import BlockRenderer

    return BlockRenderer(palette)
