"""The light core: standard library and psycopg2 only; every command runs through it."""
