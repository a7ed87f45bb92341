"""TravelPacker domain tables: users, their trips, and each trip's travelers and items.

Enumerated columns store the Python member *names* (``LEISURE``), which is
SQLAlchemy's default and what the original application wrote; the PostgreSQL
type names are pinned so renaming a Python class never renames a database type.
"""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, DateTime, Enum, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from src.database.base import Base, utcnow


class TravelStyle(StrEnum):
    BUSINESS = "business"
    LEISURE = "leisure"
    ADVENTURE = "adventure"
    BACKPACKING = "backpacking"
    LUXURY = "luxury"


class Transportation(StrEnum):
    FLIGHT = "flight"
    ROAD_TRIP = "road_trip"
    TRAIN = "train"
    CRUISE = "cruise"
    OTHER = "other"


class ItemCategory(StrEnum):
    CLOTHING = "clothing"
    TOILETRIES = "toiletries"
    ELECTRONICS = "electronics"
    DOCUMENTS = "documents"
    MEDICAL = "medical"
    ENTERTAINMENT = "entertainment"
    GEAR = "gear"
    FOOD = "food"
    OTHER = "other"


# The original app named the transportation enum class TransportMethod, so that
# is the PostgreSQL type name existing databases already have.
TRAVEL_STYLE_TYPE = Enum(TravelStyle, name="travelstyle")
TRANSPORTATION_TYPE = Enum(Transportation, name="transportmethod")
ITEM_CATEGORY_TYPE = Enum(ItemCategory, name="itemcategory")


class User(Base):
    __tablename__ = "users"
    __table_args__ = (Index("idx_user_oauth", "oauth_provider", "oauth_id"),)

    id: Mapped[str] = mapped_column(String, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True, index=True)
    email: Mapped[str] = mapped_column(String(120), unique=True, index=True)
    # NULL for accounts that only sign in through an OAuth provider.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime | None] = mapped_column(DateTime, default=utcnow)
    last_login: Mapped[datetime | None] = mapped_column(DateTime)
    oauth_provider: Mapped[str | None] = mapped_column(String(50))
    oauth_id: Mapped[str | None] = mapped_column(String(255), index=True)
    # Was profile_picture (alembic/versions b2c3d4e5f6a7, c3d4e5f6a7b8). Only this column is mapped, so
    # this code works on both sides of the contract step; a database trigger fills the old column for
    # the old code for as long as it exists.
    avatar_url: Mapped[str | None] = mapped_column(String(500))

    trips: Mapped[list["Trip"]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )

    def __repr__(self) -> str:
        return f"<User id={self.id!r} username={self.username!r}>"


class Trip(Base):
    __tablename__ = "trips"

    id: Mapped[str] = mapped_column(String, primary_key=True)
    user_id: Mapped[str] = mapped_column(String, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    destination: Mapped[str] = mapped_column(String, index=True)
    # ISO dates kept as text, as the original schema does.
    start_date: Mapped[str] = mapped_column(String, index=True)
    end_date: Mapped[str] = mapped_column(String)
    duration: Mapped[int | None] = mapped_column(Integer, default=1)
    travel_style: Mapped[TravelStyle | None] = mapped_column(TRAVEL_STYLE_TYPE, default=TravelStyle.LEISURE, index=True)
    transportation: Mapped[Transportation | None] = mapped_column(TRANSPORTATION_TYPE, default=Transportation.FLIGHT)
    activities: Mapped[str | None] = mapped_column(Text)  # JSON array as text
    special_notes: Mapped[str | None] = mapped_column(Text)
    weather_conditions: Mapped[str | None] = mapped_column(String)
    is_template: Mapped[bool | None] = mapped_column(Boolean, default=False, index=True)
    template_name: Mapped[str | None] = mapped_column(String)
    created_at: Mapped[datetime | None] = mapped_column(DateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship(back_populates="trips")
    travelers: Mapped[list["Traveler"]] = relationship(
        back_populates="trip",
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="selectin",
    )
    packing_items: Mapped[list["PackingItem"]] = relationship(
        back_populates="trip",
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="selectin",
    )

    __table_args__ = (
        Index("idx_trip_destination_date", "destination", "start_date"),
        Index("idx_trip_created_desc", created_at.desc()),
    )

    def __repr__(self) -> str:
        return f"<Trip id={self.id!r} destination={self.destination!r}>"


class Traveler(Base):
    __tablename__ = "travelers"

    id: Mapped[str] = mapped_column(String, primary_key=True)
    trip_id: Mapped[str] = mapped_column(String, ForeignKey("trips.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String)
    traveler_type: Mapped[str] = mapped_column(String)  # adult, child, infant, pet
    age: Mapped[int | None] = mapped_column(Integer)
    special_needs: Mapped[str | None] = mapped_column(Text)  # JSON as text
    preferences: Mapped[str | None] = mapped_column(Text)  # JSON as text
    created_at: Mapped[datetime | None] = mapped_column(DateTime, default=utcnow)

    trip: Mapped[Trip] = relationship(back_populates="travelers")

    def __repr__(self) -> str:
        return f"<Traveler id={self.id!r} name={self.name!r}>"


class PackingItem(Base):
    __tablename__ = "packing_items"
    __table_args__ = (
        Index("idx_item_trip_category", "trip_id", "category"),
        Index("idx_item_trip_packed", "trip_id", "is_packed"),
    )

    id: Mapped[str] = mapped_column(String, primary_key=True)
    trip_id: Mapped[str] = mapped_column(String, ForeignKey("trips.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String)
    category: Mapped[ItemCategory | None] = mapped_column(ITEM_CATEGORY_TYPE, default=ItemCategory.OTHER, index=True)
    quantity: Mapped[int | None] = mapped_column(Integer, default=1)
    is_packed: Mapped[bool | None] = mapped_column(Boolean, default=False, index=True)
    is_essential: Mapped[bool | None] = mapped_column(Boolean, default=False, index=True)
    notes: Mapped[str | None] = mapped_column(Text)
    ai_suggested: Mapped[bool | None] = mapped_column(Boolean, default=False)
    display_order: Mapped[int | None] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime | None] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    # NULL until the traveler reviews the item after the trip.
    actually_used: Mapped[bool | None] = mapped_column(Boolean)

    trip: Mapped[Trip] = relationship(back_populates="packing_items")

    def __repr__(self) -> str:
        return f"<PackingItem id={self.id!r} name={self.name!r}>"
