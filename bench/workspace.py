"""What every scenario works with: the settings, the shared server, the generated projects, a scratch dir."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench import server
from bench.config import BenchConfig
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
