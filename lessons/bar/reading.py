"""A BAR as its reader is shown it: the use cases that run one (`run`) and read a stored one
(`read`), and the typed result (`BarView`) that the API and the pages only render.

The ranking comes from a `BarRanker` (`retrieval.bar_ranking.BarRanking` is one): the domain
does not import retrieval. `run` ranks in one read transaction and records in one write
transaction, and assembles the result after both have committed; `read` works in the caller's
one transaction. Each result is explained once."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from lessons.accounts.access import Viewer
from lessons.bar import assists
from lessons.bar import service as bars
from lessons.bar.service import Surfaced
from lessons.catalogue import service as catalogue
from lessons.people import ranking
from lessons.schemas import BarIn, SearchFilters
from lessons.storage.db import transaction
from lessons.storage.models import (
    Action,
    BarItem,
    BeforeActionReview,
    Lesson,
    PeerAssist,
    Person,
    ReviewKind,
)

# --- What the domain needs of the ranking ------------------------------------------------------


class Figures(Protocol):
    """A lesson's ranking figures (`retrieval.fusion.Fused` is one)."""

    @property
    def lesson_id(self) -> int: ...
    @property
    def fused(self) -> float: ...
    @property
    def dense(self) -> float | None: ...
    @property
    def dense_rank(self) -> int | None: ...
    @property
    def lexical(self) -> float | None: ...
    @property
    def lexical_rank(self) -> int | None: ...
    @property
    def passage(self) -> float | None: ...
    @property
    def hidden_copies(self) -> Sequence[int]: ...
    @property
    def match(self) -> str | None: ...
    @property
    def passage_cosines(self) -> Sequence[float] | None: ...


class Why(Protocol):
    """Why a lesson matched (`retrieval.explain.Explanation` is one)."""

    @property
    def matched_terms(self) -> Sequence[str]: ...
    @property
    def best_sentence(self) -> str: ...
    @property
    def highlighted(self) -> Sequence[tuple[str, bool]]: ...


class RankedLesson(Protocol):
    @property
    def lesson(self) -> Lesson: ...
    @property
    def score(self) -> float: ...
    @property
    def why(self) -> Why: ...
    @property
    def components(self) -> Figures: ...


class Ranked(Protocol):
    @property
    def hits(self) -> Sequence[RankedLesson]: ...
    @property
    def feedback(self) -> dict[str, Any] | None: ...


class BarRanker(Protocol):
    """What a BAR needs of the retriever: rank a brief; take a stored BAR's figures again for a
    reader (`may_see`: the lessons they may see, so feedback from a lesson hidden from them
    counts for nothing); explain a lesson once, with the sentence the run chose."""

    @property
    def model(self) -> str: ...

    def rank(
        self,
        session: Session,
        brief: str,
        *,
        viewer: Viewer,
        filters: SearchFilters | None,
        limit: int,
    ) -> Ranked: ...

    def rescore(
        self,
        session: Session,
        bar: BeforeActionReview,
        items: Sequence[BarItem],
        may_see: Callable[[int], bool],
    ) -> Sequence[Figures]: ...

    def explain(self, lesson: Lesson, brief: str, best_sentence: str | None) -> Why: ...


# --- The typed result ------------------------------------------------------------------------


@dataclass(frozen=True)
class Shown:
    """A result's figures as this reader is shown them (ranks among the results they see)."""

    score: float
    match: str
    dense: float | None
    dense_rank: int | None
    lexical: float | None
    lexical_rank: int | None
    passage: float | None
    near_copies: tuple[int, ...]


@dataclass(frozen=True)
class Contact:
    """Someone to talk to about a lesson, and why."""

    person: Person
    why: str


@dataclass(frozen=True)
class Result:
    lesson: Lesson
    rank: int
    figures: Shown
    why: Why
    open_actions: tuple[Action, ...]
    people: tuple[Contact, ...]
    decision: str | None
    note: str
    outcome: str
    outcome_at: datetime | None


@dataclass(frozen=True)
class Relevant:
    """A person with the strong or related results that name them, by relevance
    (`lessons.people.ranking`), and why: each of those lessons, named."""

    person: Person
    relevance: float
    results: tuple[Result, ...]
    why: tuple[str, ...]


WROTE = "wrote it"
OWNS = "owns an action"
NO_STRONG_MATCH = "No strong matches; the closest lessons are below."


@dataclass(frozen=True)
class Summary:
    strong: int
    related: int
    message: str


@dataclass(frozen=True)
class BarView:
    """A BAR as one reader is shown it: its visible results, best first, and their people."""

    bar: BeforeActionReview
    results: tuple[Result, ...]
    people: tuple[Relevant, ...]
    summary: Summary
    # The team's peer-assist requests, naming people the reader may see (`assists.on_bar`).
    assists: tuple[PeerAssist, ...] = ()


