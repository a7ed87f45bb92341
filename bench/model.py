"""The values the suite passes around: commands, samples, cases and goals (data only)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Metric = Literal["seconds", "max_rss_kb", "cpu_seconds"]
METRICS: tuple[Metric, ...] = ("seconds", "max_rss_kb", "cpu_seconds")


@dataclass(frozen=True)
class Command:
    """One contender's process: what to run, with which environment, where its output goes."""

    name: str
    argv: tuple[str, ...]
    env: Mapping[str, str] = field(repr=False)
    log: Path


@dataclass(frozen=True)
class Sample:
    """One measured run: wall seconds (or latency, or a group's wall time), peak memory, CPU time (user + sys)."""

    seconds: float
    max_rss_kb: int | None = None
    cpu_seconds: float | None = None


@dataclass
class Case:
    """One scenario at one size: every contender's samples, interleaved round by round."""

    scenario: str
    size: int
    baseline: str | None
    contenders: tuple[str, ...]
    samples: dict[str, list[Sample]] = field(default_factory=dict)
    setup: str = ""
    checks: list[str] = field(default_factory=list)
    error: str | None = None

    def add(self, contender: str, sample: Sample) -> None:
        self.samples.setdefault(contender, []).append(sample)


@dataclass(frozen=True)
class Goal:
    """A target from the issue: a contender's median against the baseline's (ratio) or absolute."""

    scenario: str
    size: int | None
    contender: str
    limit: float
    metric: Metric = "seconds"
    relative: bool = True


@dataclass(frozen=True)
class Verdict:
    goal: Goal
    size: int
    value: float | None
    met: bool


class ContenderFailed(Exception):
    """A contender exited non-zero or left the database in the wrong state: the suite exits non-zero.

    The message is one line for the report; `output` holds the tail of the contender's log, for stderr.
    """

    def __init__(self, message: str, output: str = "") -> None:
        super().__init__(message)
        self.output = output
