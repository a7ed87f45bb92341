"""C · readiness: the runner starts while its server is down; how long after "ready" does it exit?"""

from __future__ import annotations

import random
import time

from bench import checks, server
from bench import contenders as c
from bench.measure import finish, run, start, succeeded
from bench.model import Case, Command, Sample
from bench.progress import note
from bench.projects import Project
from bench.stats import rotated
from bench.workspace import Workspace
from devtools.embedded_pg import EmbeddedPostgres

CONTENDERS = (c.MIGRATOR_UPGRADE, c.ALEMBIC_LOOP)
DATABASE = "c_ready"
SERVER_DELAY_S = 2.0
JITTER_S = 0.5


def measure(ws: Workspace, project: Project, rng: random.Random) -> Case:
    """On a server of its own, at head, stopped between runs."""
    note("C starting its own server")
    pg = server.launch(ws.config.data_dir)
    try:
        server.recreate_database(pg, DATABASE)
        commands = _commands(ws, project, pg)
        run(commands[c.ALEMBIC_UPGRADE])
        checks.applied_once(pg, DATABASE, project, "setup")
        pg.stop()
        rounds = ws.config.readiness_rounds
        case = Case("C", project.size, None, CONTENDERS, setup=_setup(project, rounds))
        for round_index in range(rounds):
            note(f"C N={project.size} round {round_index + 1}/{rounds}")
            for name in rotated(CONTENDERS, round_index):
                case.add(name, Sample(latency(pg, commands[name], rng)))
        return case
    finally:
        pg.destroy()


def latency(pg: EmbeddedPostgres, command: Command, rng: random.Random) -> float:
    """Seconds from the server log's "ready to accept connections" to the runner's exit."""
    offset = server.log_size(pg)
    running = start(command)
    try:
        time.sleep(SERVER_DELAY_S + rng.uniform(0.0, JITTER_S))
        pg.start(wait=False)
        finished = succeeded(finish(running, timeout=120))
        return finished.ended_wall - server.ready_at(pg, offset)
    finally:
        if running.process.returncode is None:
            running.process.kill()
            finish(running)
        pg.stop()


def _setup(project: Project, rounds: int) -> str:
    return (
        f"N = {project.size}, database at head, {rounds} rounds, MIGRATOR_WAIT_TIMEOUT=60. The server is started "
        f"(`pg_ctl start`, not waiting) {SERVER_DELAY_S:g} s after the runner plus 0 to {JITTER_S:g} s of jitter; "
        "latency is the runner's exit minus the server log's \"ready to accept connections\"."
    )


def _commands(ws: Workspace, project: Project, pg: EmbeddedPostgres) -> dict[str, Command]:
    ini, env, tools = ws.ini(project, DATABASE, pg), ws.config.base_env, ws.config.tools
    return {
        c.MIGRATOR_UPGRADE: ws.migrator(project, DATABASE, "upgrade", "c-migrator-upgrade", pg=pg),
        c.ALEMBIC_LOOP: c.alembic_loop(tools, ini, env, ws.log("c-alembic-loop"), cwd=project.root),
        c.ALEMBIC_UPGRADE: ws.alembic(project, DATABASE, "c-alembic-setup", pg=pg),
    }
