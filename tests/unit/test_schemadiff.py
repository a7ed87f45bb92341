"""The comparison of a live schema with the one its migrations build: each difference named."""

from __future__ import annotations

from dataclasses import replace

from migrator.tools.schemadiff import Column, Snapshot, Table, differences

USERS = Table(
    columns={
        "id": Column("varchar", nullable=False),
        "name": Column("varchar(50)", nullable=False),
        "active": Column("boolean", nullable=True, default="true"),
    },
    indexes={"ix_users_name": "unique btree (name)"},
    constraints={"users_pkey": "PRIMARY KEY (id)"},
)
BUILT = Snapshot(tables={"users": USERS}, enums={"mood": ("HAPPY", "SAD")})


def live(users: Table = USERS, **enums: tuple[str, ...]) -> Snapshot:
    """The built snapshot with users replaced and enums added or replaced."""
    return Snapshot(tables={"users": users}, enums={**BUILT.enums, **enums})


def with_column(name: str, column: Column | None) -> Table:
    columns = {k: v for k, v in USERS.columns.items() if k != name}
    return replace(USERS, columns=columns | ({name: column} if column else {}))


def test_identical_schemas_have_no_difference() -> None:
    """Equal snapshots, whatever order their dicts were filled in: nothing."""
    reordered = Table(dict(reversed(USERS.columns.items())), USERS.indexes, USERS.constraints)
    assert differences(live(reordered), BUILT) == []


def test_a_column_on_one_side_only_is_named_with_its_table() -> None:
    """Added by hand, or dropped by hand."""
    assert differences(live(with_column("drift_col", Column("integer", True))), BUILT) == [
        "users.drift_col: in the database, in no migration"
    ]
    assert differences(live(with_column("active", None)), BUILT) == [
        "users.active: in the migrations, not in the database"
    ]


def test_a_changed_column_names_each_changed_property_with_both_values() -> None:
    """Type, nullability and default: one entry each, the database's value first."""
    changed = Column("varchar(100)", nullable=True, default="'x'::character varying")
    assert differences(live(with_column("name", changed)), BUILT) == [
        "users.name: type varchar(100) in the database, varchar(50) in the migrations",
        "users.name: nullable in the database, NOT NULL in the migrations",
        "users.name: default 'x'::character varying in the database, none in the migrations",
    ]
    assert differences(live(with_column("active", Column("boolean", True))), BUILT) == [
        "users.active: default none in the database, true in the migrations"
    ]


def test_indexes_added_dropped_or_changed() -> None:
    """Named with their table; a changed index shows both definitions."""
    added = replace(USERS, indexes={**USERS.indexes, "ix_x": "btree (active)"})
    assert differences(live(added), BUILT) == ["index ix_x on users: in the database, in no migration"]
    dropped = replace(USERS, indexes={})
    assert differences(live(dropped), BUILT) == ["index ix_users_name on users: in the migrations, not in the database"]
    changed = replace(USERS, indexes={"ix_users_name": "btree (name)"})
    assert differences(live(changed), BUILT) == [
        "index ix_users_name on users: btree (name) in the database, unique btree (name) in the migrations"
    ]


def test_constraints_added_or_changed() -> None:
    """Unique, foreign-key and check constraints alike, by name."""
    constraints = {
        "users_pkey": "PRIMARY KEY (id, name)",
        "ck_name": "CHECK ((length((name)::text) > 0))",
    }
    assert differences(live(replace(USERS, constraints=constraints)), BUILT) == [
        "constraint ck_name on users: in the database, in no migration",
        "constraint users_pkey on users: PRIMARY KEY (id, name) in the database, PRIMARY KEY (id) in the migrations",
    ]


def test_a_table_on_one_side_only_is_one_entry() -> None:
    """Not one entry per column: the table is named once."""
    extra = Snapshot(tables={"users": USERS, "audit.events": Table({"id": Column("integer", False)})})
    assert differences(extra, Snapshot(tables={}, enums={})) == [
        "table audit.events: in the database, in no migration",
        "table users: in the database, in no migration",
    ]
    dropped = differences(Snapshot(), Snapshot(tables={"t": Table()}))
    assert dropped == ["table t: in the migrations, not in the database"]


def test_enums_compare_their_labels_in_order() -> None:
    """A label added, labels reordered, a type created by hand."""
    assert differences(live(mood=("HAPPY", "SAD", "BORED")), BUILT) == [
        "enum mood: labels (HAPPY, SAD, BORED) in the database, (HAPPY, SAD) in the migrations"
    ]
    assert differences(live(mood=("SAD", "HAPPY")), BUILT) == [
        "enum mood: labels (SAD, HAPPY) in the database, (HAPPY, SAD) in the migrations"
    ]
    assert differences(live(color=("RED",)), BUILT) == ["enum color: in the database, in no migration"]


def test_several_differences_come_sorted_tables_first() -> None:
    """Tables by name, within a table columns, indexes then constraints; enums last."""
    users = replace(
        with_column("zeta", Column("text", True)),
        indexes={**USERS.indexes, "ix_a": "btree (id)"},
        constraints={**USERS.constraints, "ck_a": "CHECK (true)"},
    )
    found = differences(
        Snapshot(tables={"users": users, "accounts": Table()}, enums={"mood": ("HAPPY",)}),
        BUILT,
    )
    assert found == [
        "table accounts: in the database, in no migration",
        "users.zeta: in the database, in no migration",
        "index ix_a on users: in the database, in no migration",
        "constraint ck_a on users: in the database, in no migration",
        "enum mood: labels (HAPPY) in the database, (HAPPY, SAD) in the migrations",
    ]
