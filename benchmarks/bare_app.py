"""The baseline: a bare Textual app that shows one line of text.

Started exactly like moviechat (`python -m benchmarks.bare_app`, in the same pseudo-terminal
harness), so the ratio against it isolates what moviechat itself adds to Textual's start-up.
For the installed copy (benchmarks/installed.py) this file becomes a one-module package whose
console script calls `main`, as `moviechat` calls `moviechat_tui.cli:main`: it must import
nothing but Textual.
"""

from textual.app import App, ComposeResult
from textual.widgets import Static


class HelloApp(App[None]):
    def compose(self) -> ComposeResult:
        yield Static("Lights down, phones off.")


def main() -> None:
    HelloApp().run()


if __name__ == "__main__":
    main()
