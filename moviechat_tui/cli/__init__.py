"""The `moviechat` command: `cli.dispatch` parses and dispatches, `cli.parser` builds the
parser from one module per command group (`chat` for the bare command that opens the app,
`config`, `conversations`). Adding a command group is one module and its name in
`dispatch.build_parser`.
"""

from __future__ import annotations

from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """The console script's target (`moviechat = "moviechat_tui.cli:main"`). The import is
    here, not at the top, so that importing any module of this package does not load the
    dispatcher (a package's `__init__` imports none of its modules when imported)."""
    from moviechat_tui.cli.dispatch import main as run

    return run(argv)
