"""The baseline: a bare Textual app that shows one line of text.

Started exactly like moviechat (`python -m benchmarks.bare_app`, in the same pseudo-terminal
harness), so the ratio against it isolates what moviechat itself adds to Textual's start-up.
"""

from textual.app import App, ComposeResult
from textual.widgets import Static


class HelloApp(App[None]):
    def compose(self) -> ComposeResult:
        yield Static("Lights down, phones off.")


if __name__ == "__main__":
    HelloApp().run()
