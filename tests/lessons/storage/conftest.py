"""Fixtures of this folder: a real PostgreSQL (tests/postgres.py)."""

from tests.postgres import pg_server, pg_url  # noqa: F401  (fixtures)
