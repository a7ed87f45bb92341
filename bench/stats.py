"""Medians, ranges and ratios over samples (pure)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from bench.model import Case, Metric, Sample


@dataclass(frozen=True)
class Summary:
    median: float
    low: float
    high: float
    count: int


def summarise(samples: Sequence[Sample], metric: Metric = "seconds") -> Summary | None:
    values = [float(v) for v in (getattr(sample, metric) for sample in samples) if v is not None]
    if not values:
        return None
    return Summary(statistics.median(values), min(values), max(values), len(values))


def ratio(case: Case, contender: str, metric: Metric = "seconds") -> float | None:
    """Median of a contender over median of the case's baseline, from the same run."""
    if case.baseline is None:
        return None
    mine = summarise(case.samples.get(contender, []), metric)
    base = summarise(case.samples.get(case.baseline, []), metric)
    if mine is None or base is None or base.median == 0:
        return None
    return mine.median / base.median


def rotated(items: Sequence[str], round_index: int) -> list[str]:
    """The contenders in this round's order: each round starts one further along, so drift hits all alike."""
    shift = round_index % len(items)
    return [*items[shift:], *items[:shift]]
