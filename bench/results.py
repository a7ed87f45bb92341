"""A whole run's outcome, and its JSON form (written next to the Markdown on stdout)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.config import BenchConfig
from bench.goals import unmeasured, verdicts
from bench.model import METRICS, Case, Metric
from bench.stats import ratio, summarise


@dataclass
class Outcome:
    config: BenchConfig
    machine: dict[str, str]
    cases: list[Case] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    wall_seconds: float = 0.0


def to_json(outcome: Outcome) -> dict[str, Any]:
    config = outcome.config
    return {
        "machine": outcome.machine,
        "settings": {
            "rounds": config.rounds,
            "readiness_rounds": config.readiness_rounds,
            "quick": config.quick,
            "seed": config.seed,
            "noop_sizes": list(config.noop_sizes),
            "apply_sizes": list(config.apply_sizes),
            "readiness_size": config.readiness_size,
            "concurrency_size": config.concurrency_size,
            "concurrent_runners": config.concurrent_runners,
            "real_world_size": config.real_world_size,
            "multi_base_size": config.multi_base_size,
            "real_world_runners": config.real_world_runners,
            "waiters": config.waiters,
            "load_rows": config.load_rows,
            "scenarios": "".join(sorted(config.scenarios)),
        },
        "cases": [_case(case) for case in outcome.cases],
        "goals": [
            {
                **asdict(verdict.goal),
                "size": verdict.size,
                "project": verdict.project,
                "value": verdict.value,
                "met": verdict.met,
            }
            for verdict in verdicts(outcome.cases)
        ],
        "unmeasured_goals": [asdict(goal) for goal in unmeasured(outcome.cases, outcome.config.scenarios)],
        "failures": outcome.failures,
        "wall_seconds": round(outcome.wall_seconds, 1),
    }


def write(path: Path, outcome: Outcome) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(to_json(outcome), indent=2, ensure_ascii=False) + "\n")


def _case(case: Case) -> dict[str, Any]:
    return {
        "scenario": case.scenario,
        "size": case.size,
        "project": case.project,
        "baseline": case.baseline,
        "setup": case.setup,
        "contenders": {name: _contender(case, name) for name in case.contenders if name in case.samples},
        "checks": case.checks,
        "error": case.error,
    }


def _contender(case: Case, name: str) -> dict[str, Any]:
    samples = case.samples[name]
    return {
        "samples": [asdict(sample) for sample in samples],
        **{metric: _metric(case, name, metric) for metric in METRICS},
    }


def _metric(case: Case, name: str, metric: Metric) -> dict[str, Any] | None:
    summary = summarise(case.samples[name], metric)
    if summary is None:
        return None
    return {**asdict(summary), "ratio_to_baseline": ratio(case, name, metric)}
