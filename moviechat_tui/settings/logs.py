"""The app's log file: rotating, under `platformdirs.user_log_dir`, never on the terminal.

The TUI owns the terminal, so nothing may be printed to it; problems are logged to
`moviechat.log` (1 MB × 3 files). `--debug` adds request summaries. API keys never reach the
log: they live in `Secret` objects whose repr is masked, and the formatter redacts the active
key from every formatted record as a second line of defence — the whole text, including a
traceback, whose exception message may quote a key a server echoed back.
"""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

from moviechat_tui.core.secret import Secret, redact, redacted_everywhere

LOG_FILE = "moviechat.log"


LOG_FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"
MAX_BYTES = 1_000_000
BACKUP_COUNT = 3


class RedactingFormatter(logging.Formatter):
    """Formats a record, then removes the secret from everything formatted: message,
    arguments, exception text and stack."""

    def __init__(self, secret: Secret, fmt: str = LOG_FORMAT) -> None:
        super().__init__(fmt)
        self._secret = secret

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self._secret, *redacted_everywhere())


def setup_logging(log_dir: Path, secret: Secret, *, debug: bool = False) -> Path | None:
    """Send the package's logs to a rotating file; returns its path (None if unwritable)."""
    try:
        log_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        handler = logging.handlers.RotatingFileHandler(
            log_dir / LOG_FILE, maxBytes=MAX_BYTES, backupCount=BACKUP_COUNT, encoding="utf-8"
        )
    except OSError:
        return None
    handler.setFormatter(RedactingFormatter(secret))
    logger = logging.getLogger("moviechat_tui")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.DEBUG if debug else logging.INFO)
    logger.propagate = False
    return log_dir / LOG_FILE
