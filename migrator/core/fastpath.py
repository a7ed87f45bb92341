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
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from migrator.core import checksums, events, lockkey, pgerrors, scriptfiles
from migrator.core.errors import DatabaseUnavailable
from migrator.core.redact import Redactor, mask_url, password_of
from migrator.core.settings import Settings
from migrator.core.signals import Stop

_DEFAULT_VERSION_TABLE = "alembic_version"
# Options whose effect on where revisions live we do not replicate: full path.
_UNHANDLED_OPTIONS = ("version_locations", "recursive_version_locations", "sourceless")
# The same back-off as wait.py: refused connections cost nothing, notice readiness fast.
FIRST_DELAY, MAX_DELAY, JITTER = 0.02, 0.05, 0.01
_RACE_BACKOFF_MAX = 0.05
_SUMMARY_EVERY = 5.0


@dataclass
class Handoff:
    """What the full path gets: maybe an open psycopg2 connection, maybe holding the lock."""

    connection: Any = None
    locked_by: int | None = None


@dataclass(frozen=True)
class Project:
    versions: Path
    table: str
    schema: str | None
    head: str
    files: dict[str, Path]


def decide(settings: Settings, stop: Stop, command: str) -> str | Handoff:
    """The head revision when there is nothing to do; otherwise what to hand over."""
    project = _project(settings)
    if project is None or settings.database_url is None:
        return Handoff()
    psycopg2 = _psycopg2()
    conn = _connect(settings, stop)
    if conn is None:
        return Handoff()
    try:
        if _at_head(conn, project, settings):
            conn.close()
            return project.head
        if command != "upgrade":
            conn.close()
            return Handoff()
        return _lock(conn, project, settings, stop)
    except psycopg2.Error:  # anything unexpected: the full path decides, with its own errors
        conn.close()
        return Handoff()
    except BaseException:
        conn.close()
        raise


def _psycopg2() -> Any:
    """psycopg2, without loading Python's ``ssl`` module on the way (a tenth of a no-op run).

    psycopg2 imports ``ssl`` only to install OpenSSL 1.0's locking callbacks and, when it
    cannot, leaves locking to libpq (psycopgmodule.c, libcrypto_threads_init). OpenSSL 1.1
    and later, which Python 3.11 and every psycopg2-binary wheel use, lock by themselves.
    """
    if "psycopg2" not in sys.modules and "ssl" not in sys.modules:
        sys.modules["ssl"] = None  # type: ignore[assignment]  # makes `import ssl` fail at once
        try:
            import psycopg2  # type: ignore[import-untyped]
        finally:
            del sys.modules["ssl"]
    import psycopg2

    return psycopg2


def _project(settings: Settings) -> Project | None:
    try:
        found = _read_ini(settings.config_path)
        if found is None:
            return None
        versions, table, schema = found
        scanned = scriptfiles.scan(versions)
        heads = scriptfiles.heads(scanned[0]) if scanned is not None else None
        if scanned is None or not heads or len(heads) != 1:
            return None
        return Project(versions, table, schema, heads[0], scanned[1])
    except (OSError, ValueError, configparser.Error):
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


