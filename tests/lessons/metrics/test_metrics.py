"""Metrics: exact values on a small bank with fixed dates, what each reader may count, and the
dashboard, chart (SVG), CSV and JSON routes."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from typing import Any

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from lessons.accounts.access import CURATOR, STAFF, Viewer
from lessons.bar import service as bars
from lessons.capture import service as capture
from lessons.catalogue import service as catalogue
from lessons.curation import lifecycle
from lessons.curation.themes import Theme
from lessons.metrics import service as metrics
from lessons.metrics.service import Metric
from lessons.schemas import BarIn, DecisionIn, Limits, OutcomeIn, ReviewIn
from lessons.storage.db import transaction
from lessons.storage.models import Action, ActionStatus, Lesson, LessonStatus, Project
from lessons.storage.settings import Settings
from tests.conftest import Client, app_client

TODAY = date(2025, 6, 20)
LIMITS = Limits(title=500, text=10_000, brief=10_000, items=100)


def _at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(hour=9, tzinfo=UTC)


def _review(
    session: Session,
    project: dict[str, Any],
    held_on: str,
    lessons: list[tuple[str, str]],
    actions: list[dict[str, Any]] | None = None,
) -> list[Lesson]:
    """A review whose lessons (title, sensitivity) are identified on `held_on`."""
    payload = ReviewIn.model_validate(
        {
            "kind": "aar",
            "project": project,
            "held_on": held_on,
            "answers": {"planned": "Plan.", "actual": "Done."},
            "lessons": [
                {"title": title, "observation": f"{title}.", "sensitivity": sensitivity}
                for title, sensitivity in lessons
            ],
            "actions": actions or [],
        }
    )
    review = capture.log_review(session, payload=payload)
    made = sorted(review.lessons, key=lambda le: le.id or 0)
    for lesson in made:
        (event,) = lifecycle.history(session, lesson_id=lesson.id or 0)
        event.at = _at(held_on)
        session.add(event)
    for action in session.exec(select(Action).where(Action.review_id == review.id)):
        action.created_at = _at(held_on)
        session.add(action)
    return made


def _walk(session: Session, lesson: Lesson, *steps: tuple[LessonStatus, str]) -> None:
    for to, day in steps:
        event = lifecycle.transition(
            session,
            lesson=lesson,
            to=to,
            actor="kim",
            reason="checked",
            evidence="Checklist changed",
            link="https://example.org/checklist",
        )
        event.at = _at(day)
        session.add(event)


def _close(session: Session, lesson: Lesson | None, what: str, status: str, day: str) -> None:
    action = session.exec(select(Action).where(Action.what == what)).one()
    assert lesson is None or action.lesson_id == lesson.id
    action.status = status
    action.closed_at = _at(day)
    session.add(action)


def _bar(
    session: Session,
    project: str,
    day: str,
    decided: list[tuple[Lesson, str | None, str]],
) -> None:
    """A BAR on `day` that surfaced the lessons, each (lesson, decision, outcome)."""
    bar = bars.record(
        session,
        payload=BarIn(brief=f"Work on {project}", project={"name": project}),  # type: ignore[arg-type]
        surfaced=[bars.Surfaced(lesson_id=le.id or 0, score=0.1) for le, _, _ in decided],
        model="test",
    )
    bar.created_at = _at(day)
    session.add(bar)
    decisions = [DecisionIn(lesson_id=le.id or 0, decision=d) for le, d, _ in decided if d]  # type: ignore[arg-type]
    if decisions:
        bars.decide(session, bar=bar, decisions=decisions, viewer=CURATOR)
    outcomes = [OutcomeIn(lesson_id=le.id or 0, outcome=o) for le, _, o in decided if o]
    if outcomes:
        bars.record_outcomes(session, bar=bar, outcomes=outcomes, viewer=CURATOR)


def seed_known_bank(session: Session) -> dict[str, Lesson]:
    """Four projects and five lessons, one restricted (l4) and one deleted (l6); every date
    fixed. The expected numbers in the tests below are worked out from these dates."""
    alpha = {"name": "Alpha", "start_date": "2025-01-10"}
    l1, l2, l6 = _review(
        session,
        alpha,
        "2025-02-01",
        [("L1", "internal"), ("L2", "internal"), ("L6", "internal")],
        [
            {"what": "A1", "due": "2025-03-15", "lesson_index": 0},
            {"what": "A2", "due": "2025-04-30"},
        ],
    )
    _bar(session, "Beta", "2025-02-15", [(l1, "apply", "It helped."), (l2, "not_relevant", "")])
    beta = session.exec(select(Project).where(Project.name == "Beta")).one()
    beta.start_date = date(2025, 2, 20)
    l3, l4 = _review(
        session,
        {"name": "Beta"},
        "2025-03-10",
        [("L3", "internal"), ("L4", "restricted")],
        [{"what": "A3", "due": "2025-03-31", "lesson_index": 1}],
    )
    (l5,) = _review(
        session,
        {"name": "Gamma", "start_date": "2025-04-05"},
        "2025-04-20",
        [("L5", "public")],
        [{"what": "A4", "due": "2025-05-31", "lesson_index": 0}],
    )
    _walk(
        session,
        l1,
        (LessonStatus.VALIDATED, "2025-02-10"),
        (LessonStatus.ACTIONED, "2025-03-05"),
        (LessonStatus.LEARNED, "2025-05-20"),
    )
    _walk(session, l2, (LessonStatus.VALIDATED, "2025-03-02"))
    _walk(session, l3, (LessonStatus.VALIDATED, "2025-03-20"), (LessonStatus.LEARNED, "2025-04-04"))
    _walk(session, l4, (LessonStatus.VALIDATED, "2025-03-12"), (LessonStatus.LEARNED, "2025-09-10"))
    _walk(session, l5, (LessonStatus.VALIDATED, "2025-04-25"))
    _walk(session, l6, (LessonStatus.VALIDATED, "2025-02-03"))
    catalogue.delete_lesson(session, lesson=l6, actor="kim")
    _close(session, l1, "A1", ActionStatus.DONE, "2025-03-10")
    _close(session, l5, "A4", ActionStatus.DROPPED, "2025-06-15")
    _bar(
        session,
        "Gamma",
        "2025-05-01",
        [(l1, "apply", ""), (l3, "note", ""), (l4, "apply", "Saved a week."), (l5, None, "")],
    )
    _bar(session, "Delta", "2025-04-10", [(l3, "apply", "Used the checklist.")])
    delta = session.exec(select(Project).where(Project.name == "Delta")).one()
    delta.start_date = date(2025, 4, 15)
    session.add_all([beta, delta])
    session.flush()
    return {"l1": l1, "l2": l2, "l3": l3, "l4": l4, "l5": l5, "l6": l6}


@pytest.fixture
def known(session: Session) -> dict[str, Lesson]:
    seeded = seed_known_bank(session)
    session.commit()
    return seeded


def _no_themes() -> list[Theme]:
    return []


def compute(session: Session, name: str, viewer: Viewer = STAFF) -> Metric:
    return metrics.compute(session, viewer=viewer, name=name, themes=_no_themes, today=TODAY)


# --- exact values ------------------------------------------------------------------------------


def test_lessons_per_month_counts_each_stage_once(known: Any, session: Session) -> None:
    metric = compute(session, "lessons")
    assert metric.columns == ["Month", "Identified", "Validated", "Learned"]
    assert metric.rows == [
        ["2025-02", 2, 1, 0],
        ["2025-03", 1, 2, 0],
        ["2025-04", 1, 1, 1],
        ["2025-05", 0, 0, 1],
    ]
    assert metric.summary == {"Identified": 4, "Validated": 4, "Learned": 2}


def test_lessons_per_month_for_a_curator_counts_the_restricted_lesson(
    known: Any, session: Session
) -> None:
    rows = compute(session, "lessons", CURATOR).rows
    assert rows[1] == ["2025-03", 2, 3, 0]
    assert rows[-1] == ["2025-09", 0, 0, 1]
    assert [r[0] for r in rows] == [f"2025-{m:02d}" for m in range(2, 10)]  # gaps filled


def test_time_to_learned_distribution_and_median(known: Any, session: Session) -> None:
    metric = compute(session, "time-to-learned")
    # L1: 1 Feb -> 20 May is 108 days; L3: 10 Mar -> 4 Apr is 25 days.
    assert metric.rows == [
        ["under 1 month", 1],
        ["1-3 months", 0],
        ["3-6 months", 1],
        ["6-12 months", 0],
        ["1 year or more", 0],
    ]
    assert metric.summary == {"Lessons learned": 2, "Median days": 66.5}
    # L4, 10 Mar -> 10 Sep (184 days), only for the curator.
    assert compute(session, "time-to-learned", CURATOR).summary["Median days"] == 108


def test_actions_opened_closed_and_overdue_per_month(known: Any, session: Session) -> None:
    metric = compute(session, "actions")
    assert metric.rows == [
        ["2025-02", 2, 0, 0],
        ["2025-03", 0, 1, 0],
        ["2025-04", 1, 0, 0],  # A2 is due on 30 April: not overdue on that day
        ["2025-05", 0, 0, 1],
        ["2025-06", 0, 1, 1],  # A4 dropped on 15 June; A2 still overdue today
    ]
    assert metric.summary == {"Open now": 1, "Overdue now": 1}


def test_actions_on_a_restricted_lesson_count_only_for_who_may_see_it(
    known: Any, session: Session
) -> None:
    rows = compute(session, "actions", CURATOR).rows
    assert rows[1] == ["2025-03", 1, 1, 0]
    assert [r[3] for r in rows] == [0, 0, 1, 2, 2]


def test_share_of_new_projects_that_ran_a_bar(known: Any, session: Session) -> None:
    metric = compute(session, "bar-adoption")
    # Q1: Alpha (no BAR), Beta (BAR 15 Feb before its review 10 Mar). Q2: Gamma (BAR after its
    # review), Delta (a BAR and no review yet).
    assert metric.rows == [["2025 Q1", 2, 1, 50.0], ["2025 Q2", 2, 1, 50.0]]
    assert metric.summary == {"New projects": 4, "Ran a BAR": 2, "Share (%)": 50.0}


def test_bar_decisions_per_quarter(known: Any, session: Session) -> None:
    metric = compute(session, "bar-decisions")
    assert metric.columns[1:6] == ["Surfaced", "Apply", "Not relevant", "Note", "Undecided"]
    assert metric.rows == [
        ["2025 Q1", 2, 1, 1, 0, 0, 50.0],
        ["2025 Q2", 4, 2, 0, 1, 1, 66.7],
    ]
    assert metric.summary == {"Surfaced": 6, "Marked apply": 3, "Apply share (%)": 60.0}
    assert compute(session, "bar-decisions", CURATOR).rows[1] == ["2025 Q2", 5, 3, 0, 1, 1, 75.0]


def test_bar_outcomes_per_quarter(known: Any, session: Session) -> None:
    metric = compute(session, "bar-outcomes")
    assert metric.rows == [["2025 Q1", 1, 1, 100.0], ["2025 Q2", 2, 1, 50.0]]
    assert metric.summary == {"Applied": 3, "Outcome recorded": 2, "Share (%)": 66.7}
    assert compute(session, "bar-outcomes", CURATOR).rows[1] == ["2025 Q2", 3, 2, 66.7]


def test_themes_metric_lists_projects_lessons_and_open_actions(
    known: dict[str, Lesson], session: Session
) -> None:
    projects = list(session.exec(select(Project).order_by(col(Project.name))))
    theme = Theme(
        label="Order early",
        tags=[],
        lessons=[known["l1"], known["l2"]],
        projects=projects[:3],
        years=[2025],
        open_actions=[],
    )
    metric = metrics.compute(
        session, viewer=STAFF, name="themes", themes=lambda: [theme], today=TODAY
    )
    assert metric.rows == [["Order early", 3, 2, 0]]
    assert metric.summary == {"Themes": 1}


def test_empty_bank_has_no_rows_and_no_division_by_zero(session: Session) -> None:
    for name in metrics.NAMES:
        metric = compute(session, name)
        assert metric.rows == [], name


def test_unknown_metric_is_refused(session: Session) -> None:
    with pytest.raises(KeyError):
        compute(session, "secrets")


def test_csv_quotes_cells_that_would_run_as_formulas() -> None:
    metric = Metric(
        name="themes",
        title="t",
        definition="",
        columns=["Theme", "Projects"],
        rows=[['=HYPERLINK("http://x")', 3], ["-2+3", 1], ["Plain", None]],
        kind="barh",
        series=["Projects"],
    )
    rows = list(csv.reader(io.StringIO(metrics.to_csv(metric))))
    assert rows == [
        ["Theme", "Projects"],
        ['\'=HYPERLINK("http://x")', "3"],
        ["'-2+3", "1"],
        ["Plain", ""],
    ]


# --- the routes --------------------------------------------------------------------------------


@pytest.fixture
def known_app(settings: Settings, engine: Engine) -> Any:
    with transaction(engine, write=True) as session:
        seeded = seed_known_bank(session)
        ids = {k: v.id for k, v in seeded.items()}
    for client in app_client(settings, as_user="casey"):
        yield client, ids


def test_dashboard_shows_every_metric_with_chart_table_and_csv(known_app: Any) -> None:
    client, _ = known_app
    page = client.get("/metrics")
    assert page.status_code == 200
    assert page.template.name == "metrics.html"
    soup = BeautifulSoup(page.text, "html.parser")
    for name in metrics.NAMES:
        section = soup.find("h2", id=name)
        assert section is not None, name
        block = section.find_parent("section")
        assert block.find("img", src=f"/metrics/{name}.svg")["alt"].startswith("Chart: ")
        assert block.find("a", href=f"/metrics/{name}.csv") is not None
    table = soup.find("h2", id="actions").find_parent("section").find("table")
    assert table.caption.text == "Actions opened, closed and overdue per month"
    assert all(th.get("scope") == "col" for th in table.thead.find_all("th"))
    first = [c.get_text() for c in table.tbody.tr.find_all(["th", "td"])]
    assert first == ["2025-02", "2", "0", "0"]
    assert table.tbody.tr.th["scope"] == "row"


def test_api_metrics_returns_the_same_numbers(known_app: Any, engine: Engine) -> None:
    client, _ = known_app
    answer = client.get("/api/metrics")
    assert answer.status_code == 200
    by_name = {m["name"]: m for m in answer.json()["metrics"]}
    assert list(by_name) == list(metrics.NAMES)
    with Session(engine) as session:
        expected = metrics.compute(session, viewer=STAFF, name="bar-outcomes", themes=_no_themes)
    assert by_name["bar-outcomes"]["rows"] == expected.rows
    assert by_name["bar-outcomes"]["rows"] == [["2025 Q1", 1, 1, 100.0], ["2025 Q2", 2, 1, 50.0]]


@pytest.mark.parametrize("name", metrics.NAMES)
def test_chart_route_answers_an_svg(known_app: Any, name: str) -> None:
    client, _ = known_app
    chart = client.get(f"/metrics/{name}.svg")
    assert chart.status_code == 200
    assert chart.headers["content-type"] == "image/svg+xml"
    assert b"<svg" in chart.content[:500]
    assert b"<script" not in chart.content


@pytest.mark.parametrize("name", metrics.NAMES)
def test_csv_route_answers_the_table(known_app: Any, name: str) -> None:
    client, _ = known_app
    download = client.get(f"/metrics/{name}.csv")
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    assert f'filename="lessonbank-{name}.csv"' in download.headers["content-disposition"]
    assert next(csv.reader(io.StringIO(download.text)))[0] in {
        "Month",
        "Time to learned",
        "Quarter",
        "Theme",
    }


def test_chart_and_csv_escape_a_theme_named_by_a_hostile_title(client: Client) -> None:
    title = "=cmd|' /C calc'!A0 <script>alert(1)</script> & $x^2$ order generators"
    text = "Order generators as soon as the plan is endorsed: twelve-week supplier lead time."
    for project in ("P1", "P2", "P3"):
        made = client.post(
            "/api/reviews",
            json={
                "kind": "aar",
                "project": {"name": project},
                "answers": {"planned": "Plan.", "actual": "Late."},
                "lessons": [{"title": title, "observation": text, "recommendation": text}],
            },
        )
        assert made.status_code == 201, made.text
    chart = client.get("/metrics/themes.svg")
    assert chart.status_code == 200
    assert b"<script>" not in chart.content
    assert b"&lt;script&gt;" in chart.content
    download = client.get("/metrics/themes.csv")
    (row,) = list(csv.reader(io.StringIO(download.text)))[1:]
    assert row[0] == "'" + title and row[1:] == ["3", "3", "0"]


@pytest.mark.parametrize("url", ["/metrics", "/metrics/lessons.svg", "/metrics/lessons.csv"])
def test_metrics_pages_ask_an_anonymous_visitor_to_sign_in(anon_client: Client, url: str) -> None:
    answer = anon_client.get(url, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login")


def test_metrics_api_refuses_an_anonymous_caller(anon_client: Client) -> None:
    assert anon_client.get("/api/metrics").status_code == 401


def test_demo_bank_gives_every_chart_content(demo_client: Client) -> None:
    """Themes need the real model (test_themes checks them on the demo bank); every other
    chart has history to show."""
    by_name = {m["name"]: m for m in demo_client.get("/api/metrics").json()["metrics"]}
    for name in metrics.NAMES:
        if name != "themes":
            assert len(by_name[name]["rows"]) >= 3, name
    assert by_name["time-to-learned"]["summary"]["Lessons learned"] >= 3
    assert by_name["bar-outcomes"]["summary"]["Outcome recorded"] >= 5
    assert by_name["bar-adoption"]["summary"]["Ran a BAR"] >= 3
    assert by_name["actions"]["summary"]["Overdue now"] >= 1
    months = [row[0] for row in by_name["lessons"]["rows"]]
    assert len(months) >= 12  # lifecycle steps spread over the bank's history


def test_demo_bank_loads_its_bars_once(engine: Engine, demo_bank: dict[str, Any]) -> None:
    from lessons.imports.seed import load_bank
    from lessons.storage.models import BeforeActionReview

    for _ in range(2):
        with transaction(engine, write=True) as session:
            load_bank(session, demo_bank)
    with Session(engine) as session:
        uids = [b.uid for b in session.exec(select(BeforeActionReview))]
    assert len(uids) == len(set(uids)) == len(demo_bank["learning_loop"]["bars"])
