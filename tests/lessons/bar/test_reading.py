"""The BAR's use cases and typed result (`lessons.bar.reading`): people ranked by the relevance
of their lessons; a BAR run and read through a ranker that is not retrieval's."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, select

from lessons.accounts import users
from lessons.accounts.access import Viewer
from lessons.bar import reading
from lessons.bar.reading import Contact, Result, Shown, people_by_relevance
from lessons.schemas import BarIn
from lessons.storage.db import transaction
from lessons.storage.models import BarItem, Lesson, Person, User
from tests.conftest import Client, review_payload


def result(lesson_id: int, score: float, match: str, *people: Contact) -> Result:
    figures = Shown(score, match, None, None, None, None, None, ())
    return Result(
        lesson=Lesson(id=lesson_id, title=f"Lesson {lesson_id}"),
        rank=lesson_id,
        figures=figures,
        why=None,  # type: ignore[arg-type]  # not read by people_by_relevance
        open_actions=(),
        people=people,
        decision=None,
        note="",
        outcome="",
        outcome_at=None,
    )


def test_people_are_ranked_by_the_relevance_of_their_lessons() -> None:
    ada, bo, cy = (Person(id=i, name=name) for i, name in enumerate(["Ada", "Bo", "Cy"], 1))
    results = [
        result(1, 0.8, "strong", Contact(ada, "wrote it")),
        result(2, 0.36, "related", Contact(bo, "wrote it")),
        result(3, 0.36, "related", Contact(bo, "wrote it"), Contact(ada, "owns an action")),
        result(4, 0.1, "weak", Contact(cy, "owns an action"), Contact(ada, "wrote it")),
    ]
    people = people_by_relevance(results)
    # Ada wrote the most relevant lesson and owns an action on another (half weight,
    # discounted as her second); Bo wrote two related ones; Cy only a weak one, which names nobody.
    assert [p.person.name for p in people] == ["Ada", "Bo"]
    assert [r.lesson.id for r in people[0].results] == [1, 3]
    assert [r.lesson.id for r in people[1].results] == [2, 3]
    assert people[0].relevance == round(0.8 + 0.36 * 0.5 / 3, 4)
    assert people[1].relevance == round(0.36 + 0.36 / 3, 4)
    assert people[0].why == (
        "wrote “Lesson 1” (strong match)",
        "owns an action on “Lesson 3” (related match)",
    )


def test_many_loosely_related_lessons_do_not_outrank_the_one_that_answers() -> None:
    """Summing every score (or counting lessons) let a prolific author crowd out the person
    who wrote the strong match; with the discount, volume adds at most half of the best."""
    ada, bo = Person(id=1, name="Ada"), Person(id=2, name="Bo")
    results = [result(1, 0.62, "strong", Contact(ada, "wrote it"))] + [
        result(i, 0.34, "related", Contact(bo, "wrote it")) for i in range(2, 8)
    ]
    people = people_by_relevance(results)
    assert [p.person.name for p in people] == ["Ada", "Bo"]
    assert people[1].relevance < 1.5 * 0.34


@dataclass(frozen=True)
class Figured:
    """Figures as a ranking gives them (the `Figures` protocol), without retrieval."""

    lesson_id: int
    fused: float
    match: str | None = "strong"
    dense: float | None = None
    dense_rank: int | None = None
    lexical: float | None = None
    lexical_rank: int | None = None
    passage: float | None = None
    hidden_copies: tuple[int, ...] = ()
    passage_cosines: tuple[float, ...] | None = None


@dataclass(frozen=True)
class Explained:
    best_sentence: str
    matched_terms: tuple[str, ...] = ()
    highlighted: tuple[tuple[str, bool], ...] = ()


@dataclass(frozen=True)
class Hit:
    lesson: Lesson
    score: float
    why: Explained
    components: Figured


@dataclass(frozen=True)
class Ranking:
    hits: list[Hit]
    feedback: dict[str, Any] | None = None


@dataclass
class ByNewest:
    """A ranker with no model: the viewer's lessons, newest first; counts its explanations."""

    model: str = "by-newest"
    explained: int = 0

    def rank(self, session: Session, brief: str, *, viewer: Viewer, **_: Any) -> Ranking:
        lessons = [le for le in session.exec(select(Lesson)).all() if viewer.can_see(le)]
        lessons.sort(key=lambda le: -(le.id or 0))
        return Ranking(
            [
                Hit(le, 1.0 / n, Explained(le.title), Figured(le.id or 0, 1.0 / n))
                for n, le in enumerate(lessons, start=1)
            ]
        )

    def rescore(
        self, session: Session, bar: Any, items: Sequence[BarItem], may_see: Any
    ) -> list[Figured]:
        return [Figured(item.lesson_id or 0, item.score) for item in items]

    def explain(self, lesson: Lesson, brief: str, best_sentence: str | None) -> Explained:
        self.explained += 1
        return Explained(best_sentence or "")


def test_a_bar_runs_and_reads_through_any_ranker(client: Client, engine: Engine) -> None:
    made = client.post("/api/reviews", json=review_payload())
    assert made.status_code == 201, made.text
    [lesson] = made.json()["lessons"]
    ranker = ByNewest()
    with transaction(engine) as session:
        casey = users.viewer(
            session, session.exec(select(User).where(User.username == "casey")).one()
        )
    ran = reading.run(
        engine, ranker, payload=BarIn(brief="fridges", run_by="casey"), runner=casey, limit=5
    )
    assert [r.lesson.id for r in ran.results] == [lesson["id"]]
    assert ran.results[0].why.best_sentence == lesson["title"]
    assert ranker.explained == 0  # the ranking's own explanation is the one shown
    assert [p.person.name for p in ran.people] == ["Amina Diallo", "Tom Reyes"]
    with transaction(engine) as session:
        assert ran.bar.id is not None
        read = reading.read(session, ranker, bar_id=ran.bar.id, viewer=casey)
    assert ranker.explained == len(read.results) == 1
    assert [r.figures for r in read.results] == [r.figures for r in ran.results]
