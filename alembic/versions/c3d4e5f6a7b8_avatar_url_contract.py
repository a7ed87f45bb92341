"""Rename users.profile_picture to avatar_url, contract: drop the sync trigger and profile_picture

Revision ID: c3d4e5f6a7b8
Revises: b2c3d4e5f6a7
Create Date: 2026-04-20 00:00:01.000000

The contract step of the rename that b2c3d4e5f6a7 expanded: ``migrator upgrade
--phase contract`` applies it once the rollout is done, when no pod of the old
code (the only one that used ``profile_picture``) is left. The new code maps
only ``avatar_url``, so it keeps serving through this step unchanged, and the
release after it needs no change for the rename either.

Downgrade (before rolling the code back to a release that reads
``profile_picture``): the column comes back, the trigger keeps it equal to
``avatar_url`` again, and a batched backfill fills it; rerun-safe like the
expand step.
"""

import sqlalchemy as sa
from alembic import op

from migrator.online import backfill

# revision identifiers, used by Alembic.
revision = "c3d4e5f6a7b8"
down_revision = "b2c3d4e5f6a7"
branch_labels = None
depends_on = None
phase = "contract"

# The expand step's trigger, repeated rather than imported: a revision must not change
# behind an applied database when another file is edited.
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
    op.execute("DROP TRIGGER users_avatar_url_sync ON users")
    op.execute("DROP FUNCTION users_avatar_url_sync()")
    op.drop_column("users", "profile_picture")


def downgrade() -> None:
    op.add_column("users", sa.Column("profile_picture", sa.String(length=500), nullable=True), if_not_exists=True)
    op.execute(SYNC_FUNCTION)
    op.execute("DROP TRIGGER IF EXISTS users_avatar_url_sync ON users")
    op.execute(SYNC_TRIGGER)
    backfill("users", "profile_picture = avatar_url", "profile_picture IS NULL AND avatar_url IS NOT NULL")
