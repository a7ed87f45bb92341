"""The application's own migrations: pytest-alembic's built-in checks, and init_db() at start-up."""

from __future__ import annotations

from collections.abc import Iterator

import alembic.config
import pytest
import sqlalchemy as sa
from pytest_alembic import Config
from pytest_alembic.tests import (  # noqa: F401  (collected as tests here)
    test_model_definitions_match_ddl,
    test_single_head_revision,
    test_up_down_consistency,
    test_upgrade,
)
from sqlalchemy.engine import make_url

from src.database import SchemaNotAtHeadError, init_db
from tests.conftest import REPO, run
from tests.support.servers import Server


@pytest.fixture
def alembic_config() -> Config:
    config = alembic.config.Config(str(REPO / "alembic.ini"))
    config.attributes["configure_logger"] = False  # keep pytest's logging as it is
    return Config(alembic_config=config)


@pytest.fixture
def alembic_engine(server: Server, database: str) -> Iterator[sa.Engine]:
    url = make_url(server.url_for(database)).set(drivername="postgresql+psycopg2")
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    yield engine
    engine.dispose()


def test_init_db_accepts_a_database_at_head(server: Server, database: str) -> None:
    """After `migrator upgrade`, init_db() returns the head revision and changes nothing."""
    url = server.url_for(database)
    assert run(["upgrade"], url).returncode == 0
    assert init_db(url) == "a1b2c3d4e5f6"


def test_init_db_refuses_a_database_behind_head(server: Server, database: str) -> None:
    """init_db() never migrates or creates tables: it names current and expected revisions."""
    url = server.url_for(database)
    with pytest.raises(SchemaNotAtHeadError) as empty:
        init_db(url)
    assert str(empty.value) == (
        "database schema is at <base> (no revision), expected a1b2c3d4e5f6; run `migrator upgrade` first"
    )
    assert run(["upgrade", "36a04cd7adbc"], url).returncode == 0
    with pytest.raises(SchemaNotAtHeadError, match="at 36a04cd7adbc, expected a1b2c3d4e5f6"):
        init_db(url)
    engine = sa.create_engine(make_url(url).set(drivername="postgresql+psycopg2"), poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        columns = {c["name"] for c in sa.inspect(conn).get_columns("packing_items")}
    engine.dispose()
    assert "actually_used" not in columns
