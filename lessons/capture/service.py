"""Capture: log a review with its answers, and turn it into lessons and actions."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session

from lessons.accounts import audit
from lessons.accounts.access import Viewer, most_restricted
from lessons.capture import owners, projects, questions
from lessons.errors import ValidationFailed
from lessons.numbers import read_whole
from lessons.people import service as people
from lessons.schemas import ActionIn, LessonIn, ReviewIn
from lessons.storage.models import (
    Action,
    Lesson,
    LessonEvent,
    LessonStatus,
    LessonTag,
    Person,
    Project,
    Review,
)


def check_answers(kind: str, answers: dict[str, str | int]) -> dict[str, str]:
    """Answers by question id, blanks dropped; refuses unknown ids and bad scores."""
    question_set = questions.current(kind)
    problems: dict[str, str] = {}
    cleaned: dict[str, str] = {}
    for question_id, raw in answers.items():
        question = question_set.question(question_id)
        text = str(raw).strip()
        if question is None:
            problems[f"answers.{question_id}"] = f"not a question of a {kind} review"
        elif question.is_score and text:
            score = read_whole(text, low=0, high=10)
            if score is None:
                problems[f"answers.{question_id}"] = "a whole number from 0 to 10"
            else:
                cleaned[question_id] = str(score)
        elif text:
            cleaned[question_id] = text
    if not problems and not cleaned:
        first = question_set.questions[0].id
        problems[f"answers.{first}"] = "answer at least one question"
    if problems:
        raise ValidationFailed("Some answers are not valid.", problems)
    return cleaned


def log_review(session: Session, *, payload: ReviewIn, viewer: Viewer | None = None) -> Review:
    """Record a review with its lessons (status identified) and actions; flushes, never commits.

    `viewer` is the signed-in user sending it, who recorded it: always the actor in the
    lessons' history and the audit log. `payload.author` only says whose words these are (a
    facilitator logging for a team): a person in the people directory, kept beside the
    recorder, never in their place. Without a viewer (the demo bank, loaded data) the author
    is the actor, as in the source.
    """
    answers = check_answers(payload.kind, payload.answers)
    owners = choose_owners(session, actions=payload.actions, viewer=viewer)
    project = projects.resolve(session, ref=payload.project, viewer=viewer)
    author = _author(session, payload.author, viewer)
    review = Review(
        project_id=project.id,  # type: ignore[arg-type]
        kind=payload.kind,
        question_set_version=questions.current(payload.kind).version,
        held_on=payload.held_on,
        author_id=author.id if author else None,
        recorded_by_id=viewer.user_id if viewer else None,
        answers=answers,
    )
    session.add(review)
    session.flush()
    actor = viewer.name if viewer else (author.name if author else "")
    reason = f"submitted in {review.kind} review #{review.id}"
    if author is not None and viewer is not None and author.id != viewer.person_id:
        reason += f", recorded by {viewer.name} for {author.name} (person #{author.id})"
    new_lessons = [
        add_lesson(
            session,
            data=data,
            project=project,
            review=review,
            author=author,
            actor=actor,
            reason=reason,
        )
        for data in payload.lessons
    ]
    for data, owner in zip(payload.actions, owners, strict=True):
        lesson = new_lessons[data.lesson_index] if data.lesson_index is not None else None
        add_action(session, data=data, owner=owner, project=project, review=review, lesson=lesson)
    session.flush()
    session.refresh(review)
    audit.record(
        session,
        actor=actor,
        actor_user_id=viewer.user_id if viewer else None,
        action="create",
        entity=review,
        after={
            **audit.snapshot(review, {"kind", "project_id", "held_on", "answers"}),
            "lesson_ids": [le.id for le in new_lessons],
            "recorded_by": (
                {"user_id": viewer.user_id, "username": viewer.name} if viewer else None
            ),
            "author": {"person_id": author.id, "name": author.name} if author else None,
        },
    )
    return review


def _author(session: Session, name: str | None, viewer: Viewer | None) -> Person | None:
    """Whose words: the named person (found in the directory, added to it when new), else the
    recorder's own person."""
    if name and name.strip():
        return people.find_or_create(session, name=name)
    if viewer is not None and viewer.person_id is not None:
        return session.get(Person, viewer.person_id)
    return people.find_or_create(session, name=viewer.name) if viewer else None


