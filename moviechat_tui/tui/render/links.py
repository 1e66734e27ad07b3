"""Links in rendered replies: a click asks before anything is opened.

A link in a reply is drawn with a style whose click runs the app's `open_link` action, which
shows the full address in a dialog — never a terminal hyperlink (OSC 8), which would open
whatever a hostile reply hid behind its text. The kept view (view_snapshot) stores links as
their address and rebuilds the style with `link_style`.
"""

from __future__ import annotations

from rich.style import Style


def link_style(href: str) -> Style:
    """The style of a link in a rendered reply: a click runs `open_link`, which asks before
    opening — never a terminal hyperlink (OSC 8)."""
    return Style.from_meta({"@click": f"open_link({href!r})"})


def link_href(style: Style) -> str | None:
    """The address a `link_style` style opens, else None."""
    click = (style.meta or {}).get("@click")
    if isinstance(click, str) and click.startswith("open_link(") and click.endswith(")"):
        import ast  # rarely needed (saving a view at quit): not at import time

        try:
            value = ast.literal_eval(click[len("open_link("):-1])
        except (ValueError, SyntaxError):
            return None
        return value if isinstance(value, str) else None
    return None
