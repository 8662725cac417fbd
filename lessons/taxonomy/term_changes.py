"""Changing terms that lessons carry without losing any lesson's tagging: rename, merge and
move terms, and adopt a free tag into a scheme.

Lessons carry a term as a tag string (see `lessons.taxonomy.tagging`), so renaming or merging a term
retags its lessons; the full-text index and the change counter follow through the database's
triggers on `lesson_tag`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, delete, select, update

from lessons.accounts import audit
from lessons.errors import ValidationFailed
from lessons.schemas import normalise_tag
from lessons.storage.models import Lesson, LessonTag, TagTerm, utcnow
from lessons.taxonomy.schemes import get_scheme
from lessons.taxonomy.tagging import SEPARATOR
from lessons.taxonomy.terms import (
    add_term,
    check_parent,
    descendant_ids,
    get_term,
    tag_of,
    term_name,
    term_named,
    term_snapshot,
    terms_of,
)


@dataclass(frozen=True)
class Retagged:
    """A term after a rename, merge or adoption, and the lessons whose tags changed (the
    caller re-embeds them after commit: a lesson's tags are part of its text)."""

    term: TagTerm
    lesson_ids: list[int]


def retag(session: Session, *, old: str, new: str) -> list[int]:
    """Every lesson tagged `old` is tagged `new` instead (once, if it had both); returns them.

    Rows are deleted and inserted rather than updated: the full-text triggers on `lesson_tag`
    fire on insert and delete. The change counter's triggers (lessons.storage.changes) fire
    too, so every process sees the change; the lessons' `updated_at` moves with it."""
    if old == new:
        return []
    ids = sorted(
        int(i) for i in session.exec(select(LessonTag.lesson_id).where(LessonTag.tag == old))
    )
    if not ids:
        return []
    have_new = set(
        session.exec(
            select(LessonTag.lesson_id).where(
                LessonTag.tag == new, col(LessonTag.lesson_id).in_(ids)
            )
        )
    )
    session.exec(delete(LessonTag).where(col(LessonTag.tag) == old))
    for lesson_id in ids:
        if lesson_id not in have_new:
            session.add(LessonTag(lesson_id=lesson_id, tag=new))
    session.exec(update(Lesson).where(col(Lesson.id).in_(ids)).values(updated_at=utcnow()))
    session.flush()
    # Lessons already loaded in this session must not keep their old tag list.
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Lesson) and obj.id in ids:
            session.expire(obj)
    return ids


def rename_term(session: Session, *, term_id: int, name: str, actor: str) -> Retagged:
    """Rename a term; every lesson tagged with it carries the new tag."""
    term = get_term(session, term_id=term_id)
    clean = term_name(name)
    if clean == term.name:
        return Retagged(term, [])
    if term_named(session, scheme_id=term.scheme_id, name=clean) is not None:
        raise ValidationFailed(
            f"The scheme already has a term “{clean}”: merge into it instead.",
            {"name": "already in this scheme"},
        )
    before = term_snapshot(session, term)
    term.name = clean
    session.add(term)
    session.flush()
    lesson_ids = retag(session, old=before["tag"], new=tag_of(session, term))
    audit.record(
        session,
        actor=actor,
        action="rename",
        entity=term,
        before=before,
        after={**term_snapshot(session, term), "lesson_ids": lesson_ids},
    )
    return Retagged(term, lesson_ids)


def merge_terms(session: Session, *, source_id: int, target_id: int, actor: str) -> Retagged:
    """Fold `source` into `target`: its lessons are tagged with the target (once each), its
    narrower terms move under the target, and the source term is removed."""
    source = get_term(session, term_id=source_id)
    target = get_term(session, term_id=target_id)
    if source.id == target.id:
        raise ValidationFailed("Choose another term to merge into.", {"target_id": "same term"})
    scheme_terms = terms_of(session, scheme_id=source.scheme_id)
    if target.id in descendant_ids(scheme_terms, source_id):
        raise ValidationFailed(
            "The target is narrower than the term being merged: merge the narrower term into "
            "the broader one, or move it first.",
            {"target_id": "narrower than the source"},
        )
    before = {"source": term_snapshot(session, source), "target": term_snapshot(session, target)}
    lesson_ids = retag(session, old=before["source"]["tag"], new=before["target"]["tag"])
    moved = [t.id for t in scheme_terms if t.parent_id == source_id]
    for child in scheme_terms:
        if child.parent_id == source_id:
            # Across schemes a narrower term stays in its own scheme, at the top.
            child.parent_id = target.id if target.scheme_id == child.scheme_id else None
            session.add(child)
    session.delete(source)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="merge",
        entity=target,
        before=before,
        after={**term_snapshot(session, target), "lesson_ids": lesson_ids, "moved_terms": moved},
    )
    return Retagged(target, lesson_ids)


def move_term(session: Session, *, term_id: int, parent_id: int | None, actor: str) -> TagTerm:
    """Put a term under another broader term of its scheme (or at the top, with None);
    refuses a move that would make a term narrower than itself."""
    term = get_term(session, term_id=term_id)
    check_parent(session, scheme_id=term.scheme_id, parent_id=parent_id)
    if parent_id is not None and (
        parent_id == term_id
        or parent_id in descendant_ids(terms_of(session, scheme_id=term.scheme_id), term_id)
    ):
        raise ValidationFailed(
            "A term cannot sit under itself or under one of its narrower terms.",
            {"parent_id": "would make a cycle"},
        )
    before = term_snapshot(session, term)
    term.parent_id = parent_id
    session.add(term)
    # The lessons under the term now answer to other broader terms: mark them changed, so
    # cached search masks keyed on the change counter are rebuilt.
    subtree = [
        term,
        *(
            get_term(session, term_id=i)
            for i in descendant_ids(terms_of(session, scheme_id=term.scheme_id), term_id)
        ),
    ]
    tags = [tag_of(session, t) for t in subtree]
    session.exec(
        update(Lesson)
        .where(col(Lesson.id).in_(select(LessonTag.lesson_id).where(col(LessonTag.tag).in_(tags))))
        .values(updated_at=utcnow())
    )
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="move",
        entity=term,
        before=before,
        after=term_snapshot(session, term),
    )
    return term


def adopt_tag(
    session: Session, *, tag: str, scheme_id: int, parent_id: int | None = None, actor: str
) -> Retagged:
    """Make a free tag a term of a scheme. Its lessons carry the term's tag from then on (the
    same string in the organisation-wide scheme, `<key>:<name>` in a unit scheme); if the
    scheme already has a term of that name, the tag is folded into it."""
    get_scheme(session, scheme_id=scheme_id)
    clean = normalise_tag(tag)
    if not clean:
        raise ValidationFailed("Name the tag to adopt.", {"tag": "required"})
    _, _, rest = clean.rpartition(SEPARATOR)
    # `nasa-llis:risk-management` adopted into any scheme becomes its term `risk-management`.
    name = term_name(rest, "tag")
    term = term_named(session, scheme_id=scheme_id, name=name)
    if term is None:
        term = add_term(session, scheme_id=scheme_id, name=name, parent_id=parent_id, actor=actor)
    elif parent_id is not None:
        check_parent(session, scheme_id=scheme_id, parent_id=parent_id)
    lesson_ids = retag(session, old=clean, new=tag_of(session, term))
    audit.record(
        session,
        actor=actor,
        action="adopt",
        entity=term,
        before={"tag": clean},
        after={**term_snapshot(session, term), "lesson_ids": lesson_ids},
    )
    return Retagged(term, lesson_ids)
