"""An expand step under load, on the application's own schema: the project, its data, and what it must leave.

Shared by the load test (tests/integration/test_under_load.py) and the bench's scenario F
(bench/underload.py), so both run the same revisions on the same rows.

The project is the application's revisions (alembic/versions, copied as they are) and three on top:

* ``load01``: packing items can be assigned to the traveler who carries them, a nullable
  ``packing_items.traveler_id`` (applied before the rows are written, as in an earlier release);
* ``load02``: ``packing_items.weight_grams``, NOT NULL with a constant default (no table rewrite
  since PostgreSQL 11, but an ACCESS EXCLUSIVE lock until its transaction ends);
* ``load03``: an index on ``traveler_id`` and the foreign key to ``travelers``, written either with
  migrator's online helpers (``ONLINE``) or with the plain Alembic idioms (``PLAIN``).

``load02`` and ``load03`` are the expand step applied while a writer (devtools/writer.py) inserts
and updates packing items and travelers. The column comes in its own revision: statements before an
online helper must be safe to repeat, or be in an earlier revision (docs/how-it-works.md).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from alembic.script import ScriptDirectory

from devtools.recipe import ENV_PY

REPO = Path(__file__).resolve().parent.parent
APP_VERSIONS = REPO / "alembic" / "versions"
ONLINE = "online"
PLAIN = "plain"
BEFORE_LOAD = "load01"  # what the database is upgraded to before the rows are written
HEAD = "load03"
INDEX = "ix_packing_items_traveler_id"
FOREIGN_KEY = "fk_packing_items_traveler_id_travelers"
TRAVELERS_PER_TRIP = 4
ITEMS_PER_TRIP = 50
TRIPS_PER_USER = 10

INI = """\
[alembic]
script_location = %(here)s/migrations
path_separator = os
"""

REVISION = '''\
"""{message}

Revision ID: {revision}
Revises: {down}
"""
import sqlalchemy as sa
from alembic import op
{imports}
revision = {revision!r}
down_revision = {down!r}
branch_labels = None
depends_on = None


def upgrade() -> None:
{upgrade}


def downgrade() -> None:
{downgrade}
'''

TRAVELER_COLUMN = (
    '    op.add_column("packing_items", sa.Column("traveler_id", sa.String(), nullable=True))',
    '    op.drop_column("packing_items", "traveler_id")',
)
WEIGHT_COLUMN = (
    '    op.add_column("packing_items", sa.Column("weight_grams", sa.Integer(), nullable=False, server_default="0"))',
    '    op.drop_column("packing_items", "weight_grams")',
)
INDEX_AND_FOREIGN_KEY = {
    ONLINE: (
        f'    online.create_index_concurrently("{INDEX}", "packing_items", ["traveler_id"])\n'
        f'    online.add_foreign_key("{FOREIGN_KEY}", "packing_items", "travelers", ["traveler_id"], ["id"], '
        'ondelete="SET NULL")'
    ),
    PLAIN: (
        f'    op.create_index("{INDEX}", "packing_items", ["traveler_id"])\n'
        f'    op.create_foreign_key("{FOREIGN_KEY}", "packing_items", "travelers", ["traveler_id"], ["id"], '
        'ondelete="SET NULL")'
    ),
}
DROP_INDEX_AND_FOREIGN_KEY = (
    f'    op.drop_constraint("{FOREIGN_KEY}", "packing_items", type_="foreignkey")\n'
    f'    op.drop_index("{INDEX}", table_name="packing_items")'
)

# What the expand step must leave: the index valid, the foreign key validated, the column with its default.
STATE_SQL = f"""
select
  (select indisvalid from pg_index where indexrelid = to_regclass('{INDEX}')),
  (select convalidated from pg_constraint where conname = '{FOREIGN_KEY}'),
  (select pg_get_expr(adbin, adrelid) from pg_attrdef
     where adrelid = 'packing_items'::regclass
       and adnum = (select attnum from pg_attribute where attrelid = 'packing_items'::regclass
                    and attname = 'weight_grams')),
  (select version_num from alembic_version)
