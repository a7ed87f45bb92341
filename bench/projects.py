"""Throwaway Alembic projects: N trivial migrations written the way `alembic revision` writes them (here),
a chain written the ways real projects write them (bench/realworld.py), or several packages each with its
own labelled branch (bench/multibase.py); all described by a Project."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from bench.model import GENERATED, label
from devtools.recipe import ENV_PY

# Alembic's generic template (script.py.mako), filled in.
REVISION_PY = '''\
"""create {table}

Revision ID: {revision}
Revises: {revises}
Create Date: 2025-01-01 00:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = {revision!r}
down_revision: Union[str, Sequence[str], None] = {down!r}
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
{preamble}    op.create_table(
        "{table}",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_{table}_name", "{table}", ["name"], unique=False)
    op.execute("insert into applied_log (revision) values ('{revision}')")


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index("ix_{table}_name", table_name="{table}")
    op.drop_table("{table}")
{postamble}'''

# The first revision creates the log every revision appends to, so runs can count executions.
APPLIED_LOG_UP = '    op.execute("create table applied_log (revision text not null, at timestamptz default now())")\n'
APPLIED_LOG_DOWN = '    op.execute("drop table applied_log")\n'

# alembic.ini as `alembic init` writes it: the URL for bare alembic (migrator overrides it) and logging.
INI = """\
[alembic]
script_location = %(here)s/migrations
{options}sqlalchemy.url = {url}

[post_write_hooks]

[loggers]
keys = root,sqlalchemy,alembic

[handlers]
keys = console

[formatters]
keys = generic

[logger_root]
level = WARNING
handlers = console
qualname =

[logger_sqlalchemy]
level = WARNING
handlers =
qualname = sqlalchemy.engine

[logger_alembic]
level = INFO
handlers =
qualname = alembic

[handler_console]
class = StreamHandler
args = (sys.stderr,)
level = NOTSET
formatter = generic

[formatter_generic]
format = %(levelname)-5.5s [%(name)s] %(message)s
datefmt = %H:%M:%S
"""


# The [alembic] options between script_location and sqlalchemy.url, as `alembic init` writes them.
GENERATED_OPTIONS = "path_separator = os\n"


@dataclass(frozen=True)
class Project:
    """A project on disk: its revisions (the head last), how many `tNNNN` tables they create, its ini options.

    ``offline``: `alembic upgrade head --sql` can render it (revisions that read data cannot be);
    ``description``: what the report says about a project that is not the generated chain;
    ``target``: what every contender upgrades to (`heads` for a project of several branches);
    ``heads``: the version rows at that target, when they are not just the last revision.
    """

    root: Path
    revisions: tuple[str, ...]
    tables: int
    kind: str = GENERATED
    options: str = GENERATED_OPTIONS
    offline: bool = True
    description: str = ""
    target: str = "head"
    heads: tuple[str, ...] = ()

    @property
    def size(self) -> int:
        return len(self.revisions)

    @property
    def head(self) -> str:
        return self.revisions[-1]

    @property
    def version_rows(self) -> tuple[str, ...]:
        """What alembic_version holds at the target, sorted: the head, or each stored head of several."""
        return tuple(sorted(self.heads or (self.head,)))

    @property
    def label(self) -> str:
        return label(self.size, self.kind)

    @property
    def name(self) -> str:
        """A slug for database and log names: n50 for the generated chains, real_world_120 for the others."""
        return f"n{self.size}" if self.kind == GENERATED else f"{self.kind.replace('-', '_')}_{self.size}"


def revision_id(index: int) -> str:
    """Twelve hex digits, like Alembic's, stable across runs."""
    return hashlib.sha1(f"bench-{index}".encode()).hexdigest()[:12]


def revision_source(index: int, down: str | None) -> str:
    first = index == 0
    return REVISION_PY.format(
        table=f"t{index:04d}",
        revision=revision_id(index),
        down=down,
        revises=down or "",
        preamble=APPLIED_LOG_UP if first else "",
        postamble=APPLIED_LOG_DOWN if first else "",
    )


def write_project(root: Path, size: int) -> Project:
    """migrations/env.py and one file per revision, a linear chain of `size`."""
    versions = root / "migrations" / "versions"
    versions.mkdir(parents=True, exist_ok=True)
    (root / "migrations" / "env.py").write_text(ENV_PY)
    revisions: list[str] = []
    for index in range(size):
        down = revisions[-1] if revisions else None
        revisions.append(revision_id(index))
        (versions / f"{revisions[-1]}_create_t{index:04d}.py").write_text(revision_source(index, down))
    return Project(root, tuple(revisions), tables=size)


def write_ini(project: Project, name: str, url: str) -> Path:
    """An alembic.ini next to migrations/, naming one database; both migrator and bare alembic read it."""
    path = project.root / f"{name}.ini"
    path.write_text(INI.format(url=url, options=project.options))
    return path
