"""The migration lock's key (pure; importable without SQLAlchemy)."""

from __future__ import annotations

import hashlib


def lock_key(version_table: str, schema: str | None) -> int:
    """A stable signed 64-bit key per (schema, version table); advisory locks are per database."""
    digest = hashlib.sha256(f"migrator:{schema or 'public'}.{version_table}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def key_parts(key: int) -> tuple[int, int]:
    """How pg_locks shows a bigint key: (classid, objid), the high and low 32 bits."""
    unsigned = key & 0xFFFFFFFFFFFFFFFF
    return unsigned >> 32, unsigned & 0xFFFFFFFF


# Who holds a key (psycopg2 placeholders: classid, objid); used where SQLAlchemy is not loaded.
HOLDERS_SQL = """
    select a.pid, a.application_name, a.backend_start, a.query_start
    from pg_locks l join pg_stat_activity a on a.pid = l.pid
    where l.locktype = 'advisory' and l.granted
      and l.database = (select oid from pg_database where datname = current_database())
      and l.classid::bigint = %s and l.objid::bigint = %s and l.objsubid = 1
    limit 1
"""
