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

CONTENDERS = (c.MIGRATOR_UPGRADE, c.MIGRATOR_CHECK, c.ALEMBIC_UPGRADE, c.PSQL_SELECT)
SETUP = "The database is at head. `psql -c 'select 1'` is the floor: a process start, a connection, a query."


def measure(ws: Workspace, project: Project) -> Case:
    database = f"a_{project.name}"
    server.recreate_database(ws.pg, database)
    commands = _commands(ws, project, database)
    run(commands[c.ALEMBIC_UPGRADE])  # to head; also compiles the revision files' bytecode
    checks.at_head(ws.pg, database, project, "setup")
    for name in CONTENDERS:  # warm-up, not counted
        run(commands[name])
    setup = " ".join(filter(None, (SETUP, project.description)))
    case = Case("A", project.size, c.ALEMBIC_UPGRADE, CONTENDERS, setup=setup, project=project.kind)
    for round_index in range(ws.config.rounds):
        note(f"A {case.label} round {round_index + 1}/{ws.config.rounds}")
        for name in rotated(CONTENDERS, round_index):
            case.add(name, run(commands[name]).sample)
    checks.applied_once(ws.pg, database, project, "A")
    return case


def _commands(ws: Workspace, project: Project, database: str) -> dict[str, Command]:
    prefix = f"a-{project.name}"
    return {
        c.MIGRATOR_UPGRADE: ws.migrator(project, database, "upgrade", f"{prefix}-migrator-upgrade"),
        c.MIGRATOR_CHECK: ws.migrator(project, database, "check", f"{prefix}-migrator-check"),
        c.ALEMBIC_UPGRADE: ws.alembic(project, database, f"{prefix}-alembic"),
        c.PSQL_SELECT: c.psql_select(ws.psql, ws.pg.port, database, ws.config.base_env, ws.log(f"{prefix}-psql")),
    }
