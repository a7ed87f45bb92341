"""F · under load: the expand step of devtools/under_load.py on a million packing items while a writer works.

migrator with the online helpers (`migrator upgrade --phase expand`) against the plain Alembic idioms
run by bare `alembic upgrade head`, each on its own copy of one seeded database, each under the same
writer (devtools/writer.py, another process). For each: the migration's wall time, the writer's
longest statement while it ran (its stall), what it wrote meanwhile and its errors. No goal: a stall
is reported, never judged; a contender that fails or leaves the schema short fails the case.
"""

from __future__ import annotations

import time
from pathlib import Path

from bench import contenders as c
from bench import server
from bench.measure import run
from bench.model import UNDER_LOAD, Case, Command, ContenderFailed, Sample
from bench.progress import note
from bench.projects import Project
from bench.stats import rotated
from bench.workspace import Workspace
from devtools.under_load import (
    BEFORE_LOAD,
    EXPECTED_STATE,
    HEAD,
    ONLINE,
    PLAIN,
    STATE_SQL,
    TRAVELERS_PER_TRIP,
    Dataset,
    write_project,
)
from devtools.writer import TICK_S, Writer, during

TEMPLATE = "f_seeded"
DATABASE = "f_run"


def write_projects(root: Path) -> dict[str, Project]:
    """The same expand step twice, written with the online helpers (ONLINE) and with plain Alembic ops (PLAIN)."""
    return {idioms: _project(root / f"under-load-{idioms}", idioms) for idioms in (ONLINE, PLAIN)}


def measure(ws: Workspace, projects: dict[str, Project]) -> Case:
    data = Dataset(ws.config.load_rows)
    commands = {
        c.MIGRATOR_EXPAND: ws.migrator(
            projects[ONLINE], DATABASE, "upgrade", "f-migrator", c.MIGRATOR_EXPAND, args=("--phase", "expand")
        ),
        c.ALEMBIC_UPGRADE: ws.alembic(projects[PLAIN], DATABASE, "f-alembic"),
    }
    contenders = tuple(commands)
    case = Case("F", data.items, c.ALEMBIC_UPGRADE, contenders, setup=_setup(data), project=UNDER_LOAD)
    _seed(ws, projects[ONLINE], data)
    try:
        note(f"F {data.items:,} rows warm-up")
        for name in contenders:
            _one_run(ws, commands[name], data)
        for round_index in range(ws.config.rounds):
            for name in rotated(contenders, round_index):
                note(f"F {data.items:,} rows round {round_index + 1}/{ws.config.rounds}: {name}")
                case.add(name, _one_run(ws, commands[name], data))
    finally:
        server.drop_database(ws.pg, DATABASE)
        server.drop_database(ws.pg, TEMPLATE)
    case.checks.append(
        f"after every run ({ws.config.rounds} rounds and the warm-up): at {HEAD}, the index valid "
        "(pg_index.indisvalid), the foreign key validated (pg_constraint.convalidated), weight_grams with its default 0"
    )
    return case


def _project(root: Path, idioms: str) -> Project:
    description = f"The app's revisions, then load01..load03 written with the {idioms} idioms (devtools/under_load.py)."
    write_project(root, idioms)
    return Project(
        root, (BEFORE_LOAD, "load02", HEAD), tables=0, kind=UNDER_LOAD, offline=False, description=description
    )


def _setup(data: Dataset) -> str:
    return (
        f"{data.items:,} packing items ({data.trips:,} trips, {data.trips * TRAVELERS_PER_TRIP:,} travelers, "
        f"{data.users:,} users) "
        "seeded once (`INSERT … SELECT generate_series`, then `VACUUM ANALYZE`), at `load01`; each run on a copy "
        "of that database (`CREATE DATABASE … TEMPLATE`, outside the timing). "
        f"A writer in another process (devtools/writer.py) runs one statement every {TICK_S * 1000:g} ms "
        "in autocommit (insert a packing item, flip one's `is_packed`, update a traveler) from before the "
        "migration starts until it has ended. The expand step: `weight_grams` NOT NULL DEFAULT 0 (`op.add_column`, "
        "a revision of its own), then an index on `packing_items.traveler_id` and a foreign key to `travelers`: "
        "`migrator upgrade --phase expand` with `online.create_index_concurrently` and `online.add_foreign_key`, "
        "bare `alembic upgrade head` with `op.create_index` and `op.create_foreign_key` (one transaction, as "
        "Alembic runs by default). Stall: the writer's longest statement that ran while the migration did."
    )


def _seed(ws: Workspace, project: Project, data: Dataset) -> None:
    """The template every run copies: the app's schema and load01 by migrator, then the rows."""
    note(f"F seeding {data.items:,} packing items")
    server.recreate_database(ws.pg, TEMPLATE)
    run(ws.migrator(project, TEMPLATE, "upgrade", "f-seed", "migrator upgrade (seed)", args=(BEFORE_LOAD,)))
    for statement in data.seed_sql():
        ws.pg.psql(statement, database=TEMPLATE)


def _one_run(ws: Workspace, command: Command, data: Dataset) -> Sample:
    """One contender on a fresh copy, under the writer; checked after."""
    server.clone_database(ws.pg, DATABASE, TEMPLATE)
    try:
        with Writer(ws.url(DATABASE), data, env=ws.config.base_env) as writer:
            writer.wait_until_writing()
            started = time.time()
            finished = run(command)
            ended = time.time()
            statements = writer.stop()
    except RuntimeError as exc:
        raise ContenderFailed(f"the writer beside {command.name} failed: {exc}") from exc
    _check(ws, command.name)
    seen = during(statements, started, ended)
    if seen.errors:
        note(f"F the writer beside {command.name} saw {len(seen.errors)} errors, the first: {seen.errors[0]}")
    sample = finished.sample
    return Sample(sample.seconds, sample.max_rss_kb, sample.cpu_seconds, seen.longest, seen.written, len(seen.errors))


def _check(ws: Workspace, name: str) -> None:
    found = server.query(ws.pg, DATABASE, STATE_SQL)
    expected = [["t" if value is True else str(value) for value in EXPECTED_STATE]]
    if found != expected:
        raise ContenderFailed(
            f"{name} left {found} (index valid, foreign key validated, default, version); expected {expected}"
        )
