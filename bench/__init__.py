"""`make bench`: migrator against bare Alembic and psql on a throwaway PostgreSQL (issue 4)."""
