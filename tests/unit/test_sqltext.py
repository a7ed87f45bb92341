"""What lint reads in the SQL Alembic renders: statements, and the changes an expand step must not make."""

from __future__ import annotations

import pytest

from migrator.tools.sqltext import breaking_change, statements


@pytest.mark.parametrize(
    ("statement", "what"),
    [
        ("ALTER TABLE users DROP COLUMN nickname;", "drops a column"),
        ("DROP TABLE notes;", "drops a table"),
        ("ALTER TABLE users RENAME COLUMN nick TO nickname;", "renames a column"),
        ("ALTER TABLE users RENAME TO people;", "renames a table"),
        ("ALTER TABLE users ALTER COLUMN age TYPE BIGINT;", "changes a column's type"),
        ("ALTER TABLE users ALTER COLUMN age SET DATA TYPE BIGINT;", "changes a column's type"),
        ("ALTER TABLE users ADD COLUMN nickname TEXT;", None),
        ("CREATE INDEX ix ON users (nickname);", None),
    ],
)
def test_breaking_changes_are_named(statement: str, what: str | None) -> None:
    assert breaking_change(statement) == what


def test_statements_are_found_with_their_first_line() -> None:
    sql = "BEGIN;\n\n-- Running upgrade a -> b\n\nALTER TABLE t\n    DROP COLUMN c;\n\nCOMMIT;\n"
    assert statements(sql) == [(0, "BEGIN;"), (4, "ALTER TABLE t DROP COLUMN c;"), (7, "COMMIT;")]
