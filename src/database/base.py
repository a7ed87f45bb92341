"""Declarative base shared by every TravelPacker table.

No naming convention: the original application created its tables with
SQLAlchemy's defaults (``ix_<table>_<column>`` indexes, PostgreSQL-chosen
``<table>_pkey`` / ``<table>_<column>_fkey`` constraint names), and databases
built that way must compare equal to these models.
"""

from datetime import UTC, datetime

from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Root of the TravelPacker models; ``Base.metadata`` is Alembic's target."""


def utcnow() -> datetime:
    """Current UTC time, naive, to match the ``timestamp without time zone`` columns."""
    return datetime.now(UTC).replace(tzinfo=None)
