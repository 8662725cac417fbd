"""Merging near-duplicates into a canonical lesson and undoing it: provenance kept, text and
tags and actions moved and moved back, every refusal, the sensitivity rule, the audit trail,
and the export round trip."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from lessons.accounts import access
from lessons.capture import service as capture
from lessons.catalogue import service as catalogue
from lessons.curation import lifecycle, merging, unmerging
from lessons.errors import InvalidTransition, NotFound, ValidationFailed
from lessons.imports.exchange import export_bank, import_bank
from lessons.schemas import LessonPatch, ReviewIn
from lessons.storage.db import make_engine, migrate
from lessons.storage.models import (
    Action,
    AuditEvent,
    Lesson,
    LessonMerge,
    LessonStatus,
)

S = LessonStatus
EVIDENCE = "The planning template now has a lead-time check."
LINK = "https://intranet.example.org/guidance/planning-template"


def _review(
    session: Session,
    project: str,
    author: str,
    *lessons: dict[str, Any],
    held_on: str = "2025-03-01",
    actions: list[dict[str, Any]] | None = None,
) -> list[Lesson]:
    payload = ReviewIn.model_validate(
        {
            "kind": "aar",
            "project": {"name": project, "unit": "Logistics"},
            "author": author,
            "held_on": held_on,
            "answers": {"planned": "Deliver on time.", "actual": "It was late."},
            "lessons": list(lessons),
            "actions": actions or [],
        }
    )
    review = capture.log_review(session, payload=payload)
    return sorted(review.lessons, key=lambda le: le.id or 0)


def _lesson(title: str, **fields: Any) -> dict[str, Any]:
    return {
        "title": title,
        "observation": f"Observation of {title}.",
        "insight": f"Insight of {title}.",
        "recommendation": f"Recommendation of {title}.",
        **fields,
    }


def _to(session: Session, lesson: Lesson, *steps: S) -> Lesson:
    for step in steps:
        extra: dict[str, Any] = {"evidence": EVIDENCE, "link": LINK} if step == S.LEARNED else {}
        lifecycle.transition(session, lesson=lesson, to=step, actor="kim", **extra)
    return lesson


@pytest.fixture
def pair(session: Session) -> tuple[Lesson, Lesson]:
    """A validated lesson of one project and a newly identified near-copy from another, with
    an open and a closed action on the copy."""
    (first,) = _review(
        session,
        "Cold chain 2024",
        "Amina Diallo",
        _lesson("Order fridges early", tags=["procurement"]),
        held_on="2024-05-01",
    )
    (second,) = _review(
        session,
        "Measles catch-up 2025",
        "Tom Reyes",
        _lesson("Buy fridges before approval", tags=["cold-chain", "procurement"]),
        actions=[
            {"what": "Add a lead-time check", "owner": "Tom Reyes", "lesson_index": 0},
            {"what": "Call the supplier", "owner": "Tom Reyes", "lesson_index": 0},
        ],
    )
    _to(session, first, S.VALIDATED)
    done = session.exec(select(Action).where(Action.what == "Call the supplier")).one()
    done.status = "done"
    session.add(done)
    session.flush()
    return first, second


def test_merge_keeps_every_source_and_links_the_duplicate(
    session: Session, pair: tuple[Lesson, Lesson]
) -> None:
    canonical, dup = pair
    review_id, project_id, author_id = dup.review_id, dup.project_id, dup.author_id
    (row,) = merging.merge(
        session, canonical=canonical, duplicates=[dup], actor="kim", reason="same fridges"
    )
    assert (dup.status, dup.merged_into_id) == (S.MERGED, canonical.id)
    # The duplicate keeps its own provenance: its review, project and author.
    assert (dup.review_id, dup.project_id, dup.author_id) == (review_id, project_id, author_id)
    assert row.merged_status_before == S.IDENTIFIED
    assert (row.canonical_id, row.merged_id, row.actor, row.reason) == (
        canonical.id,
        dup.id,
        "kim",
        "same fridges",
    )
    sources = merging.sources(session, canonical=canonical, viewer=access.CURATOR)
    assert [(s.lesson.id, s.lesson.project_id) for s in sources] == [(dup.id, project_id)]
    event = lifecycle.history(session, lesson_id=dup.id or 0)[-1]
    assert (event.from_status, event.to_status, event.actor) == (S.IDENTIFIED, S.MERGED, "kim")
    assert f"#{canonical.id}" in event.reason and "same fridges" in event.reason


def test_merge_unions_tags_and_moves_only_open_actions(
    session: Session, pair: tuple[Lesson, Lesson]
) -> None:
    canonical, dup = pair
    (row,) = merging.merge(session, canonical=canonical, duplicates=[dup], actor="kim")
    assert canonical.tags == ["cold-chain", "procurement"]
    assert row.canonical_before["tags_added"] == ["cold-chain"]
    by_what = {a.what: a for a in session.exec(select(Action))}
    assert by_what["Add a lead-time check"].lesson_id == canonical.id
    assert by_what["Call the supplier"].lesson_id == dup.id  # closed: stays as history
    assert row.canonical_before["moved_action_ids"] == [by_what["Add a lead-time check"].id]


@pytest.mark.parametrize("keep", ["canonical", "duplicate", "combined"])
def test_merge_keeps_the_text_the_curator_chose(
    session: Session, pair: tuple[Lesson, Lesson], keep: str
) -> None:
    canonical, dup = pair
    choice: merging.KeepText = dup.id or 0 if keep == "duplicate" else keep  # type: ignore[assignment]
    own = {name: getattr(canonical, name) for name in merging.TEXT_FIELDS}
    merging.merge(session, canonical=canonical, duplicates=[dup], actor="kim", keep_text=choice)
    if keep == "canonical":
        assert canonical.title == own["title"] and canonical.insight == own["insight"]
    elif keep == "duplicate":
        assert canonical.title == "Buy fridges before approval"
        assert canonical.observation == dup.observation
    else:
        assert canonical.title == own["title"]
        # Each part says which lesson it came from (issue 15 item 8).
        assert canonical.observation == (
            f"From lesson {canonical.id}, “{own['title']}”:\n\n{own['observation']}\n\n"
            f"From lesson {dup.id}, “{dup.title}”:\n\n{dup.observation}"
        )


def test_unmerge_restores_status_link_text_tags_and_actions(
    session: Session, pair: tuple[Lesson, Lesson]
) -> None:
    canonical, dup = pair
    before = {name: getattr(canonical, name) for name in merging.TEXT_FIELDS}
    (row,) = merging.merge(
        session, canonical=canonical, duplicates=[dup], actor="kim", keep_text=dup.id or 0
    )
    result = unmerging.unmerge(session, merge_id=row.id or 0, actor="ada")
    assert (dup.status, dup.merged_into_id) == (S.IDENTIFIED, None)
    assert {name: getattr(canonical, name) for name in merging.TEXT_FIELDS} == before
    assert canonical.tags == ["procurement"]
    assert result.text_restored and result.tags_removed == ["cold-chain"] and not result.notes
    open_action = session.exec(select(Action).where(Action.what == "Add a lead-time check")).one()
    assert open_action.lesson_id == dup.id
    assert result.actions_moved_back == [open_action.id]
    assert (row.undone_by, row.undone_at is not None) == ("ada", True)
    # The duplicate keeps its provenance through both steps; the canonical lists no source.
    assert dup.project.name == "Measles catch-up 2025"
    assert merging.sources(session, canonical=canonical, viewer=access.CURATOR) == []
    steps = [(e.from_status, e.to_status) for e in lifecycle.history(session, lesson_id=dup.id)]
    assert steps[-2:] == [(S.IDENTIFIED, S.MERGED), (S.MERGED, S.IDENTIFIED)]


def test_unmerge_keeps_edits_made_to_the_canonical_after_the_merge(
    session: Session, pair: tuple[Lesson, Lesson]
) -> None:
    canonical, dup = pair
    (row,) = merging.merge(
        session, canonical=canonical, duplicates=[dup], actor="kim", keep_text="combined"
    )
    catalogue.update_lesson(
        session,
        lesson=canonical,
        patch=LessonPatch(insight="Rewritten by the curator.", tags=["cold-chain", "fridges"]),
        by_curator=True,
        actor="kim",
    )
    result = unmerging.unmerge(session, merge_id=row.id or 0, actor="kim")
    assert canonical.insight == "Rewritten by the curator."
    assert canonical.tags == ["cold-chain", "fridges"]
    assert not result.text_restored and result.tags_removed == []
    assert len(result.notes) == 2 and "kept" in result.notes[0]
    assert row.canonical_before["undo"]["notes"] == result.notes
    assert dup.status == S.IDENTIFIED  # the duplicate comes back all the same


def test_unmerge_of_one_of_two_keeps_the_other_and_its_tags(session: Session) -> None:
    canonical, a, b = _review(
        session,
        "Cold chain 2024",
        "Amina Diallo",
        _lesson("Order fridges early"),
        _lesson("Order the fridges early", tags=["shared", "only-a"]),
        _lesson("Fridges: order early", tags=["shared"]),
    )
    rows = merging.merge(session, canonical=canonical, duplicates=[a, b], actor="kim")
    assert canonical.tags == ["only-a", "shared"]
    unmerging.unmerge(session, merge_id=rows[0].id or 0, actor="kim")
    # "shared" came with a but b, still merged, carries it too.
    assert canonical.tags == ["shared"]
    assert (a.status, b.status, b.merged_into_id) == (S.IDENTIFIED, S.MERGED, canonical.id)


def test_a_learned_duplicate_comes_back_learned_with_its_evidence(
    session: Session, pair: tuple[Lesson, Lesson]
) -> None:
    canonical, dup = pair
    _to(session, dup, S.VALIDATED, S.ACTIONED, S.LEARNED)
    (row,) = merging.merge(session, canonical=canonical, duplicates=[dup], actor="kim")
    unmerging.unmerge(session, merge_id=row.id or 0, actor="kim")
    assert (dup.status, dup.learned_evidence, dup.learned_link) == (S.LEARNED, EVIDENCE, LINK)


def test_merge_and_unmerge_are_audited(session: Session, pair: tuple[Lesson, Lesson]) -> None:
    canonical, dup = pair
    (row,) = merging.merge(
        session, canonical=canonical, duplicates=[dup], actor="kim", keep_text=dup.id or 0
    )
    unmerging.unmerge(session, merge_id=row.id or 0, actor="ada")
    rows = session.exec(
        select(AuditEvent)
        .where(col(AuditEvent.action).in_(["merge", "unmerge"]))
        .order_by(col(AuditEvent.id))
    ).all()
    assert [(r.action, r.actor, r.entity_id) for r in rows] == [
        ("merge", "kim", canonical.id),
        ("unmerge", "ada", canonical.id),
    ]
    merged, undone = rows
    assert merged.before and merged.before["title"] == "Order fridges early"
    assert merged.after and merged.after["title"] == "Buy fridges before approval"
    assert merged.after["merged"] == [dup.id] and merged.after["merge_ids"] == [row.id]
    assert undone.after and undone.after["title"] == "Order fridges early"
    transitions = session.exec(
        select(AuditEvent).where(AuditEvent.action == "transition", AuditEvent.entity_id == dup.id)
    ).all()
    assert [t.after and t.after["status"] for t in transitions][-2:] == [S.MERGED, S.IDENTIFIED]


# --- refusals ------------------------------------------------------------------------------------


def test_merge_into_itself_is_refused(session: Session, pair: tuple[Lesson, Lesson]) -> None:
    canonical, _ = pair
    with pytest.raises(ValidationFailed, match="itself"):
        merging.merge(session, canonical=canonical, duplicates=[canonical], actor="kim")


def test_merge_into_a_merged_lesson_and_chains_are_refused(session: Session) -> None:
    a, b, c = _review(
        session, "P", "Amina Diallo", _lesson("One"), _lesson("Two"), _lesson("Three")
    )
    merging.merge(session, canonical=a, duplicates=[b], actor="kim")
    with pytest.raises(InvalidTransition, match="merge into that lesson instead") as into:
        merging.merge(session, canonical=b, duplicates=[c], actor="kim")
    assert into.value.fields == {"canonical": "merged"}
    with pytest.raises(InvalidTransition, match="already merged"):
        merging.merge(session, canonical=c, duplicates=[b], actor="kim")
    with pytest.raises(InvalidTransition, match="do not chain"):
        merging.merge(session, canonical=c, duplicates=[a], actor="kim")
    assert (a.status, c.status) == (S.IDENTIFIED, S.IDENTIFIED)


@pytest.mark.parametrize("status", [S.REJECTED, S.RETIRED, S.DRAFT])
def test_lessons_out_of_play_are_refused_either_way(session: Session, status: S) -> None:
    a, b = _review(session, "P", "Amina Diallo", _lesson("One"), _lesson("Two"))
    if status == S.REJECTED:
        lifecycle.transition(session, lesson=b, to=S.REJECTED, actor="kim", reason="no")
    elif status == S.RETIRED:
        _to(session, b, S.VALIDATED)
        lifecycle.transition(session, lesson=b, to=S.RETIRED, actor="kim", reason="stale")
    else:
        b.status = S.DRAFT
    with pytest.raises(InvalidTransition, match=f"{status} lesson cannot be merged"):
        merging.merge(session, canonical=a, duplicates=[b], actor="kim")
    with pytest.raises(InvalidTransition, match="cannot be the canonical"):
        merging.merge(session, canonical=b, duplicates=[a], actor="kim")


def test_deleted_lessons_are_refused(session: Session, pair: tuple[Lesson, Lesson]) -> None:
    canonical, dup = pair
    catalogue.delete_lesson(session, lesson=dup, actor="kim")
    with pytest.raises(InvalidTransition, match="deleted"):
        merging.merge(session, canonical=canonical, duplicates=[dup], actor="kim")
    with pytest.raises(InvalidTransition, match="deleted"):
        merging.merge(session, canonical=dup, duplicates=[canonical], actor="kim")


def test_listing_a_duplicate_twice_or_none_is_refused(
    session: Session, pair: tuple[Lesson, Lesson]
) -> None:
    canonical, dup = pair
    with pytest.raises(ValidationFailed, match="twice"):
        merging.merge(session, canonical=canonical, duplicates=[dup, dup], actor="kim")
    with pytest.raises(ValidationFailed, match="at least one"):
        merging.merge(session, canonical=canonical, duplicates=[], actor="kim")
    with pytest.raises(ValidationFailed) as other:
        merging.merge(session, canonical=canonical, duplicates=[dup], actor="kim", keep_text=999)
    assert other.value.fields == {"keep_text": "not one of the duplicates"}


def test_undoing_twice_or_a_missing_merge_is_refused(
    session: Session, pair: tuple[Lesson, Lesson]
) -> None:
    canonical, dup = pair
    (row,) = merging.merge(session, canonical=canonical, duplicates=[dup], actor="kim")
    unmerging.unmerge(session, merge_id=row.id or 0, actor="kim")
    with pytest.raises(InvalidTransition, match="already undone"):
        unmerging.unmerge(session, merge_id=row.id or 0, actor="kim")
    with pytest.raises(NotFound):
        unmerging.unmerge(session, merge_id=10**9, actor="kim")


# --- sensitivity ---------------------------------------------------------------------------------


def _sensitive(session: Session) -> dict[str, Lesson]:
    public, internal = _review(
        session,
        "Open project",
        "Amina Diallo",
        _lesson("Public one", sensitivity="public"),
        _lesson("Internal one", sensitivity="internal"),
    )
    secret, secret_twin = _review(
        session,
        "Secret project",
        "Ravi Okafor",
        _lesson("Secret one", sensitivity="restricted"),
        _lesson("Secret twin", sensitivity="restricted"),
    )
    (elsewhere,) = _review(
        session, "Other secret", "Ravi Okafor", _lesson("Other secret", sensitivity="restricted")
    )
    return {
        "public": public,
        "internal": internal,
        "secret": secret,
        "secret_twin": secret_twin,
        "elsewhere": elsewhere,
    }


@pytest.mark.parametrize(
    ("canonical", "duplicate"),
    [("internal", "public"), ("secret", "public"), ("secret", "internal"), ("secret", "elsewhere")],
)
def test_a_canonical_with_a_narrower_audience_is_refused(
    session: Session, canonical: str, duplicate: str
) -> None:
    """Readers of the duplicate must still reach the canonical lesson its link leads to."""
    lessons = _sensitive(session)
    with pytest.raises(ValidationFailed) as refused:
        merging.merge(
            session, canonical=lessons[canonical], duplicates=[lessons[duplicate]], actor="kim"
        )
    assert refused.value.fields == {"canonical": "narrower audience than a duplicate"}
    assert lessons[duplicate].status == S.IDENTIFIED


@pytest.mark.parametrize("keep", ["duplicate", "combined"])
def test_restricted_text_never_moves_into_a_wider_lesson(session: Session, keep: str) -> None:
    lessons = _sensitive(session)
    secret = lessons["secret"]
    choice: merging.KeepText = secret.id or 0 if keep == "duplicate" else "combined"  # type: ignore[assignment]
    with pytest.raises(ValidationFailed, match="cannot go into a public lesson") as refused:
        merging.merge(
            session, canonical=lessons["public"], duplicates=[secret], actor="kim", keep_text=choice
        )
    assert refused.value.fields == {"keep_text": "would expose restricted text"}
    assert lessons["public"].title == "Public one"


def test_a_restricted_lesson_merges_into_a_wider_one_keeping_its_own_text(
    session: Session,
) -> None:
    lessons = _sensitive(session)
    public, secret = lessons["public"], lessons["secret"]
    merging.merge(session, canonical=public, duplicates=[secret], actor="kim")
    assert (public.title, public.sensitivity) == ("Public one", "public")
    # Its source is listed only to those who could read the restricted lesson.
    outsider = access.STAFF
    member = access.Viewer(
        name="member",
        sensitivities=outsider.sensitivities,
        project_ids=frozenset({secret.project_id or 0}),
        role="contributor",
    )
    assert merging.sources(session, canonical=public, viewer=outsider) == []
    assert [s.lesson.id for s in merging.sources(session, canonical=public, viewer=member)] == [
        secret.id
    ]
    assert merging.history(session, lesson=public, viewer=outsider) == []
    assert _leads_to(session, lesson_id=secret.id or 0, viewer=outsider) is None
    assert _leads_to(session, lesson_id=secret.id or 0, viewer=member) == public.id


def test_restricted_twins_of_one_project_merge_with_text(session: Session) -> None:
    lessons = _sensitive(session)
    secret, twin = lessons["secret"], lessons["secret_twin"]
    merging.merge(session, canonical=secret, duplicates=[twin], actor="kim", keep_text=twin.id or 0)
    assert secret.title == "Secret twin"


def _leads_to(session: Session, *, lesson_id: int, viewer: access.Viewer) -> int | None:
    """Where a merged lesson's link leads this viewer (its page follows the merge), if anywhere."""
    try:
        found = merging.open_lesson(
            session, lesson_id=lesson_id, viewer=viewer, follow_visible=True
        )
    except NotFound:
        return None
    return found if isinstance(found, int) else None


