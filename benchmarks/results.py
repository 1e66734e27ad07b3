"""Metrics, the printed table and the JSON file."""

from __future__ import annotations

import json
import math
import platform
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

UNITS = {"s": "{:.3f} s", "ms": "{:.0f} ms", "MB": "{:.1f} MB", "tok/s": "{:.0f} tok/s",
         "MB/turn": "{:.3f} MB/turn", "cpu-s": "{:.3f} s", "rows/s": "{:,.0f} rows/s",
         "min": "{:.1f} min", "msec": "{:.1f} ms"}
"""`msec` is milliseconds shown to a tenth (lookups well under a millisecond)."""


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (no interpolation: the value some sample really had)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Metric:
    """One row of the table.

    `goal` is read as: `max_ratio` — value/baseline must not exceed it; `max_value` — the value
    must not exceed it (in `unit`); `min_value` — the value must reach it (a throughput).
    With none of them, the row is informational (met = None).
    """

    name: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_name: str | None = None
    max_ratio: float | None = None
    max_value: float | None = None
    samples: list[float] = field(default_factory=list)
    note: str = ""
    skipped: str = ""
    """Why this row was not measured (then it is shown as "not run", not as a failure)."""
    min_value: float | None = None

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or not self.baseline or math.isnan(self.value):
            return None
        return self.value / self.baseline

    @property
    def goal(self) -> str:
        if self.max_ratio is not None:
            return f"≤ {self.max_ratio:g}×"
        if self.max_value is not None:
            return "≤ " + UNITS.get(self.unit, "{:g} " + self.unit).format(self.max_value)
        if self.min_value is not None:
            return "≥ " + UNITS.get(self.unit, "{:g} " + self.unit).format(self.min_value)
        return "—"

    @property
    def met(self) -> bool | None:
        if self.skipped:
            return None
        if math.isnan(self.value):
            return False if (self.max_ratio or self.max_value or self.min_value) else None
        if self.max_ratio is not None:
            ratio = self.ratio
            return None if ratio is None else ratio <= self.max_ratio
        if self.max_value is not None:
            return self.value <= self.max_value
        if self.min_value is not None:
            return self.value >= self.min_value
        return None

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(ratio=self.ratio, goal=self.goal, met=self.met)
        return data


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if math.isnan(value):
        return "failed"
    return UNITS.get(unit, "{:g} " + unit).format(value)


def table(metrics: Sequence[Metric]) -> str:
    header = ["metric", "value", "baseline", "ratio", "goal", "met?"]
    rows = []
    for m in metrics:
        ratio = m.ratio
        rows.append([
            m.name + (" ¹" if m.skipped else ""),
            "not run" if m.skipped else _fmt(m.value, m.unit),
            _fmt(m.baseline, m.unit) if m.baseline is not None else "—",
            f"{ratio:.2f}×" if ratio is not None else "—",
            m.goal,
            {True: "yes", False: "NO", None: "—"}[m.met],
        ])
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    out = [line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(r) for r in rows]
    baselines = list(dict.fromkeys(m.baseline_name for m in metrics if m.baseline_name))
    if baselines:
        out.append("")
        out.append("Baselines: " + "; ".join(baselines))
    skipped = [m for m in metrics if m.skipped]
    if skipped:
        out.append("")
        out += [f"¹ {m.name}: not run — {m.skipped}" for m in skipped]
    return "\n".join(out)


def write_json(path: Path, metrics: Sequence[Metric], settings: dict[str, Any]) -> None:
    doc = {
        "settings": settings,
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "processor": platform.processor(), "cpus": _cpus()},
        "metrics": [m.as_dict() for m in metrics],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_no_nan(doc), indent=2, ensure_ascii=False) + "\n",
                    encoding="utf-8")


def _no_nan(value: Any) -> Any:
    """JSON has no NaN: a failed measurement is written as null."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_no_nan(v) for v in value]
    return value


def _cpus() -> int | None:
    import os

    return os.cpu_count()
