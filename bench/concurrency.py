"""D · concurrency: migrator runners started at once on an empty database against one alone."""

from __future__ import annotations

from bench import checks, server
from bench import contenders as c
from bench.measure import failure, finish, run, start
from bench.model import Case, Command, ContenderFailed, Sample
from bench.progress import note
from bench.projects import Project
from bench.stats import rotated
from bench.workspace import Workspace


def measure(ws: Workspace, project: Project, runners: int) -> Case:
    database = f"d_{project.name}_x{runners}"
    crowd = _commands(ws, project, database, runners)
    contenders = (c.ALONE, c.crowd(runners))
    setup = " ".join(filter(None, (_setup(project, runners), project.description)))
    case = Case("D", project.size, c.ALONE, contenders, setup=setup, project=project.kind)
    note(f"D {case.label} x{runners} warm-up")
    _run_on_empty(ws, project, database, crowd[:1])
    for round_index in range(ws.config.rounds):
        note(f"D {case.label} x{runners} round {round_index + 1}/{ws.config.rounds}")
        for name in rotated(contenders, round_index):
            case.add(name, _run_on_empty(ws, project, database, crowd if name != c.ALONE else crowd[:1]))
    case.checks.append(
        f"all {runners} runners exited 0 and each of the {project.size} migrations was applied exactly once, "
        f"in every round ({ws.config.rounds})"
    )
    return case


def _setup(project: Project, runners: int) -> str:
    return (
        f"N = {project.size}; `migrator upgrade` {runners} times at once against once alone, each on a fresh "
        "empty database; wall time from the first spawn to the last exit."
    )


def _run_on_empty(ws: Workspace, project: Project, database: str, commands: list[Command]) -> Sample:
    """Wall time from the first spawn to the last exit; peak RSS of the largest runner; CPU time of all."""
    server.recreate_database(ws.pg, database)
    if len(commands) == 1:
        finished = run(commands[0])
        checks.applied_once(ws.pg, database, project, c.ALONE)
        return finished.sample
    name = c.crowd(len(commands))
    running = [start(command) for command in commands]
    done = [finish(one) for one in running]
    failed = [one for one in done if one.exit_code != 0]
    if failed:
        first = failure(failed[0])
        raise ContenderFailed(f"{name}: {len(failed)} exited non-zero; {first}", first.output)
    checks.applied_once(ws.pg, database, project, name)
    wall = max(one.ended for one in done) - running[0].started
    return Sample(wall, max(one.max_rss_kb for one in done), sum(one.cpu_seconds for one in done))


def _commands(ws: Workspace, project: Project, database: str, count: int) -> list[Command]:
    prefix = f"d-{project.name}-x{count}"
    return [
        ws.migrator(project, database, "upgrade", f"{prefix}-runner-{index:02d}", f"runner {index}")
        for index in range(1, count + 1)
    ]
