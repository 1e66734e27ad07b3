"""The app's log file: rotating, under `platformdirs.user_log_dir`, never on the terminal.

The TUI owns the terminal, so nothing may be printed to it; problems are logged to
`moviechat.log` (1 MB × 3 files). `--debug` adds request summaries. API keys never reach the
log: they live in `Secret` objects whose repr is masked, and a filter redacts the active key
from every record as a second line of defence.
"""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

from moviechat_tui.secret import Secret, redact

LOG_FILE = "moviechat.log"


class _RedactingFilter(logging.Filter):
    def __init__(self, secret: Secret) -> None:
        super().__init__()
        self._secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message, self._secret)
        if clean != message:
            record.msg, record.args = clean, None
        return True


def setup_logging(log_dir: Path, secret: Secret, *, debug: bool = False) -> Path | None:
    """Send the package's logs to a rotating file; returns its path (None if unwritable)."""
    try:
        log_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        handler = logging.handlers.RotatingFileHandler(
            log_dir / LOG_FILE, maxBytes=1_000_000, backupCount=3, encoding="utf-8"
        )
    except OSError:
        return None
    handler.setFormatter(logging.Formatter("%(asctime)s %(process)d %(levelname)s "
                                           "%(name)s: %(message)s"))
    handler.addFilter(_RedactingFilter(secret))
    logger = logging.getLogger("moviechat_tui")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.DEBUG if debug else logging.INFO)
    logger.propagate = False
    return log_dir / LOG_FILE
