"""TravelPacker's database models and the start-up schema check.

The application never builds or migrates its own schema: migrator does that
(``migrator upgrade``) before the application starts, and ``init_db`` only
refuses to run against a database that is not at the scripts' head.
"""

import os
from collections.abc import Iterable
from pathlib import Path

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from sqlalchemy import create_engine
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from migrator.core.phases import Step, declared, split
from src.database.audit_models import AuditLog
from src.database.base import Base
from src.database.models import (
    ItemCategory,
    PackingItem,
    Transportation,
    Traveler,
    TravelStyle,
    Trip,
    User,
)

__all__ = [
    "AuditLog",
    "Base",
    "ItemCategory",
    "PackingItem",
    "SchemaAheadError",
    "SchemaNotAtHeadError",
    "Transportation",
    "TravelStyle",
    "Traveler",
    "Trip",
    "User",
    "init_db",
    "normalise_url",
]

DEFAULT_ALEMBIC_INI = Path(__file__).resolve().parents[2] / "alembic.ini"

# SQLAlchemy 2.1 maps a bare postgresql:// to psycopg 3; only psycopg2 is installed.
_POSTGRES_DRIVERNAMES = frozenset({"postgres", "postgresql"})


class SchemaNotAtHeadError(RuntimeError):
    """The database's Alembic revision is not the migration scripts' head."""

    def __init__(self, current: Iterable[str], expected: Iterable[str]) -> None:
        self.current = tuple(sorted(current))
        self.expected = tuple(sorted(expected))
        super().__init__(
            f"database schema is at {_describe(self.current)}, expected "
            f"{_describe(self.expected)}; run `migrator upgrade` first"
        )


class SchemaAheadError(SchemaNotAtHeadError):
    """The database names a revision this code does not know: newer code migrated it (its expand
    phase, during a rollout), or this code is older than the database (a rollback)."""

    def __init__(self, current: Iterable[str], unknown: Iterable[str]) -> None:
        RuntimeError.__init__(
            self,
            f"database schema is at {_describe(tuple(sorted(current)))}, which this code does not know "
            f"({', '.join(sorted(unknown))}): the database is ahead of the code",
        )
        self.current = tuple(sorted(current))
        self.expected = ()


def normalise_url(database_url: str) -> URL:
    """Parse a database URL, pinning the psycopg2 driver for bare PostgreSQL schemes."""
    url = make_url(database_url)
    if url.drivername in _POSTGRES_DRIVERNAMES:
        return url.set(drivername="postgresql+psycopg2")
    return url


def init_db(database_url: str | None = None, alembic_ini: str | Path = DEFAULT_ALEMBIC_INI) -> str:
    """Return the database's revision if it is at head; raise SchemaNotAtHeadError otherwise.

    Reads only: never migrates, never calls ``create_all()``.
    """
    url = database_url or os.environ.get("DATABASE_URL")
    if not url:
        raise ValueError("no database URL: pass database_url or set DATABASE_URL")
    script = ScriptDirectory.from_config(Config(str(alembic_ini)))
    current = _current_heads(normalise_url(url))
    unknown = [rev for rev in current if rev not in _known(script)]
    if unknown:
        raise SchemaAheadError(current, unknown)
    pending = list(reversed(list(script.iterate_revisions("heads", current, implicit_base=True))))
    if pending and not _only_contract_steps(pending):
        raise SchemaNotAtHeadError(current, script.get_heads())
    return _describe(tuple(sorted(current)))


def _known(script: ScriptDirectory) -> set[str]:
    return {s.revision for s in script.walk_revisions()}


def _only_contract_steps(pending: list[Script]) -> bool:
    """Between `migrator upgrade --phase expand` and `--phase contract` (the rollout in between),
    only revisions declared ``phase = "contract"`` (and what follows them) are pending: this code
    already works with that schema."""
    steps = [
        Step(s.revision, declared(getattr(s.module, "phase", None)), tuple(s._all_down_revisions)) for s in pending
    ]
    expandable, _ = split(steps)
    return not expandable


def _current_heads(url: URL) -> tuple[str, ...]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_heads()
    finally:
        engine.dispose()


def _describe(revisions: tuple[str, ...]) -> str:
    return ", ".join(revisions) if revisions else "<base> (no revision)"
