"""A chain written the ways real projects write their revisions, generated deterministically.

What the generated chains of bench/projects.py lack and real projects have: three generations of
Alembic's template side by side (`revision = u'…'` from the Python 2 days, `Union[...]` annotations,
`str | None` by hand), a name assigned twice (annotated, then plain after a rebase), merge points
whose `down_revision` is a tuple over several lines, `branch_labels` on the base, a `revision=`
keyword inside an upgrade body, two version directories, revisions that import a helper module from
the project root (`prepend_sys_path = .`) and revisions that read data before they write. Every
revision still appends its id to `applied_log`, so "each revision applied exactly once" stays checkable.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from bench.model import REAL_WORLD
from bench.projects import Project
from devtools.recipe import ENV_PY

DIRECTORIES = ("versions_a", "versions_b")
OPTIONS = (
    "prepend_sys_path = .\n"
    f"version_locations = %(here)s/{DIRECTORIES[0]} %(here)s/{DIRECTORIES[1]}\n"
    "path_separator = space\n"
)
# A diamond (two branches of two revisions, then their merge) starts at every DIAMOND_EVERY-th revision.
DIAMOND_EVERY = 12
DIAMOND_AT = 5
BRANCH_LENGTH = 2
# Header styles and upgrade bodies cycle at co-prime lengths, so every pairing turns up in a long chain.
STYLES = ("template", "legacy", "pep604", "template", "rebased", "legacy", "pep604")
MERGE_STYLES = ("merge", "legacy")
BODIES = ("table", "data", "helper", "alter", "table", "data")
EPOCH = datetime(2016, 4, 12, 9, 30)

HELPERS_PY = '''\
"""Shared by several revisions; Alembic finds it through `prepend_sys_path = .` in alembic.ini."""

import sqlalchemy as sa
from alembic import op


def create_lookup_table(name):
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False, server_default=""),
        sa.Column("code", sa.String(length=20), nullable=True),
    )
    op.create_index(f"ix_{name}_code", name, ["code"], unique=True)


def log_applied(revision):
    op.execute(sa.text("insert into applied_log (revision) values (:revision)").bindparams(revision=revision))
'''


@dataclass(frozen=True)
class Spec:
    """One revision to write: where it sits in the graph, how its file is written, what it does."""

    index: int
    revision: str
    downs: tuple[str, ...]  # () for the base, two for a merge
    stale: str | None  # what a rebased file's annotation still names
    style: str
    body: str
    directory: str
    table: str | None  # the tNNNN table it creates
    target: str  # the newest table among its ancestors (or its own), which it may read or alter


def revision_id(index: int) -> str:
    return hashlib.sha1(f"real-world-{index}".encode()).hexdigest()[:12]


def plan(size: int) -> list[Spec]:
    """`size` revisions in one graph with a single head: a trunk with a diamond every DIAMOND_EVERY revisions."""
    specs = [_spec(0, (), None)]
    while len(specs) < size:
        index, trunk = len(specs), specs[-1]
        room = size - index
        if index % DIAMOND_EVERY == DIAMOND_AT and room >= 2 * BRANCH_LENGTH + 1:
            left = _branch(specs, trunk, DIRECTORIES[0])
            right = _branch(specs, trunk, DIRECTORIES[1])
            specs.append(_spec(len(specs), (left, right), None))
        else:
            # specs[-2] is an ancestor: the parent's parent, or one side of the merge that is the parent.
            specs.append(_spec(index, (trunk,), specs[-2] if index > 1 else None))
    return specs


def _branch(specs: list[Spec], start: Spec, directory: str) -> Spec:
    tip = start
    for _ in range(BRANCH_LENGTH):
        tip = _spec(len(specs), (tip,), None, directory)
        specs.append(tip)
    return tip


def _spec(index: int, parents: tuple[Spec, ...], grandparent: Spec | None, directory: str | None = None) -> Spec:
    """The revision at ``index``: its header style and body from the cycles (a merge when it has two parents)."""
    if len(parents) > 1:
        body, style = "merge", MERGE_STYLES[(index // DIAMOND_EVERY) % len(MERGE_STYLES)]
    else:
        body = BODIES[index % len(BODIES)] if parents else "base"
        style = STYLES[index % len(STYLES)]
    if style == "rebased" and grandparent is None:
        style = "pep604"
    table = f"t{index:04d}" if body in ("base", "table", "helper") else None
    return Spec(
        index=index,
        revision=revision_id(index),
        downs=tuple(parent.revision for parent in parents),
        stale=grandparent.revision if grandparent is not None and style == "rebased" else None,
        style=style,
        body=body,
        directory=directory or DIRECTORIES[1 if index % 4 == 3 else 0],
        table=table,
        target=table or parents[0].target,
    )


def write_realworld(root: Path, size: int, hold_s: float = 0.0) -> Project:
    """The project under root; ``hold_s`` > 0 makes the head revision sleep that long inside its transaction."""
    for directory in DIRECTORIES:
        (root / directory).mkdir(parents=True, exist_ok=True)
    (root / "migrations").mkdir(parents=True, exist_ok=True)
    (root / "migrations" / "env.py").write_text(ENV_PY)
    (root / "benchhelpers.py").write_text(HELPERS_PY)
    specs = plan(size)
    for spec in specs:
        hold = hold_s if spec is specs[-1] else 0.0
        (root / spec.directory / filename(spec)).write_text(source(spec, hold))
    return Project(
        root,
        tuple(spec.revision for spec in specs),
        tables=sum(1 for spec in specs if spec.table is not None),
        kind=REAL_WORLD,
        options=OPTIONS,
        offline=False,
        description=describe(specs),
    )


def describe(specs: list[Spec]) -> str:
    """What the report says about the chain."""

    def count(predicate: Callable[[Spec], bool]) -> int:
        return sum(1 for spec in specs if predicate(spec))

    return (
        f"The real-world chain (bench/realworld.py): {len(specs)} revisions over two version directories "
        f"({count(lambda s: s.directory == DIRECTORIES[0])} + {count(lambda s: s.directory == DIRECTORIES[1])}); "
        f"{count(lambda s: s.style == 'legacy')} in the old `revision = u'…'` template, the others annotated, "
        f"{count(lambda s: s.style == 'rebased')} of them assigning `down_revision` twice; "
        f"{count(lambda s: s.body == 'merge')} merge points; {count(lambda s: s.body == 'helper')} import "
        f"benchhelpers.py from the project root (`prepend_sys_path = .`); {count(lambda s: s.body == 'data')} "
        "read data before they write."
    )


def filename(spec: Spec) -> str:
    """Alembic's default `{rev}_{slug}`, or the dated file_template many projects switch to."""
    slug = _message(spec).lower().replace(" ", "_")
    if spec.style == "legacy":
        return f"{spec.revision}_{slug}.py"
    created = _created(spec)
    return f"{created:%Y_%m_%d_%H%M}-{spec.revision}_{slug}.py"


