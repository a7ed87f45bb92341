"""migrator: the one-shot Alembic migration job (wait, lock, upgrade, exit)."""

__version__ = "0.1.0"
