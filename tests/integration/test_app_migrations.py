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
from sqlalchemy.orm import Session

from src.database import SchemaNotAtHeadError, User, init_db
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


INITIAL, AVATAR_EXPAND, HEAD = "36a04cd7adbc", "b2c3d4e5f6a7", "c3d4e5f6a7b8"
USER_PICTURES = "select id, profile_picture, avatar_url from users order by id"


def test_init_db_accepts_a_database_at_head(server: Server, database: str) -> None:
    """After `migrator upgrade`, init_db() returns the head revision and changes nothing."""
    url = server.url_for(database)
    assert run(["upgrade"], url).returncode == 0
    assert init_db(url) == HEAD


def test_init_db_refuses_a_database_behind_head(server: Server, database: str) -> None:
    """init_db() never migrates or creates tables: it names current and expected revisions."""
    url = server.url_for(database)
    with pytest.raises(SchemaNotAtHeadError) as empty:
        init_db(url)
    assert str(empty.value) == (
        "database schema is at <base> (no revision), expected c3d4e5f6a7b8; run `migrator upgrade` first"
    )
    assert run(["upgrade", INITIAL], url).returncode == 0
    with pytest.raises(SchemaNotAtHeadError, match=f"at {INITIAL}, expected {HEAD}"):
        init_db(url)
    engine = sa.create_engine(make_url(url).set(drivername="postgresql+psycopg2"), poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        columns = {c["name"] for c in sa.inspect(conn).get_columns("packing_items")}
    engine.dispose()
    assert "actually_used" not in columns


def test_the_avatar_url_rename_serves_old_and_new_code_through_expand_and_contract(
    server: Server, database: str
) -> None:
    """users.profile_picture -> avatar_url: after the expand phase the old code's writes (the old column
    only) and the new model's (avatar_url only) reach both columns, and existing rows are backfilled;
    after the contract phase the same model works on the contracted table."""
    url = server.url_for(database)
    engine = sa.create_engine(make_url(url).set(drivername="postgresql+psycopg2"), poolclass=sa.pool.NullPool)
    assert run(["upgrade", "a1b2c3d4e5f6"], url).returncode == 0
    with engine.begin() as conn:  # rows of the old code, written before the expand step
        conn.exec_driver_sql(
            "insert into users (id, username, email, profile_picture) "
            "select 'u' || g, 'user' || g, g || '@example.org', 'https://img/' || g from generate_series(1, 3) g"
        )
    assert run(["upgrade", "--phase", "expand"], url).returncode == 0
    assert init_db(url) == AVATAR_EXPAND  # the new code starts with the contract step pending
    with engine.begin() as conn:  # an old pod during the rollout: it knows only profile_picture
        conn.exec_driver_sql(
            "insert into users (id, username, email, profile_picture) values ('old', 'o', 'o@x', 'p1')"
        )
        conn.exec_driver_sql("update users set profile_picture = 'p2' where id = 'u1'")
    with Session(engine) as session, session.begin():  # a new pod: the model maps only avatar_url
        session.add(User(id="new", username="n", email="n@x", avatar_url="a1"))
        session.get_one(User, "u2").avatar_url = "a2"
        session.get_one(User, "u3").avatar_url = None
    with engine.connect() as conn:
        assert [tuple(r) for r in conn.exec_driver_sql(USER_PICTURES)] == [
            ("new", "a1", "a1"),
            ("old", "p1", "p1"),
            ("u1", "p2", "p2"),
            ("u2", "a2", "a2"),
            ("u3", None, None),
        ]

    assert run(["upgrade", "--phase", "contract"], url).returncode == 0
    assert init_db(url) == HEAD
    with Session(engine) as session, session.begin():  # the same model, without a restart
        session.add(User(id="later", username="l", email="l@x", avatar_url="a3"))
        session.get_one(User, "u1").avatar_url = "a4"
    with Session(engine) as session:
        pictures = {user.id: user.avatar_url for user in session.scalars(sa.select(User))}
    engine.dispose()
    assert pictures == {"later": "a3", "new": "a1", "old": "p1", "u1": "a4", "u2": "a2", "u3": None}


def test_the_avatar_url_rename_downgrades_to_the_old_column_with_every_value(server: Server, database: str) -> None:
    """Downgrading the contract step brings profile_picture back filled and kept in sync again;
    downgrading the expand step leaves the old schema with the values written under the new name."""
    url = server.url_for(database)
    engine = sa.create_engine(make_url(url).set(drivername="postgresql+psycopg2"), poolclass=sa.pool.NullPool)
    assert run(["upgrade"], url).returncode == 0
    with engine.begin() as conn:
        conn.exec_driver_sql("insert into users (id, username, email, avatar_url) values ('a', 'a', 'a@x', 'a1')")
    assert run(["downgrade"], url).returncode == 0
    with engine.begin() as conn:
        conn.exec_driver_sql("update users set avatar_url = 'a2' where id = 'a'")  # the new code, still serving
        conn.exec_driver_sql("insert into users (id, username, email, avatar_url) values ('b', 'b', 'b@x', 'b1')")
    assert run(["downgrade"], url).returncode == 0
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.exec_driver_sql("select id, profile_picture from users order by id")]
        functions = conn.exec_driver_sql("select count(*) from pg_proc where proname = 'users_avatar_url_sync'")
        assert (rows, functions.scalar_one()) == ([("a", "a2"), ("b", "b1")], 0)
    engine.dispose()


def test_the_avatar_url_backfill_resumes_after_a_failure_where_it_stopped(server: Server, database: str) -> None:
    """A row the backfill cannot update (a check constraint it violates) fails the expand step in its
    second batch: the column, the trigger and the first batch stay committed, the revision stays
    pending; once the data is fixed the rerun repeats the revision's statements harmlessly and
    backfills only the rows not done."""
    url = server.url_for(database)
    assert run(["upgrade", "a1b2c3d4e5f6"], url).returncode == 0
    engine = sa.create_engine(make_url(url).set(drivername="postgresql+psycopg2"), poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "insert into users (id, username, email, profile_picture) "
            "select 'u' || g, 'user' || g, g || '@example.org', 'https://img/' || g from generate_series(1, 1500) g"
        )
        conn.exec_driver_sql("update users set profile_picture = 'bad' where id = 'u999'")  # the last key: batch 2
        conn.exec_driver_sql(
            "alter table users add constraint no_bad_picture check (profile_picture <> 'bad') not valid"
        )
    failed = run(["upgrade", "--phase", "expand"], url)
    assert failed.returncode == 1, failed.stderr
    assert [e["rows"] for e in failed.events if e["event"] == "online.backfill_batch"] == [1000]
    with engine.connect() as conn:
        done = conn.exec_driver_sql("select count(avatar_url) from users").scalar_one()
        current = conn.exec_driver_sql("select version_num from alembic_version").scalar_one()
    assert (done, current) == (1000, "a1b2c3d4e5f6")

    with engine.begin() as conn:
        conn.exec_driver_sql("alter table users drop constraint no_bad_picture")
    rerun = run(["upgrade", "--phase", "expand"], url)
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.event("online.backfill_done")["rows"] == 500
    with engine.connect() as conn:
        differ = conn.exec_driver_sql("select count(*) from users where avatar_url is distinct from profile_picture")
        triggers = conn.exec_driver_sql("select count(*) from pg_trigger where tgname = 'users_avatar_url_sync'")
        assert (differ.scalar_one(), triggers.scalar_one()) == (0, 1)
    engine.dispose()
    assert init_db(url) == AVATAR_EXPAND
