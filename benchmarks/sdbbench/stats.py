"""Timing statistics, A/B interleaving and the report tables.

Every comparison runs in alternating rounds (subject A, subject B, B, A, ...: the order
rotates each round) so that drift on a shared machine (other processes, CPU frequency,
page cache) lands on every subject alike. Figures are medians of the per-operation times
pooled over all rounds; ratios divide by the raw lower bound measured in the same run.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Timing:
    """Per-operation times of one subject in one workload, in nanoseconds."""

    samples: list[int] = field(default_factory=list)

    @property
    def median_us(self) -> float:
        return statistics.median(self.samples) / 1000 if self.samples else float("nan")

    @property
    def p99_us(self) -> float:
        if not self.samples:
            return float("nan")
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] / 1000

    @property
    def per_second(self) -> float:
        total = sum(self.samples)
        return len(self.samples) / (total / 1e9) if total else float("nan")


def interleave(
    rounds: int, subjects: dict[str, Callable[[int], Sequence[int]]]
) -> dict[str, Timing]:
    """Run each subject's round function ``rounds`` times, alternating and rotating order.

    A round function gets the round number and returns the per-operation times (ns) it
    measured. Returns the pooled timings by subject name.
    """
    names = list(subjects)
    out = {name: Timing() for name in names}
    for r in range(rounds):
        shift = r % len(names)
        order = names[shift:] + names[:shift]
        if r % 2:
            order.reverse()
        for name in order:
            out[name].samples.extend(subjects[name](r))
    return out


def time_each(action: Callable[[], Any], count: int, budget_s: float | None = None) -> list[int]:
    """Call ``action`` ``count`` times; return each call's duration in nanoseconds.

    With ``budget_s``, stop early once that much time is spent (after at least 3 calls),
    so a store that takes a second per call does not hold the run up for minutes.
    """
    clock = time.perf_counter_ns
    limit = None if budget_s is None else clock() + int(budget_s * 1e9)
    out = []
    for i in range(count):
        t0 = clock()
        action()
        out.append(clock() - t0)
        if limit is not None and i >= 2 and t0 > limit:
            break
    return out


def ratio(value: float, base: float) -> str:
    if base != base or value != value or base == 0:  # NaN check
        return "–"
    return f"{value / base:.2f}×"


def fmt_us(value: float) -> str:
    if value != value:
        return "–"
    if value >= 10_000:
        return f"{value / 1000:,.1f} ms"
    if value >= 1000:
        return f"{value / 1000:.2f} ms"
    return f"{value:.1f} µs"


def fmt_rate(value: float) -> str:
    return "–" if value != value else f"{value:,.0f}"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub-flavoured markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
