"""Projects with the four kinds of env.py migrator must drive alike: the application's own, Alembic's
generic and pyproject templates as `alembic init` writes them (unmodified), and the cookbook's
connection-sharing recipe. Each gets the same revisions, chained after whatever it already has."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from devtools.recipe import ENV_PY
from tests.support.dbutil import copy_app

ALEMBIC = str(Path(sys.executable).with_name("alembic"))
KINDS = ("app", "generic", "pyproject", "recipe")
APP_HEAD = "c3d4e5f6a7b8"

# What the migration's own session looks like, seen from inside the migration.
PROBE = (
    "create table probe as select pg_backend_pid() as pid, current_setting('application_name') as app, "
    "current_setting('lock_timeout') as lock_timeout, txid_current() as xid"
)


def make(kind: str, root: Path) -> tuple[Path, str | None]:
    """The project of ``kind`` under ``root``: (its versions directory, the revision to chain after)."""
    if kind == "app":
        copy_app(root)
        return root / "alembic" / "versions", APP_HEAD
    if kind == "recipe":
        (root / "migrations" / "versions").mkdir(parents=True)
        (root / "alembic.ini").write_text("[alembic]\nscript_location = %(here)s/migrations\n")
        (root / "migrations" / "env.py").write_text(ENV_PY)
        return root / "migrations" / "versions", None
    template = "generic" if kind == "generic" else "pyproject"
    subprocess.run([ALEMBIC, "init", "-t", template, "migrations"], cwd=root, check=True, capture_output=True)
    return root / "migrations" / "versions", None


def write_revisions(versions: Path, after: str | None, second_fails: bool, second: str | None = None) -> None:
    """e1 records its session (PROBE); e2 creates a table, or fails half-way when asked to, or runs ``second``."""
    second = second or 'op.execute("create table e2_done (id int)")'
    if second_fails:
        second = 'op.execute("create table e2_partial (id int)")\n    op.execute("select 1/0")'
    for rev, down, body in (("e1", after, f'op.execute("{PROBE}")'), ("e2", "e1", second)):
        (versions / f"{rev}.py").write_text(
            textwrap.dedent(
                f"""\
                from alembic import op

                revision = {rev!r}
                down_revision = {down!r}
                branch_labels = None
                depends_on = None


                def upgrade():
                    {{body}}


                def downgrade():
                    pass
                """
            ).replace("{body}", body)
        )