def test_partners_follow_a_public_merged_lesson_only_if_it_was_trusted(session: Session) -> None:
    a, b, c = _review(
        session,
        "Open project",
        "Amina Diallo",
        _lesson("Kept", sensitivity="public"),
        _lesson("Vetted copy", sensitivity="public"),
        _lesson("Unvetted copy", sensitivity="public"),
    )
    _to(session, a, S.VALIDATED)
    _to(session, b, S.VALIDATED)
    merging.merge(session, canonical=a, duplicates=[b, c], actor="kim")
    partner = access.PUBLIC
    assert _leads_to(session, lesson_id=b.id or 0, viewer=partner) == a.id
    assert _leads_to(session, lesson_id=c.id or 0, viewer=partner) is None
    shown = [s.lesson.id for s in merging.sources(session, canonical=a, viewer=partner)]
    assert shown == [b.id]


# --- export and import ---------------------------------------------------------------------------


def test_export_import_keeps_merges_links_and_moved_actions(engine: Engine, tmp_path: Path) -> None:
    with Session(engine) as session:
        canonical, a, b = _review(
            session,
            "P",
            "Amina Diallo",
            _lesson("Kept"),
            _lesson("Copy a", tags=["extra"]),
            _lesson("Copy b"),
            actions=[{"what": "Fix the form", "owner": "Tom Reyes", "lesson_index": 1}],
        )
        merging.merge(
            session, canonical=canonical, duplicates=[a], actor="kim", keep_text=a.id or 0
        )
        (undone,) = merging.merge(session, canonical=canonical, duplicates=[b], actor="kim")
        unmerging.unmerge(session, merge_id=undone.id or 0, actor="ada")
        session.commit()
        exported = export_bank(session)
    assert len(exported["merges"]["history"]) == 2
    other = make_engine(f"sqlite:///{tmp_path / 'copy.db'}")
    migrate(other)
    try:
        for attempt in (1, 2):  # a second import updates in place
            with Session(other) as session:
                report = import_bank(session, exported)
                session.commit()
                assert report.errors == []
                assert (report.added if attempt == 1 else report.updated)["merges"] == 2
                again = export_bank(session)
                assert again["merges"] == exported["merges"]
                assert len(session.exec(select(LessonMerge)).all()) == 2
                copy_a = session.exec(
                    select(Lesson).where(col(Lesson.merged_into_id).is_not(None))
                ).one()
                assert copy_a.tags == ["extra"]
                canonical_copy = session.get(Lesson, copy_a.merged_into_id)
                assert canonical_copy is not None and canonical_copy.status == S.IDENTIFIED
                action = session.exec(select(Action).where(Action.what == "Fix the form")).one()
                assert action.lesson_id == canonical_copy.id
        # The imported merge can be undone like the original.
        with Session(other) as session:
            row = session.exec(
                select(LessonMerge).where(col(LessonMerge.undone_at).is_(None))
            ).one()
            unmerging.unmerge(session, merge_id=row.id or 0, actor="kim")
            copy_a = session.get(Lesson, row.merged_id)
            assert copy_a is not None
            action = session.exec(select(Action).where(Action.what == "Fix the form")).one()
            assert (copy_a.merged_into_id, action.lesson_id) == (None, copy_a.id)
    finally:
        other.dispose()


def test_import_reports_merges_naming_unknown_lessons(engine: Engine) -> None:
    with Session(engine) as session:
        report = import_bank(
            session,
            {
                "format": "lessonbank-export",
                "version": 1,
                "merges": {
                    "links": [{"lesson": "nope", "merged_into": "nada"}],
                    "history": [{"canonical": "nope", "merged": "nada"}],
                },
            },
        )
    assert len(report.errors) == 2 and all("merges." in e for e in report.errors)
