"""Transactions under concurrency: real savepoints, writers that wait for each other instead of
failing, an index that can be refreshed while it is searched, and token use written rarely."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine, func
from sqlmodel import select

from lessons.accounts import access
from lessons.capture import service as capture
from lessons.capture.projects import resolve
from lessons.imports.upsert import LessonRecord, upsert_all
from lessons.schemas import ProjectRef, ReviewIn
from lessons.storage.db import make_engine, transaction
from lessons.storage.models import ApiToken, Lesson, LessonStatus, Project
from lessons.storage.settings import Settings
from retrieval.embedder import HashingEmbedder
from retrieval.service import Retriever
from tests.conftest import TOKENS, app_client, review_payload


def lesson_count(engine: Engine) -> int:
    with transaction(engine) as session:
        return int(session.exec(select(func.count()).select_from(Lesson)).one())


def test_a_failed_import_leaves_nothing_behind(engine: Engine) -> None:
    """Each row has its own savepoint, but the run is one transaction: pysqlite used to commit
    before every SAVEPOINT, so rows written before a crash stayed."""
    records = [(f"row {n}", LessonRecord(external_id=f"t:{n}", title=f"T {n}")) for n in range(3)]
    with pytest.raises(RuntimeError), transaction(engine, write=True) as session:
        result = upsert_all(session, records, actor="test")
        assert result.added == 3
        raise RuntimeError("killed mid-import")
    assert lesson_count(engine) == 0


def test_a_bad_row_rolls_back_alone(engine: Engine) -> None:
    """The bad row's project was created before its lesson failed: its savepoint takes both."""
    good = LessonRecord(external_id="t:good", title="Good row")
    bad = LessonRecord(external_id="t:bad", title="", project="Ghost project")
    with transaction(engine, write=True) as session:
        result = upsert_all(session, [("1", good), ("2", bad)], actor="test")
    assert result.added == 1
    assert len(result.problems) == 1 and result.problems[0].startswith("2:")
    assert lesson_count(engine) == 1
    with transaction(engine) as session:
        assert session.exec(select(func.count()).select_from(Project)).one() == 0


def test_writers_racing_to_create_one_project_wait_for_each_other(engine: Engine) -> None:
    """The first writer holds its transaction open after creating the project; the second
    must wait for it and then find the project, not insert a second one or fail."""
    created = threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with transaction(engine, write=True) as session:
                resolve(session, ref=ProjectRef(name="Flood response"))
                created.set()
                threading.Event().wait(0.3)  # let the second writer start meanwhile
        except BaseException as exc:
            errors.append(exc)
            created.set()

    def second() -> None:
        created.wait()
        try:
            with transaction(engine, write=True) as session:
                resolve(session, ref=ProjectRef(name="flood response"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    with transaction(engine) as session:
        assert session.exec(select(func.count()).select_from(Project)).one() == 1


def test_search_while_lessons_are_added_and_the_index_refreshes(engine: Engine) -> None:
    """Searches in threads while another thread keeps adding lessons: before the index had a
    lock, a refresh could swap rows under a search (size mismatch, or a stale mask)."""
    retriever = Retriever(HashingEmbedder())
    stop = threading.Event()
    errors: list[BaseException] = []
    seen: list[int] = []

    def writer() -> None:
        try:
            for n in range(30):
                with transaction(engine, write=True) as session:
                    payload = ReviewIn.model_validate(
                        review_payload(
                            actions=[],
                            lessons=[
                                {
                                    "title": f"Cold chain lesson {n}",
                                    "observation": "Vaccines spoiled in transit.",
                                    "recommendation": "Log fridge temperatures twice a day.",
                                }
                            ],
                        )
                    )
                    review = capture.log_review(session, payload=payload)
                    for lesson in review.lessons:
                        lesson.status = LessonStatus.VALIDATED
                        session.add(lesson)
                    session.flush()
                    retriever.embed_lessons(session, review.lessons)
        except BaseException as exc:
            errors.append(exc)
        finally:
            stop.set()

    def searcher() -> None:
        try:
            while not stop.is_set():
                with transaction(engine) as session:
                    hits = retriever.search(
                        session, "cold chain fridge", viewer=access.CURATOR, limit=5
                    )
                    seen.append(len(hits))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer)] + [
        threading.Thread(target=searcher) for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    with transaction(engine) as session:
        final = retriever.search(
            session, "cold chain fridge", viewer=access.CURATOR, limit=50, diverse=False
        )
    assert len(final) == 30
    assert seen, "the searchers ran"


def test_token_use_is_written_at_most_once_a_minute(settings: Settings) -> None:
    engine = make_engine(settings.database_url)
    headers = {"Authorization": f"Bearer {TOKENS['casey']}"}

    def last_used() -> object:
        with transaction(engine) as session:
            rows = session.exec(select(ApiToken.last_used_at)).all()
            return max((r for r in rows if r is not None), default=None)

    for client in app_client(settings, as_user=None):
        assert client.get("/api/lessons", headers=headers).status_code == 200
        first = last_used()
        assert first is not None
        assert client.get("/api/lessons", headers=headers).status_code == 200
        assert last_used() == first