def source(spec: Spec, hold_s: float = 0.0) -> str:
    upgrade, downgrade, imports = _body(spec)
    if hold_s > 0:
        upgrade += f'    op.execute("select pg_sleep({hold_s:g})")\n'
    return _HEADERS[spec.style](spec, imports) + _functions(spec, upgrade, downgrade)


def _message(spec: Spec) -> str:
    if spec.body == "merge":
        return "merge heads"
    return {
        "base": "initial schema",
        "table": f"create {spec.table}",
        "helper": f"add lookup {spec.table}",
        "data": f"backfill {spec.target}",
        "alter": f"add note to {spec.target}",
    }[spec.body]


def _created(spec: Spec) -> datetime:
    return EPOCH + timedelta(days=9 * spec.index, minutes=37 * spec.index)


def _docstring(spec: Spec) -> str:
    revises = ", ".join(spec.downs)
    return (
        f'"""{_message(spec)}\n\nRevision ID: {spec.revision}\nRevises: {revises}\n'
        f'Create Date: {_created(spec):%Y-%m-%d %H:%M:%S}.000000\n\n"""\n'
    )


def _labels(spec: Spec, legacy: bool) -> str:
    if spec.downs:
        return "None"
    return "(u'core',)" if legacy else '("core",)'


def _template(spec: Spec, imports: str) -> str:
    """`alembic revision` since 1.13: typing imports, Union annotations, repr()'d ids."""
    down = repr(spec.downs[0]) if spec.downs else "None"
    return (
        f"{_docstring(spec)}from typing import Sequence, Union\n\nfrom alembic import op\nimport sqlalchemy as sa\n"
        f"{imports}\n\n# revision identifiers, used by Alembic.\n"
        f"revision: str = {spec.revision!r}\n"
        f"down_revision: Union[str, Sequence[str], None] = {down}\n"
        f"branch_labels: Union[str, Sequence[str], None] = {_labels(spec, legacy=False)}\n"
        "depends_on: Union[str, Sequence[str], None] = None\n"
    )


def _legacy(spec: Spec, imports: str) -> str:
    """The Python 2 era template: u'' ids, identifiers above the imports."""
    if not spec.downs:
        down = "None"
    elif len(spec.downs) == 1:
        down = f"u'{spec.downs[0]}'"
    else:
        down = "(" + ", ".join(f"u'{rev}'" for rev in spec.downs) + ")"
    return (
        f"{_docstring(spec)}\n# revision identifiers, used by Alembic.\n"
        f"revision = u'{spec.revision}'\ndown_revision = {down}\n"
        f"branch_labels = {_labels(spec, legacy=True)}\ndepends_on = None\n\n"
        f"from alembic import op\nimport sqlalchemy as sa\n{imports}"
    )


