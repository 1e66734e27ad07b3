"""What a sub-command works with: the paths and the settings the global flags point at."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from moviechat_tui.cli.parser import CommandError

if TYPE_CHECKING:
    from moviechat_tui.settings.config import Settings
    from moviechat_tui.settings.paths import Paths


def paths_from(args: argparse.Namespace) -> Paths:
    """--data-dir and --config, else the environment, else the platform's folders."""
    from moviechat_tui.settings.paths import Paths

    return Paths.default(data_dir=args.data_dir, config_file=args.config)


def settings_from(args: argparse.Namespace) -> Settings:
    """The settings as the app would read them (a broken config file is exit code 2, as it is
    for the app), without the chat's flags."""
    from moviechat_tui.settings.config import ConfigError, Overrides, load_settings

    try:
        return load_settings(paths_from(args), Overrides())
    except ConfigError as exc:
        raise CommandError(exc.message, 2) from None
