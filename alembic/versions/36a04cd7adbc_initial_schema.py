"""Initial schema with users, trips, travelers, packing_items, audit_log

Revision ID: 36a04cd7adbc
Revises:
Create Date: 2025-10-24 11:34:37.033592

Reproduces what the original application's ``create_all()`` built, so a
database created that way and stamped at this revision is identical to one
migrated here. Enum labels are frozen copies of the Python member names;
later changes to the model enums need their own revision.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# migrator-lint: ignore=prefer-timestamp-tz,prefer-bigint-over-int,prefer-identity  It creates every table on an
# empty database (no reader or writer to block, no rows to convert) and must reproduce exactly the types create_all()
# built (naive DateTime, Integer, SERIAL) in the databases stamped at this revision; changing a type is a new revision.

# revision identifiers, used by Alembic.
revision = "36a04cd7adbc"
down_revision = None
branch_labels = None
depends_on = None

travel_style = postgresql.ENUM(
    "BUSINESS", "LEISURE", "ADVENTURE", "BACKPACKING", "LUXURY",
    name="travelstyle", create_type=False,
)  # fmt: skip
transport_method = postgresql.ENUM(
    "FLIGHT", "ROAD_TRIP", "TRAIN", "CRUISE", "OTHER",
    name="transportmethod", create_type=False,
)  # fmt: skip
item_category = postgresql.ENUM(
    "CLOTHING", "TOILETRIES", "ELECTRONICS", "DOCUMENTS", "MEDICAL",
    "ENTERTAINMENT", "GEAR", "FOOD", "OTHER",
    name="itemcategory", create_type=False,
)  # fmt: skip
ENUM_TYPES = (travel_style, transport_method, item_category)


def upgrade() -> None:
    bind = op.get_bind()
    for enum_type in ENUM_TYPES:
        enum_type.create(bind, checkfirst=True)
    _create_users()
    _create_trips()
    _create_travelers()
    _create_packing_items()
    _create_audit_logs()


def downgrade() -> None:
    for table in ("audit_logs", "packing_items", "travelers", "trips", "users"):
        op.drop_table(table)
    bind = op.get_bind()
    for enum_type in ENUM_TYPES:
        enum_type.drop(bind, checkfirst=True)


def _create_users() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("email", sa.String(length=120), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("last_login", sa.DateTime(), nullable=True),
        sa.Column("oauth_provider", sa.String(length=50), nullable=True),
        sa.Column("oauth_id", sa.String(length=255), nullable=True),
        sa.Column("profile_picture", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_users_username", "users", ["username"], unique=True)
    op.create_index("ix_users_email", "users", ["email"], unique=True)
    op.create_index("ix_users_oauth_id", "users", ["oauth_id"])
    op.create_index("idx_user_oauth", "users", ["oauth_provider", "oauth_id"])


def _create_trips() -> None:
    op.create_table(
        "trips",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("destination", sa.String(), nullable=False),
        sa.Column("start_date", sa.String(), nullable=False),
        sa.Column("end_date", sa.String(), nullable=False),
        sa.Column("duration", sa.Integer(), nullable=True),
        sa.Column("travel_style", travel_style, nullable=True),
        sa.Column("transportation", transport_method, nullable=True),
        sa.Column("activities", sa.Text(), nullable=True),
        sa.Column("special_notes", sa.Text(), nullable=True),
        sa.Column("weather_conditions", sa.String(), nullable=True),
        sa.Column("is_template", sa.Boolean(), nullable=True),
        sa.Column("template_name", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in (
        "user_id",
        "destination",
        "start_date",
        "travel_style",
        "is_template",
        "created_at",
    ):
        op.create_index(f"ix_trips_{column}", "trips", [column])
    op.create_index("idx_trip_destination_date", "trips", ["destination", "start_date"])
    op.create_index("idx_trip_created_desc", "trips", [sa.text("created_at DESC")])


def _create_travelers() -> None:
    op.create_table(
        "travelers",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("trip_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("traveler_type", sa.String(), nullable=False),
        sa.Column("age", sa.Integer(), nullable=True),
        sa.Column("special_needs", sa.Text(), nullable=True),
        sa.Column("preferences", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["trip_id"], ["trips.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_travelers_trip_id", "travelers", ["trip_id"])


def _create_packing_items() -> None:
    # actually_used is added by a1b2c3d4e5f6, as it was in the original history.
    op.create_table(
        "packing_items",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("trip_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("category", item_category, nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=True),
        sa.Column("is_packed", sa.Boolean(), nullable=True),
        sa.Column("is_essential", sa.Boolean(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("ai_suggested", sa.Boolean(), nullable=True),
        sa.Column("display_order", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["trip_id"], ["trips.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in ("trip_id", "category", "is_packed", "is_essential"):
        op.create_index(f"ix_packing_items_{column}", "packing_items", [column])
    op.create_index("idx_item_trip_category", "packing_items", ["trip_id", "category"])
    op.create_index("idx_item_trip_packed", "packing_items", ["trip_id", "is_packed"])


def _create_audit_logs() -> None:
    op.create_table(
        "audit_logs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("timestamp", sa.DateTime(), nullable=False),
        sa.Column("event_type", sa.String(length=50), nullable=False),
        sa.Column("event_category", sa.String(length=50), nullable=False),
        sa.Column("severity", sa.String(length=20), nullable=True),
        sa.Column("user_id", sa.String(), nullable=True),
        sa.Column("username", sa.String(length=80), nullable=True),
        sa.Column("ip_address", sa.String(length=45), nullable=True),
        sa.Column("user_agent", sa.Text(), nullable=True),
        sa.Column("request_method", sa.String(length=10), nullable=True),
        sa.Column("request_path", sa.String(length=500), nullable=True),
        sa.Column("action", sa.String(length=200), nullable=False),
        sa.Column("resource_type", sa.String(length=50), nullable=True),
        sa.Column("resource_id", sa.String(), nullable=True),
        sa.Column("changes", sa.Text(), nullable=True),
        sa.Column("metadata", sa.Text(), nullable=True),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("session_id", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    single_column_indexes = (
        "timestamp", "event_type", "event_category", "severity", "user_id", "username", "success",
    )  # fmt: skip
    for column in single_column_indexes:
        op.create_index(f"ix_audit_logs_{column}", "audit_logs", [column])
    op.create_index("idx_audit_user_timestamp", "audit_logs", ["user_id", "timestamp"])
    op.create_index("idx_audit_event_timestamp", "audit_logs", ["event_type", "timestamp"])
    op.create_index("idx_audit_category_timestamp", "audit_logs", ["event_category", "timestamp"])
    op.create_index("idx_audit_resource", "audit_logs", ["resource_type", "resource_id"])
    op.create_index("idx_audit_timestamp_desc", "audit_logs", [sa.text("timestamp DESC")])