def libpq_dsn(url: str) -> str:
    """The URL as libpq takes it: SQLAlchemy's driver suffix removed."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in ("postgres", "postgresql", "postgresql+psycopg2"):
        raise ValueError("not a PostgreSQL URL libpq understands")
    return "postgresql://" + rest


def _connect(settings: Settings, stop: Stop) -> Any:
    """psycopg2 alone, retried like the full path; None hands any unclassified trouble over."""
    import psycopg2

    assert settings.database_url is not None
    try:
        dsn = libpq_dsn(settings.database_url)
    except ValueError:
        return None
    options: dict[str, Any] = {
        "keepalives": 1,
        "keepalives_idle": 30,
        "keepalives_interval": 10,
        "keepalives_count": 3,
    }
    if "application_name=" not in dsn:
        options["application_name"] = "migrator"
    redact = Redactor([password_of(settings.database_url) or ""])
    started = time.monotonic()
    deadline = started + settings.wait_timeout
    delay, attempts, next_summary = FIRST_DELAY, 0, started
    while True:
        attempts += 1
        remaining = deadline - time.monotonic()
        try:
            conn = psycopg2.connect(dsn, connect_timeout=max(2, min(10, int(remaining) + 1)), **options)
        except psycopg2.OperationalError as exc:
            # fastlog does not redact: mask the URL's password here, should libpq ever echo it.
            message = redact(" ".join(str(exc).split()))
            if pgerrors.is_permanent(message):
                return None  # the full path reports it, with its exit code
            now = time.monotonic()
            if settings.wait_timeout <= 0 or now >= deadline:
                raise DatabaseUnavailable(
                    f"database {mask_url(settings.database_url)} not reachable within "
                    f"{settings.wait_timeout:g}s ({attempts} attempts): {message}",
                    hint="check that the server is up and reachable, or raise --wait-timeout",
                ) from None
            if now >= next_summary:
                events.emit(
                    settings.log_format, "db.waiting", attempt=attempts, waited_s=round(now - started, 1), error=message
                )
                next_summary = now + _SUMMARY_EVERY
            stop.sleep(min(delay + random.uniform(0, JITTER), max(0.0, deadline - now)))
            stop.raise_if_stopped()
            delay = min(delay * 2, MAX_DELAY)
            continue
        conn.autocommit = True
        waited_ms = round((time.monotonic() - started) * 1000)
        events.emit(settings.log_format, "db.ready", attempts=attempts, waited_ms=waited_ms)
        return conn


def _at_head(conn: Any, project: Project, settings: Settings) -> bool:
    """Version table at the single head, and no applied file changed since (else: the full path)."""
    from psycopg2 import sql

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


def _lock(conn: Any, project: Project, settings: Settings, stop: Stop) -> str | Handoff:
    """Take the migration lock, waiting in the server while another runner holds it; at head then? done."""
    key = settings.lock_key if settings.lock_key is not None else lockkey.lock_key(project.table, project.schema)
    started = time.monotonic()
    deadline = started + settings.lock_timeout
    next_report, backoff, freed = started, FIRST_DELAY, False
    with conn.cursor() as cursor:
        while True:
            cursor.execute(lockkey.TRY_SQL, (key,))
            got, pid = cursor.fetchone()
            if got:
                break
            # The holder commits before it unlocks: all waiters wake at once and see head, in
            # parallel, instead of queueing for the lock one by one to find nothing to do.
            if _at_head(conn, project, settings):
                return project.head
            if freed:  # the holder let go short of head and another runner was quicker
                stop.sleep(random.uniform(0, backoff))
                stop.raise_if_stopped()
                backoff = min(backoff * 2, _RACE_BACKOFF_MAX)
            now = time.monotonic()
            if now >= deadline or now >= next_report:
                cursor.execute(lockkey.HOLDERS_SQL, lockkey.key_parts(key))
                found = lockkey.holders_from_rows(cursor.fetchall())
                if now >= deadline:
                    raise lockkey.timeout_error(key, settings.lock_timeout, found)
                fields = lockkey.waiting_fields(found)
                events.emit(
                    settings.log_format, "lock.waiting", lock_key=key, waited_s=round(now - started, 1), **fields
                )
                next_report = now + _SUMMARY_EVERY
            freed = _wait_for_holder(conn, key, min(next_report, deadline) - now, stop)
            stop.raise_if_stopped()
        if _at_head(conn, project, settings):  # the holder we waited for did the work
            cursor.execute("select pg_advisory_unlock(%s)", (key,))
            conn.close()
            return project.head
    conn.autocommit = False
    return Handoff(conn, int(pid))


def _wait_for_holder(conn: Any, key: int, seconds: float, stop: Stop) -> bool:
    """Wait inside PostgreSQL until the holder lets go, for at most ``seconds``; True if it did."""
    import psycopg2

    stop.set_cancel(conn.cancel)
    conn.autocommit = False
    try:
        with conn.cursor() as cursor:
            cursor.execute(lockkey.WAIT_TIMEOUT_SQL, (lockkey.wait_slice(seconds),))
            cursor.execute(lockkey.WAIT_SQL, (key,))
        return True
    except psycopg2.Error as exc:
        if exc.pgcode in lockkey.WAIT_ENDED_CODES:
            return False
        raise
    finally:
        stop.set_cancel(None)
        conn.rollback()
        conn.autocommit = True
