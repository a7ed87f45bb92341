"""The Markdown report: one table per scenario, each ratio next to its goal (pure)."""

from __future__ import annotations

import statistics

from bench.goals import goals_for, judge, unmeasured, verdicts
from bench.model import GENERATED, Case, Goal, Metric
from bench.results import Outcome
from bench.stats import Summary, ratio, summarise

# Typographic characters for the Markdown (escaped so the source stays ASCII-looking for ruff).
DASH = "\u2013"  # en dash, for ranges
TIMES = "\u00d7"  # multiplication sign, for ratios

TITLES = {
    "A": "A · no-op at head",
    "B": "B · apply N migrations to an empty database",
    "C": "C · readiness: runner started while the server is down",
    "D": "D · concurrency: runners started at once on an empty database; waiters woken by the release",
    "E": "E · peak memory (max RSS of the process, from wait4)",
    "F": "F · under load: an expand step while a writer inserts and updates",
}


def render(outcome: Outcome) -> str:
    parts = [_header(outcome)]
    for scenario in ("A", "B", "C", "D"):
        cases = [case for case in outcome.cases if case.scenario == scenario]
        if cases:
            parts.append(_scenario(scenario, cases))
    memory = [case for case in outcome.cases if case.scenario in ("A", "B") and case.error is None]
    if memory:
        parts.append(_memory(memory))
    under_load = [case for case in outcome.cases if case.scenario == "F"]
    if under_load:
        parts.append(_under_load(under_load))
    parts.append(_goals(outcome.cases, outcome.config.scenarios))
    if outcome.failures:
        parts.append("### Failures\n\n" + "\n".join(f"- {_cell(line)}" for line in outcome.failures))
    return "\n\n".join(parts) + "\n"


def _header(outcome: Outcome) -> str:
    m, config = outcome.machine, outcome.config
    mode = " (quick mode)" if config.quick else ""
    return (
        f"Measured {m['date']} on {m['cpu']}, {m['cores']} cores, {m['ram']} RAM, {m['kernel']}, "
        f"Python {m['python']}, PostgreSQL {m['postgresql']} (embedded, fsync off, data on "
        f"{m.get('postgresql_data', 'disk')}); migrator at {m['migrator']}; "
        f"load average {m['load_at_start']} at the start, {m.get('load_at_end', '?')} at the end. "
        f"{config.rounds} rounds{mode} after an uncounted warm-up, contenders interleaved, their order rotated "
        "each round; every contender is a real subprocess, timed from spawn to reap; ratios are of medians "
        "from this run."
    )


def _scenario(scenario: str, cases: list[Case]) -> str:
    """The title, then one table per setup (a project kind or a way of measuring) with its checks."""
    groups: dict[str, list[Case]] = {}
    for case in cases:
        groups.setdefault(case.setup, []).append(case)
    return "\n\n".join([f"### {TITLES[scenario]}", *(_table(group) for group in groups.values())])


def _table(cases: list[Case]) -> str:
    setup = cases[0].setup
    baseline = next((case.baseline for case in cases if case.baseline), None)
    ratio_column = f" \u00f7 `{baseline}` |" if baseline else ""
    cpu = any(summarise(samples, "cpu_seconds") for case in cases for samples in case.samples.values())
    head = f"| N | contender | median | min{DASH}max |{ratio_column} goal |" + (" CPU (median) |" if cpu else "")
    rule = "|--:|---|--:|--:|" + ("--:|" if baseline else "") + "---|" + ("--:|" if cpu else "")
    rows = [row for case in cases for row in _rows(case, "seconds", cpu)]
    checks = "\n".join(f"- \u2705 {check}" for case in cases for check in case.checks)
    parts = (setup, "\n".join([head, rule, *rows]), checks)
    return "\n\n".join(part for part in parts if part)


def _memory(cases: list[Case]) -> str:
    head = f"| scenario | N | contender | max RSS (median) | min{DASH}max | \u00f7 alembic | goal |"
    rule = "|---|--:|---|--:|--:|--:|---|"
    rows = [f"| {case.scenario} {row}" for case in cases for row in _rows(case, "max_rss_kb")]
    return "\n".join([f"### {TITLES['E']}", "", head, rule, *rows])