def summarise(matches: Sequence[str | None]) -> Summary:
    """How many results are strong matches, and what to tell the reader when none is."""
    strong = sum(1 for m in matches if m == "strong")
    related = sum(1 for m in matches if m == "related")
    return Summary(strong, related, "" if strong or not matches else NO_STRONG_MATCH)


# --- The use cases -----------------------------------------------------------------------------


def run(
    engine: Engine, ranker: BarRanker, *, payload: BarIn, runner: Viewer, limit: int
) -> BarView:
    """Rank lessons for the brief (one read transaction, the model outside the write lock),
    record the BAR (one write transaction), and return it as its runner is shown it."""
    with transaction(engine, write=False) as session:
        ranking = ranker.rank(
            session,
            payload.brief,
            viewer=bars.ranking_viewer(session, runner=runner, payload=payload),
            filters=payload.filters,
            limit=limit,
        )
        hits = list(ranking.hits)
        lessons = [_loaded(hit.lesson) for hit in hits]
        copies = {c for hit in hits for c in hit.components.hidden_copies}
        visible = _visible(session, copies | (_pool(ranking.feedback) - _ids(lessons)), runner)
        actions = _open_actions(session, lessons)
    with transaction(engine, write=True) as session:
        bar = bars.record(
            session,
            payload=payload,
            surfaced=[_surfaced(hit) for hit in hits],
            model=ranker.model,
            run_by_user_id=runner.user_id,
            viewer=runner,
            feedback=ranking.feedback,
        )
        _ = bar.project  # read now: the result is assembled after the transaction
        items = list(bar.bar_items)
        # The runner may see every lesson the ranking could: no query, only the items' ranks.
        figures = ranker.rescore(session, bar, items, _seeing(visible, _ids(lessons)))
    by_id = {lesson.id: lesson for lesson in lessons}
    whys = {hit.lesson.id: hit.why for hit in hits}  # explained once, by the ranking
    return _view(
        bar,
        [
            (item, by_id[item.lesson_id], shown, whys[item.lesson_id])
            for item, shown in zip(items, figures, strict=True)
        ],
        visible,
        actions,
    )


def read(session: Session, ranker: BarRanker, *, bar_id: int, viewer: Viewer) -> BarView:
    """A stored BAR as `viewer` is shown it (or NotFound, `service.get`). Someone with more
    access may have run it, so ranks and scores are those among the results the viewer sees,
    its feedback counts only lessons they may see, and a near-copy is listed only if they may
    see it: no id, gap or score tells of a hidden lesson."""
    bar = bars.get(session, bar_id=bar_id, viewer=viewer)
    _ = bar.project
    items = bars.visible_items(bar, viewer)
    lessons = [_loaded(item.lesson) for item in items if item.lesson is not None]
    copies = {c for item in items for c in item.near_copies}
    visible = _visible(session, copies | (_pool(bar.feedback) - _ids(lessons)), viewer)
    figures = ranker.rescore(session, bar, items, _seeing(visible, _ids(lessons)))
    rows = [
        # The sentence closest in meaning was chosen when the BAR ran, and kept.
        (item, lesson, shown, ranker.explain(lesson, bar.brief, item.best_sentence))
        for item, lesson, shown in zip(items, lessons, figures, strict=True)
    ]
    view = _view(bar, rows, visible, _open_actions(session, lessons))
    asked = assists.on_bar(session, bar_id=bar_id, viewer=viewer)
    return replace(view, assists=tuple(asked))


# --- Assembling the result (from data already read) -------------------------------------------


def _view(
    bar: BeforeActionReview,
    rows: Sequence[tuple[BarItem, Lesson, Figures, Why]],
    visible: set[int],
    actions: Mapping[int, list[Action]],
) -> BarView:
    # In the order of the score shown (a BAR ranked before scores were absolute is re-fused
    # among the visible items, which may reorder them).
    in_order = sorted(rows, key=lambda row: -row[2].fused)
    results = tuple(
        _result(rank, item, lesson, figures, why, visible, actions.get(lesson.id or 0, []))
        for rank, (item, lesson, figures, why) in enumerate(in_order, start=1)
    )
    return BarView(
        bar=bar,
        results=results,
        people=people_by_relevance(results),
        summary=summarise([r.figures.match for r in results]),
    )


