"""The migration lock's key and what is known of its holder (importable without SQLAlchemy)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from migrator.core.errors import LockTimeout


def lock_key(version_table: str, schema: str | None) -> int:
    """A stable signed 64-bit key per (schema, version table); advisory locks are per database."""
    digest = hashlib.sha256(f"migrator:{schema or 'public'}.{version_table}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def key_parts(key: int) -> tuple[int, int]:
    """How pg_locks shows a bigint key: (classid, objid), the high and low 32 bits."""
    unsigned = key & 0xFFFFFFFFFFFFFFFF
    return unsigned >> 32, unsigned & 0xFFFFFFFF


# Taking the lock, and waiting for its holder inside PostgreSQL (psycopg2 placeholders; shared
# by lock.py and the light path). The wait is a shared lock in a transaction of its own: it
# costs nothing while it waits, every waiter wakes when the holder unlocks, and it goes with
# the transaction even behind a transaction pooler. lock_timeout bounds each wait.
TRY_SQL = "select pg_try_advisory_lock(%s), pg_backend_pid()"
WAIT_TIMEOUT_SQL = "select set_config('lock_timeout', %s, true)"
WAIT_SQL = "select pg_advisory_xact_lock_shared(%s)"
# What a bounded wait ends with when the holder kept the lock (lock_not_available), or when a
# signal, or a server-side statement_timeout, cancelled it (query_canceled).
WAIT_ENDED_CODES = frozenset({"55P03", "57014"})


def wait_slice(seconds: float) -> str:
    """lock_timeout for one wait: whole milliseconds, never 0 (which would mean no limit)."""
    return f"{max(1, int(seconds * 1000))}ms"


# Who holds a key (psycopg2 placeholders: classid, objid). Shared by lock.py and the light path,
# which does not load SQLAlchemy.
HOLDERS_SQL = """
    select a.pid, a.application_name, a.backend_start, a.query_start, a.state
    from pg_locks l join pg_stat_activity a on a.pid = l.pid
    where l.locktype = 'advisory' and l.granted
      and l.database = (select oid from pg_database where datname = current_database())
      and l.classid::bigint = %s and l.objid::bigint = %s and l.objsubid = 1
"""


@dataclass(frozen=True)
class Holder:
    pid: int
    application_name: str
    since: str | None
    query_start: str | None
    state: str | None


def holders_from_rows(rows: Iterable[Sequence[Any]]) -> list[Holder]:
    """HOLDERS_SQL's rows as Holders."""
    return [
        Holder(int(pid), application_name or "", _iso(since), _iso(query_start), state)
        for pid, application_name, since, query_start, state in rows
    ]


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def waiting_fields(found: list[Holder]) -> dict[str, Any]:
    """What `lock.waiting` says about the holder."""
    first = found[0] if found else None
    return {
        "holder_pid": first.pid if first else None,
        "holder_application_name": first.application_name if first else None,
        "holder_since": first.since if first else None,
        "holder_query_start": first.query_start if first else None,
    }


def timeout_error(key: int, timeout: float, found: list[Holder]) -> LockTimeout:
    if found:
        h = found[0]
        holder = f"pid {h.pid} (application_name={h.application_name!r}, connected since {h.since})"
    else:
        holder = "a session that has since gone"
    return LockTimeout(
        f"migration lock {key} not acquired within {timeout:g}s; held by {holder}",
        hint="another migration is still running; wait for it or raise --lock-timeout "
        "(a stuck holder can be ended with pg_terminate_backend(pid))",
    )
