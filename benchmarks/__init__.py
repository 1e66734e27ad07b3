"""Performance benchmarks for moviechat-tui: run `python -m benchmarks` (see docs/performance.md).

Kept empty on purpose: the baseline app is started as `python -m benchmarks.bare_app`, and
importing this package must cost that baseline nothing.
"""
