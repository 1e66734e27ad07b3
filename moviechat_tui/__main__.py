"""`python -m moviechat_tui` behaves exactly like the `moviechat` command."""

from moviechat_tui.cli import main

raise SystemExit(main())