def _result(
    rank: int,
    item: BarItem,
    lesson: Lesson,
    figures: Figures,
    why: Why,
    visible: set[int],
    open_actions: Sequence[Action],
) -> Result:
    return Result(
        lesson=lesson,
        rank=rank,
        figures=Shown(
            score=figures.fused,
            # Legacy BARs (before bands) are relevant enough to have been shown.
            match=figures.match or "related",
            dense=figures.dense,
            dense_rank=figures.dense_rank,
            lexical=figures.lexical,
            lexical_rank=figures.lexical_rank,
            passage=figures.passage,
            near_copies=tuple(c for c in figures.hidden_copies if c in visible),
        ),
        why=why,
        open_actions=tuple(open_actions),
        people=lesson_people(lesson, open_actions),
        decision=item.decision,
        note=item.note,
        outcome=item.outcome,
        outcome_at=item.outcome_at,
    )


def lesson_people(lesson: Lesson, actions: Sequence[Action]) -> tuple[Contact, ...]:
    """People to talk to about a lesson: who wrote it and who owns its open actions."""
    found: dict[int, Contact] = {}
    for person, why in [(lesson.author, WROTE)] + [(a.owner, OWNS) for a in actions]:
        if person is not None and person.id is not None and person.id not in found:
            found[person.id] = Contact(person, why)
    return tuple(found.values())


def people_by_relevance(results: Sequence[Result]) -> tuple[Relevant, ...]:
    """People to talk to: whoever wrote, or owns an open action on, a strong or related result,
    ranked as people search ranks them (`lessons.people.ranking`: the scores of their lessons
    with a discount, so the best match leads and volume only breaks near-ties), each
    with the results that put them there and why, naming each lesson. Weak results name
    nobody."""
    by_lesson = {result.lesson.id: result for result in results}
    ranked = ranking.rank_people(
        ranking.Link(
            person=contact.person,
            relation=_relation(result.lesson, contact),
            title=result.lesson.title,
            # As shown (five decimals), so the figure adds up to what the reader sees.
            score=round(result.figures.score, 5),
            match=result.figures.match,
            lesson_id=result.lesson.id,
        )
        for result in results
        for contact in result.people
    )
    return tuple(
        Relevant(
            entry.person,
            entry.relevance,
            tuple(by_lesson[lesson_id] for lesson_id in entry.lesson_ids),
            entry.why,
        )
        for entry in ranked
    )


def _relation(lesson: Lesson, contact: Contact) -> str:
    """How a contact is linked to a lesson, in `lessons.people.ranking`'s words."""
    if contact.why != WROTE:
        return "owns an action on"
    review = lesson.review
    return "handed over" if review is not None and review.kind == ReviewKind.HANDOVER else "wrote"


# --- Reading what the result needs ---------------------------------------------------------------


def _surfaced(hit: RankedLesson) -> Surfaced:
    parts = hit.components
    return Surfaced(
        lesson_id=hit.lesson.id or 0,
        score=hit.score,
        dense_score=parts.dense,
        dense_rank=parts.dense_rank,
        lexical_score=parts.lexical,
        lexical_rank=parts.lexical_rank,
        near_copies=tuple(parts.hidden_copies),
        passage_score=parts.passage,
        match=parts.match,
        best_sentence=hit.why.best_sentence,
        passage_cosines=tuple(parts.passage_cosines) if parts.passage_cosines is not None else None,
    )


def _loaded(lesson: Lesson) -> Lesson:
    """The lesson with what the result shows of its relations read now, in the transaction:
    the result is rendered after it has ended."""
    _ = lesson.project, lesson.author, lesson.review
    return lesson


def _ids(lessons: Sequence[Lesson]) -> set[int]:
    return {lesson.id for lesson in lessons if lesson.id is not None}


def _pool(kept: dict[str, Any] | None) -> set[int]:
    """The lessons that could form a BAR's feedback (`retrieval.feedback.record`)."""
    return {int(row[0]) for row in (kept or {}).get("pool", [])}


def _visible(session: Session, ids: set[int], viewer: Viewer) -> set[int]:
    """The lessons of `ids` that `viewer` may see."""
    if not ids:
        return set()
    lessons = session.exec(select(Lesson).where(col(Lesson.id).in_(sorted(ids)))).all()
    return {lesson.id for lesson in lessons if lesson.id is not None and viewer.can_see(lesson)}


def _seeing(visible: set[int], shown: set[int]) -> Callable[[int], bool]:
    """Whether the reader may see a lesson that could form the feedback: the results shown
    are theirs, and of the rest, those found visible."""
    seen = visible | shown
    return lambda lesson_id: lesson_id in seen


def _open_actions(session: Session, lessons: Sequence[Lesson]) -> dict[int, list[Action]]:
    """The lessons' open actions, with their owners read now (the result outlives the
    transaction)."""
    actions = catalogue.open_actions(session, lesson_ids=[le.id for le in lessons if le.id])
    for listed in actions.values():
        for action in listed:
            _ = action.owner
    return actions
