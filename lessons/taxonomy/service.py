"""Tag schemes and their hierarchical terms: add, rename, merge and move terms without losing
any lesson's tagging, adopt free tags into a scheme, and suggest tags for a new lesson from
its nearest validated neighbours.

Lessons carry a term as a tag string (see `lessons.taxonomy.tagging`), so renaming or merging a term
retags its lessons; the full-text index and the change counter follow through the database's
triggers on `lesson_tag`.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlmodel import Session, col, delete, select, update

from lessons.accounts import audit
from lessons.accounts.access import TRUSTED_STATUSES, Viewer, visible_lesson_ids
from lessons.errors import NotFound, ValidationFailed
from lessons.schemas import SearchFilters, normalise_tag
from lessons.storage.models import Lesson, LessonStatus, LessonTag, TagScheme, TagTerm, utcnow
from lessons.taxonomy.tagging import ORG_WIDE, SEPARATOR, term_tag

_KEY = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")


# --- reading -------------------------------------------------------------------------------


def list_schemes(session: Session) -> list[TagScheme]:
    """Every scheme: the organisation-wide one first, then unit schemes by unit and name."""
    schemes = session.exec(select(TagScheme).order_by(col(TagScheme.unit), col(TagScheme.name)))
    return list(schemes)


def get_scheme(session: Session, *, scheme_id: int) -> TagScheme:
    """One scheme, or NotFound."""
    scheme = session.get(TagScheme, scheme_id)
    if scheme is None:
        raise NotFound(f"No tag scheme with id {scheme_id}.", {"scheme_id": "no such scheme"})
    return scheme


def find_scheme(session: Session, *, key: str) -> TagScheme | None:
    """The scheme with this key, if any."""
    return session.exec(select(TagScheme).where(TagScheme.key == key)).first()


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


def _descendant_ids(terms: Iterable[TagTerm], root_id: int) -> set[int]:
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


# --- changing ------------------------------------------------------------------------------


def _term_name(raw: str, field: str = "name") -> str:
    name = normalise_tag(raw)
    if not name:
        raise ValidationFailed("Give the term a name.", {field: "required"})
    if SEPARATOR in name:
        raise ValidationFailed(
            f"A term's name cannot contain “{SEPARATOR}”: the scheme adds its own prefix.",
            {field: f"remove the {SEPARATOR}"},
        )
    return name


def _snapshot(session: Session, term: TagTerm) -> dict[str, Any]:
    return {
        **audit.snapshot(term, {"name", "parent_id", "scheme_id"}),
        "tag": tag_of(session, term),
    }


def create_scheme(
    session: Session,
    *,
    key: str,
    name: str,
    unit: str = ORG_WIDE,
    description: str = "",
    actor: str,
) -> TagScheme:
    """A new scheme; there is one organisation-wide scheme (unit ""), any number of unit ones."""
    key, name, unit = key.strip().lower(), name.strip(), unit.strip()
    problems = {}
    if not _KEY.match(key):
        problems["key"] = "lower-case letters, digits and hyphens, at most 40"
    elif find_scheme(session, key=key):
        problems["key"] = "another scheme has this key"
    if not name:
        problems["name"] = "required"
    if (
        unit == ORG_WIDE
        and session.exec(select(TagScheme).where(TagScheme.unit == ORG_WIDE)).first()
    ):
        problems["unit"] = "there is already an organisation-wide scheme: name a unit"
    if problems:
        raise ValidationFailed("The scheme cannot be created.", problems)
    scheme = TagScheme(key=key, name=name[:200], unit=unit[:200], description=description)
    session.add(scheme)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="create",
        entity=scheme,
        after=audit.snapshot(scheme, {"key", "name", "unit", "description"}),
    )
    return scheme


def _check_parent(session: Session, *, scheme_id: int, parent_id: int | None) -> None:
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
    clean = _term_name(name)
    if _named(session, scheme_id=scheme_id, name=clean) is not None:
        raise ValidationFailed(
            f"The scheme already has a term “{clean}”.", {"name": "already in this scheme"}
        )
    _check_parent(session, scheme_id=scheme_id, parent_id=parent_id)
    term = TagTerm(scheme_id=scheme_id, name=clean, parent_id=parent_id, description=description)
    session.add(term)
    session.flush()
    audit.record(session, actor=actor, action="create", entity=term, after=_snapshot(session, term))
    return term


def _named(session: Session, *, scheme_id: int, name: str) -> TagTerm | None:
    return session.exec(
        select(TagTerm).where(TagTerm.scheme_id == scheme_id, TagTerm.name == name)
    ).first()


@dataclass(frozen=True)
class Retagged:
    """A term after a rename, merge or adoption, and the lessons whose tags changed (the
    caller re-embeds them after commit: a lesson's tags are part of its text)."""

    term: TagTerm
    lesson_ids: list[int]


def retag(session: Session, *, old: str, new: str) -> list[int]:
    """Every lesson tagged `old` is tagged `new` instead (once, if it had both); returns them.

    Rows are deleted and inserted rather than updated: the full-text triggers on `lesson_tag`
    fire on insert and delete. The lessons' `updated_at` moves, so every process sees the
    change (the change counter on SQLite, the newest timestamp elsewhere)."""
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
    clean = _term_name(name)
    if clean == term.name:
        return Retagged(term, [])
    if _named(session, scheme_id=term.scheme_id, name=clean) is not None:
        raise ValidationFailed(
            f"The scheme already has a term “{clean}”: merge into it instead.",
            {"name": "already in this scheme"},
        )
    before = _snapshot(session, term)
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
        after={**_snapshot(session, term), "lesson_ids": lesson_ids},
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
    if target.id in _descendant_ids(scheme_terms, source_id):
        raise ValidationFailed(
            "The target is narrower than the term being merged: merge the narrower term into "
            "the broader one, or move it first.",
            {"target_id": "narrower than the source"},
        )
    before = {"source": _snapshot(session, source), "target": _snapshot(session, target)}
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
        after={**_snapshot(session, target), "lesson_ids": lesson_ids, "moved_terms": moved},
    )
    return Retagged(target, lesson_ids)


