"""D · concurrency: 20 migrator runners at once on an empty database against one alone."""

from __future__ import annotations

from bench import checks, server
from bench import contenders as c
from bench.goals import ALONE, CROWD
from bench.measure import failure, finish, run, start
from bench.model import Case, Command, ContenderFailed, Sample
from bench.progress import note
from bench.projects import Project
from bench.stats import rotated
from bench.workspace import Workspace

CONTENDERS = (ALONE, CROWD)


def measure(ws: Workspace, project: Project) -> Case:
    database = f"d_n{project.size}"
    runners = ws.config.concurrent_runners
    crowd = _commands(ws, project, database, runners)
    note(f"D N={project.size} warm-up")
    _run_on_empty(ws, project, database, crowd[:1])
    case = Case("D", project.size, ALONE, CONTENDERS, setup=_setup(project, runners))
    for round_index in range(ws.config.rounds):
        note(f"D N={project.size} round {round_index + 1}/{ws.config.rounds}")
        for name in rotated(CONTENDERS, round_index):
            case.add(name, _run_on_empty(ws, project, database, crowd if name == CROWD else crowd[:1]))
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
        checks.applied_once(ws.pg, database, project, ALONE)
        return finished.sample
    running = [start(command) for command in commands]
    done = [finish(one) for one in running]
    failed = [one for one in done if one.exit_code != 0]
    if failed:
        first = failure(failed[0])
        raise ContenderFailed(f"{CROWD}: {len(failed)} exited non-zero; {first}", first.output)
    checks.applied_once(ws.pg, database, project, CROWD)
    wall = max(one.ended for one in done) - running[0].started
    return Sample(wall, max(one.max_rss_kb for one in done), sum(one.cpu_seconds for one in done))


def _commands(ws: Workspace, project: Project, database: str, count: int) -> list[Command]:
    ini, url, env, tools = ws.ini(project, database), ws.url(database), ws.config.base_env, ws.config.tools
    return [
        c.migrator(tools, "upgrade", ini, url, env, ws.log(f"d{project.size}-runner-{index:02d}"), f"runner {index}")
        for index in range(1, count + 1)
    ]