def _pep604(spec: Spec, imports: str, named: str | None = None) -> str:
    """Written by hand in a newer project: double quotes, `X | None`, a one-line docstring."""
    parent = named or (spec.downs[0] if spec.downs else None)
    down = f'"{parent}"' if parent else "None"
    return (
        f'"""{_message(spec)}."""\n\nfrom __future__ import annotations\n\n'
        f"import sqlalchemy as sa\nfrom alembic import op\n{imports}\n"
        f'revision: str = "{spec.revision}"\n'
        f"down_revision: str | tuple[str, ...] | None = {down}\n"
        f"branch_labels: str | tuple[str, ...] | None = {_labels(spec, legacy=False)}\n"
        "depends_on: str | None = None\n"
    )


def _rebased(spec: Spec, imports: str) -> str:
    """Annotated with the parent it was written on, then reassigned when the branch was rebased."""
    return _pep604(spec, imports, named=spec.stale) + (
        f"\n# Written on top of {spec.stale}; rebased onto {spec.downs[0]} before it was merged.\n"
        f'down_revision = "{spec.downs[0]}"\n'
    )


def _merge(spec: Spec, imports: str) -> str:
    """`alembic merge`, reformatted by black: the tuple over several lines."""
    parents = "".join(f'    "{rev}",\n' for rev in spec.downs)
    return (
        f"{_docstring(spec)}from typing import Sequence, Union\n\nfrom alembic import op\nimport sqlalchemy as sa\n"
        f"{imports}\n\n# revision identifiers, used by Alembic.\n"
        f'revision: str = "{spec.revision}"\n'
        f"down_revision: tuple[str, ...] = (\n{parents})\n"
        "branch_labels: Union[str, Sequence[str], None] = None\n"
        "depends_on: Union[str, Sequence[str], None] = None\n"
    )


_HEADERS = {"template": _template, "legacy": _legacy, "pep604": _pep604, "rebased": _rebased, "merge": _merge}


def _functions(spec: Spec, upgrade: str, downgrade: str) -> str:
    returns = "" if spec.style == "legacy" else " -> None"
    return f"\n\ndef upgrade(){returns}:\n{upgrade}\n\ndef downgrade(){returns}:\n{downgrade}"


def _log(revision: str) -> str:
    return f"    op.execute(\"insert into applied_log (revision) values ('{revision}')\")\n"


def _body(spec: Spec) -> tuple[str, str, str]:
    """(upgrade, downgrade, extra imports) for the spec's kind of revision."""
    table, target, rev = spec.table, spec.target, spec.revision
    if spec.body == "base":
        return _BASE_UP.format(table=table) + _log(rev), _BASE_DOWN.format(table=table), ""
    if spec.body == "table":
        return _TABLE_UP.format(table=table) + _log(rev), _TABLE_DOWN.format(table=table), ""
    if spec.body == "helper":
        upgrade = f'    create_lookup_table("{table}")\n    log_applied(revision=revision)\n'
        downgrade = f'    op.drop_table("{table}")\n'
        return upgrade, downgrade, "\nfrom benchhelpers import create_lookup_table, log_applied\n"
    if spec.body == "data":
        return _DATA_UP.format(target=target, revision=rev, short=rev[:6]), "    pass\n", ""
    if spec.body == "alter":
        column = f"note_{spec.index:04d}"
        upgrade = f'    op.add_column("{target}", sa.Column("{column}", sa.Text(), nullable=True))\n' + _log(rev)
        return upgrade, f'    op.drop_column("{target}", "{column}")\n', ""
    return _log(rev), "    pass\n", ""  # a merge


_BASE_UP = """\
    op.create_table(
        "applied_log",
        sa.Column("revision", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    )
    op.create_table(
        "settings",
        sa.Column("key", sa.Text(), primary_key=True),
        sa.Column("value", sa.Integer(), nullable=False),
    )
    op.create_table(
        "{table}",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False),
    )
"""
_BASE_DOWN = """\
    op.drop_table("{table}")
    op.drop_table("settings")
    op.drop_table("applied_log")
"""
_TABLE_UP = """\
    op.create_table(
        "{table}",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_{table}_name", "{table}", ["name"], unique=False)
"""
_TABLE_DOWN = """\
    op.drop_index("ix_{table}_name", table_name="{table}")
    op.drop_table("{table}")
"""
# Reads before it writes: seeds an empty table or rewrites a filled one, and counts itself in settings.
_DATA_UP = """\
    bind = op.get_bind()
    rows = bind.execute(sa.text("select count(*) from {target}")).scalar()
    if rows:
        op.execute("update {target} set name = upper(name)")
    else:
        seeds = sa.table("{target}", sa.column("id", sa.Integer()), sa.column("name", sa.Text()))
        op.bulk_insert(seeds, [{{"id": n, "name": f"{short}-{{n}}"}} for n in range(1, 21)])
    done = bind.execute(sa.text("select value from settings where key = 'backfills'")).scalar()
    if done is None:
        op.execute("insert into settings (key, value) values ('backfills', 1)")
    else:
        op.execute(sa.text("update settings set value = :done where key = 'backfills'").bindparams(done=done + 1))
    op.execute(sa.text("insert into applied_log (revision) values (:revision)").bindparams(revision="{revision}"))
"""
