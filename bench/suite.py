"""`python -m bench`: one server, the generated projects, scenarios A to D and F (E is read off A and B), the report."""

from __future__ import annotations

import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench import apply, concurrency, contenders, noop, readiness, report, results, server, underload, wakeup
from bench.config import BadSetting, BenchConfig, from_environment
from bench.machine import describe, load_average
from bench.model import Case, ContenderFailed
from bench.multibase import write_multibase
from bench.progress import note
from bench.projects import Project, write_project
from bench.realworld import write_realworld
from bench.workspace import Workspace
from devtools.embedded_pg import EmbeddedPostgres
from devtools.under_load import ONLINE

Planned = tuple[str, Project, Callable[[], Case]]


def main() -> int:
    started = time.monotonic()
    try:
        config = from_environment()
    except BadSetting as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    root = Path(tempfile.mkdtemp(prefix="migrator-bench-"))
    contenders.compile_migrator()
    note(f"work dir {root}; PostgreSQL starting")
    pg = server.launch(config.data_dir)
    try:
        outcome = _measure(config, pg, root)
    finally:
        pg.destroy()
    outcome.wall_seconds = time.monotonic() - started
    outcome.machine["load_at_end"] = load_average()
    print(report.render(outcome), end="", flush=True)
    results.write(config.json_path, outcome)
    note(f"JSON written to {config.json_path}; took {outcome.wall_seconds:.0f} s")
    if outcome.failures or config.keep_work_dir:
        note(f"projects and contender logs kept in {root}")
    else:
        shutil.rmtree(root, ignore_errors=True)
    return 1 if outcome.failures else 0


def _measure(config: BenchConfig, pg: EmbeddedPostgres, root: Path) -> results.Outcome:
    sizes = sorted({*config.noop_sizes, *config.apply_sizes, config.readiness_size, config.concurrency_size})
    projects = {size: write_project(root / f"n{size}", size) for size in sizes}
    real_world = write_realworld(root / "real-world", config.real_world_size)
    held = write_realworld(root / "real-world-held", config.real_world_size, hold_s=wakeup.HOLD_S)
    multibase = write_multibase(root / "multi-base", config.multi_base_size)
    under_load = underload.write_projects(root)
    ws = Workspace(config, pg, root, projects, server.psql_binary())
    outcome = results.Outcome(config, describe(server.version(pg), pg.data_dir))
    for scenario, project, measure in _plan(ws, real_world, held, multibase, under_load, random.Random(config.seed)):
        try:
            outcome.cases.append(measure())
        except ContenderFailed as exc:
            note(f"{scenario} {project.label} failed: {exc}\n{exc.output}")
            outcome.failures.append(f"{scenario} N={project.label}: {exc}")
            outcome.cases.append(Case(scenario, project.size, None, (), error=str(exc), project=project.kind))
    return outcome


def _plan(
    ws: Workspace,
    real_world: Project,
    held: Project,
    multibase: Project,
    under_load: dict[str, Project],
    rng: random.Random,
) -> list[Planned]:
    """Every case in the order they run, scenario by scenario: today's chains, the real-world one, the multi-base
    project (A only: a no-op at `heads`), the expand step under load (F, its own projects and rows)."""
    config, projects = ws.config, ws.projects
    planned: list[Planned] = [
        *[("A", projects[n], lambda n=n: noop.measure(ws, projects[n])) for n in config.noop_sizes],
        ("A", real_world, lambda: noop.measure(ws, real_world)),
        ("A", multibase, lambda: noop.measure(ws, multibase)),
        *[("B", projects[n], lambda n=n: apply.measure(ws, projects[n])) for n in config.apply_sizes],
        ("B", real_world, lambda: apply.measure(ws, real_world)),
        ("C", projects[config.readiness_size], lambda: readiness.measure(ws, projects[config.readiness_size], rng)),
        ("D", real_world, lambda: concurrency.measure(ws, real_world, config.real_world_runners)),
        ("D", held, lambda: wakeup.measure(ws, held, config.waiters)),
    ]
    crowd = config.concurrent_runners
    if crowd is not None:
        project = projects[config.concurrency_size]
        planned.append(("D", project, lambda: concurrency.measure(ws, project, crowd)))
    planned.append(("F", under_load[ONLINE], lambda: underload.measure(ws, under_load)))
    return [entry for entry in planned if entry[0] in config.scenarios]
