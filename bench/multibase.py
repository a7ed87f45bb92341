"""A project assembled from several packages, each shipping its own labelled branch, generated deterministically.

What the other projects lack: several bases, one per package, each with `branch_labels = ("pkgN",)` and a
version location of its own; `depends_on` across packages; and effective heads, a package's head that
another package's revision depends on, which Alembic never stores in alembic_version (`alembic heads`
prints it "(effective head)"). With several heads the target is `heads`: Alembic and migrator refuse `head`.
Every revision creates a table and appends its id to `applied_log`, so "each revision applied exactly once"
stays checkable.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from bench.model import MULTI_BASE
from bench.projects import APPLIED_LOG_DOWN, APPLIED_LOG_UP, Project
from devtools.recipe import ENV_PY

PACKAGES = 8
DIRECTORIES = tuple(f"packages/pkg{package + 1}/versions" for package in range(PACKAGES))
OPTIONS = (
    "version_locations = " + " ".join(f"%(here)s/{directory}" for directory in DIRECTORIES) + "\n"
    "path_separator = space\n"
)
TARGET = "heads"
# A base and a head of its own in every package.
MIN_PER_PACKAGE = 2
# The last revision of the key package depends on the value package's head: an effective head each.
ON_HEAD = {5: 2, 7: 4}

# Alembic's generic template (script.py.mako), filled in; the package's label on its base.
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
branch_labels: Union[str, Sequence[str], None] = {labels!r}
depends_on: Union[str, Sequence[str], None] = {depends!r}


def upgrade() -> None:
    """Upgrade schema."""
{preamble}    op.create_table(
        "{table}",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.execute("insert into applied_log (revision) values ('{revision}')")


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("{table}")
{postamble}'''


@dataclass(frozen=True)
class Spec:
    """One revision to write: its package, its parent in that package, what it depends on elsewhere."""

    index: int  # in the order written; names its tNNNN table
    package: int
    revision: str
    down: str | None  # None for a package's base
    depends: str | None

    @property
    def table(self) -> str:
        return f"t{self.index:04d}"

    @property
    def labels(self) -> tuple[str, ...] | None:
        return (f"pkg{self.package + 1}",) if self.down is None else None


def revision_id(package: int, position: int) -> str:
    return hashlib.sha1(f"multi-base-{package}-{position}".encode()).hexdigest()[:12]


def plan(size: int) -> list[Spec]:
    """`size` revisions over PACKAGES packages, the first ones one longer when `size` does not divide evenly."""
    if size < PACKAGES * MIN_PER_PACKAGE:
        raise ValueError(f"a multi-base project needs at least {PACKAGES * MIN_PER_PACKAGE} revisions, not {size}")
    lengths = [size // PACKAGES + int(package < size % PACKAGES) for package in range(PACKAGES)]
    specs: list[Spec] = []
    for package, length in enumerate(lengths):
        for position in range(length):
            down = revision_id(package, position - 1) if position else None
            depends = _depends(package, position, lengths)
            specs.append(Spec(len(specs), package, revision_id(package, position), down, depends))
    return specs


def _depends(package: int, position: int, lengths: list[int]) -> str | None:
    """Package k's base depends on package (k - 1) // 2's first revision: a tree rooted at package 0, whose
    base creates applied_log, so every package runs after it. ON_HEAD's last revisions depend on a head."""
    if position == 0 and package > 0:
        return revision_id((package - 1) // 2, 0)
    if position == lengths[package] - 1 and package in ON_HEAD:
        other = ON_HEAD[package]
        return revision_id(other, lengths[other] - 1)
    return None


def stored_heads(specs: list[Spec]) -> tuple[str, ...]:
    """The version rows at `heads`: every head but the effective ones, which another revision depends on."""
    parents = {spec.down for spec in specs}
    depended = {spec.depends for spec in specs}
    return tuple(spec.revision for spec in specs if spec.revision not in parents | depended)


def write_multibase(root: Path, size: int) -> Project:
    """migrations/env.py and each package's revisions in packages/pkgN/versions under root."""
    for directory in DIRECTORIES:
        (root / directory).mkdir(parents=True, exist_ok=True)
    (root / "migrations").mkdir(parents=True, exist_ok=True)
    (root / "migrations" / "env.py").write_text(ENV_PY)
    specs = plan(size)
    for spec in specs:
        (root / DIRECTORIES[spec.package] / f"{spec.revision}_create_{spec.table}.py").write_text(source(spec))
    return Project(
        root,
        tuple(spec.revision for spec in specs),
        tables=len(specs),
        kind=MULTI_BASE,
        options=OPTIONS,
        description=describe(specs),
        target=TARGET,
        heads=stored_heads(specs),
    )


def source(spec: Spec) -> str:
    first = spec.index == 0
    return REVISION_PY.format(
        table=spec.table,
        revision=spec.revision,
        down=spec.down,
        revises=spec.down or "",
        labels=spec.labels,
        depends=spec.depends,
        preamble=APPLIED_LOG_UP if first else "",
        postamble=APPLIED_LOG_DOWN if first else "",
    )


def describe(specs: list[Spec]) -> str:
    """What the report says about the project."""
    lengths = sorted({sum(1 for spec in specs if spec.package == package) for package in range(PACKAGES)})
    bases = sum(1 for spec in specs if spec.down is None and spec.depends is not None)
    on_heads = sum(1 for spec in specs if spec.down is not None and spec.depends is not None)
    return (
        f"The multi-base project (bench/multibase.py): {len(specs)} revisions in {PACKAGES} packages of "
        f'{" or ".join(map(str, lengths))}, each a labelled branch (`branch_labels = ("pkgN",)` on its base) '
        f"in a version location of its own; {bases} bases `depends_on` another package's first revision and "
        f"{on_heads} revisions another package's head, an effective head, so at `{TARGET}` alembic_version "
        f"holds {len(stored_heads(specs))} rows. Bare alembic runs `alembic upgrade {TARGET}`, migrator "
        f"`MIGRATOR_TARGET={TARGET}`."
    )
