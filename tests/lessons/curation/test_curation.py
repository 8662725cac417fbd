"""The curation queue in the domain: what each section selects and in what order, counts and
paging, the access rule, and the decisions (validate or reject with edits, confirm or retire a
lesson due for review, fix a flagged one), each audited with before and after."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, select

from lessons.accounts import access
from lessons.accounts.access import Viewer
from lessons.capture import service as capture
from lessons.curation import lifecycle
from lessons.curation import queue as curation
from lessons.curation.queue import Flag, Section
from lessons.errors import InvalidTransition, ValidationFailed
from lessons.schemas import LessonIn, LessonPatch, ReviewDueIn, ValidateIn
from lessons.storage.models import AuditEvent, Lesson, LessonStatus, Project, Sensitivity, utcnow

S = LessonStatus
TODAY = date(2026, 11, 21)
GOOD = {
    "observation": "Fridges arrived three weeks late and the campaign started late.",
    "insight": "Procurement began only after budget approval; the lead time is twelve weeks.",
    "recommendation": "Raise a conditional call-off order as soon as the draft plan is endorsed.",
    "tags": ["procurement"],
}


def _lesson(
    session: Session,
    title: str,
    status: LessonStatus = S.IDENTIFIED,
    *,
    created: datetime | None = None,
    project: Project | None = None,
    **fields: Any,
) -> Lesson:
    data = {**GOOD, **fields}
    lesson = capture.add_lesson(
        session,
        data=LessonIn(title=title, **data),
        project=project,
        review=None,
        author=None,
        actor="tester",
        status=status,
    )
    if created is not None:
        lesson.created_at = created
        session.add(lesson)
        session.flush()
    return lesson


def _titles(session: Session, section: Section, viewer: Viewer = access.CURATOR) -> list[str]:
    found = curation.page(session, viewer=viewer, section=section, today=TODAY, limit=100, offset=0)
    return [lesson.title for lesson in found.lessons]


def _audit(session: Session, lesson: Lesson) -> list[AuditEvent]:
    return list(
        session.exec(
            select(AuditEvent)
            .where(AuditEvent.entity == "lesson", AuditEvent.entity_id == lesson.id)
            .order_by(col(AuditEvent.id))
        )
    )


# --- what each section selects -----------------------------------------------------------------


def test_validate_section_holds_identified_lessons_oldest_first(session: Session) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    _lesson(session, "newer", created=start + timedelta(days=2))
    _lesson(session, "oldest", created=start)
    _lesson(session, "middle", created=start + timedelta(days=1))
    _lesson(session, "validated", S.VALIDATED, created=start)
    _lesson(session, "draft", S.DRAFT, created=start)
    assert _titles(session, Section.VALIDATE) == ["oldest", "middle", "newer"]


def test_review_due_section_holds_trusted_lessons_due_by_today_soonest_first(
    session: Session,
) -> None:
    for title, status, due in [
        ("due today", S.VALIDATED, TODAY),
        ("long overdue", S.LEARNED, TODAY - timedelta(days=400)),
        ("overdue", S.ACTIONED, TODAY - timedelta(days=3)),
        ("tomorrow", S.VALIDATED, TODAY + timedelta(days=1)),
        ("never set", S.VALIDATED, None),
        ("retired", S.RETIRED, TODAY - timedelta(days=5)),
        ("identified", S.IDENTIFIED, TODAY - timedelta(days=5)),
    ]:
        lesson = _lesson(session, title, status)
        lesson.review_due = due
        session.add(lesson)
    assert _titles(session, Section.REVIEW_DUE) == ["long overdue", "overdue", "due today"]


@pytest.mark.parametrize(
    ("fields", "flags"),
    [
        ({}, []),
        ({"tags": []}, [Flag.NO_TAGS]),
        ({"insight": ""}, [Flag.NO_INSIGHT]),
        (
            {"recommendation": "x" * (curation.WEAK_RECOMMENDATION_CHARS - 1)},
            [Flag.SHORT_RECOMMENDATION],
        ),
        ({"recommendation": "x" * curation.WEAK_RECOMMENDATION_CHARS}, []),
        ({"recommendation": ""}, [Flag.SHORT_RECOMMENDATION]),
        (
            {"tags": [], "insight": "", "recommendation": "Plan better."},
            [Flag.NO_TAGS, Flag.SHORT_RECOMMENDATION, Flag.NO_INSIGHT],
        ),
    ],
)
def test_flags_and_the_flagged_section_agree(
    session: Session, fields: dict[str, Any], flags: list[Flag]
) -> None:
    lesson = _lesson(session, "the lesson", S.VALIDATED, **fields)
    assert curation.flags(lesson) == flags
    assert _titles(session, Section.FLAGGED) == (["the lesson"] if flags else [])
    assert curation.in_section(lesson, Section.FLAGGED, TODAY) == bool(flags)


def test_flagged_section_holds_trusted_lessons_only(session: Session) -> None:
    weak = {"tags": [], "insight": ""}
    for status in S:
        _lesson(session, str(status), status, **weak)
    assert sorted(_titles(session, Section.FLAGGED)) == ["actioned", "learned", "validated"]


def test_deleted_lessons_wait_in_no_section(session: Session) -> None:
    identified = _lesson(session, "identified")
    flagged = _lesson(session, "flagged", S.VALIDATED, tags=[])
    flagged.review_due = TODAY
    for lesson in (identified, flagged):
        lesson.deleted_at = utcnow()
        session.add(lesson)
    session.flush()
    assert curation.counts(session, viewer=access.CURATOR, today=TODAY) == dict.fromkeys(Section, 0)
    assert not any(curation.in_section(flagged, section, TODAY) for section in Section)


def test_in_section_matches_every_section_query(session: Session) -> None:
    """The one-lesson rule (used to keep a failed form on screen) selects what the queries do."""
    for status in S:
        for due in (None, TODAY - timedelta(days=1), TODAY + timedelta(days=1)):
            for fields in ({}, {"tags": []}):
                lesson = _lesson(session, f"{status} {due} {fields}", status, **fields)
                lesson.review_due = due
                session.add(lesson)
    session.flush()
    lessons = session.exec(select(Lesson)).all()
    for section in Section:
        listed = set(_titles(session, section))
        assert listed == {le.title for le in lessons if curation.in_section(le, section, TODAY)}


# --- counts, paging and access -----------------------------------------------------------------


def test_counts_and_pages_cover_each_section(session: Session) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(7):
        _lesson(session, f"lesson {i}", created=start + timedelta(hours=i))
    first = curation.page(
        session, viewer=access.CURATOR, section=Section.VALIDATE, today=TODAY, limit=3, offset=0
    )
    last = curation.page(
        session, viewer=access.CURATOR, section=Section.VALIDATE, today=TODAY, limit=3, offset=6
    )
    assert (first.total, [le.title for le in first.lessons]) == (
        7,
        ["lesson 0", "lesson 1", "lesson 2"],
    )
    assert [le.title for le in last.lessons] == ["lesson 6"]
    assert curation.counts(session, viewer=access.CURATOR, today=TODAY) == {
        Section.VALIDATE: 7,
        Section.REVIEW_DUE: 0,
        Section.FLAGGED: 0,
    }


def test_sections_apply_the_access_rule_first(session: Session) -> None:
    """The queue is for curators, but it starts from the one access rule like every path that
    returns lessons: a viewer outside a project never counts its restricted lessons."""
    secret = Project(name="Secret project")
    session.add(secret)
    session.flush()
    _lesson(session, "restricted", project=secret, sensitivity=Sensitivity.RESTRICTED)
    _lesson(session, "internal")
    staff = access.STAFF
    member = Viewer(
        name="member",
        sensitivities=staff.sensitivities,
        project_ids=frozenset({secret.id or 0}),
        role="contributor",
    )
    assert _titles(session, Section.VALIDATE, staff) == ["internal"]
    assert curation.counts(session, viewer=staff, today=TODAY)[Section.VALIDATE] == 1
    assert sorted(_titles(session, Section.VALIDATE, member)) == ["internal", "restricted"]
    assert sorted(_titles(session, Section.VALIDATE)) == ["internal", "restricted"]


# --- validate or reject --------------------------------------------------------------------------


def test_validate_with_edits_saves_them_then_validates_with_a_review_date(
    session: Session,
) -> None:
    lesson = _lesson(session, "order fridges early", tags=[])
    choice = ValidateIn(
        decision="accept",
        title="Order cold-chain fridges on the draft plan",
        insight=GOOD["insight"],
        perspective="programme_management",
        sensitivity="public",
        tags=["Cold Chain", "procurement"],
        reason="Checked with the programme lead",
    )
    curation.validate(
        session, lesson=lesson, choice=choice, actor="kim", today=TODAY, review_months=6
    )
    assert lesson.status == S.VALIDATED
    assert (lesson.title, lesson.perspective, lesson.sensitivity) == (
        "Order cold-chain fridges on the draft plan",
        "programme_management",
        "public",
    )
    assert lesson.tags == ["cold-chain", "procurement"]
    assert lesson.review_due == lifecycle.add_months(utcnow().date(), 6)
    edit, step = _audit(session, lesson)
    assert (edit.action, edit.actor, step.action, step.actor) == (
        "edit",
        "kim",
        "transition",
        "kim",
    )
    assert edit.before is not None and edit.after is not None
    assert (edit.before["title"], edit.after["title"]) == ("order fridges early", lesson.title)
    assert (edit.before["tags"], edit.after["tags"]) == ([], ["cold-chain", "procurement"])
    assert (edit.before["sensitivity"], edit.after["sensitivity"]) == ("internal", "public")
    assert step.after == {
        "status": "validated",
        "reason": "Checked with the programme lead",
        "review_due": lesson.review_due.isoformat(),
    }
    assert lifecycle.history(session, lesson_id=lesson.id or 0)[-1].actor == "kim"


def test_validate_without_changes_writes_no_edit(session: Session) -> None:
    lesson = _lesson(session, "unchanged")
    choice = ValidateIn(decision="accept", title="unchanged", tags=list(reversed(lesson.tags)))
    curation.validate(session, lesson=lesson, choice=choice, actor="kim", today=TODAY)
    assert [row.action for row in _audit(session, lesson)] == ["transition"]


def test_validate_with_a_chosen_review_date_keeps_it(session: Session) -> None:
    lesson = _lesson(session, "chosen date")
    chosen = utcnow().date() + timedelta(days=60)
    choice = ValidateIn(decision="accept", review_due=chosen)
    curation.validate(session, lesson=lesson, choice=choice, actor="kim", today=utcnow().date())
    assert lesson.review_due == chosen


def test_reject_needs_a_reason_and_changes_nothing_without_one(session: Session) -> None:
    lesson = _lesson(session, "a duplicate")
    choice = ValidateIn(decision="reject", title="Edited anyway", reason="  ")
    with pytest.raises(ValidationFailed) as refused:
        curation.validate(session, lesson=lesson, choice=choice, actor="kim", today=TODAY)
    assert refused.value.fields == {"reason": "required"}
    assert (lesson.status, lesson.title) == (S.IDENTIFIED, "a duplicate")
    assert _audit(session, lesson) == []


def test_reject_with_a_reason_records_it(session: Session) -> None:
    lesson = _lesson(session, "a duplicate")
    choice = ValidateIn(decision="reject", reason="Says the same as lesson 12")
    curation.validate(session, lesson=lesson, choice=choice, actor="kim", today=TODAY)
    assert lesson.status == S.REJECTED
    assert lesson.review_due is None
    event = lifecycle.history(session, lesson_id=lesson.id or 0)[-1]
    assert (event.to_status, event.reason, event.actor) == (
        "rejected",
        "Says the same as lesson 12",
        "kim",
    )


@pytest.mark.parametrize("status", [s for s in S if s != S.IDENTIFIED])
def test_validate_refuses_a_lesson_no_longer_identified(
    session: Session, status: LessonStatus
) -> None:
    lesson = _lesson(session, "decided", status)
    with pytest.raises(InvalidTransition) as refused:
        curation.validate(
            session,
            lesson=lesson,
            choice=ValidateIn(decision="accept"),
            actor="kim",
            today=TODAY,
        )
    assert f"is {status} now" in refused.value.message
    assert lesson.status == status


def test_validate_refuses_a_deleted_lesson(session: Session) -> None:
    lesson = _lesson(session, "deleted")
    lesson.deleted_at = utcnow()
    with pytest.raises(InvalidTransition, match="deleted"):
        curation.validate(
            session, lesson=lesson, choice=ValidateIn(decision="accept"), actor="kim", today=TODAY
        )


@pytest.mark.parametrize("days", [0, -1, -400])
def test_validate_refuses_a_review_date_not_after_today(session: Session, days: int) -> None:
    lesson = _lesson(session, "dated")
    choice = ValidateIn(decision="accept", review_due=TODAY + timedelta(days=days))
    with pytest.raises(ValidationFailed) as refused:
        curation.validate(session, lesson=lesson, choice=choice, actor="kim", today=TODAY)
    assert refused.value.fields == {"review_due": "after today"}
    assert lesson.status == S.IDENTIFIED


# --- confirm or retire a lesson due for review ---------------------------------------------------


def _due(session: Session, status: LessonStatus = S.VALIDATED) -> Lesson:
    lesson = _lesson(session, "due", status)
    lesson.review_due = TODAY - timedelta(days=10)
    session.add(lesson)
    session.flush()
    return lesson


@pytest.mark.parametrize("status", [S.VALIDATED, S.ACTIONED, S.LEARNED])
def test_confirm_sets_the_next_review_a_period_ahead(
    session: Session, status: LessonStatus
) -> None:
    lesson = _due(session, status)
    before = lesson.review_due
    choice = ReviewDueIn(decision="confirm", reason="Still how we work")
    curation.review(
        session, lesson=lesson, choice=choice, actor="kim", today=TODAY, review_months=12
    )
    assert lesson.review_due == date(2027, 11, 21)
    assert lesson.status == status
    assert not curation.in_section(lesson, Section.REVIEW_DUE, TODAY)
    [row] = _audit(session, lesson)
    assert (row.action, row.actor) == ("confirm_review", "kim")
    assert row.before == {"review_due": before.isoformat() if before else None}
    assert row.after == {"review_due": "2027-11-21", "reason": "Still how we work"}


def test_confirm_with_updates_saves_them_and_the_date_chosen(session: Session) -> None:
    lesson = _due(session)
    choice = ReviewDueIn(
        decision="confirm",
        recommendation="Raise the call-off order at draft plan, and check the framework first.",
        review_due=TODAY + timedelta(days=90),
    )
    curation.review(session, lesson=lesson, choice=choice, actor="kim", today=TODAY)
    assert lesson.review_due == TODAY + timedelta(days=90)
    assert lesson.recommendation.startswith("Raise the call-off order at draft plan")
    assert [row.action for row in _audit(session, lesson)] == ["edit", "confirm_review"]


def test_retire_needs_a_reason(session: Session) -> None:
    lesson = _due(session)
    with pytest.raises(ValidationFailed) as refused:
        curation.review(
            session,
            lesson=lesson,
            choice=ReviewDueIn(decision="retire"),
            actor="kim",
            today=TODAY,
        )
    assert refused.value.fields == {"reason": "required"}
    assert lesson.status == S.VALIDATED


def test_retire_with_a_reason_takes_the_lesson_out_of_the_queue(session: Session) -> None:
    lesson = _due(session)
    choice = ReviewDueIn(decision="retire", reason="The framework agreement has ended")
    curation.review(session, lesson=lesson, choice=choice, actor="kim", today=TODAY)
    assert lesson.status == S.RETIRED
    assert not any(curation.in_section(lesson, section, TODAY) for section in Section)
    assert lifecycle.history(session, lesson_id=lesson.id or 0)[-1].reason == (
        "The framework agreement has ended"
    )


@pytest.mark.parametrize("status", [S.IDENTIFIED, S.REJECTED, S.RETIRED, S.MERGED, S.DRAFT])
def test_review_refuses_lessons_that_are_not_trusted(
    session: Session, status: LessonStatus
) -> None:
    lesson = _lesson(session, "not trusted", status)
    with pytest.raises(InvalidTransition, match="come up for review"):
        curation.review(
            session,
            lesson=lesson,
            choice=ReviewDueIn(decision="confirm"),
            actor="kim",
            today=TODAY,
        )


# --- fixing a flagged lesson ---------------------------------------------------------------------


def test_edit_fixing_the_flags_takes_the_lesson_off_the_list(session: Session) -> None:
    lesson = _lesson(session, "weak", S.VALIDATED, tags=[], insight="", recommendation="Plan.")
    assert curation.in_section(lesson, Section.FLAGGED, TODAY)
    changed = curation.edit(
        session,
        lesson=lesson,
        changes=LessonPatch(
            tags=["planning"],
            insight=GOOD["insight"],
            recommendation=GOOD["recommendation"],
        ),
        actor="kim",
    )
    assert changed
    assert curation.flags(lesson) == []
    assert _titles(session, Section.FLAGGED) == []
    [row] = _audit(session, lesson)
    assert row.before is not None and row.after is not None
    assert (row.before["recommendation"], row.after["recommendation"]) == (
        "Plan.",
        GOOD["recommendation"],
    )


def test_edit_with_nothing_different_writes_nothing(session: Session) -> None:
    lesson = _lesson(session, "fine", S.VALIDATED)
    same = LessonPatch(title="fine", tags=lesson.tags, insight=GOOD["insight"])
    assert not curation.edit(session, lesson=lesson, changes=same, actor="kim")
    assert _audit(session, lesson) == []
