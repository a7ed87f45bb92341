"""Where the revision files are, and the fingerprint of them all (stdlib only; nothing is executed).

The light stage never parses a revision file: it hashes every file in the version locations
and compares the result with the fingerprint the full stage recorded, in the database, the
last time it found the database at head with these very files. Any revision syntax, merges
spread over lines, several version locations: all the same to a hash. Helper modules that
revisions import live outside the version locations and are not hashed: they change what a
pending migration would do, never which revisions exist, so the no-op decision stands.

The locations are read the way Alembic reads them: ``[alembic]`` in the ini file, or
``[tool.alembic]`` in pyproject.toml next to it (Alembic 1.16+), ``script_location`` as a
path or ``package:resource``, ``version_locations`` split by ``path_separator`` (or the
legacy ``version_path_separator``), ``recursive_version_locations``, ``sourceless``.
Whatever cannot be read so is an ``Unreadable`` with the reason, and the full stage decides.
"""

from __future__ import annotations

import configparser
import hashlib
import importlib.machinery
import os
import re
import sys
from pathlib import Path
from typing import NamedTuple

from migrator.core.state import identifier

DEFAULT_VERSION_TABLE = "alembic_version"
# Alembic's own filters for revision files (script/base.py).
_SOURCE_FILE = re.compile(r"(?!\.\#|__init__)(.*\.py)$")
_SOURCELESS_FILE = re.compile(r"(?!\.\#|__init__)(.*\.py)(c|o)?$")
_SEPARATORS = {"os": os.pathsep, ":": ":", ";": ";", "space": " ", "newline": "\n"}
_TRUE = ("true", "1", "yes", "on")
_LIST = "\x00"  # joins a TOML list's items
_OPTIONS = (
    "script_location",
    "version_locations",
    "path_separator",
    "version_path_separator",
    "recursive_version_locations",
    "sourceless",
    "version_table",
    "version_table_schema",
    "prepend_sys_path",
)


class Locations(NamedTuple):
    """The version directories of a project and how to list them."""

    directories: tuple[Path, ...]
    recursive: bool
    sourceless: bool
    version_table: str
    version_table_schema: str | None


class Unreadable(NamedTuple):
    """Why the light stage cannot know the files (the full stage will)."""

    reason: str
    path: str


def locate(config_path: Path) -> Locations | Unreadable:
    """The version locations as Alembic would find them from ``config_path``; a version table no
    PostgreSQL name can be is a ConfigError here already, as the full stage would refuse it."""
    options = _options(config_path)
    if isinstance(options, Unreadable):
        return options
    location = options.get("script_location")
    if not location:
        return Unreadable("no script_location", str(config_path))
    search = [str(Path(p).resolve()) for p in _split(options.get("prepend_sys_path", ""), options)]
    script_dir = _resolve(location, search)
    if isinstance(script_dir, Unreadable):
        return script_dir
    raw_versions = options.get("version_locations")
    if raw_versions:
        directories: list[Path] = []
        for item in _split(raw_versions, options):
            resolved = _resolve(item, search)
            if isinstance(resolved, Unreadable):
                return resolved
            directories.append(resolved)
    else:
        directories = [script_dir / "versions"]
    table = identifier("version_table", options.get("version_table") or DEFAULT_VERSION_TABLE, str(config_path))
    schema = options.get("version_table_schema") or None
    return Locations(
        tuple(directories),
        recursive=str(options.get("recursive_version_locations", "")).lower() in _TRUE,
        sourceless=str(options.get("sourceless", "")).lower() in _TRUE,
        version_table=table,
        version_table_schema=identifier("version_table_schema", schema, str(config_path)) if schema else None,
    )


def config_files(config_path: Path) -> tuple[Path | None, Path | None]:
    """(the ini file, pyproject.toml) that ``config_path`` stands for, as Alembic 1.16+ reads them:
    ``-c pyproject.toml`` is the TOML file alone; an ini file has the pyproject.toml beside it; a
    missing ini file (the default ./alembic.ini) leaves the pyproject.toml beside where it would be."""
    if config_path.suffix == ".toml":
        return None, config_path if config_path.is_file() else None
    pyproject = config_path.resolve().parent / "pyproject.toml"
    return (config_path if config_path.is_file() else None), (pyproject if pyproject.is_file() else None)


