"""What every scenario works with: the settings, the shared server, the generated projects, a scratch dir."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench import contenders as c
from bench import server
from bench.config import BenchConfig
from bench.model import Command
from bench.projects import Project, write_ini
from devtools.embedded_pg import EmbeddedPostgres


@dataclass(frozen=True)
class Workspace:
    config: BenchConfig
    pg: EmbeddedPostgres
    root: Path
    projects: dict[int, Project]
    psql: str

    def log(self, name: str) -> Path:
        return self.root / "logs" / f"{name}.log"

    def ini(self, project: Project, database: str, pg: EmbeddedPostgres | None = None) -> Path:
        """An ini naming `database` (bare alembic needs the URL in the file; SQLAlchemy 2.1 wants +psycopg2)."""
        return write_ini(project, database, server.url(pg or self.pg, database, driver="postgresql+psycopg2"))

    def url(self, database: str, pg: EmbeddedPostgres | None = None) -> str:
        return server.url(pg or self.pg, database)

    def migrator(
        self,
        project: Project,
        database: str,
        verb: str,
        log: str,
        name: str | None = None,
        pg: EmbeddedPostgres | None = None,
        args: tuple[str, ...] = (),
    ) -> Command:
        """`migrator VERB [ARGS]` on `database` to the project's target, run in the project's directory."""
        ini, url = self.ini(project, database, pg), self.url(database, pg)
        tools, env, log_path = self.config.tools, self.config.base_env, self.log(log)
        return c.migrator(
            tools, verb, ini, url, env, log_path, name, cwd=project.root, target=project.target, args=args
        )

    def alembic(self, project: Project, database: str, log: str, pg: EmbeddedPostgres | None = None) -> Command:
        """Bare `alembic upgrade head` (or the project's other target) on `database`, in the project's directory."""
        ini, tools, env = self.ini(project, database, pg), self.config.tools, self.config.base_env
        return c.alembic_upgrade(tools, ini, env, self.log(log), cwd=project.root, target=project.target)