def add_lesson(
    session: Session,
    *,
    data: LessonIn,
    project: Project | None,
    review: Review | None,
    author: Person | None,
    actor: str,
    status: LessonStatus = LessonStatus.IDENTIFIED,
    external_id: str | None = None,
    source_url: str | None = None,
    lesson_date: date | None = None,
    unit: str | None = None,
    reason: str = "",
) -> Lesson:
    """Create one lesson with its tags and its first lifecycle event (`reason` says how it
    came; by default the review it was submitted in)."""
    lesson = Lesson(
        title=data.title,
        observation=data.observation,
        insight=data.insight,
        recommendation=data.recommendation,
        polarity=data.polarity,
        perspective=data.perspective,
        sensitivity=data.sensitivity,
        review_due=data.review_due,
        lesson_date=lesson_date or (review.held_on if review else None),
        unit=unit if unit is not None else (project.unit if project else ""),
        status=status,
        project_id=project.id if project else None,
        review_id=review.id if review else None,
        author_id=author.id if author else None,
        external_id=external_id,
        source_url=source_url,
    )
    session.add(lesson)
    session.flush()
    widen_review(session, lesson)
    set_tags(session, lesson=lesson, tags=data.tags)
    if not reason:
        reason = f"submitted in {review.kind} review #{review.id}" if review else "created"
    _record_creation(session, lesson=lesson, actor=actor, reason=reason)
    return lesson


def widen_review(session: Session, lesson: Lesson) -> None:
    """A review's audience follows the widest restriction its lessons have had; it is never
    narrowed here, so a purge or a relabel does not open what was written about them."""
    review = lesson.review
    if review is None:
        return
    audience = most_restricted(review.sensitivity, lesson.sensitivity)
    if audience != review.sensitivity:
        review.sensitivity = audience
        session.add(review)


def set_tags(session: Session, *, lesson: Lesson, tags: list[str]) -> None:
    """Replace a lesson's tags (already normalised by the input schema)."""
    assert lesson.id is not None
    lesson.tag_links = [LessonTag(lesson_id=lesson.id, tag=tag) for tag in dict.fromkeys(tags)]
    session.add(lesson)
    session.flush()


def choose_owners(
    session: Session, *, actions: list[ActionIn], viewer: Viewer | None
) -> list[owners.Owner]:
    """Each action's owner from the directory, every problem reported at once against its
    row (`actions.<i>.owner`) before anything is written."""
    chosen: list[owners.Owner] = []
    problems: dict[str, str] = {}
    for i, data in enumerate(actions):
        try:
            chosen.append(
                owners.choose(
                    session,
                    viewer=viewer,
                    owner_id=data.owner_id,
                    name=data.owner,
                    field=f"actions.{i}.owner",
                )
            )
        except ValidationFailed as exc:
            problems |= exc.fields
    if problems:
        raise ValidationFailed("Each action's owner is someone in the people directory.", problems)
    return chosen


def add_action(
    session: Session,
    *,
    data: ActionIn,
    owner: owners.Owner,
    project: Project | None,
    review: Review | None,
    lesson: Lesson | None,
) -> Action:
    """Create an open action, owned by a directory person (or, loaded history only, by the
    text it named)."""
    action = Action(
        what=data.what,
        owner_id=owner.person_id,
        owner_text=owner.text,
        due=data.due,
        project_id=project.id if project else None,
        review_id=review.id if review else None,
        lesson_id=lesson.id if lesson else None,
    )
    session.add(action)
    session.flush()
    return action


def _record_creation(session: Session, *, lesson: Lesson, actor: str, reason: str = "") -> None:
    """Log how a lesson came to exist (its first lifecycle event)."""
    assert lesson.id is not None
    session.add(
        LessonEvent(
            lesson_id=lesson.id,
            from_status=None,
            to_status=lesson.status,
            actor=actor,
            reason=reason,
        )
    )
