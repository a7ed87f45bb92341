"""Two schemas as plain values, and the pure comparison `verify` runs between them: each
difference named as users read it ("users.note: in the database, in no migration")."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

IN_DATABASE_ONLY = "in the database, in no migration"
IN_MIGRATIONS_ONLY = "in the migrations, not in the database"


@dataclass(frozen=True)
class Column:
    type: str  # as PostgreSQL formats it, shortened: "varchar(50)", "timestamp", "travelstyle"
    nullable: bool
    default: str | None = None  # the expression as PostgreSQL prints it, or "generated ..."


@dataclass(frozen=True)
class Table:
    columns: Mapping[str, Column] = field(default_factory=dict)
    indexes: Mapping[str, str] = field(default_factory=dict)  # name -> "unique btree (email)"
    constraints: Mapping[str, str] = field(default_factory=dict)  # name -> "FOREIGN KEY (trip_id) REFERENCES ..."


@dataclass(frozen=True)
class Snapshot:
    """A database's application schema: tables by name ("users", or "audit.events" outside
    public) and enum types with their labels in order."""

    tables: Mapping[str, Table] = field(default_factory=dict)
    enums: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def differences(live: Snapshot, built: Snapshot) -> list[str]:
    """How the live database differs from what its migrations build, one entry per object, sorted."""
    found = _each(live.tables, built.tables, _table, _table_changes)
    found += _each(live.enums, built.enums, _enum, _enum_changes)
    return found


V = TypeVar("V")
Label = Callable[[str], str]  # an object's name -> how users read it
Changes = Callable[[str, V, V], list[str]]  # (name, live value, built value) -> differences


def _each(live: Mapping[str, V], built: Mapping[str, V], label: Label, changes: Changes[V]) -> list[str]:
    """Objects on one side only, then what changed in those on both."""
    found = []
    for name in sorted(live.keys() | built.keys()):
        if name not in built:
            found.append(f"{label(name)}: {IN_DATABASE_ONLY}")
        elif name not in live:
            found.append(f"{label(name)}: {IN_MIGRATIONS_ONLY}")
        else:
            found += changes(name, live[name], built[name])
    return found


def _table_changes(table: str, live: Table, built: Table) -> list[str]:
    def column(name: str) -> str:
        return f"{table}.{name}"

    def index(name: str) -> str:
        return f"index {name} on {table}"

    def constraint(name: str) -> str:
        return f"constraint {name} on {table}"

    return [
        *_each(live.columns, built.columns, column, _column_changes(column)),
        *_each(live.indexes, built.indexes, index, _changed(index)),
        *_each(live.constraints, built.constraints, constraint, _changed(constraint)),
    ]


def _column_changes(label: Label) -> Changes[Column]:
    def compare(name: str, live: Column, built: Column) -> list[str]:
        return [
            *_changed(label, "type")(name, live.type, built.type),
            *_changed(label)(name, _nullability(live.nullable), _nullability(built.nullable)),
            *_changed(label, "default")(name, live.default or "none", built.default or "none"),
        ]

    return compare


def _enum_changes(name: str, live: tuple[str, ...], built: tuple[str, ...]) -> list[str]:
    return _changed(_enum, "labels")(name, _labels(live), _labels(built))


def _changed(label: Label, what: str = "") -> Changes[str]:
    """One value compared: "LABEL: [WHAT ]LIVE in the database, BUILT in the migrations"."""
    prefix = f"{what} " if what else ""

    def compare(name: str, live: str, built: str) -> list[str]:
        if live == built:
            return []
        return [f"{label(name)}: {prefix}{live} in the database, {built} in the migrations"]

    return compare


def _table(name: str) -> str:
    return f"table {name}"


def _enum(name: str) -> str:
    return f"enum {name}"


def _nullability(nullable: bool) -> str:
    return "nullable" if nullable else "NOT NULL"


def _labels(labels: tuple[str, ...]) -> str:
    return "(" + ", ".join(labels) + ")"
