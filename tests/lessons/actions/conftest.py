"""Fixtures of this folder: a real PostgreSQL (tests/postgres.py), for migration 0016."""

from tests.postgres import pg_server, pg_url  # noqa: F401  (fixtures)
