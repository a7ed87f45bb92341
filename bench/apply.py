"""B · apply N migrations to an empty database: migrator against bare alembic, psql -1 -f of the same SQL."""

from __future__ import annotations

import subprocess
from pathlib import Path

from bench import checks, server
from bench import contenders as c
from bench.measure import run
from bench.model import Case, Command, ContenderFailed, Sample
from bench.progress import note
from bench.projects import Project
from bench.stats import rotated
from bench.workspace import Workspace

SETUP = "Each run on a fresh empty database, created outside the timing and checked after it."
FLOOR = "The floor is `psql -1 -f` of `alembic upgrade head --sql` for the same project, in one transaction."
NO_FLOOR = "No psql floor: revisions that read data cannot be rendered by `alembic upgrade head --sql`."
# Alembic's offline script opens and commits its own transaction; psql -1 already wraps the file in one.
_OWN_TRANSACTION = {"BEGIN;", "COMMIT;"}


def measure(ws: Workspace, project: Project) -> Case:
    database = f"b_{project.name}"
    commands = _commands(ws, project, database)
    contenders = tuple(commands)
    setup = " ".join(filter(None, (SETUP, FLOOR if project.offline else NO_FLOOR, project.description)))
    baseline = c.alembic_upgrade_name(project.target)
    case = Case("B", project.size, baseline, contenders, setup=setup, project=project.kind)
    note(f"B {case.label} warm-up")
    _one_round(ws, project, database, list(commands.values()))
    for round_index in range(ws.config.rounds):
        note(f"B {case.label} round {round_index + 1}/{ws.config.rounds}")
        order = [commands[name] for name in rotated(contenders, round_index)]
        for name, sample in _one_round(ws, project, database, order):
            case.add(name, sample)
    return case


def _one_round(ws: Workspace, project: Project, database: str, order: list[Command]) -> list[tuple[str, Sample]]:
    """Each contender on a fresh empty database (created outside the timing), then checked."""
    samples = []
    for command in order:
        server.recreate_database(ws.pg, database)
        finished = run(command)
        checks.applied_once(ws.pg, database, project, command.name)
        samples.append((command.name, finished.sample))
    return samples


def render_sql(command: Command, target: Path) -> Path:
    """`alembic upgrade head --sql` into a file, without its BEGIN/COMMIT lines."""
    result = subprocess.run(
        command.argv, env=dict(command.env), cwd=command.cwd, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise ContenderFailed(f"{command.name} exited {result.returncode}: {result.stderr[-2000:]}")
    lines = [line for line in result.stdout.splitlines() if line.strip() not in _OWN_TRANSACTION]
    target.write_text("\n".join(lines) + "\n")
    return target


def _commands(ws: Workspace, project: Project, database: str) -> dict[str, Command]:
    """The contenders, the psql floor only for a project that renders offline."""
    prefix = f"b-{project.name}"
    upgrade = ws.migrator(project, database, "upgrade", f"{prefix}-migrator-upgrade")
    alembic = ws.alembic(project, database, f"{prefix}-alembic")
    commands = {upgrade.name: upgrade, alembic.name: alembic}
    if project.offline:
        ini, env, tools = ws.ini(project, database), ws.config.base_env, ws.config.tools
        script = c.alembic_sql(tools, ini, env, ws.log(f"{prefix}-sql"), cwd=project.root, target=project.target)
        sql = render_sql(script, project.root / f"{database}.sql")
        commands[c.PSQL_FILE] = c.psql_file(ws.psql, ws.pg.port, database, sql, env, ws.log(f"{prefix}-psql"))
    return commands
