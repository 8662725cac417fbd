"""The taxonomy's tag mapping: defined in `lessons.storage.tagging` (the access rule, which the
taxonomy's services use, filters by it, so it sits below both) and re-exported here."""

from lessons.storage.tagging import (
    ORG_WIDE,
    SEPARATOR,
    matches_tag,
    narrower_tags,
    term_tag,
    term_tag_sql,
)

__all__ = ["ORG_WIDE", "SEPARATOR", "matches_tag", "narrower_tags", "term_tag", "term_tag_sql"]
