"""A project assembled from several packages, each shipping its own labelled branch in its own
version location, with cross-package ``depends_on`` and one *effective head*: a head another
branch depends on, which Alembic therefore never stores in the version table.

    core:    c1 (base, label core) -> c2
    billing: b1 (base, label billing, depends_on c1) -> b2
    audit:   a1 (base, label audit) -> a2                    <- a2: the effective head
    search:  s1 (base, label search) -> s2 (depends_on a2)

After ``upgrade heads`` the version table holds c2, b2 and s2 (``alembic heads`` prints a2 as
"(effective head)").
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from devtools.recipe import ENV_PY

PACKAGES = ("core", "billing", "audit", "search")
ROWS_AT_HEADS = ("b2", "c2", "s2")
LABELS = PACKAGES

# (package, revision, down_revision, branch_labels, depends_on)
CHAIN = (
    ("core", "c1", None, ("core",), None),
    ("core", "c2", "c1", None, None),
    ("billing", "b1", None, ("billing",), "c1"),
    ("billing", "b2", "b1", None, None),
    ("audit", "a1", None, ("audit",), None),
    ("audit", "a2", "a1", None, None),
    ("search", "s1", None, ("search",), None),
    ("search", "s2", "s1", None, "a2"),
)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())


def revision_file(
    root: Path, package: str, rev: str, down: str | None, labels: object, depends: object, body: str
) -> Path:
    path = root / "packages" / package / "versions" / f"{rev}.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    statements = "".join(f"    {line}\n" for line in textwrap.dedent(body).strip().splitlines())
    path.write_text(
        f'"""{package} {rev}"""\n'
        "import sqlalchemy as sa\n"
        "from alembic import op\n\n"
        f"revision = {rev!r}\n"
        f"down_revision = {down!r}\n"
        f"branch_labels = {labels!r}\n"
        f"depends_on = {depends!r}\n\n\n"
        f"def upgrade():\n{statements}\n\n"
        f'def downgrade():\n    op.execute("drop table if exists t_{rev}")\n'
    )
    return path


def several_packages(root: Path) -> tuple[str, ...]:
    """Write the project; returns the version rows at ``heads``."""
    locations = " ".join(f"%(here)s/packages/{p}/versions" for p in PACKAGES)
    _write(
        root / "alembic.ini",
        f"""
        [alembic]
        script_location = %(here)s/migrations
        version_locations = {locations}
        path_separator = space

        [loggers]
        keys = root

        [handlers]
        keys = stderr

        [formatters]
        keys = plain

        [logger_root]
        level = WARNING
        handlers = stderr

        [handler_stderr]
        class = StreamHandler
        args = (sys.stderr,)
        formatter = plain

        [formatter_plain]
        format = %%(levelname)s %%(message)s
        """,
    )
    _write(root / "migrations" / "env.py", ENV_PY)
    for package, rev, down, labels, depends in CHAIN:
        revision_file(root, package, rev, down, labels, depends, f'op.execute("create table t_{rev} (id int)")')
    return ROWS_AT_HEADS


def commits_on_its_own(root: Path) -> str:
    """Add to billing a revision that ends the migration's transaction itself (a raw COMMIT),
    and after it one that fails. Returns the failing revision."""
    revision_file(
        root,
        "billing",
        "b3",
        "b2",
        None,
        None,
        """
        op.execute("create table t_b3 (id int)")
        op.execute(sa.text("COMMIT"))
        """,
    )
    revision_file(root, "billing", "b4", "b3", None, None, 'op.execute("select 1/0")')
    return "b4"
