"""Alembic environment for the TravelPacker schema.

Follows Alembic's connection-sharing recipe: when the caller (migrator, pytest-alembic)
passes a connection in ``config.attributes["connection"]`` it is used as is;
otherwise an engine is built from ``sqlalchemy.url``, or, when that is unset (plain
``alembic``), from DATABASE_URL / DATABASE_URL_FILE with migrator's rules. migrator
places its locked connection and its options (transaction mode, per-migration hook)
into ``context.configure()`` itself, whatever this file passes.
"""

import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection, Engine, engine_from_config, pool

import src.database.audit_models
import src.database.models  # noqa: F401  (registers the tables)
from src.database.base import Base

config = context.config
target_metadata = Base.metadata

if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def run_migrations_offline() -> None:
    context.configure(
        url=_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    shared = config.attributes.get("connection")
    if isinstance(shared, Connection):
        _run_on(shared)
        return
    if isinstance(shared, Engine):  # pytest-alembic shares an engine
        with shared.connect() as connection:
            _run_on(connection)
            connection.commit()
        return
    connectable = engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
        url=_url(),
    )
    with connectable.connect() as connection:
        _run_on(connection)


def _url() -> str:
    """sqlalchemy.url when set (migrator sets it), else DATABASE_URL / DATABASE_URL_FILE with the
    same rules as migrator, so plain `alembic upgrade head` works from the same environment."""
    configured = config.get_main_option("sqlalchemy.url")
    if configured:
        return configured
    from migrator.core.settings import database_url_from
    from migrator.engine.db import normalise_url

    return normalise_url(database_url_from(os.environ)).render_as_string(hide_password=False)


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Autogenerate ignores migrator's own bookkeeping table."""
    return not (type_ == "table" and name == "migrator_history")


def _run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