def move_term(session: Session, *, term_id: int, parent_id: int | None, actor: str) -> TagTerm:
    """Put a term under another broader term of its scheme (or at the top, with None);
    refuses a move that would make a term narrower than itself."""
    term = get_term(session, term_id=term_id)
    _check_parent(session, scheme_id=term.scheme_id, parent_id=parent_id)
    if parent_id is not None and (
        parent_id == term_id
        or parent_id in _descendant_ids(terms_of(session, scheme_id=term.scheme_id), term_id)
    ):
        raise ValidationFailed(
            "A term cannot sit under itself or under one of its narrower terms.",
            {"parent_id": "would make a cycle"},
        )
    before = _snapshot(session, term)
    term.parent_id = parent_id
    session.add(term)
    # The lessons under the term now answer to other broader terms: mark them changed, so
    # cached search masks keyed on the change counter are rebuilt.
    subtree = [
        term,
        *(
            get_term(session, term_id=i)
            for i in _descendant_ids(terms_of(session, scheme_id=term.scheme_id), term_id)
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
        after=_snapshot(session, term),
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
    name = _term_name(rest, "tag")
    term = _named(session, scheme_id=scheme_id, name=name)
    if term is None:
        term = add_term(session, scheme_id=scheme_id, name=name, parent_id=parent_id, actor=actor)
    elif parent_id is not None:
        _check_parent(session, scheme_id=scheme_id, parent_id=parent_id)
    lesson_ids = retag(session, old=clean, new=tag_of(session, term))
    audit.record(
        session,
        actor=actor,
        action="adopt",
        entity=term,
        before={"tag": clean},
        after={**_snapshot(session, term), "lesson_ids": lesson_ids},
    )
    return Retagged(term, lesson_ids)


# --- suggestions ---------------------------------------------------------------------------


class _Scores(Protocol):
    @property
    def dense(self) -> float | None: ...


class _Neighbour(Protocol):
    @property
    def lesson(self) -> Lesson: ...

    @property
    def components(self) -> _Scores: ...


class SimilarLessons(Protocol):
    """What suggestions need of the retriever (`retrieval.service.Retriever` is one)."""

    def similar(
        self, session: Session, lesson: Lesson, *, viewer: Viewer, limit: int = 5
    ) -> Sequence[_Neighbour]: ...


@dataclass(frozen=True)
class TagSuggestion:
    """A tag the nearest validated neighbours carry; `score` is the share of their similarity
    that carries it (0 to 1), `lesson_ids` the neighbours that do."""

    tag: str
    score: float
    lesson_ids: tuple[int, ...]


def suggest_tags(
    session: Session,
    *,
    lesson: Lesson,
    viewer: Viewer,
    retriever: SimilarLessons,
    limit: int = 5,
    neighbours: int = 10,
    min_score: float = 0.1,
) -> list[TagSuggestion]:
    """Tags for `lesson` from its `neighbours` nearest validated lessons the viewer may see,
    each weighted by the similarity of the neighbours that carry it; tags the lesson already
    has are left out."""
    hits = retriever.similar(session, lesson, viewer=viewer, limit=neighbours)
    weights: dict[str, float] = defaultdict(float)
    carriers: dict[str, list[int]] = defaultdict(list)
    total = 0.0
    own = set(lesson.tags)
    for hit in hits:
        neighbour = hit.lesson
        # The retriever filters by the viewer already; checked again because a suggestion
        # must never come from a lesson the viewer may not see, nor from an unvetted one.
        if not viewer.can_see(neighbour) or neighbour.status not in TRUSTED_STATUSES:
            continue
        similarity = max(hit.components.dense or 0.0, 0.0)
        total += similarity
        for tag in neighbour.tags:
            if tag not in own and neighbour.id is not None:
                weights[tag] += similarity
                carriers[tag].append(neighbour.id)
    if total <= 0:
        return []
    ranked = sorted(weights.items(), key=lambda item: (-item[1], item[0]))
    return [
        TagSuggestion(tag, round(weight / total, 3), tuple(carriers[tag]))
        for tag, weight in ranked[:limit]
        if weight / total >= min_score
    ]


# --- export and import (lessons.imports.exchange) -------------------------------------------------


def export_schemes(session: Session) -> list[dict[str, Any]]:
    """Every scheme with its terms as JSON; a term names its broader term by name (terms are
    unique by name within a scheme, and schemes by key)."""
    out = []
    for scheme in list_schemes(session):
        assert scheme.id is not None
        terms = terms_of(session, scheme_id=scheme.id)
        names = {t.id: t.name for t in terms}
        out.append(
            {
                **scheme.model_dump(mode="json", include={"key", "name", "unit", "description"}),
                "created_at": scheme.created_at.isoformat(),
                "terms": [
                    {
                        "name": t.name,
                        "broader": names.get(t.parent_id) if t.parent_id else None,
                        "description": t.description,
                        "created_at": t.created_at.isoformat(),
                    }
                    for t in terms
                ],
            }
        )
    return out


def import_schemes(session: Session, records: Any) -> tuple[int, int, list[str]]:
    """Upsert schemes by key and terms by (scheme, name), then link broader terms; lessons'
    tags travel with the lessons. Returns (added, updated, errors); a bad scheme is skipped
    whole and reported."""
    if not isinstance(records, list):
        return 0, 0, ["taxonomy: should be a list"] if records is not None else []
    added = updated = 0
    errors: list[str] = []
    for index, record in enumerate(records):
        try:
            with session.begin_nested():
                was_new = _import_scheme(session, record)
        except (KeyError, TypeError, ValueError, ValidationFailed) as exc:
            detail = exc.message if isinstance(exc, ValidationFailed) else str(exc)
            errors.append(f"taxonomy[{index}]: {type(exc).__name__}: {detail}")
            continue
        if was_new:
            added += 1
        else:
            updated += 1
    return added, updated, errors


def _import_scheme(session: Session, record: dict[str, Any]) -> bool:
    key = str(record["key"])
    if not _KEY.match(key):
        raise ValueError(f"not a scheme key: {key!r}")
    scheme = find_scheme(session, key=key)
    was_new = scheme is None
    if scheme is None:
        scheme = TagScheme(key=key, name="", unit="")
    scheme.name = str(record["name"])[:200]
    scheme.unit = str(record.get("unit") or "")[:200]
    scheme.description = str(record.get("description") or "")
    if record.get("created_at"):
        scheme.created_at = datetime.fromisoformat(str(record["created_at"]))
    session.add(scheme)
    session.flush()
    assert scheme.id is not None
    terms = record.get("terms") or []
    by_name = {t.name: t for t in terms_of(session, scheme_id=scheme.id)}
    for entry in terms:
        name = _term_name(str(entry["name"]))
        term = by_name.get(name) or TagTerm(scheme_id=scheme.id, name=name)
        term.description = str(entry.get("description") or "")
        if entry.get("created_at"):
            term.created_at = datetime.fromisoformat(str(entry["created_at"]))
        session.add(term)
        by_name[name] = term
    session.flush()
    for entry in terms:
        broader = entry.get("broader")
        parent = by_name.get(str(broader)) if broader else None
        if broader and parent is None:
            raise ValueError(f"term {entry['name']!r} names a broader term not in the scheme")
        term = by_name[_term_name(str(entry["name"]))]
        term.parent_id = parent.id if parent else None
        session.add(term)
    session.flush()
    # A file whose broader links loop would hide terms from every tree: refuse it.
    every = terms_of(session, scheme_id=scheme.id)
    for term in every:
        assert term.id is not None
        if term.id in _descendant_ids(every, term.id):
            raise ValueError(f"broader terms loop through {term.name!r}")
    return was_new
