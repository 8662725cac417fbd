"""Storage: the tables, engine and migrations, database-side indexes, backup and settings."""
