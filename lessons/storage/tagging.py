"""The one mapping from a taxonomy term to the tag string its lessons carry, and the tags a
filter by a term matches (the term's own and every narrower term's).

Lessons keep plain tag strings (`LessonTag.tag`), so a term needs no join to be searched or
exported. The organisation-wide scheme's terms are tagged with their bare name
(`procurement`); a unit scheme's with `<scheme key>:<term>` (`nasa-llis:risk-management`, as
the NASA import already tags). In storage, below every domain package, because the access
rule (`lessons.accounts.access`) filters by it and the taxonomy's services need that rule;
`lessons.taxonomy.tagging` re-exports it for the taxonomy's readers.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, case, or_, select
from sqlalchemy.orm import Mapped
from sqlmodel import col

from lessons.storage.models import TagScheme, TagTerm

# The unit of the organisation-wide scheme; there is at most one such scheme.
ORG_WIDE = ""
SEPARATOR = ":"


def term_tag(*, scheme_key: str, scheme_unit: str, term_name: str) -> str:
    """The tag string lessons carry for a term of this scheme."""
    if scheme_unit == ORG_WIDE:
        return term_name
    return f"{scheme_key}{SEPARATOR}{term_name}"


def term_tag_sql() -> ColumnElement[str]:
    """`term_tag` as SQL, over `tag_term` joined to its `tag_scheme`."""
    return case(
        (col(TagScheme.unit) == ORG_WIDE, col(TagTerm.name)),
        else_=col(TagScheme.key) + SEPARATOR + col(TagTerm.name),
    )


def narrower_tags(tag: str) -> Select[str]:
    """Tag strings of every term narrower than the term(s) tagged `tag`, at any depth.

    A recursive query with UNION (not UNION ALL), so a cycle that slipped into the data ends
    the walk instead of looping."""
    terms = TagTerm.__table__.alias()  # type: ignore[attr-defined]
    roots = (
        select(col(TagTerm.id).label("id"))
        .join(TagScheme, col(TagScheme.id) == col(TagTerm.scheme_id))
        .where(term_tag_sql() == tag)
        .cte(recursive=True)
    )
    tree = roots.union(select(terms.c.id).where(terms.c.parent_id == roots.c.id))
    return (
        select(term_tag_sql())
        .select_from(TagTerm)
        .join(TagScheme, col(TagScheme.id) == col(TagTerm.scheme_id))
        .where(col(TagTerm.id).in_(select(tree.c.id)))
    )


def matches_tag(tag_column: Mapped[str], tag: str) -> ColumnElement[bool]:
    """True where `tag_column` is `tag` or a narrower term's tag: a lesson tagged `fridges`
    is found by a filter on its broader term `cold-chain`."""
    return or_(tag_column == tag, tag_column.in_(narrower_tags(tag)))
