"""The full-text index of lessons, kept in step by the database itself.

On SQLite it is an FTS5 table (`lesson_fts`, Porter-stemmed) filled by triggers on `lesson`
and `lesson_tag`, so every insert, edit and delete, from any code path or process, reaches it
in the same transaction. Migrations call `install`; one that rebuilds the `lesson` table in
batch mode drops its triggers and must call `install` again.
"""

from __future__ import annotations

from sqlalchemy import Connection

# Porter stems on Unicode words, accents removed; anything that tokenizes text for this index
# (the lexical ranker's scratch table) must use the same.
TOKENIZE = "porter unicode61 remove_diacritics 2"
COLUMNS = ("title", "body", "tags")

_BODY = (
    "coalesce(new.observation, '') || ' ' || coalesce(new.insight, '') || ' ' || "
    "coalesce(new.recommendation, '')"
)
_TAGS = (
    "(SELECT coalesce(group_concat(replace(tag, '-', ' '), ' '), '') FROM lesson_tag "
    "WHERE lesson_id = {id})"
)

SQLITE_DDL = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS lesson_fts USING fts5("
    f"{', '.join(COLUMNS)}, tokenize = '{TOKENIZE}')",
    "DROP TRIGGER IF EXISTS lesson_fts_insert",
    "DROP TRIGGER IF EXISTS lesson_fts_update",
    "DROP TRIGGER IF EXISTS lesson_fts_delete",
    "DROP TRIGGER IF EXISTS lesson_tag_fts_insert",
    "DROP TRIGGER IF EXISTS lesson_tag_fts_delete",
    f"""CREATE TRIGGER lesson_fts_insert AFTER INSERT ON lesson BEGIN
        INSERT INTO lesson_fts(rowid, title, body, tags)
        VALUES (new.id, new.title, {_BODY}, {_TAGS.format(id="new.id")});
    END""",
    f"""CREATE TRIGGER lesson_fts_update
        AFTER UPDATE OF title, observation, insight, recommendation ON lesson BEGIN
        UPDATE lesson_fts SET title = new.title, body = {_BODY} WHERE rowid = new.id;
    END""",
    """CREATE TRIGGER lesson_fts_delete AFTER DELETE ON lesson BEGIN
        DELETE FROM lesson_fts WHERE rowid = old.id;
    END""",
    f"""CREATE TRIGGER lesson_tag_fts_insert AFTER INSERT ON lesson_tag BEGIN
        UPDATE lesson_fts SET tags = {_TAGS.format(id="new.lesson_id")}
        WHERE rowid = new.lesson_id;
    END""",
    f"""CREATE TRIGGER lesson_tag_fts_delete AFTER DELETE ON lesson_tag BEGIN
        UPDATE lesson_fts SET tags = {_TAGS.format(id="old.lesson_id")}
        WHERE rowid = old.lesson_id;
    END""",
]

REBUILD = f"""INSERT INTO lesson_fts(rowid, title, body, tags)
    SELECT id, title, {_BODY.replace("new.", "")}, {_TAGS.format(id="lesson.id")} FROM lesson"""


def install(connection: Connection) -> None:
    """Create the index and its triggers (idempotent), and fill it from existing lessons."""
    if connection.dialect.name != "sqlite":
        return
    for statement in SQLITE_DDL:
        connection.exec_driver_sql(statement)
    connection.exec_driver_sql("DELETE FROM lesson_fts")
    connection.exec_driver_sql(REBUILD)


def is_own_table(name: str | None) -> bool:
    """The FTS5 table and its shadow tables, which the models do not describe."""
    return bool(name) and str(name).startswith("lesson_fts")
