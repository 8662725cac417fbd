"""PostgreSQL search: lesson vectors in pgvector with an HNSW index, a weighted tsvector with a
GIN index kept in step by triggers (a no-op on SQLite, whose FTS5 index is migration 0002's)

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import numpy as np
from alembic import op

revision: str = "0012"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out here, never imported, so that editing live code cannot change this migration.
#
# Vectors: `lesson_embedding.embedding` holds the float32 bytes of `vector` as a pgvector value
# (the app writes both; rows written by anything else are filled in at start-up). The column
# has no fixed dimension (tests run a 256-d hashing model); the HNSW index (cosine) covers the
# shipped model's 384-d vectors, as pgvector indexes vectors of one dimension among several.
VECTOR_DDL = [
    "CREATE EXTENSION IF NOT EXISTS vector",
    "ALTER TABLE lesson_embedding ADD COLUMN IF NOT EXISTS embedding vector",
    "CREATE INDEX IF NOT EXISTS ix_lesson_embedding_hnsw ON lesson_embedding "
    "USING hnsw ((embedding::vector(384)) vector_cosine_ops) WHERE dim = 384",
    # Whoever writes new bytes without the pgvector value leaves none, never a stale one: the
    # lesson is then missing from dense search until filled, not found by its old text.
    """CREATE OR REPLACE FUNCTION lesson_embedding_stale() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.vector IS DISTINCT FROM OLD.vector
           AND NEW.embedding IS NOT DISTINCT FROM OLD.embedding THEN
            NEW.embedding := NULL;
        END IF;
        RETURN NEW;
    END
    $$""",
    "DROP TRIGGER IF EXISTS lesson_embedding_stale ON lesson_embedding",
    "CREATE TRIGGER lesson_embedding_stale BEFORE UPDATE OF vector ON lesson_embedding "
    "FOR EACH ROW EXECUTE FUNCTION lesson_embedding_stale()",
]
# Full text: one row per lesson in `lesson_search`, as SQLite's FTS5 table holds title, body
# and tags, filled by triggers on `lesson` and `lesson_tag` in the same transaction as any
# change, from any code path or process. tsvector weights label the fields (title A, tags B,
# body D) so BM25 can weigh a hit by its field as FTS5's bm25() does (4, 2, 1); `length` counts
# every token of the three fields (FTS5's document length: stopwords included). BM25 reads the
# tsvector's postings from `lesson_term`, one row per (lesson, stem) with the stem's weighted
# count and the lesson's length, written from the tsvector by the same triggers: reading them
# out of each matching tsvector per query cost ten times more.
SEARCH_DDL = [
    """CREATE TABLE IF NOT EXISTS lesson_search (
        lesson_id integer PRIMARY KEY REFERENCES lesson(id) ON DELETE CASCADE,
        document tsvector NOT NULL,
        length integer NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS ix_lesson_search_document ON lesson_search USING gin (document)",
    """CREATE TABLE IF NOT EXISTS lesson_term (
        lesson_id integer NOT NULL REFERENCES lesson(id) ON DELETE CASCADE,
        term text NOT NULL,
        f integer NOT NULL,
        length integer NOT NULL,
        PRIMARY KEY (lesson_id, term)
    )""",
    "CREATE INDEX IF NOT EXISTS ix_lesson_term_term ON lesson_term (term) "
    "INCLUDE (lesson_id, f, length)",
    # BM25 counts the viewer's lessons and their lengths per query: read from these two
    # indexes alone (the access rule's columns, the lengths), never the wide rows (at 10k
    # lessons 2.5 ms instead of 30).
    "CREATE INDEX IF NOT EXISTS ix_lesson_search_length ON lesson_search (lesson_id) "
    "INCLUDE (length)",
    "CREATE INDEX IF NOT EXISTS ix_lesson_access ON lesson (status, sensitivity) "
    "INCLUDE (deleted_at, project_id, id)",
    # The ids are joined, not tested with = ANY(array): an array of every lesson (a bank's
    # first fill) would be scanned once per lesson.
    """CREATE OR REPLACE FUNCTION lesson_search_fill(lesson_ids integer[]) RETURNS void
    LANGUAGE sql AS $$
        INSERT INTO lesson_search (lesson_id, document, length)
        SELECT l.id,
               setweight(to_tsvector('english', l.title), 'A')
               || setweight(to_tsvector('english', f.body), 'D')
               || setweight(to_tsvector('english', f.tags), 'B'),
               (SELECT count(*) FROM regexp_matches(l.title || ' ' || f.body || ' ' || f.tags,
                                                    '[[:alnum:]]+', 'g'))
        FROM lesson l
        JOIN (SELECT DISTINCT unnest(lesson_ids) AS id) wanted ON wanted.id = l.id
        CROSS JOIN LATERAL (
            SELECT coalesce(l.observation, '') || ' ' || coalesce(l.insight, '') || ' '
                   || coalesce(l.recommendation, '') AS body,
                   (SELECT coalesce(string_agg(replace(t.tag, '-', ' '), ' '), '')
                    FROM lesson_tag t WHERE t.lesson_id = l.id) AS tags
        ) f
        ON CONFLICT (lesson_id) DO UPDATE
        SET document = excluded.document, length = excluded.length;
        DELETE FROM lesson_term WHERE lesson_id IN (SELECT unnest(lesson_ids));
        INSERT INTO lesson_term (lesson_id, term, f, length)
        SELECT s.lesson_id, u.lexeme,
               cardinality(u.weights) + 3 * cardinality(array_positions(u.weights, 'A'))
               + cardinality(array_positions(u.weights, 'B')),
               s.length
        FROM lesson_search s
        JOIN (SELECT DISTINCT unnest(lesson_ids) AS id) wanted ON wanted.id = s.lesson_id
        CROSS JOIN LATERAL unnest(s.document) u;
    $$""",
    """CREATE OR REPLACE FUNCTION lesson_search_on_lesson() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM lesson_search_fill(ARRAY[NEW.id]);
        RETURN NULL;
    END
    $$""",
    """CREATE OR REPLACE FUNCTION lesson_search_on_tag() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' THEN
            PERFORM lesson_search_fill(ARRAY[OLD.lesson_id]);
            RETURN NULL;
        END IF;
        PERFORM lesson_search_fill(ARRAY[NEW.lesson_id]);
        IF TG_OP = 'UPDATE' AND OLD.lesson_id IS DISTINCT FROM NEW.lesson_id THEN
            PERFORM lesson_search_fill(ARRAY[OLD.lesson_id]);
        END IF;
        RETURN NULL;
    END
    $$""",
    "DROP TRIGGER IF EXISTS lesson_search_insert ON lesson",
    "CREATE TRIGGER lesson_search_insert AFTER INSERT ON lesson "
    "FOR EACH ROW EXECUTE FUNCTION lesson_search_on_lesson()",
    "DROP TRIGGER IF EXISTS lesson_search_update ON lesson",
    "CREATE TRIGGER lesson_search_update "
    "AFTER UPDATE OF title, observation, insight, recommendation ON lesson "
    "FOR EACH ROW EXECUTE FUNCTION lesson_search_on_lesson()",
    "DROP TRIGGER IF EXISTS lesson_search_tag ON lesson_tag",
    "CREATE TRIGGER lesson_search_tag AFTER INSERT OR UPDATE OR DELETE ON lesson_tag "
    "FOR EACH ROW EXECUTE FUNCTION lesson_search_on_tag()",
]
SEARCH_FILL = "SELECT lesson_search_fill(array_agg(id)) FROM lesson"
_BATCH = 5_000


