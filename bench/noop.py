"""A · no-op at head: migrator upgrade and check against bare alembic, with psql's `select 1` as the floor."""

from __future__ import annotations

from bench import checks, server
from bench import contenders as c
from bench.measure import run
from bench.model import Case, Command
from bench.progress import note
from bench.projects import Project
from bench.stats import rotated
from bench.workspace import Workspace

SETUP = "The database is at {target}. `psql -c 'select 1'` is the floor: a process start, a connection, a query."


def measure(ws: Workspace, project: Project) -> Case:
    database = f"a_{project.name}"
    server.recreate_database(ws.pg, database)
    upgrade, check, alembic, floor = _commands(ws, project, database)
    run(alembic)  # to the target; also compiles the revision files' bytecode
    checks.at_head(ws.pg, database, project, "setup")
    commands = {command.name: command for command in (upgrade, check, alembic, floor)}
    for command in commands.values():  # warm-up, not counted
        run(command)
    setup = " ".join(filter(None, (SETUP.format(target=project.target), project.description)))
    case = Case("A", project.size, alembic.name, tuple(commands), setup=setup, project=project.kind)
    for round_index in range(ws.config.rounds):
        note(f"A {case.label} round {round_index + 1}/{ws.config.rounds}")
        for name in rotated(case.contenders, round_index):
            case.add(name, run(commands[name]).sample)
    checks.applied_once(ws.pg, database, project, "A")
    return case


def _commands(ws: Workspace, project: Project, database: str) -> tuple[Command, Command, Command, Command]:
    """migrator upgrade, migrator check, bare alembic (the baseline), psql (the floor)."""
    prefix = f"a-{project.name}"
    return (
        ws.migrator(project, database, "upgrade", f"{prefix}-migrator-upgrade"),
        ws.migrator(project, database, "check", f"{prefix}-migrator-check"),
        ws.alembic(project, database, f"{prefix}-alembic"),
        c.psql_select(ws.psql, ws.pg.port, database, ws.config.base_env, ws.log(f"{prefix}-psql")),
    )
