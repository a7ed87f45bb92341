"""Alembic's view of the project: config, loaded scripts, version table, file fingerprint; the
database's state read for it, and the run's decision (core/plan.py) with Alembic's own walk."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TextIO

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from migrator.core import checksums, phases, plan, revisions, scripts, state
from migrator.core.errors import ConfigError, MigratorError, RevisionStateError
from migrator.core.settings import Settings
from migrator.engine import alembic_ops, db, history


@dataclass
class Project:
    cfg: Config
    script: ScriptDirectory
    version_table: str
    version_schema: str | None
    config_path: Path

    @classmethod
    def load(cls, settings: Settings, stdout: TextIO, with_url: bool = True, with_password: bool = True) -> Project:
        """``with_password=False``: the URL in Alembic's config without its password (offline
        rendering needs only the dialect, and env.py may print or log what it is given)."""
        url = db.normalise_url(settings.database_url) if with_url else None
        if url is not None and not with_password:
            url = url._replace(password=None)  # URL.set() takes None for "unchanged"
        cfg = alembic_ops.make_config(settings.config_path, url, stdout)
        table, schema = alembic_ops.version_table(cfg)
        return cls(cfg, alembic_ops.load_script(cfg), table, schema, settings.config_path)

    @cached_property
    def files(self) -> dict[str, Path]:
        """Each revision's file (one walk of Alembic's map per run)."""
        return alembic_ops.revision_files(self.script)

    def hooks(
        self,
        connection: Connection | None,
        per_migration: bool | None = None,
        on_version_apply: Sequence[alembic_ops.OnVersionApply] = (),
    ) -> alembic_ops.Hooks:
        """What env.py's configure() gets, holding env.py to this project's version table."""
        return alembic_ops.Hooks(
            connection, per_migration, on_version_apply, version_table=(self.version_table, self.version_schema)
        )

    def fingerprint(self, known: str | None = None) -> str | None:
        """The light stage's fingerprint of these files, if it reads the same locations Alembic does
        (``known``: already computed by the light stage in this run)."""
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
        if not same:
            return None
        return known if known is not None else scripts.fingerprint(located)

    def read_state(self, conn: Connection, commit: bool = True) -> state.Facts:
        """The database as read (core/state.py, the one reader), committing the read unless asked not to."""
        facts = state.read(db.query(conn), self.version_table, self.version_schema)
        if commit:
            conn.commit()
        return facts

    def decide(self, command: str, target: str, facts: state.Facts, known: revisions.ScriptState) -> plan.Outcome:
        """core/plan.py's decision, with Alembic's own walk from the version rows to the target."""
        pending: list[tuple[str, str]] | MigratorError = []
        several = target == "head" and len(known.heads) > 1  # refused by the plan, as Alembic does
        if plan.walks_up(command) and not revisions.unknown(facts, known) and not several:
            pending = alembic_ops.pending_or_error(self.script, target, facts.current)
        return plan.decide(command, target, facts, None, plan.Graph(known, pending, self.version_table))

    def at_every_head(self, facts: state.Facts) -> bool:
        """Where `upgrade heads` has nothing to do (effective heads as Alembic means them)."""
        if not facts.has_version_table:
            return False
        if set(facts.current) == set(self.script.get_heads()):  # the usual end of a run: no walk needed
            return True
        return alembic_ops.pending_or_error(self.script, "heads", facts.current) == []

    def changed_since_applied(self, conn: Connection, allowed: tuple[str, ...]) -> list[str]:
        """Applied migrations whose file changed since: refuse (5) unless declared known; return those declared."""
        recorded = history.applied_checksums(conn, self.version_schema)
        conn.commit()
        if not recorded:
            return []
        changed = checksums.changed(recorded, checksums.of_files(self.files, recorded), ())
        refused = [c for c in changed if c[0] not in allowed]
        if refused:
            names = ", ".join(rev for rev, _, _ in refused)
            raise RevisionStateError(
                f"applied migration(s) {names} changed since they were applied "
                f"(sha256 recorded {refused[0][1][:12]}, file now {(refused[0][2] or 'missing')[:12]})",
                hint="never edit an applied migration: restore the file and add a new revision; if the change is "
                f"known to be harmless, pass --allow-changed {refused[0][0]} (env MIGRATOR_ALLOW_CHANGED)",
            )
        return [rev for rev, _, _ in changed]

    def phase(self, revision: str) -> str:
        """What a revision declares (``phase = "contract"``), checked."""
        script = self.script.get_revision(revision)
        try:
            return phases.declared(getattr(script.module, "phase", None) if script is not None else None)
        except ValueError as exc:
            path = script.path if script is not None else revision
            raise ConfigError(f"{path}: {exc}", hint=f"fix the phase in {path}") from None

    def steps(self, pending: Sequence[tuple[str, str]]) -> list[phases.Step]:
        """The pending revisions with their phase and parents (down revisions and dependencies)."""
        found = []
        for rev, _ in pending:
            script = self.script.get_revision(rev)
            parents = tuple(getattr(script, "_all_down_revisions", ()) or ()) if script is not None else ()
            found.append(phases.Step(rev, self.phase(rev), parents))
        return found
