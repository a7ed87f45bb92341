"""The online helpers' pure parts: index definitions compared, the temporary check's name, a batch."""

from __future__ import annotations

import pytest

from migrator.online import MAX_IDENTIFIER, batch_statement, index_shape, not_null_check_name


def test_two_definitions_of_the_same_index_have_the_same_shape_whatever_their_names() -> None:
    """The real index and the probe on the temporary table differ only before USING."""
    real = "CREATE UNIQUE INDEX ux_items ON public.items USING btree (name) WHERE (status = 'active'::text)"
    probe = (
        "CREATE UNIQUE INDEX migrator_online_probe_index ON pg_temp_3.migrator_online_probe "
        "USING btree (name) WHERE (status = 'active'::text)"
    )
    assert index_shape(real) == index_shape(probe) == (True, "btree (name) WHERE (status = 'active'::text)")


@pytest.mark.parametrize(
    "other",
    [
        "CREATE INDEX ux_items ON public.items USING btree (name) WHERE (status = 'active'::text)",
        "CREATE UNIQUE INDEX ux_items ON public.items USING btree (name)",
        "CREATE UNIQUE INDEX ux_items ON public.items USING hash (name) WHERE (status = 'active'::text)",
        "CREATE UNIQUE INDEX ux_items ON public.items USING btree (name, id) WHERE (status = 'active'::text)",
    ],
)
def test_uniqueness_method_keys_and_predicate_each_make_another_index(other: str) -> None:
    real = "CREATE UNIQUE INDEX ux_items ON public.items USING btree (name) WHERE (status = 'active'::text)"
    assert index_shape(other) != index_shape(real)


def test_the_temporary_check_is_named_after_table_and_column() -> None:
    """Readable, and never PostgreSQL 18's own name for a NOT NULL constraint (items_qty_not_null)."""
    assert not_null_check_name("items", "qty") == "items_qty_online_not_null"


def test_a_long_temporary_check_name_is_cut_to_63_bytes_and_stays_distinct() -> None:
    """PostgreSQL would truncate silently; two long columns must not collide after the cut."""
    first = not_null_check_name("a_rather_long_table_name_for_orders", "a_rather_long_column_name_one")
    second = not_null_check_name("a_rather_long_table_name_for_orders", "a_rather_long_column_name_two")
    assert len(first.encode()) == len(second.encode()) == MAX_IDENTIFIER
    assert first != second
    assert first == not_null_check_name("a_rather_long_table_name_for_orders", "a_rather_long_column_name_one")


def test_a_multibyte_name_is_cut_on_a_character_boundary() -> None:
    name = not_null_check_name("tablé" * 10, "colonne")
    assert len(name.encode()) <= MAX_IDENTIFIER
    name.encode().decode()  # valid UTF-8


def test_the_first_batch_has_no_lower_bound_and_the_next_ones_a_placeholder() -> None:
    """Keys in PostgreSQL's order: the batch's last key comes from the database, not from Python."""
    first = batch_statement("items", "id", "b = a", "b IS NULL", 500, None)
    assert first == (
        "WITH batch AS (SELECT id FROM items WHERE (b IS NULL) ORDER BY id LIMIT 500), "
        "updated AS (UPDATE items SET b = a WHERE id IN (SELECT id FROM batch) RETURNING 1) "
        "SELECT (SELECT count(*) FROM updated), (SELECT id FROM batch ORDER BY id DESC LIMIT 1)"
    )
    later = batch_statement('"Shop"."Items"', '"Key"', "b = a", "b IS NULL OR c", 10, "%(last)s")
    assert later.startswith(
        'WITH batch AS (SELECT "Key" FROM "Shop"."Items" WHERE "Key" > %(last)s AND (b IS NULL OR c) '
        'ORDER BY "Key" LIMIT 10)'
    )
