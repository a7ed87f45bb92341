"""Alembic projects in the shapes other people write: old and typed templates, merges spread over
lines, names assigned twice, several version locations, pyproject.toml config, package:resource
script locations, revisions that import helpers. Each shape: (writer, the version rows at head)."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

from devtools.recipe import ENV_PY

Shape = Callable[[Path], tuple[str, ...]]


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())


def _ini(root: Path, body: str) -> None:
    _write(root / "alembic.ini", "[alembic]\n" + textwrap.dedent(body).lstrip())


def legacy_literals(root: Path) -> tuple[str, ...]:
    """Files from Alembic's old template: u'' literals, the identifiers under a comment."""
    _ini(root, "script_location = %(here)s/migrations\n")
    _write(root / "migrations" / "env.py", ENV_PY)
    for rev, down in (("3537d5420e0e", None), ("4a1b2c3d4e5f", "3537d5420e0e")):
        down_text = "None" if down is None else f"u'{down}'"
        _write(
            root / "migrations" / "versions" / f"{rev}_legacy.py",
            f'''
            """legacy {rev}

            Revision ID: {rev}
            """

            # revision identifiers, used by Alembic.
            revision = u'{rev}'
            down_revision = {down_text}

            from alembic import op


            def upgrade():
                op.execute("create table t_{rev} (id int)")


            def downgrade():
                op.execute("drop table t_{rev}")
            ''',
        )
    return ("4a1b2c3d4e5f",)


def typed_merges(root: Path) -> tuple[str, ...]:
    """Alembic's typed template: annotated assignments, a name assigned twice, a merge whose
    down_revision tuple spans several lines, `revision=` inside a call, branch_labels."""
    _ini(root, "script_location = %(here)s/migrations\npath_separator = os\n")
    _write(root / "migrations" / "env.py", ENV_PY)
    header = """
        from typing import Sequence, Union

        from alembic import op

        """
    files = {
        "base": """
            revision: str = "b0"
            down_revision: Union[str, Sequence[str], None] = None
            branch_labels: Union[str, Sequence[str], None] = ("shop",)
            depends_on: Union[str, Sequence[str], None] = None


            def upgrade() -> None:
                op.execute("create table shop (id int)")
            """,
        "left": """
            revision: str = "b1"
            down_revision: Union[str, Sequence[str], None] = "b0"
            down_revision = "b0"  # assigned twice, as a generated file edited by hand may be


            def upgrade() -> None:
                op.execute("create table left_side (id int)")
            """,
        "right": """
            initial_revision = "b0"
            revision: str = "b2"
            down_revision: Union[str, Sequence[str], None] = initial_revision


            def note(**kw: str) -> None:
                pass


            def upgrade() -> None:
                note(
                    revision=initial_revision,
                )
                op.execute("create table right_side (id int)")
            """,
        "merge": """
            revision: str = "b3"
            down_revision: tuple[str, ...] = (
                "b1",
                "b2",
            )


            def upgrade() -> None:
                pass
            """,
    }
    for name, body in files.items():
        text = textwrap.dedent(header) + textwrap.dedent(body) + "\n\ndef downgrade() -> None:\n    pass\n"
        _write(root / "migrations" / "versions" / f"{name}.py", text)
    return ("b3",)


def several_locations(root: Path) -> tuple[str, ...]:
    """version_locations over two directories (space-separated), a chain crossing them, a revision
    importing a helper module from the project (prepend_sys_path), a labelled base, depends_on."""
    _ini(
        root,
        """
        script_location = %(here)s/migrations
        prepend_sys_path = .
        version_locations = %(here)s/core_versions %(here)s/plugin_versions
        path_separator = space
        """,
    )
    _write(root / "migrations" / "env.py", ENV_PY)
    _write(root / "dbhelpers.py", "def table(name):\n    return f'create table {name} (id int)'\n")
    chain = [
        ("core_versions", "c1", None, "branch_labels = ('core',)\ndepends_on = None"),
        ("plugin_versions", "p1", "c1", "branch_labels = None\ndepends_on = 'c1'"),
        ("core_versions", "c2", "p1", "branch_labels = None\ndepends_on = None"),
    ]
    for folder, rev, down, extra in chain:
        _write(
            root / folder / f"{rev}.py",
            f"""
            from alembic import op

            from dbhelpers import table

            revision = {rev!r}
            down_revision = {down!r}
            """
            + textwrap.indent(extra, " " * 12).lstrip()
            + f"""


            def upgrade():
                op.execute(table("t_{rev}"))


            def downgrade():
                op.execute("drop table t_{rev}")
            """,
        )
    return ("c2",)


def pyproject_config(root: Path) -> tuple[str, ...]:
    """Alembic 1.16's pyproject.toml: [tool.alembic] with script_location and version_locations."""
    _write(
        root / "pyproject.toml",
        """
        [tool.alembic]
        script_location = "%(here)s/migrations"
        version_locations = ["%(here)s/migrations/versions", "%(here)s/more_versions"]
        """,
    )
    _write(root / "alembic.ini", "[alembic]\n")
    _write(root / "migrations" / "env.py", ENV_PY)
    for folder, rev, down in (("migrations/versions", "q1", None), ("more_versions", "q2", "q1")):
        _write(
            root / folder / f"{rev}.py",
            f"""
            from alembic import op

            revision = {rev!r}
            down_revision = {down!r}


            def upgrade():
                op.execute("create table t_{rev} (id int)")


            def downgrade():
                op.execute("drop table t_{rev}")
            """,
        )
    return ("q2",)


def package_resource(root: Path) -> tuple[str, ...]:
    """script_location = package:resource, the package importable through prepend_sys_path."""
    _ini(root, "script_location = shipped_app:migrations\nprepend_sys_path = .\n")
    _write(root / "shipped_app" / "__init__.py", "")
    _write(root / "shipped_app" / "migrations" / "env.py", ENV_PY)
    _write(
        root / "shipped_app" / "migrations" / "versions" / "k1.py",
        """
        from alembic import op

        revision = "k1"
        down_revision = None


        def upgrade():
            op.execute("create table t_k1 (id int)")


        def downgrade():
            op.execute("drop table t_k1")
        """,
    )
    return ("k1",)


SHAPES: dict[str, Shape] = {
    "legacy-literals": legacy_literals,
    "typed-merges": typed_merges,
    "several-locations": several_locations,
    "pyproject-config": pyproject_config,
    "package-resource": package_resource,
}