def _options(config_path: Path) -> dict[str, str] | Unreadable:
    """[alembic] of the ini file; [tool.alembic] of pyproject.toml beside it fills what the ini lacks."""
    found: dict[str, str] = {}
    ini, pyproject = config_files(config_path)
    if pyproject is not None:
        import tomllib  # only here: most projects keep their Alembic config in alembic.ini

        try:
            table = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {}).get("alembic", {})
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            return Unreadable(f"pyproject.toml: {exc}", str(pyproject))
        here = str(pyproject.parent)
        for key, value in table.items():
            if isinstance(value, list):
                found[key] = _LIST.join(str(item).replace("%(here)s", here) for item in value) + _LIST
            elif isinstance(value, (str, bool, int)):
                found[key] = str(value).replace("%(here)s", here)
    if ini is not None:
        parser = configparser.ConfigParser(defaults={"here": str(config_path.resolve().parent)})
        try:
            parser.read(config_path, encoding="utf-8")
            if parser.has_section("alembic"):
                # Only the options that say where the files are: others (sqlalchemy.url) may not
                # even interpolate, and Alembic never reads them for this either.
                found.update({key: parser.get("alembic", key) for key in _OPTIONS if parser.has_option("alembic", key)})
        except (configparser.Error, UnicodeDecodeError) as exc:
            return Unreadable(describe_config_error(exc), str(config_path))
    elif not found:
        return Unreadable("no Alembic config", str(config_path))
    return found


def describe_config_error(exc: BaseException) -> str:
    """What is wrong with an ini file, by position, never quoting a value (it may hold a password)."""
    if isinstance(exc, configparser.MissingSectionHeaderError):
        return f"no [section] header before line {exc.lineno}"
    if isinstance(exc, configparser.ParsingError):
        lines = ", ".join(str(lineno) for lineno, _ in exc.errors)
        return f"cannot parse line(s) {lines}"
    if isinstance(exc, configparser.DuplicateSectionError | configparser.DuplicateOptionError):
        where = f" at line {exc.lineno}" if exc.lineno else ""
        return f"{type(exc).__name__}: [{exc.section}]{where}"
    if isinstance(exc, configparser.InterpolationError):
        return f"a '%' in option {exc.option!r} of [{exc.section}] must be written '%%'"
    if isinstance(exc, UnicodeDecodeError):
        return "not UTF-8 text"
    return type(exc).__name__


def _split(value: str, options: dict[str, str]) -> list[str]:
    if _LIST in value:  # a TOML list
        return [item.strip() for item in value.split(_LIST) if item.strip()]
    separator = options.get("path_separator") or options.get("version_path_separator")
    if separator:
        sep = _SEPARATORS.get(separator, separator)
        return [item.strip() for item in value.split(sep) if item.strip()]
    # Alembic's legacy default: spaces and/or commas.
    return [item for item in re.split(r"[\s,]+", value) if item]


def _resolve(location: str, search: list[str]) -> Path | Unreadable:
    """A path (relative to the current directory, as Alembic takes it) or ``package:resource``,
    the package looked up (not imported) where Alembic would find it: prepend_sys_path, then sys.path."""
    if ":" in location and not Path(location).is_absolute():
        package, _, resource = location.partition(":")
        if "." in package:
            return Unreadable(f"package {package!r}: only top-level packages are looked up without importing", location)
        spec = importlib.machinery.PathFinder.find_spec(package, [*search, *sys.path])
        if spec is None or not spec.submodule_search_locations:
            return Unreadable(f"package {package!r} not found", location)
        return Path(next(iter(spec.submodule_search_locations))) / resource
    return Path(location)


def fingerprint(locations: Locations, keep: dict[str, bytes] | None = None) -> str:
    """sha256 over every revision file's place and content; the same files give the same value anywhere.

    ``keep``: filled with each file's bytes by absolute path, so the full stage's checksums
    (core/checksums.py, Sources) need not read the files again."""
    pattern = _SOURCELESS_FILE if locations.sourceless else _SOURCE_FILE
    digest = hashlib.sha256()
    for index, directory in enumerate(locations.directories):
        for relative in _files(directory, pattern, locations.recursive):
            path = directory / relative
            data = path.read_bytes()
            if keep is not None:
                keep[os.path.abspath(path)] = data
            digest.update(f"{index}/{relative}\0".encode())
            digest.update(hashlib.sha256(data).digest())
    return digest.hexdigest()


def _files(directory: Path, pattern: re.Pattern[str], recursive: bool) -> list[str]:
    """Revision files under ``directory``, as sorted relative paths (``__pycache__`` left out)."""
    found: list[str] = []
    if recursive:
        for root, dirs, names in os.walk(directory):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            base = os.path.relpath(root, directory)
            found += [os.path.normpath(os.path.join(base, n)) for n in names if pattern.match(n)]
    else:
        with os.scandir(directory) as entries:
            found = [e.name for e in entries if e.is_file() and pattern.match(e.name)]
    return sorted(found)