"""
EXPECTED_STATE = (True, True, "0", HEAD)


def app_head(versions: Path = APP_VERSIONS) -> str:
    """The application's one head, read by Alembic from its revision files (it moves as the app grows)."""
    heads = ScriptDirectory(str(versions.parent), version_locations=[str(versions)]).get_heads()
    if len(heads) != 1:
        raise ValueError(f"the application's revisions have {len(heads)} heads ({heads}); expected one")
    return heads[0]


def write_project(root: Path, idioms: str) -> Path:
    """alembic.ini, migrations/env.py, the app's revisions and load01..load03 in the given idioms; returns root."""
    versions = root / "migrations" / "versions"
    shutil.copytree(APP_VERSIONS, versions, ignore=shutil.ignore_patterns("__pycache__"))
    (root / "alembic.ini").write_text(INI)
    (root / "migrations" / "env.py").write_text(ENV_PY)
    down = app_head(versions)
    bodies = [
        (BEFORE_LOAD, "packing items carried by a traveler", "", *TRAVELER_COLUMN),
        ("load02", "an item's weight, 0 until known", "", *WEIGHT_COLUMN),
        (
            HEAD,
            f"index and foreign key for traveler_id ({idioms} idioms)",
            "from migrator import online\n" if idioms == ONLINE else "",
            INDEX_AND_FOREIGN_KEY[idioms],
            DROP_INDEX_AND_FOREIGN_KEY,
        ),
    ]
    for revision, message, imports, upgrade, downgrade in bodies:
        text = REVISION.format(
            message=message, revision=revision, down=down, imports=imports, upgrade=upgrade, downgrade=downgrade
        )
        (versions / f"{revision}.py").write_text(text)
        down = revision
    return root


@dataclass(frozen=True)
class Dataset:
    """How many rows of each table, from the number of packing items; ids follow a pattern the writer knows."""

    items: int

    @property
    def trips(self) -> int:
        return max(1, self.items // ITEMS_PER_TRIP)

    @property
    def users(self) -> int:
        return max(1, self.trips // TRIPS_PER_USER)

    def seed_sql(self) -> list[str]:
        """INSERT … SELECT generate_series, table by table; 9 in 10 items carried by a traveler of their trip."""
        now = "now() at time zone 'utc'"
        trip = f"(mod(g, {self.trips}) + 1)"
        return [
            f"insert into users (id, username, email, created_at) select 'u' || g, 'user' || g, "
            f"'user' || g || '@example.com', {now} from generate_series(1, {self.users}) g",
            f"insert into trips (id, user_id, destination, start_date, end_date, duration, created_at, updated_at) "
            f"select 't' || g, 'u' || (mod(g, {self.users}) + 1), 'Lisbon', '2026-07-01', '2026-07-08', 7, "
            f"{now}, {now} from generate_series(1, {self.trips}) g",
            f"insert into travelers (id, trip_id, name, traveler_type, created_at) "
            f"select 'v' || t || '.' || k, 't' || t, 'traveler ' || k, 'adult', {now} "
            f"from generate_series(1, {self.trips}) t, generate_series(0, {TRAVELERS_PER_TRIP - 1}) k",
            f"insert into packing_items (id, trip_id, traveler_id, name, category, quantity, is_packed, "
            f"is_essential, display_order, created_at, updated_at) "
            f"select 'i' || g, 't' || {trip}, "
            f"case when mod(g, 10) = 0 then null else 'v' || {trip} || '.' || mod(g, {TRAVELERS_PER_TRIP}) end, "
            f"'item ' || g, 'OTHER', 1, false, false, mod(g, 50), {now}, {now} "
            f"from generate_series(1, {self.items}) g",
            "vacuum analyze",  # hint bits and statistics: the first scan under load is not the first ever
        ]

    def item_id(self, number: int) -> str:
        return f"i{number % self.items + 1}"

    def trip_id(self, number: int) -> str:
        return f"t{number % self.trips + 1}"

    def traveler_id(self, trip: str, number: int) -> str:
        return f"v{trip[1:]}.{number % TRAVELERS_PER_TRIP}"
