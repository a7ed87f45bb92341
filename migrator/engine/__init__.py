"""SQLAlchemy, Alembic and structlog: imported only once there is work."""
