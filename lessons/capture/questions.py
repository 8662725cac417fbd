"""The standard question sets, defined once and versioned.

A review stores the version it was answered against, so changing a wording or adding a
question means a new version here; old reviews keep rendering with the questions they had.
"""

from __future__ import annotations

from dataclasses import dataclass

from lessons.storage.models import ReviewKind


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    help: str = ""
    is_score: bool = False  # an integer from 0 to 10 rather than free text


@dataclass(frozen=True)
class QuestionSet:
    kind: ReviewKind
    version: int
    title: str
    purpose: str
    questions: tuple[Question, ...]

    def question(self, question_id: str) -> Question | None:
        return next((q for q in self.questions if q.id == question_id), None)


_SETS: dict[tuple[ReviewKind, int], QuestionSet] = {}


def _register(question_set: QuestionSet) -> None:
    _SETS[(question_set.kind, question_set.version)] = question_set


_register(
    QuestionSet(
        kind=ReviewKind.AAR,
        version=1,
        title="After action review",
        purpose="A short, blame-free look back at a piece of work, straight after it ends.",
        questions=(
            Question("planned", "What was supposed to happen?", "The plan, goals and standards."),
            Question("actual", "What actually happened?", "The facts, as the team saw them."),
            Question("differences", "Why were there differences?", "Causes, not culprits."),
            Question("sustain", "What will we sustain?", "What worked and should be repeated."),
            Question("improve", "What will we improve?", "What to change next time."),
        ),
    )
)
_register(
    QuestionSet(
        kind=ReviewKind.RETROSPECT,
        version=1,
        title="Retrospect",
        purpose="A facilitated review at the end of a project or phase.",
        questions=(
            Question("objectives", "What did we set out to do?"),
            Question("achieved", "What did we achieve?"),
            Question("went_well", "What went well, and why?"),
            Question("could_improve", "What could have gone better, and why?"),
            Question("do_differently", "What would we do differently next time?"),
            Question("score", "Score out of 10", "A whole number from 0 to 10.", is_score=True),
            Question("score_to_ten", "What would have made it a 10?"),
        ),
    )
)
_register(
    QuestionSet(
        kind=ReviewKind.HANDOVER,
        version=1,
        title="Handover",
        purpose="What a leaver passes to their successor so that nothing important walks out.",
        questions=(
            Question("role", "The role in brief"),
            Question("work_in_flight", "Work in flight and its status"),
            Question("decisions", "Decisions taken and why"),
            Question("people", "Key people and relationships"),
            Question("where_things_are", "Where things are kept"),
            Question("tacit_knowledge", "What I know that nobody else does"),
            Question("risks", "Risks and watch-outs"),
            Question("first_week", "First-week advice for my successor"),
        ),
    )
)


def current(kind: ReviewKind | str) -> QuestionSet:
    """The newest question set for a review kind."""
    kind = ReviewKind(kind)
    return max((s for (k, _), s in _SETS.items() if k == kind), key=lambda s: s.version)


def get(kind: ReviewKind | str, version: int) -> QuestionSet:
    """The question set a review was answered against (the newest one if that is unknown)."""
    return _SETS.get((ReviewKind(kind), version)) or current(kind)


def all_current() -> list[QuestionSet]:
    return [current(kind) for kind in ReviewKind]
