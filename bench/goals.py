"""The issue's goals and whether a run meets them (pure)."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from bench import contenders as c
from bench.model import Case, Goal, Verdict
from bench.stats import ratio, summarise

CROWD = "20 runners at once"
ALONE = "1 runner alone"
READINESS_LIMIT_S = 0.150

GOALS: tuple[Goal, ...] = (
    Goal("A", 1, c.MIGRATOR_UPGRADE, 0.3),
    Goal("A", 1, c.MIGRATOR_CHECK, 0.3),
    Goal("A", 500, c.MIGRATOR_UPGRADE, 0.3),
    Goal("A", 500, c.MIGRATOR_CHECK, 0.3),
    Goal("B", 50, c.MIGRATOR_UPGRADE, 1.05),
    Goal("B", 500, c.MIGRATOR_UPGRADE, 1.05),
    Goal("C", None, c.MIGRATOR_UPGRADE, READINESS_LIMIT_S, relative=False),
    Goal("D", None, CROWD, 1.5),
    Goal("A", None, c.MIGRATOR_UPGRADE, 1.1, metric="max_rss_kb"),
    Goal("A", None, c.MIGRATOR_CHECK, 1.1, metric="max_rss_kb"),
    Goal("B", None, c.MIGRATOR_UPGRADE, 1.1, metric="max_rss_kb"),
)


def applies(goal: Goal, case: Case, contender: str, metric: str) -> bool:
    return (
        goal.scenario == case.scenario
        and goal.size in (None, case.size)
        and goal.contender == contender
        and goal.metric == metric
    )


def goal_for(case: Case, contender: str, metric: str) -> Goal | None:
    return next((goal for goal in GOALS if applies(goal, case, contender, metric)), None)


def judge(goal: Goal, case: Case) -> Verdict:
    if goal.relative:
        value = ratio(case, goal.contender, goal.metric)
    else:
        summary = summarise(case.samples.get(goal.contender, []), goal.metric)
        value = summary.median if summary else None
    return Verdict(goal, case.size, value, value is not None and value <= goal.limit)


def verdicts(cases: Sequence[Case]) -> list[Verdict]:
    """One verdict per goal and measured case it applies to, in the order of GOALS."""
    return [
        judge(goal, case)
        for goal in GOALS
        for case in cases
        if case.error is None and applies(goal, case, goal.contender, goal.metric)
    ]


def unmeasured(cases: Sequence[Case], scenarios: Collection[str]) -> list[Goal]:
    """Goals of the scenarios run that no case measured (a quick run skips N = 500; a failed case measures nothing)."""
    measured = [case for case in cases if case.error is None]
    return [
        goal
        for goal in GOALS
        if goal.scenario in scenarios and not any(applies(goal, case, goal.contender, goal.metric) for case in measured)
    ]
