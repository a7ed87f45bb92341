"""The values the suite passes around: commands, samples, cases and goals (data only)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Metric = Literal["seconds", "max_rss_kb", "cpu_seconds", "stall_seconds"]
METRICS: tuple[Metric, ...] = ("seconds", "max_rss_kb", "cpu_seconds", "stall_seconds")
Statistic = Literal["median", "max"]
# The kinds of generated project (bench/projects.py): N uniform revisions, a chain written as real projects are
# (bench/realworld.py), or several packages each shipping its own labelled branch (bench/multibase.py).
GENERATED = "generated"
REAL_WORLD = "real-world"
MULTI_BASE = "multi-base"
# The app's revisions and an expand step on top, applied under a writer's load (devtools/under_load.py).
UNDER_LOAD = "under-load"


@dataclass(frozen=True)
class Command:
    """One contender's process: what to run, with which environment, where its output goes."""

    name: str
    argv: tuple[str, ...]
    env: Mapping[str, str] = field(repr=False)
    log: Path
    cwd: Path | None = None  # a project's root: Alembic resolves `prepend_sys_path = .` against it


@dataclass(frozen=True)
class Sample:
    """One measured run: wall seconds (or latency, or a group's wall time), peak memory, CPU time (user + sys);
    under load (scenario F) also the writer's longest statement while it ran, its statements that succeeded
    in that time, and its errors."""

    seconds: float
    max_rss_kb: int | None = None
    cpu_seconds: float | None = None
    stall_seconds: float | None = None
    writes: int | None = None
    writer_errors: int | None = None


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
    project: str = GENERATED

    def add(self, contender: str, sample: Sample) -> None:
        self.samples.setdefault(contender, []).append(sample)

    @property
    def label(self) -> str:
        return label(self.size, self.project)


@dataclass(frozen=True)
class Goal:
    """A target from the issues: a contender's median against the baseline's (ratio), or absolute.

    ``size`` None: any size; ``project`` None: any kind of project. ``statistic`` is what an
    absolute goal bounds, the median or the worst sample.
    """

    scenario: str
    size: int | None
    contender: str
    limit: float
    metric: Metric = "seconds"
    relative: bool = True
    project: str | None = GENERATED
    statistic: Statistic = "median"


@dataclass(frozen=True)
class Verdict:
    goal: Goal
    size: int
    value: float | None
    met: bool
    project: str = GENERATED

    @property
    def label(self) -> str:
        return label(self.size, self.project)


def label(size: int, project: str) -> str:
    """N as the report shows it: the size, and the project's kind when it is not the generated chain."""
    return str(size) if project == GENERATED else f"{size} ({project})"


class ContenderFailed(Exception):
    """A contender exited non-zero or left the database in the wrong state: the suite exits non-zero.

    The message is one line for the report; `output` holds the tail of the contender's log, for stderr.
    """

    def __init__(self, message: str, output: str = "") -> None:
        super().__init__(message)
        self.output = output
