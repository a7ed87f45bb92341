"""Audit trail of security-relevant events (sign-ins, data changes, failures)."""

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from src.database.base import Base, utcnow


class AuditLog(Base):
    __tablename__ = "audit_logs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    timestamp: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    event_type: Mapped[str] = mapped_column(String(50), index=True)
    event_category: Mapped[str] = mapped_column(String(50), index=True)
    severity: Mapped[str | None] = mapped_column(String(20), default="info", index=True)
    # No foreign key: the trail must outlive the user it mentions.
    user_id: Mapped[str | None] = mapped_column(String, index=True)
    username: Mapped[str | None] = mapped_column(String(80), index=True)
    ip_address: Mapped[str | None] = mapped_column(String(45))  # fits IPv6
    user_agent: Mapped[str | None] = mapped_column(Text)
    request_method: Mapped[str | None] = mapped_column(String(10))
    request_path: Mapped[str | None] = mapped_column(String(500))
    action: Mapped[str] = mapped_column(String(200))
    resource_type: Mapped[str | None] = mapped_column(String(50))
    resource_id: Mapped[str | None] = mapped_column(String)
    changes: Mapped[str | None] = mapped_column(Text)  # JSON as text
    # `metadata` is reserved on declarative classes, hence the attribute name.
    event_metadata: Mapped[str | None] = mapped_column("metadata", Text)  # JSON as text
    success: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    error_message: Mapped[str | None] = mapped_column(Text)
    session_id: Mapped[str | None] = mapped_column(String)

    __table_args__ = (
        Index("idx_audit_user_timestamp", "user_id", "timestamp"),
        Index("idx_audit_event_timestamp", "event_type", "timestamp"),
        Index("idx_audit_category_timestamp", "event_category", "timestamp"),
        Index("idx_audit_resource", "resource_type", "resource_id"),
        Index("idx_audit_timestamp_desc", timestamp.desc()),
    )

    def __repr__(self) -> str:
        return f"<AuditLog id={self.id!r} event_type={self.event_type!r}>"
