"""Correctness after a run: the database at its target (head, or heads), every migration applied exactly once."""

from __future__ import annotations

from bench.model import ContenderFailed
from bench.projects import Project
from bench.server import query
from devtools.embedded_pg import EmbeddedPostgres

_TABLES = r"select count(*) from pg_tables where schemaname = 'public' and tablename ~ '^t[0-9]{4}$'"
# In byte order, as Python's sorted() orders Project.version_rows.
_VERSIONS = 'select version_num from alembic_version order by version_num collate "C"'
_DUPLICATES = "select revision, count(*) from applied_log group by revision having count(*) <> 1 order by revision"


def at_head(pg: EmbeddedPostgres, database: str, project: Project, who: str) -> None:
    """The version rows are the project's at its target: its head, or each stored head of several branches."""
    versions = query(pg, database, _VERSIONS)
    expected = [[row] for row in project.version_rows]
    if versions != expected:
        raise ContenderFailed(f"{who}: {database} is at {versions}, expected {expected}")


def applied_once(pg: EmbeddedPostgres, database: str, project: Project, who: str) -> None:
    """At head, one applied_log row per revision, and every table the revisions create exists."""
    at_head(pg, database, project, who)
    duplicates = query(pg, database, _DUPLICATES)
    if duplicates:
        raise ContenderFailed(f"{who}: revisions not applied exactly once in {database}: {duplicates}")
    logged = query(pg, database, "select count(distinct revision) from applied_log")
    tables = query(pg, database, _TABLES)
    if logged != [[str(project.size)]] or tables != [[str(project.tables)]]:
        raise ContenderFailed(
            f"{who}: {database} logged {logged} revisions and has {tables} tables, "
            f"expected {project.size} and {project.tables}"
        )
