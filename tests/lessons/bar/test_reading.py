"""The BAR's typed result (`lessons.bar.reading`): people ranked by the relevance of their
lessons."""

from __future__ import annotations

from lessons.bar.reading import Contact, Result, Shown, people_by_relevance
from lessons.storage.models import Lesson, Person


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
    # Bo wrote more of the list (0.72), Ada the more relevant lesson (0.8 + 0.36); Cy only a
    # weak one, which names nobody.
    assert [p.person.name for p in people] == ["Ada", "Bo"]
    assert [r.lesson.id for r in people[0].results] == [1, 3]
    assert [r.lesson.id for r in people[1].results] == [2, 3]
    assert people[0].relevance == round(0.8 + 0.36, 4)
    assert people[1].relevance == 0.72
    assert people[0].why == ("owns an action", "wrote it")
