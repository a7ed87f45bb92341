"""verify, review and lint: built on the engine, never on the migration job."""