def _under_load(cases: list[Case]) -> str:
    """Per contender: the migration's time, the writer's longest statement meanwhile, what it wrote, its errors."""
    head = (
        f"| rows | contender | migration (median) | min{DASH}max | longest writer stall (median) | min{DASH}max "
        "| writes during the migration (median) | writer errors (all rounds) |"
    )
    rule = "|--:|---|--:|--:|--:|--:|--:|--:|"
    rows = []
    for case in cases:
        if case.error is not None:
            rows.append(f"| {case.size:,} | **failed** (see Failures) | | | | | | |")
            continue
        for name in case.contenders:
            samples = case.samples.get(name, [])
            took, stall = summarise(samples, "seconds"), summarise(samples, "stall_seconds")
            if took is None or stall is None:
                continue
            writes = statistics.median(s.writes or 0 for s in samples)
            errors = sum(s.writer_errors or 0 for s in samples)
            rows.append(
                f"| {case.size:,} | `{name}` | {_value(took.median, 'seconds')} | {_range(took, 'seconds')} "
                f"| {_value(stall.median, 'seconds')} | {_range(stall, 'seconds')} | {writes:g} | {errors} |"
            )
    checks = "\n".join(f"- \u2705 {check}" for case in cases if case.error is None for check in case.checks)
    parts = (f"### {TITLES['F']}", cases[0].setup, "\n".join([head, rule, *rows]), checks)
    return "\n\n".join(part for part in parts if part)


def _rows(case: Case, metric: Metric, cpu: bool = False) -> list[str]:
    if case.error is not None:
        return [f"| {case.label} | **failed** (see Failures) | | | |"]
    rows = []
    for name in case.contenders:
        summary = summarise(case.samples.get(name, []), metric)
        if summary is None:
            continue
        cells = [case.label, f"`{name}`", _value(summary.median, metric), _range(summary, metric)]
        if case.baseline is not None:
            share = ratio(case, name, metric)
            cells.append("—" if share is None else f"{share:.2f}{TIMES}")
        cells.append(_goal_cell(case, name, metric))
        if cpu:
            cpu_time = summarise(case.samples.get(name, []), "cpu_seconds")
            cells.append("" if cpu_time is None else _value(cpu_time.median, "cpu_seconds"))
        rows.append("| " + " | ".join(cells) + " |")
    return rows


def _goal_cell(case: Case, contender: str, metric: Metric) -> str:
    return ", ".join(f"{_limit(goal)} {_mark(judge(goal, case).met)}" for goal in goals_for(case, contender, metric))


def _mark(met: bool) -> str:
    return "✅" if met else "❌"


def _goals(cases: list[Case], scenarios: frozenset[str]) -> str:
    lines = ["### Goals (issues 4, 9 and 12)", "", "| scenario | N | goal | measured | met |", "|---|--:|---|--:|---|"]
    for verdict in verdicts(cases):
        goal = verdict.goal
        measured = "—" if verdict.value is None else _measured(goal, verdict.value)
        lines.append(f"| {goal.scenario} | {verdict.label} | {_describe(goal)} | {measured} | {_mark(verdict.met)} |")
    for goal in unmeasured(cases, scenarios):
        size = "" if goal.size is None else str(goal.size)
        where = size if goal.project in (None, GENERATED) else f"{size} ({goal.project})".lstrip()
        lines.append(f"| {goal.scenario} | {where} | {_describe(goal)} | not measured in this run | |")
    return "\n".join(lines)


def _describe(goal: Goal) -> str:
    what = "peak RSS of " if goal.metric == "max_rss_kb" else ""
    against = {"A": "bare alembic", "B": "bare alembic", "D": "1 runner alone"}.get(goal.scenario, "")
    if not goal.relative:
        return f"{what}`{goal.contender}` {_limit(goal)}"
    return f"{what}`{goal.contender}` {_limit(goal)} {against}"


def _limit(goal: Goal) -> str:
    if goal.relative:
        return f"≤ {goal.limit:g}{TIMES}"
    statistic = "worst" if goal.statistic == "max" else "median"
    return f"{statistic} ≤ {goal.limit * 1000:.0f} ms"


def _measured(goal: Goal, value: float) -> str:
    return f"{value:.2f}{TIMES}" if goal.relative else _value(value, goal.metric)


def _cell(text: str, limit: int = 400) -> str:
    """One line, safe inside a Markdown table or list."""
    flat = " ".join(text.split()).replace("|", "\\|")
    return flat if len(flat) <= limit else flat[: limit - 1] + "\u2026"


def _value(value: float, metric: Metric) -> str:
    if metric == "max_rss_kb":
        return f"{value / 1024:.1f} MiB"
    if abs(value) < 0.1:
        return f"{value * 1000:.1f} ms"
    if abs(value) < 1:
        return f"{value * 1000:.0f} ms"
    return f"{value:.2f} s"


def _range(summary: Summary, metric: Metric) -> str:
    """Both ends in the unit of the high end: 17.2 to 19.9 ms, 4.81 to 5.20 s, 61.0 to 63.2 MiB."""
    if metric == "max_rss_kb":
        return f"{summary.low / 1024:.1f}{DASH}{summary.high / 1024:.1f} MiB"
    if summary.high < 1:
        digits = 1 if summary.high < 0.1 else 0
        return f"{summary.low * 1000:.{digits}f}{DASH}{summary.high * 1000:.{digits}f} ms"
    return f"{summary.low:.2f}{DASH}{summary.high:.2f} s"
