"""The "nothing to do" fast path: is the database already at head? Decided without
importing SQLAlchemy, Alembic, structlog or tenacity, and without executing revision files.

It answers only "yes, at head" or "don't know" (None). Every doubt (a config it
does not fully understand, a non-plain revision file, several heads, a database
not reachable at the first attempt, any error) returns None and the caller takes
the full path, so exit codes and behaviour stay exactly the full path's.
"""

from __future__ import annotations

import configparser
from pathlib import Path
from typing import Any

from migrator import checksums, scriptfiles
from migrator.settings import Settings

_DEFAULT_VERSION_TABLE = "alembic_version"
# Kept in step with history.py (which imports SQLAlchemy, so it cannot be imported here).
HISTORY_TABLE = "migrator_history"
RECORDING = ("upgrade", "stamp", "baseline", "accepted")
# Options whose effect on where revisions live we do not replicate: full path.
_UNHANDLED_OPTIONS = ("version_locations", "recursive_version_locations", "sourceless")
_CONNECT_TIMEOUT_S = 2


def at_head(settings: Settings) -> str | None:
    """The single head revision if the database is provably at it; None on any doubt."""
    try:
        project = _read_ini(settings.config_path)
        if project is None or settings.database_url is None:
            return None
        versions_dir, table, schema = project
        scanned = scriptfiles.scan(versions_dir)
        found = scriptfiles.heads(scanned[0]) if scanned is not None else None
        if scanned is None or not found or len(found) != 1:
            return None
        current, recorded = _database_state(settings.database_url, table, schema)
        if current != [found[0]]:
            return None
        # An edited applied migration is the full path's to refuse (exit 5): never skip past it.
        files = scanned[1]
        now = {rev: checksums.checksum(files[rev].read_text(encoding="utf-8")) for rev in recorded if rev in files}
        return found[0] if not checksums.changed(recorded, now, settings.allow_changed) else None
    except Exception:  # noqa: BLE001  (any doubt: the full path decides, with its own errors)
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


_RECORDED = """
    select distinct on (revision) revision, direction, checksum from {} where success
    order by revision, id desc
"""


def _database_state(url: str, table: str, schema: str | None) -> tuple[list[str], dict[str, str]]:
    """The version table's revisions and the checksums migrator_history recorded (as history.py reads them)."""
    import psycopg2  # type: ignore[import-untyped]
    from psycopg2 import sql

    dsn = libpq_dsn(url)
    options: dict[str, Any] = {"connect_timeout": _CONNECT_TIMEOUT_S}
    if "application_name=" not in dsn:
        options["application_name"] = "migrator"
    conn = psycopg2.connect(dsn, **options)
    try:
        with conn.cursor() as cursor:
            name = sql.Identifier(schema, table) if schema else sql.Identifier(table)
            cursor.execute(sql.SQL("select version_num from {}").format(name))
            revisions = sorted(row[0] for row in cursor.fetchall())
            history = sql.Identifier(schema, HISTORY_TABLE) if schema else sql.Identifier(HISTORY_TABLE)
            cursor.execute("select to_regclass(%s) is not null", (history.as_string(conn),))
            recorded: dict[str, str] = {}
            if cursor.fetchone()[0]:
                cursor.execute(sql.SQL(_RECORDED).format(history))
                recorded = {
                    rev: digest for rev, direction, digest in cursor.fetchall() if digest and direction in RECORDING
                }
            return revisions, recorded
    finally:
        conn.close()
