"""The SQL behind the learning-loop metrics: each figure is one aggregate query (GROUP BY,
COUNT, MIN) over rows the viewer may see; `lessons.metrics.service` only arranges the results.

The access filter is a subquery inside each aggregate, so nothing a viewer may not see is
ever counted. Periods are grouped by `extract(year)` / `extract(month)`, and a datetime's day
by `date(...)`: both SQLite and PostgreSQL have them. The one thing they do not share is a
difference of two days in days (`days_between`, compiled for each)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple

from sqlalchemy import (
    Date,
    Integer,
    and_,
    case,
    cast,
    extract,
    func,
    literal,
    not_,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement
from sqlmodel import Session, col

from lessons.accounts.access import Viewer, action_clause, visible_lesson_ids, visible_project_ids
from lessons.schemas import SearchFilters
from lessons.storage.models import (
    Action,
    ActionStatus,
    BarItem,
    BeforeActionReview,
    Decision,
    Lesson,
    LessonEvent,
    LessonStatus,
    Project,
    Review,
)

# The stages a lesson moves through, in order; reaching one counts as reaching the earlier.
STAGES = (
    LessonStatus.IDENTIFIED,
    LessonStatus.VALIDATED,
    LessonStatus.ACTIONED,
    LessonStatus.LEARNED,
)
DECISIONS = (Decision.APPLY, Decision.NOT_RELEVANT, Decision.NOTE)
# What str.strip() removes from an outcome (SQL's trim removes only spaces unless told).
_BLANKS = " \t\n\r\f\v"


class days_between(FunctionElement[int]):  # lower case: used like an SQL function
    """Whole days from the day of the first datetime to the day of the second."""

    type = Integer()
    inherit_cache = True


@compiles(days_between)
def _days_between(element: days_between, compiler: Any, **kw: Any) -> str:
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"(CAST({end} AS DATE) - CAST({start} AS DATE))"  # PostgreSQL: date - date is days


@compiles(days_between, "sqlite")
def _days_between_sqlite(element: days_between, compiler: Any, **kw: Any) -> str:
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(julianday(date({end})) - julianday(date({start})) AS INTEGER)"


def counted_lessons(viewer: Viewer) -> Any:
    """Ids of the lessons the viewer may see, in any state, never deleted ones."""
    return visible_lesson_ids(viewer, SearchFilters(status=list(LessonStatus))).where(
        col(Lesson.deleted_at).is_(None)
    )


def _part(field: str, column: Any) -> Any:
    # PostgreSQL's extract gives a numeric (14 on): as an integer, "// 3" divides whole.
    return cast(extract(field, column), Integer)


def _year_month(column: Any) -> tuple[Any, Any]:
    return _part("year", column), _part("month", column)


def _year_quarter(column: Any) -> tuple[Any, Any]:
    return _part("year", column), (_part("month", column) - 1) // 3 + 1


def _day(column: Any) -> Any:
    return func.date(column, type_=Date)


# --- lessons --------------------------------------------------------------------------------


def _first_reached(counted: Any) -> Any:
    """Per counted lesson: when it first reached each stage (or a later one), and when it was
    first identified by an event that names identified itself."""
    event = col(LessonEvent.to_status)

    def first(statuses: Sequence[str]) -> Any:
        return func.min(case((event.in_(list(statuses)), col(LessonEvent.at))))

    return (
        select(
            col(LessonEvent.lesson_id),
            first(STAGES).label("identified"),
            first(STAGES[1:]).label("validated"),
            first(STAGES[3:]).label("learned"),
            first([LessonStatus.IDENTIFIED]).label("named_identified"),
        )
        .where(col(LessonEvent.lesson_id).in_(counted))
        .group_by(col(LessonEvent.lesson_id))
        .cte("reached")  # read three times below: a CTE is computed once (SQLite, PostgreSQL)
    )


def stage_months(session: Session, counted: Any) -> dict[tuple[str, str], int]:
    """{(stage, "YYYY-MM"): lessons that first reached the stage that month}."""
    reached = _first_reached(counted)
    parts = []
    for stage in ("identified", "validated", "learned"):
        at = reached.c[stage]
        year, month = _year_month(at)
        parts.append(
            select(literal(stage).label("stage"), year.label("y"), month.label("m"))
            .select_from(reached)
            .where(at.is_not(None))
        )
    stages = union_all(*parts).subquery()
    rows = session.execute(
        select(stages.c.stage, stages.c.y, stages.c.m, func.count()).group_by(
            stages.c.stage, stages.c.y, stages.c.m
        )
    )
    return {(stage, f"{y:04d}-{m:02d}"): n for stage, y, m, n in rows}


def days_to_learned(session: Session, counted: Any) -> list[tuple[int, int]]:
    """[(days, lessons)]: days from first identified to first learned, for lessons with both
    (a learned event dated before the identified one counts as 0 days)."""
    reached = _first_reached(counted)
    days = days_between(reached.c.named_identified, reached.c.learned)
    clamped = case((days < 0, 0), else_=days)
    rows = session.execute(
        select(clamped, func.count())
        .select_from(reached)
        .where(reached.c.named_identified.is_not(None), reached.c.learned.is_not(None))
        .group_by(clamped)
        .order_by(clamped)
    )
    return [(int(d), n) for d, n in rows]


# --- actions --------------------------------------------------------------------------------


def _closed() -> Any:
    return and_(col(Action.status) != ActionStatus.OPEN, col(Action.closed_at).is_not(None))


def action_months(session: Session, viewer: Viewer) -> tuple[dict[str, int], dict[str, int]]:
    """({"YYYY-MM": actions created}, {"YYYY-MM": actions closed (done or dropped)}), from
    one statement: the access filter runs once, in a CTE both counts read."""
    seen = (
        select(
            col(Action.created_at).label("created"),
            col(Action.closed_at).label("closed"),
            col(Action.status).label("status"),
        )
        .where(action_clause(viewer))
        .cte("seen")
    )

    def per_month(kind: str, at: Any, *where: Any) -> Any:
        year, month = _year_month(at)
        return (
            select(literal(kind), year, month, func.count())
            .select_from(seen)
            .where(*where)
            .group_by(year, month)
        )

    closed = and_(seen.c.status != ActionStatus.OPEN, seen.c.closed.is_not(None))
    counts: dict[str, dict[str, int]] = {"opened": {}, "closed": {}}
    rows = session.execute(
        union_all(per_month("opened", seen.c.created), per_month("closed", seen.c.closed, closed))
    )
    for kind, y, m, n in rows:
        counts[kind][f"{y:04d}-{m:02d}"] = n
    return counts["opened"], counts["closed"]


def overdue_at(session: Session, viewer: Viewer, ends: Sequence[date]) -> list[int]:
    """For each day in `ends`: actions created by then, due before it and not closed by then.
    One pass over the actions, a CASE per day (in batches, to bound the statement's size)."""
    counts: list[int] = []
    for start in range(0, len(ends), 100):
        batch = ends[start : start + 100]
        columns = []
        for end in batch:
            # Before the next day's midnight: the end day itself included.
            after = datetime.combine(end + timedelta(days=1), time(), tzinfo=UTC)
            columns.append(
                func.coalesce(
                    func.sum(
                        case(
                            (
                                and_(
                                    col(Action.created_at) < after,
                                    col(Action.due) < end,
                                    not_(and_(_closed(), col(Action.closed_at) < after)),
                                ),
                                1,
                            ),
                            else_=0,
                        )
                    ),
                    0,
                )
            )
        row = session.execute(
            select(*columns).where(action_clause(viewer), col(Action.due).is_not(None))
        ).one()
        counts.extend(int(n) for n in row)
    return counts


def action_totals(session: Session, viewer: Viewer, today: date) -> ActionTotals:
    """The first and last day an action was created, how many are open and overdue now."""
    is_open = col(Action.status) == ActionStatus.OPEN
    overdue = and_(is_open, col(Action.due).is_not(None), col(Action.due) < today)
    first, last, open_now, overdue_now = session.execute(
        select(
            func.min(col(Action.created_at)),
            func.max(col(Action.created_at)),
            func.coalesce(func.sum(case((is_open, 1), else_=0)), 0),
            func.coalesce(func.sum(case((overdue, 1), else_=0)), 0),
        ).where(action_clause(viewer))
    ).one()
    return ActionTotals(
        first.date() if first else None,
        last.date() if last else None,
        int(open_now),
        int(overdue_now),
    )


class ActionTotals(NamedTuple):
    first: date | None
    last: date | None
    open_now: int
    overdue_now: int


# --- before action reviews ------------------------------------------------------------------


def bar_adoption(session: Session, viewer: Viewer) -> dict[str, tuple[int, int]]:
    """{"YYYY Qn": (new projects, those that ran a BAR first)} over the projects the viewer
    may know of; a project's first review and BAR are its own, whoever may read them."""
    first_review = (
        select(
            col(Review.project_id).label("project_id"),
            func.min(func.coalesce(col(Review.held_on), _day(col(Review.created_at)))).label("day"),
        )
        .group_by(col(Review.project_id))
        .subquery()
    )
    first_bar = (
        select(
            col(BeforeActionReview.project_id).label("project_id"),
            func.min(_day(col(BeforeActionReview.created_at))).label("day"),
        )
        .where(col(BeforeActionReview.project_id).is_not(None))
        .group_by(col(BeforeActionReview.project_id))
        .subquery()
    )
    review, bar = first_review.c.day, first_bar.c.day
    start = case(
        (col(Project.start_date).is_not(None), col(Project.start_date)),
        (and_(review.is_(None), bar.is_(None)), _day(col(Project.created_at))),
        (review.is_(None), bar),
        (or_(bar.is_(None), review <= bar), review),
        else_=bar,
    )
    ran = case((and_(bar.is_not(None), or_(review.is_(None), bar <= review)), 1), else_=0)
    year, quarter = _year_quarter(start)
    rows = session.execute(
        select(year, quarter, func.count(), func.sum(ran))
        .select_from(Project)
        .outerjoin(first_review, first_review.c.project_id == col(Project.id))
        .outerjoin(first_bar, first_bar.c.project_id == col(Project.id))
        .where(col(Project.id).in_(visible_project_ids(viewer)))
        .group_by(year, quarter)
    )
    return {f"{y:04d} Q{int(q)}": (n, int(r)) for y, q, n, r in rows}


def _bar_items(counted: Any, *columns: Any) -> Any:
    """Items of BARs on counted lessons, grouped by the quarter of their BAR and `columns`."""
    year, quarter = _year_quarter(col(BeforeActionReview.created_at))
    return (year, quarter), (
        select(year, quarter, *columns)
        .select_from(BarItem)
        .join(BeforeActionReview, col(BeforeActionReview.id) == col(BarItem.bar_id))
        .where(col(BarItem.lesson_id).in_(counted))
    )


def bar_decisions(session: Session, counted: Any) -> dict[tuple[str, str | None], int]:
    """{("YYYY Qn", decision or None for undecided): lessons surfaced}."""
    decision = case((col(BarItem.decision).in_(list(DECISIONS)), col(BarItem.decision)), else_=None)
    (year, quarter), query = _bar_items(counted, decision, func.count())
    rows = session.execute(query.group_by(year, quarter, decision))
    return {(f"{y:04d} Q{int(q)}", d): n for y, q, d, n in rows}


def bar_outcomes(session: Session, counted: Any) -> dict[str, tuple[int, int]]:
    """{"YYYY Qn": (lessons marked apply, those with an outcome recorded)}."""
    recorded = case((func.trim(col(BarItem.outcome), _BLANKS) != "", 1), else_=0)
    (year, quarter), query = _bar_items(counted, func.count(), func.sum(recorded))
    rows = session.execute(
        query.where(col(BarItem.decision) == Decision.APPLY).group_by(year, quarter)
    )
    return {f"{y:04d} Q{int(q)}": (n, int(r)) for y, q, n, r in rows}
