"""kill -9 while a reply streams loses at most ~1 s of it (see tests/support/crash_harness.py).

A few trials in the default run; `python -m tests.support.crash_harness --count 200` for
the figures.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.crash_harness import LAG_LIMIT, run_trial


@pytest.mark.parametrize("seed", [11, 22, 33])
def test_kill_9_while_streaming_loses_at_most_a_second(tmp_path: Path, seed: int) -> None:
    trial = run_trial(seed, tmp_path, kill_window=(0.3, 3.0))
    assert trial.files == 1 and trial.files_parse, trial.line()
    assert trial.user_message, trial.line()
    assert trial.reply_is_prefix, trial.line()
    if trial.kill_after >= LAG_LIMIT + 0.5:
        assert trial.reply_saved, trial.line()
    assert trial.lag <= LAG_LIMIT, trial.line()
    assert trial.ok, trial.line()
