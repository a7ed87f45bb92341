"""Alembic's view of the project: config, loaded scripts, version table, and its file fingerprint."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from migrator.core import scripts
from migrator.core.settings import Settings
from migrator.engine import alembic_ops, db


@dataclass
class Project:
    cfg: Config
    script: ScriptDirectory
    version_table: str
    version_schema: str | None
    config_path: Path

    @classmethod
    def load(cls, settings: Settings, stdout: TextIO, with_url: bool = True) -> Project:
        url = db.normalise_url(settings.database_url) if with_url else None
        cfg = alembic_ops.make_config(settings.config_path, url, stdout)
        table, schema = alembic_ops.version_table(cfg)
        return cls(cfg, alembic_ops.load_script(cfg), table, schema, settings.config_path)

    def hooks(
        self,
        connection: Connection | None,
        per_migration: bool = False,
        on_version_apply: Sequence[alembic_ops.OnVersionApply] = (),
    ) -> alembic_ops.Hooks:
        """What env.py's configure() gets, holding env.py to this project's version table."""
        return alembic_ops.Hooks(
            connection, per_migration, on_version_apply, version_table=(self.version_table, self.version_schema)
        )

    def fingerprint(self) -> str | None:
        """The light stage's fingerprint of these files, if it reads the same locations Alembic does."""
        located = scripts.locate(self.config_path)
        if isinstance(located, scripts.Unreadable):
            return None
        ours = {p.resolve() for p in located.directories}
        alembics = {Path(p).resolve() for p in self.script._version_locations}
        same = (
            ours == alembics
            and located.recursive == bool(self.script.recursive_version_locations)
            and located.sourceless == bool(self.script.sourceless)
            and (located.version_table, located.version_table_schema) == (self.version_table, self.version_schema)
        )
        return scripts.fingerprint(located) if same else None
