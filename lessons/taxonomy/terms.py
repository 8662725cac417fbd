"""A scheme's hierarchical terms: reading them as a tree with lesson counts, the tags in use
that are no term, and adding a term.

Lessons carry a term as a tag string (see `lessons.taxonomy.tagging`); changing a term that
lessons carry is `lessons.taxonomy.term_changes`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from lessons.accounts import audit
from lessons.accounts.access import TRUSTED_STATUSES, Viewer, visible_lesson_ids
from lessons.errors import NotFound, ValidationFailed
from lessons.schemas import SearchFilters, normalise_tag
from lessons.storage.models import LessonStatus, LessonTag, TagScheme, TagTerm
from lessons.taxonomy.schemes import get_scheme
from lessons.taxonomy.tagging import SEPARATOR, term_tag


def get_term(session: Session, *, term_id: int) -> TagTerm:
    """One term, or NotFound."""
    term = session.get(TagTerm, term_id)
    if term is None:
        raise NotFound(f"No term with id {term_id}.", {"term_id": "no such term"})
    return term


def tag_of(session: Session, term: TagTerm) -> str:
    """The tag string lessons carry for `term`."""
    scheme = get_scheme(session, scheme_id=term.scheme_id)
    return term_tag(scheme_key=scheme.key, scheme_unit=scheme.unit, term_name=term.name)


def terms_of(session: Session, *, scheme_id: int) -> list[TagTerm]:
    """A scheme's terms by name."""
    return list(
        session.exec(
            select(TagTerm).where(TagTerm.scheme_id == scheme_id).order_by(col(TagTerm.name))
        )
    )


def term_tags(session: Session) -> dict[str, TagTerm]:
    """Every term, keyed by the tag string its lessons carry."""
    found: dict[str, TagTerm] = {}
    for term, key, unit in session.exec(
        select(TagTerm, TagScheme.key, TagScheme.unit).join(
            TagScheme, col(TagScheme.id) == col(TagTerm.scheme_id)
        )
    ):
        found[term_tag(scheme_key=key, scheme_unit=unit, term_name=term.name)] = term
    return found


def descendant_ids(terms: Iterable[TagTerm], root_id: int) -> set[int]:
    children: dict[int | None, list[int]] = defaultdict(list)
    for term in terms:
        assert term.id is not None
        children[term.parent_id].append(term.id)
    seen: set[int] = set()
    todo = list(children.get(root_id, []))
    while todo:
        term_id = todo.pop()
        if term_id not in seen:
            seen.add(term_id)
            todo.extend(children.get(term_id, []))
    return seen


@dataclass(frozen=True)
class TermNode:
    """A term in its scheme's tree, with how many lessons the viewer may see carry it."""

    term: TagTerm
    tag: str
    depth: int
    lessons: int  # tagged with the term or any narrower term
    direct: int  # tagged with the term itself


def tag_lessons(session: Session, *, viewer: Viewer) -> dict[str, set[int]]:
    """Which lessons the viewer may see carry each tag: every status for curators (they
    curate new lessons too), the trusted ones for everyone else (as browsing shows them)."""
    statuses = list(LessonStatus) if viewer.is_curator else list(TRUSTED_STATUSES)
    visible = visible_lesson_ids(viewer, SearchFilters(status=statuses))
    found: dict[str, set[int]] = defaultdict(set)
    for tag, lesson_id in session.exec(
        select(LessonTag.tag, LessonTag.lesson_id).where(col(LessonTag.lesson_id).in_(visible))
    ):
        found[tag].add(lesson_id)
    return found


def scheme_tree(
    session: Session, *, scheme: TagScheme, tagged: dict[str, set[int]]
) -> list[TermNode]:
    """The scheme's terms depth first (broader before narrower, siblings by name), each with
    its lesson counts from `tagged` (see `tag_lessons`)."""
    assert scheme.id is not None
    terms = terms_of(session, scheme_id=scheme.id)
    by_id = {t.id: t for t in terms}
    children: dict[int | None, list[TagTerm]] = defaultdict(list)
    for term in terms:
        # A parent in another scheme (or gone) would hide the term: show it at the top.
        parent = term.parent_id if term.parent_id in by_id else None
        children[parent].append(term)
    nodes: list[TermNode] = []

    def tag(term: TagTerm) -> str:
        return term_tag(scheme_key=scheme.key, scheme_unit=scheme.unit, term_name=term.name)

    def walk(term: TagTerm, depth: int, path: frozenset[int]) -> set[int]:
        assert term.id is not None
        own = tagged.get(tag(term), set())
        index = len(nodes)
        nodes.append(TermNode(term, tag(term), depth, 0, len(own)))
        rolled = set(own)
        for child in children.get(term.id, []):
            if child.id not in path:
                rolled |= walk(child, depth + 1, path | {term.id})
        nodes[index] = TermNode(term, tag(term), depth, len(rolled), len(own))
        return rolled

    for top in children[None]:
        walk(top, 0, frozenset())
    return nodes


def free_tags(session: Session, *, tagged: dict[str, set[int]]) -> list[tuple[str, int]]:
    """Tags in use that are no scheme's term, most used first, with their lesson counts."""
    known = term_tags(session)
    free = [(tag, len(ids)) for tag, ids in tagged.items() if tag not in known and ids]
    return sorted(free, key=lambda item: (-item[1], item[0]))


def term_name(raw: str, field: str = "name") -> str:
    name = normalise_tag(raw)
    if not name:
        raise ValidationFailed("Give the term a name.", {field: "required"})
    if SEPARATOR in name:
        raise ValidationFailed(
            f"A term's name cannot contain “{SEPARATOR}”: the scheme adds its own prefix.",
            {field: f"remove the {SEPARATOR}"},
        )
    return name


def term_snapshot(session: Session, term: TagTerm) -> dict[str, Any]:
    return {
        **audit.snapshot(term, {"name", "parent_id", "scheme_id"}),
        "tag": tag_of(session, term),
    }


def check_parent(session: Session, *, scheme_id: int, parent_id: int | None) -> None:
    if parent_id is None:
        return
    parent = session.get(TagTerm, parent_id)
    if parent is None or parent.scheme_id != scheme_id:
        raise ValidationFailed(
            "The broader term must be a term of the same scheme.",
            {"parent_id": "not a term of this scheme"},
        )


def add_term(
    session: Session,
    *,
    scheme_id: int,
    name: str,
    parent_id: int | None = None,
    description: str = "",
    actor: str,
) -> TagTerm:
    """A new term in a scheme, optionally under a broader term of the same scheme."""
    get_scheme(session, scheme_id=scheme_id)
    clean = term_name(name)
    if term_named(session, scheme_id=scheme_id, name=clean) is not None:
        raise ValidationFailed(
            f"The scheme already has a term “{clean}”.", {"name": "already in this scheme"}
        )
    check_parent(session, scheme_id=scheme_id, parent_id=parent_id)
    term = TagTerm(scheme_id=scheme_id, name=clean, parent_id=parent_id, description=description)
    session.add(term)
    session.flush()
    audit.record(
        session, actor=actor, action="create", entity=term, after=term_snapshot(session, term)
    )
    return term


def term_named(session: Session, *, scheme_id: int, name: str) -> TagTerm | None:
    return session.exec(
        select(TagTerm).where(TagTerm.scheme_id == scheme_id, TagTerm.name == name)
    ).first()
