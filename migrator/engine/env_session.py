"""What env.py put on a connection before ``context.configure()``, carried over to migrator's.

migrator runs the migrations on its own locked connection. An env.py that opens its own connection
and prepares it (``SET statement_timeout``, ``SET lock_timeout``, ``SET search_path``, ``SET ROLE``)
would lose those settings when its connection is swapped for migrator's, and its connection would sit
idle in a transaction for the whole run, holding the locks of what it read (a migration that alters
that table would then wait on the run itself). So, at ``configure()``:

- env.py's own connection: the settings it SET (pg_settings' source "session", and the role) are read
  and set on migrator's connection, where they stay for the rest of the run (they win over migrator's
  own timeouts: env.py asked for them), and the transaction env.py's statements began is rolled back;
- migrator's connection, handed to env.py (``config.attributes["connection"]``): what env.py SET is
  already in force; if its statements began a transaction, Alembic treats it as the caller's and runs
  every migration in it, so per-migration transactions cannot take effect: that is said, and the caller
  (the Job) commits it when the run succeeds.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

from migrator.engine import logs

_SET_BY_SESSION = text(
    "select name, current_setting(name) from pg_settings "
    "where source = 'session' and name not like 'transaction\\_%' order by name"
)
_ROLE = text("select current_setting('role')")
_APPLY = text("select set_config(:name, :value, false)")


def adopt(theirs: Connection, ours: Connection) -> dict[str, str]:
    """Carry env.py's session settings from its connection to ours; end its transaction. Returns them."""
    settings = {str(name): str(value) for name, value in theirs.execute(_SET_BY_SESSION).all()}
    role = str(theirs.execute(_ROLE).scalar_one())
    if role != "none":
        settings["role"] = role
    if theirs.in_transaction():
        theirs.rollback()  # idle in transaction for the whole run, holding what it read: never
    began = not ours.in_transaction()
    for name, value in settings.items():
        ours.execute(_APPLY, {"name": name, "value": value})
    if began and ours.in_transaction():
        ours.commit()  # session settings stay; Alembic must not find a transaction it would leave to us
    logs.get().info(
        "env.session_settings",
        settings=settings,
        reason="env.py configured its own connection; migrator runs the migrations on its locked one, "
        "with these settings of env.py's in force",
    )
    return settings


def began_before_configure(per_migration: bool) -> None:
    """migrator's connection is in a transaction env.py's own statements began: say what that means."""
    logs.get().warning(
        "env.transaction_begun",
        reason="env.py ran statements on the connection before configure(), which began a transaction; "
        "Alembic runs every migration in it, so the run is one transaction (all or nothing)"
        + (" and transaction_per_migration cannot take effect" if per_migration else ""),
        hint="run env.py's SET statements inside `with context.begin_transaction():`, or commit after them "
        "(connection.commit()) before configure()",
    )
