"""Where the revision files are, read as Alembic reads them, and their fingerprint (core/scripts.py)."""

from __future__ import annotations

import configparser
from pathlib import Path

import pytest

from migrator.core.scripts import Locations, Unreadable, describe_config_error, fingerprint, locate


def ini(root: Path, body: str) -> Path:
    path = root / "alembic.ini"
    path.write_text("[alembic]\n" + body)
    return path


def test_the_default_versions_directory_and_version_table(tmp_path: Path) -> None:
    """script_location alone: its versions/ folder, alembic_version in the default schema."""
    found = locate(ini(tmp_path, "script_location = %(here)s/migrations\n"))
    assert found == Locations((tmp_path / "migrations" / "versions",), False, False, "alembic_version", None)


def test_a_url_that_does_not_interpolate_does_not_matter(tmp_path: Path) -> None:
    """sqlalchemy.url with raw '%' is Alembic's business at run time, not a reason to hand over."""
    found = locate(ini(tmp_path, "script_location = m\nsqlalchemy.url = postgresql://u:p%40ss@h/db\n"))
    assert isinstance(found, Locations)


@pytest.mark.parametrize(
    ("separator_line", "joined"),
    [("path_separator = space\n", " "), ("path_separator = os\n", ":"), ("", ", ")],
)
def test_version_locations_are_split_as_alembic_splits_them(tmp_path: Path, separator_line: str, joined: str) -> None:
    """path_separator (space, os), or the legacy spaces-and-commas when none is set."""
    found = locate(ini(tmp_path, f"script_location = m\nversion_locations = a{joined}b\n{separator_line}"))
    assert isinstance(found, Locations)
    assert found.directories == (Path("a"), Path("b"))


def test_pyproject_toml_fills_what_the_ini_lacks(tmp_path: Path) -> None:
    """[tool.alembic] with a list of version locations and %(here)s."""
    (tmp_path / "pyproject.toml").write_text(
        '[tool.alembic]\nscript_location = "%(here)s/m"\nversion_locations = ["%(here)s/a", "%(here)s/b c"]\n'
    )
    found = locate(ini(tmp_path, ""))
    assert isinstance(found, Locations)
    assert found.directories == (tmp_path / "a", tmp_path / "b c")


def test_a_package_resource_location_is_found_without_importing_the_package(tmp_path: Path) -> None:
    """package:resource through prepend_sys_path; the package's __init__ never runs."""
    package = tmp_path / "shipped"
    package.mkdir()
    (package / "__init__.py").write_text("raise RuntimeError('imported')\n")
    found = locate(ini(tmp_path, f"script_location = shipped:migrations\nprepend_sys_path = {tmp_path}\n"))
    assert isinstance(found, Locations)
    assert found.directories == (package / "migrations" / "versions",)


def test_what_cannot_be_read_is_unreadable_with_a_reason(tmp_path: Path) -> None:
    """No script_location, an unknown package: the full stage decides."""
    assert isinstance(locate(ini(tmp_path, "")), Unreadable)
    assert isinstance(locate(ini(tmp_path, "script_location = no_such_package_x:m\n")), Unreadable)


def test_the_fingerprint_follows_every_byte_and_name_but_not_the_place(tmp_path: Path) -> None:
    """Same files elsewhere: same value; a byte or a name changed, or a file added: another value."""
    for root in (tmp_path / "one", tmp_path / "two"):
        (root / "v").mkdir(parents=True)
        (root / "v" / "a.py").write_text("revision = 'a'\n")
        (root / "v" / "__init__.py").write_text("ignored")
    one = Locations((tmp_path / "one" / "v",), False, False, "alembic_version", None)
    two = Locations((tmp_path / "two" / "v",), False, False, "alembic_version", None)
    assert fingerprint(one) == fingerprint(two)
    (tmp_path / "two" / "v" / "__init__.py").write_text("still ignored")
    assert fingerprint(one) == fingerprint(two)
    (tmp_path / "two" / "v" / "a.py").write_text("revision = 'a'\n\n")
    assert fingerprint(one) != fingerprint(two)


def test_config_errors_are_described_without_quoting_values() -> None:
    """A malformed line may hold a password: positions only."""
    parser = configparser.ConfigParser()
    with pytest.raises(configparser.Error) as raised:
        parser.read_string("sqlalchemy.url = postgresql://u:hunter22@h/db\n")
    assert describe_config_error(raised.value) == "no [section] header before line 1"
    parser.read_string("[alembic]\nsqlalchemy.url = postgresql://u:hun%ter22@h/db\n")
    with pytest.raises(configparser.Error) as raised:
        parser.get("alembic", "sqlalchemy.url")
    assert "hun" not in describe_config_error(raised.value)
