"""Rename users.profile_picture to avatar_url, expand: add avatar_url, sync both, backfill

Revision ID: b2c3d4e5f6a7
Revises: a1b2c3d4e5f6
Create Date: 2026-04-20 00:00:00.000000

A rename without downtime, in two revisions: this expand step runs before the
rollout, the contract step (c3d4e5f6a7b8) after it.

1. ``avatar_url`` is added beside ``profile_picture`` (nullable, no default: no
   table rewrite, a short lock).
2. A trigger keeps the two columns equal on every INSERT and UPDATE, in both
   directions: the old code (still serving during the rollout) writes only
   ``profile_picture`` and the trigger copies it to ``avatar_url``; the new code
   maps only ``avatar_url`` and the trigger copies it to ``profile_picture``,
   which the old pods still read.
3. ``migrator.online.backfill`` copies the existing rows in batches, each
   committed on its own, so no long transaction holds their row locks.

Why the database, not the application, writes the old column: the new code runs
against both schemas, the expanded one during the rollout and the contracted one
after ``--phase contract``, without a restart in between. If it wrote (or even
mapped) ``profile_picture``, its statements would fail the moment the contract
step drops it; deciding at start-up whether the column exists goes stale in the
same way. Writing only ``avatar_url`` works on both schemas, and the trigger does
the other half for as long as the old column exists.

Rerun-safe: the backfill commits what came before it (the column, the trigger,
the earlier revisions of the run), and a run that fails after that runs this
revision again from the top, so the statements before it repeat harmlessly
(IF NOT EXISTS, OR REPLACE) and the backfill resumes with the rows not done.
"""

import sqlalchemy as sa
from alembic import op

from migrator.online import backfill

# revision identifiers, used by Alembic.
revision = "b2c3d4e5f6a7"
down_revision = "a1b2c3d4e5f6"
branch_labels = None
depends_on = None

# The new column wins when a statement changed it (the new code); otherwise a changed old column
# wins (the old code); a statement that changed neither keeps whichever one is set (a row the
# backfill has not reached yet). Then the old column follows the new one.
SYNC_FUNCTION = """
CREATE OR REPLACE FUNCTION users_avatar_url_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.avatar_url := COALESCE(NEW.avatar_url, NEW.profile_picture);
    ELSIF NEW.avatar_url IS DISTINCT FROM OLD.avatar_url THEN
        NULL;
    ELSIF NEW.profile_picture IS DISTINCT FROM OLD.profile_picture THEN
        NEW.avatar_url := NEW.profile_picture;
    ELSE
        NEW.avatar_url := COALESCE(NEW.avatar_url, NEW.profile_picture);
    END IF;
    NEW.profile_picture := NEW.avatar_url;
    RETURN NEW;
END
$$
"""
SYNC_TRIGGER = (
    "CREATE TRIGGER users_avatar_url_sync BEFORE INSERT OR UPDATE ON users "
    "FOR EACH ROW EXECUTE FUNCTION users_avatar_url_sync()"
)


def upgrade() -> None:
    op.add_column("users", sa.Column("avatar_url", sa.String(length=500), nullable=True), if_not_exists=True)
    op.execute(SYNC_FUNCTION)
    op.execute("DROP TRIGGER IF EXISTS users_avatar_url_sync ON users")
    op.execute(SYNC_TRIGGER)
    backfill("users", "avatar_url = profile_picture", "avatar_url IS NULL AND profile_picture IS NOT NULL")


def downgrade() -> None:
    # profile_picture holds every value: the trigger kept it equal to avatar_url all along.
    op.execute("DROP TRIGGER users_avatar_url_sync ON users")
    op.execute("DROP FUNCTION users_avatar_url_sync()")
    op.drop_column("users", "avatar_url")