def _fill_vectors() -> None:
    """Vectors stored before this migration, copied into the pgvector column."""
    connection = op.get_bind()
    while True:
        rows = connection.exec_driver_sql(
            "SELECT lesson_id, vector FROM lesson_embedding WHERE embedding IS NULL LIMIT %(n)s",
            {"n": _BATCH},
        ).all()
        if not rows:
            return
        connection.exec_driver_sql(
            "UPDATE lesson_embedding SET embedding = %(v)s::vector WHERE lesson_id = %(i)s",
            [
                {"i": i, "v": "[" + ",".join(map(repr, np.frombuffer(blob, np.float32).tolist())) + "]"}
                for i, blob in rows
            ],
        )


def upgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name != "postgresql":
        return
    for statement in VECTOR_DDL + SEARCH_DDL:
        connection.exec_driver_sql(statement)
    connection.exec_driver_sql(SEARCH_FILL)
    _fill_vectors()


def downgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name != "postgresql":
        return
    for statement in (
        "DROP TRIGGER IF EXISTS lesson_search_tag ON lesson_tag",
        "DROP TRIGGER IF EXISTS lesson_search_update ON lesson",
        "DROP TRIGGER IF EXISTS lesson_search_insert ON lesson",
        "DROP FUNCTION IF EXISTS lesson_search_on_tag()",
        "DROP FUNCTION IF EXISTS lesson_search_on_lesson()",
        "DROP FUNCTION IF EXISTS lesson_search_fill(integer[])",
        "DROP INDEX IF EXISTS ix_lesson_access",
        "DROP TABLE IF EXISTS lesson_term",
        "DROP TABLE IF EXISTS lesson_search",
        "DROP TRIGGER IF EXISTS lesson_embedding_stale ON lesson_embedding",
        "DROP FUNCTION IF EXISTS lesson_embedding_stale()",
        "DROP INDEX IF EXISTS ix_lesson_embedding_hnsw",
        "ALTER TABLE lesson_embedding DROP COLUMN IF EXISTS embedding",
    ):
        connection.exec_driver_sql(statement)
