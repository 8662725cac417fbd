"""The FTS5 index follows every insert, edit, tag change and delete, whoever makes them."""

from __future__ import annotations

from sqlalchemy import Engine, text
from sqlmodel import Session, delete, select

from lessons.accounts import access
from lessons.capture import service as capture
from lessons.catalogue import service as catalogue
from lessons.schemas import LessonIn, LessonPatch
from lessons.storage import changes
from lessons.storage.models import Lesson, LessonStatus, LessonTag, Sensitivity
from retrieval import lexical
from tests.databases import sqlite_only

pytestmark = sqlite_only("SQLite's FTS5 index and its triggers (PostgreSQL: tsvector, 0012)")


def _ids(session: Session, query: str) -> list[int]:
    allowed = access.visible_lesson_ids(access.CURATOR)
    return [i for i, _ in lexical.search(session, query, allowed=allowed, limit=10)]


def _add(session: Session, title: str, **kw: object) -> Lesson:
    return capture.add_lesson(
        session,
        data=LessonIn(title=title, **kw),
        project=None,
        review=None,  # type: ignore[arg-type]
        author=None,
        actor="t",
        status=LessonStatus.VALIDATED,
    )


def test_insert_edit_tag_and_delete_reach_the_index(engine: Engine) -> None:
    with Session(engine) as session:
        lesson = _add(session, "Sandbags before the flood season", observation="Levee breach.")
        other = _add(session, "Radio check every morning")
        assert _ids(session, "levee") == [lesson.id]
        catalogue.update_lesson(
            session, lesson=lesson, patch=LessonPatch(observation="Pump failure."), by_curator=True
        )
        assert _ids(session, "levee") == []
        assert _ids(session, "pump") == [lesson.id]
        capture.set_tags(session, lesson=other, tags=["radio-comms"])
        assert _ids(session, "comms") == [other.id]
        capture.set_tags(session, lesson=other, tags=[])
        assert _ids(session, "comms") == []
        session.delete(lesson)
        session.flush()
        assert _ids(session, "pump") == []
        session.commit()


def test_stemming_matches_word_forms(engine: Engine) -> None:
    with Session(engine) as session:
        lesson = _add(session, "Fridges delayed the campaign")
        assert _ids(session, "fridge delay") == [lesson.id]


def test_index_rows_match_lessons_after_bulk_changes(engine: Engine) -> None:
    with Session(engine) as session:
        for i in range(20):
            _add(session, f"Lesson number {i}", tags=["bulk"])
        session.exec(delete(LessonTag))  # type: ignore[call-overload]
        session.commit()
        count = session.connection().execute(text("SELECT count(*) FROM lesson_fts")).scalar()
        lessons = len(session.exec(select(Lesson)).all())
        tagged = (
            session.connection()
            .execute(text("SELECT count(*) FROM lesson_fts WHERE tags != ''"))
            .scalar()
        )
    assert count == lessons == 20
    assert tagged == 0


def test_user_text_is_never_read_as_fts_syntax(engine: Engine) -> None:
    with Session(engine) as session:
        lesson = _add(session, "Check the OR gate and NEAR field probes")
        for query in ['"unbalanced', "NEAR(", "a AND OR NOT", "*", "gate^", "col:umn"]:
            lexical.search(
                session, query, allowed=access.visible_lesson_ids(access.CURATOR), limit=5
            )
        assert _ids(session, "gate") == [lesson.id]


def test_change_counter_moves_on_every_kind_of_change(engine: Engine) -> None:
    with Session(engine) as session:
        seen = [changes.version(session)]
        lesson = _add(session, "A lesson")
        seen.append(changes.version(session))
        catalogue.update_lesson(
            session, lesson=lesson, patch=LessonPatch(insight="Why."), by_curator=True
        )
        seen.append(changes.version(session))
        capture.set_tags(session, lesson=lesson, tags=["x"])
        seen.append(changes.version(session))
        session.delete(lesson)
        session.flush()
        seen.append(changes.version(session))
    assert len(set(seen)) == len(seen)


def _bank(session: Session, hidden: int, shown: int) -> tuple[set[int], set[int]]:
    """Restricted lessons that match 'valve' strongly, internal ones that match it weakly."""
    strong = {
        _add(session, f"Valve valve valve {i}", sensitivity=Sensitivity.RESTRICTED).id
        for i in range(hidden)
    }
    weak = {
        _add(session, f"Lesson {i}", observation=f"A long note {i} that mentions a valve once.").id
        for i in range(shown)
    }
    return strong, weak  # type: ignore[return-value]


def _search(session: Session, limit: int) -> list[tuple[int, float]]:
    allowed = access.visible_lesson_ids(access.STAFF)
    return lexical.search(session, "valve", allowed=allowed, limit=limit)


def test_hidden_best_matches_never_come_back(engine: Engine) -> None:
    with Session(engine) as session:
        _, shown = _bank(session, hidden=30, shown=12)
        found = _search(session, 10)
    assert {i for i, _ in found} <= shown and len(found) == 10
    scores = [s for _, s in found]
    assert scores == sorted(scores, reverse=True)
    # The weak matches all score alike: ties go to the older lesson.
    assert [i for i, _ in found] == sorted(i for i, _ in found)
