"""The advisory lock key and how pg_locks shows it."""

from __future__ import annotations

import pytest

from migrator.core.lock import is_lock_ours, key_parts, lock_key


def test_lock_key_is_stable_across_releases() -> None:
    """The key is a fixed value: an old and a new migrator must exclude each other during a rollout."""
    assert lock_key("alembic_version", None) == 3821969676243697433


def test_lock_key_is_deterministic() -> None:
    """The same table and schema always give the same key."""
    assert lock_key("alembic_version", "app") == lock_key("alembic_version", "app")


@pytest.mark.parametrize(
    ("table", "schema"),
    [
        ("alembic_version", None),
        ("alembic_version", "public"),
        ("alembic_version", "tenant_a"),
        ("other_version", None),
        ("other_version", "tenant_a"),
    ],
)
def test_lock_key_fits_a_signed_bigint(table: str, schema: str | None) -> None:
    """pg_advisory_lock takes a signed 64-bit integer."""
    assert -(2**63) <= lock_key(table, schema) < 2**63


def test_lock_key_differs_by_table_and_by_schema() -> None:
    """Separate version tables are migrated independently, so their locks do not collide."""
    keys = {
        lock_key("alembic_version", None),
        lock_key("alembic_version", "tenant_a"),
        lock_key("alembic_version", "tenant_b"),
        lock_key("other_version", None),
        lock_key("other_version", "tenant_a"),
    }
    assert len(keys) == 5


def test_lock_key_treats_no_schema_and_empty_schema_alike() -> None:
    """An unset schema and an empty one name the same version table."""
    assert lock_key("alembic_version", "") == lock_key("alembic_version", None)


@pytest.mark.parametrize(
    ("key", "parts"),
    [
        (0, (0, 0)),
        (1, (0, 1)),
        (0xFFFFFFFF, (0, 0xFFFFFFFF)),
        (2**32, (1, 0)),
        (2**63 - 1, (0x7FFFFFFF, 0xFFFFFFFF)),
        (-1, (0xFFFFFFFF, 0xFFFFFFFF)),
        (-2, (0xFFFFFFFF, 0xFFFFFFFE)),
        (-(2**32), (0xFFFFFFFF, 0)),
        (-(2**63), (0x80000000, 0)),
        (7119829542688588010, (0x62CEB73F, 0x214900EA)),
    ],
)
def test_key_parts_are_the_high_and_low_32_bits_of_the_unsigned_key(key: int, parts: tuple[int, int]) -> None:
    """pg_locks shows a bigint key as classid (high 32 bits) and objid (low 32 bits), both unsigned."""
    assert key_parts(key) == parts


@pytest.mark.parametrize(
    ("acquired_by", "current_pid", "held_by_current", "other_client_pid", "ours"),
    [
        (101, 101, True, 303, True),
        (101, 202, True, 303, False),
        (101, 101, False, 303, False),
        (101, 101, True, 101, False),
        (101, 202, False, 101, False),
    ],
)
def test_lock_is_ours_only_on_a_backend_of_our_own_that_still_holds_it(
    acquired_by: int, current_pid: int, held_by_current: bool, other_client_pid: int, ours: bool
) -> None:
    """Behind a transaction pooler the next transaction may run elsewhere, or another client share our backend."""
    assert is_lock_ours(acquired_by, current_pid, held_by_current, other_client_pid) is ours
