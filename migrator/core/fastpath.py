"""The light path: everything `upgrade` (to head) and `check` can decide before importing
SQLAlchemy, Alembic, structlog or tenacity, and without executing revision files.

1. Read the heads statically (plain revision files only) and wait for the database
   with psycopg2 alone, so a runner started before PostgreSQL exits within a blink
   of it becoming ready.
2. At head (and no applied file changed): done, exit 0.
3. `upgrade` with work to do: take the migration lock here, waiting cheaply while
   another runner migrates; if that runner brought the database to head, done.
   Otherwise the open connection, lock held, is handed to the full path.

Every doubt (a config or file it does not fully understand, several heads, an
error it does not classify) hands over to the full path untouched, so behaviour
and exit codes stay the full path's.
"""

from __future__ import annotations

import configparser
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from migrator.core import checksums, lock, pg, scriptfiles
from migrator.core.events import Emitter
from migrator.core.session import Session
from migrator.core.settings import Settings

_DEFAULT_VERSION_TABLE = "alembic_version"
# Options whose effect on where revisions live we do not replicate: full path.
_UNHANDLED_OPTIONS = ("version_locations", "recursive_version_locations", "sourceless")


@dataclass(frozen=True)
class Project:
    versions: Path
    table: str
    schema: str | None
    head: str
    files: dict[str, Path]


def decide(session: Session, command: str) -> str | None:
    """The head revision when there is nothing to do; None hands over to the full path,
    with the connection open (and the lock held, for an upgrade with work)."""
    settings = session.settings
    project = _project(settings, session.emitter)
    if project is None or settings.database_url is None:
        return None
    psycopg2 = pg.driver()
    conn = session.connect()
    try:
        if _at_head(conn, project, settings):
            session.close()
            return project.head
        if command != "upgrade":
            return None
        return _lock(session, conn, project)
    except psycopg2.Error as exc:  # anything unexpected: the full path decides, with its own errors
        session.emitter.emit("fast_path.handover", level="debug", reason=pg.message_of(exc))
        session.close()
        return None


def _project(settings: Settings, emitter: Emitter) -> Project | None:
    def handover(reason: str, path: Path) -> None:
        emitter.emit("fast_path.handover", level="debug", reason=reason, path=str(path))

    try:
        found = _read_ini(settings.config_path)
        if found is None:
            handover("alembic.ini not understood", settings.config_path)
            return None
        versions, table, schema = found
        scanned = scriptfiles.scan(versions)
        heads = scriptfiles.heads(scanned[0]) if scanned is not None else None
        if scanned is None or not heads or len(heads) != 1:
            handover("revision files not understood", versions)
            return None
        return Project(versions, table, schema, heads[0], scanned[1])
    except (OSError, ValueError, configparser.Error) as exc:
        handover(f"{type(exc).__name__}: {exc}", settings.config_path)
        return None


def _read_ini(path: Path) -> tuple[Path, str, str | None] | None:
    parser = configparser.ConfigParser(defaults={"here": str(path.resolve().parent)})
    if not parser.read(path, encoding="utf-8") or not parser.has_section("alembic"):
        return None
    section = parser["alembic"]
    if any(option in section for option in _UNHANDLED_OPTIONS):
        return None
    location = section.get("script_location")
    if not location or (":" in location and not Path(location).is_absolute()):  # package:resource form
        return None
    table = section.get("version_table") or _DEFAULT_VERSION_TABLE
    return Path(location) / "versions", table, section.get("version_table_schema") or None


def _at_head(conn: Any, project: Project, settings: Settings) -> bool:
    """Version table at the single head, and no applied file changed since (else: the full path)."""
    pg.driver()
    from psycopg2 import sql  # type: ignore[import-untyped]

    with conn.cursor() as cursor:
        name = sql.Identifier(project.schema, project.table) if project.schema else sql.Identifier(project.table)
        cursor.execute("select to_regclass(%s) is not null", (name.as_string(conn),))
        if not cursor.fetchone()[0]:
            return False
        cursor.execute(sql.SQL("select version_num from {}").format(name))
        if sorted(row[0] for row in cursor.fetchall()) != [project.head]:
            return False
        table = checksums.HISTORY_TABLE
        history = sql.Identifier(project.schema, table) if project.schema else sql.Identifier(table)
        cursor.execute("select to_regclass(%s) is not null", (history.as_string(conn),))
        recorded: dict[str, str] = {}
        if cursor.fetchone()[0]:
            cursor.execute(sql.SQL(checksums.LATEST_ENTRIES_SQL.format(table="{}")).format(history))
            recorded = checksums.recorded(cursor.fetchall())
    files = project.files
    now = checksums.of_files(files, recorded)
    return not checksums.changed(recorded, now, settings.allow_changed)


def _lock(session: Session, conn: Any, project: Project) -> str | None:
    """Take the migration lock (waiting without a transaction); at head by then? done."""
    settings = session.settings
    key = settings.lock_key if settings.lock_key is not None else lock.lock_key(project.table, project.schema)
    pid = lock.acquire(
        conn,
        key,
        settings.lock_timeout,
        session.stop,
        session.emitter,
        # The holder commits before it unlocks: all waiters wake at once and see head, in
        # parallel, instead of queueing for the lock one by one to find nothing to do.
        done=lambda: _at_head(conn, project, settings),
    )
    if pid is None:
        session.close()
        return project.head
    if _at_head(conn, project, settings):  # the holder we waited for did the work
        lock.release(conn, key, session.emitter)
        session.close()
        return project.head
    session.locked_by = pid
    return None
