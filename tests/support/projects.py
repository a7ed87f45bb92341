"""Throwaway Alembic projects for the odd cases: slow, failing, branched, recorded migrations."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

from devtools.recipe import ENV_PY

INI = """
[alembic]
script_location = %(here)s/migrations
path_separator = os
"""

# Every body records that it ran, so tests can count executions.
RECORD = "op.execute(\"insert into body_runs (revision) values ('{rev}')\")"


@dataclass(frozen=True)
class Revision:
    id: str
    down: str | tuple[str, ...] | None
    message: str = ""
    upgrade: str = "pass"
    downgrade: str = "pass"


def write_project(root: Path, revisions: list[Revision]) -> Path:
    """Write alembic.ini, env.py and one file per revision; returns the alembic.ini path."""
    versions = root / "migrations" / "versions"
    versions.mkdir(parents=True, exist_ok=True)
    (root / "alembic.ini").write_text(INI)
    (root / "migrations" / "env.py").write_text(ENV_PY)
    for rev in revisions:
        body = "\n".join(
            [
                f'"""{rev.message or rev.id}',
                "",
                f"Revision ID: {rev.id}",
                '"""',
                "from alembic import op",
                "import sqlalchemy as sa",
                "",
                f"revision = {rev.id!r}",
                f"down_revision = {rev.down!r}",
                "branch_labels = None",
                "depends_on = None",
                "",
                "",
                "def upgrade():",
                textwrap.indent(rev.upgrade, "    "),
                "",
                "",
                "def downgrade():",
                textwrap.indent(rev.downgrade, "    "),
                "",
            ]
        )
        (versions / f"{rev.id}.py").write_text(body)
    return root / "alembic.ini"


def recorded_chain(count: int, sleep: float = 0.0) -> list[Revision]:
    """A linear chain whose first revision creates body_runs and every body records itself."""
    revs = [
        Revision(
            "r000",
            None,
            upgrade='op.execute("create table body_runs (revision text, at timestamptz default now())")\n'
            + RECORD.format(rev="r000"),
            downgrade='op.execute("drop table body_runs")',
        )
    ]
    for index in range(1, count):
        rev = f"r{index:03d}"
        upgrade = RECORD.format(rev=rev)
        if sleep:
            upgrade += f'\nop.execute("select pg_sleep({sleep})")'
        upgrade += f'\nop.execute("create table t_{rev} (id int)")'
        revs.append(Revision(rev, revs[-1].id, upgrade=upgrade, downgrade=f'op.execute("drop table t_{rev}")'))
    return revs
