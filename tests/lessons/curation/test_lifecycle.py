"""The lesson lifecycle: every step of the ALLOWED table taken and every other one refused (in
the domain, through the API and through the lesson page's form), learned needing evidence and
a link, merged reached only by merging, and the review date set on validation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup, Tag
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from lessons.capture import service as capture
from lessons.curation import lifecycle
from lessons.errors import InvalidTransition, ValidationFailed
from lessons.imports.exchange import export_bank, import_bank
from lessons.schemas import LessonIn, TransitionIn
from lessons.storage.db import make_engine, migrate, transaction
from lessons.storage.models import AuditEvent, Lesson, LessonStatus, utcnow
from lessons.storage.settings import Settings
from tests.conftest import Client, app_client, review_payload

S = LessonStatus
EVIDENCE = "The campaign planning template now has a lead-time check for cold-chain items."
LINK = "https://intranet.example.org/guidance/campaign-planning-template"


def _lesson(session: Session, status: LessonStatus, **fields: Any) -> Lesson:
    return capture.add_lesson(
        session,
        data=LessonIn(title="A lesson", **fields),
        project=None,
        review=None,
        author=None,
        actor="tester",
        status=status,
    )


def _audit(session: Session, lesson: Lesson) -> list[AuditEvent]:
    return list(
        session.exec(
            select(AuditEvent)
            .where(AuditEvent.entity == "lesson", AuditEvent.entity_id == lesson.id)
            .order_by(col(AuditEvent.id))
        )
    )


def _step_kwargs(dst: LessonStatus) -> dict[str, Any]:
    """What a step needs besides its target: evidence for learned, the merge service's
    permission for merged."""
    if dst == S.LEARNED:
        return {"evidence": EVIDENCE, "link": LINK}
    if dst == S.MERGED:
        return {"via_merge": True}
    return {}


VALID = [(src, dst) for src, targets in lifecycle.ALLOWED.items() for dst in sorted(targets)]
INVALID = [(src, dst) for src in S for dst in S if dst not in lifecycle.ALLOWED[src]]


# --- the whole table, in the domain ------------------------------------------------------------


@pytest.mark.parametrize(("src", "dst"), VALID)
def test_transition_allowed_records_who_when_why_in_event_and_audit(
    session: Session, src: LessonStatus, dst: LessonStatus
) -> None:
    lesson = _lesson(session, src)
    before = utcnow()
    event = lifecycle.transition(
        session, lesson=lesson, to=dst, actor="kim", reason="because", **_step_kwargs(dst)
    )
    assert lesson.status == dst
    assert (event.from_status, event.to_status, event.actor, event.reason) == (
        src,
        dst,
        "kim",
        "because",
    )
    assert event.at >= before
    assert [e.to_status for e in lifecycle.history(session, lesson_id=lesson.id or 0)] == [src, dst]
    [row] = [r for r in _audit(session, lesson) if r.action == "transition"]
    assert row.actor == "kim"
    assert row.before is not None and row.before["status"] == src
    assert row.after is not None and (row.after["status"], row.after["reason"]) == (dst, "because")


@pytest.mark.parametrize(("src", "dst"), INVALID)
def test_transition_refused_names_the_allowed_steps_and_changes_nothing(
    session: Session, src: LessonStatus, dst: LessonStatus
) -> None:
    lesson = _lesson(session, src)
    with pytest.raises(InvalidTransition) as refused:
        lifecycle.transition(
            session, lesson=lesson, to=dst, actor="kim", reason="because", **_step_kwargs(dst)
        )
    message = refused.value.message
    assert f"is {src} cannot become {dst}" in message
    allowed = lifecycle.allowed_next(src)
    assert f"(allowed: {', '.join(allowed) or 'none'})" in message
    assert refused.value.fields == {"to": f"not allowed from {src}"}
    assert lesson.status == src
    assert len(lifecycle.history(session, lesson_id=lesson.id or 0)) == 1
    assert _audit(session, lesson) == []


@pytest.mark.parametrize(
    "src", [s for s, targets in lifecycle.ALLOWED.items() if S.MERGED in targets]
)
def test_plain_transition_to_merged_says_to_use_merge(session: Session, src: LessonStatus) -> None:
    lesson = _lesson(session, src)
    with pytest.raises(InvalidTransition) as refused:
        lifecycle.transition(session, lesson=lesson, to=S.MERGED, actor="kim", reason="dupe")
    assert "use merge" in refused.value.message
    assert refused.value.fields == {"to": "use merge"}
    assert lesson.status == src


@pytest.mark.parametrize("dst", [S.VALIDATED, S.RETIRED, S.REJECTED])
def test_via_merge_only_leads_into_merged(session: Session, dst: LessonStatus) -> None:
    """The merge service's permission is for merging, not a way round the table."""
    lesson = _lesson(session, S.IDENTIFIED if dst != S.RETIRED else S.VALIDATED)
    with pytest.raises(InvalidTransition):
        lifecycle.transition(
            session, lesson=lesson, to=dst, actor="kim", reason="x", via_merge=True
        )


@pytest.mark.parametrize("back", [S.IDENTIFIED, S.VALIDATED, S.ACTIONED, S.LEARNED])
def test_undoing_a_merge_restores_the_status_it_had(session: Session, back: LessonStatus) -> None:
    lesson = _lesson(session, S.MERGED)
    with pytest.raises(InvalidTransition) as refused:  # not as a plain step
        lifecycle.transition(session, lesson=lesson, to=back, actor="kim", reason="undo")
    assert "undo the merge" in refused.value.message
    lifecycle.transition(
        session, lesson=lesson, to=back, actor="kim", reason="undo", via_merge=True
    )
    assert lesson.status == back


@pytest.mark.parametrize("dst", sorted(lifecycle.NEEDS_REASON))
@pytest.mark.parametrize("reason", ["", "   "])
def test_transition_without_reason_refused_when_reason_required(
    session: Session, dst: LessonStatus, reason: str
) -> None:
    src = next(s for s, targets in lifecycle.ALLOWED.items() if dst in targets)
    lesson = _lesson(session, src)
    with pytest.raises(ValidationFailed) as refused:
        lifecycle.transition(session, lesson=lesson, to=dst, actor="kim", reason=reason)
    assert refused.value.fields == {"reason": "required"}
    assert lesson.status == src


def test_allowed_next_follows_lifecycle_order_and_leaves_merging_out() -> None:
    assert lifecycle.allowed_next("identified") == [S.VALIDATED, S.REJECTED]
    assert lifecycle.allowed_next("validated") == [S.ACTIONED, S.LEARNED, S.RETIRED]
    assert lifecycle.allowed_next("merged") == []


# --- learned needs evidence and a link ---------------------------------------------------------


@pytest.mark.parametrize(
    ("evidence", "link", "fields"),
    [
        ("", "", {"learned_evidence", "learned_link"}),
        ("  ", LINK, {"learned_evidence"}),
        (EVIDENCE, "", {"learned_link"}),
        (EVIDENCE, "ftp://files.example.org/checklist.pdf", {"learned_link"}),
        (EVIDENCE, "javascript:alert(1)", {"learned_link"}),
        (EVIDENCE, "www.example.org/checklist", {"learned_link"}),
        (EVIDENCE, "https://", {"learned_link"}),
        (EVIDENCE, "https://example.org/a checklist", {"learned_link"}),
        (EVIDENCE, "https://example.org/" + "a" * 1000, {"learned_link"}),
        (EVIDENCE, "http://[::1", {"learned_link"}),
    ],
)
def test_learned_without_evidence_or_http_link_is_refused(
    session: Session, evidence: str, link: str, fields: set[str]
) -> None:
    lesson = _lesson(session, S.ACTIONED)
    with pytest.raises(ValidationFailed) as refused:
        lifecycle.transition(
            session, lesson=lesson, to=S.LEARNED, actor="kim", evidence=evidence, link=link
        )
    assert set(refused.value.fields) == fields
    assert "what changed" in refused.value.message
    assert (lesson.status, lesson.learned_evidence, lesson.learned_link) == (S.ACTIONED, "", None)


@pytest.mark.parametrize(
    "link", ["http://example.org", "https://intranet.example.org/a/b?c=d#e", "HTTPS://EXAMPLE.ORG/"]
)
def test_link_problem_accepts_http_and_https_links(link: str) -> None:
    assert lifecycle.link_problem(link) is None


def test_learned_keeps_evidence_and_link_and_audits_them(session: Session) -> None:
    lesson = _lesson(session, S.VALIDATED)
    event = lifecycle.transition(
        session, lesson=lesson, to=S.LEARNED, actor="kim", evidence=f" {EVIDENCE} ", link=LINK
    )
    assert (lesson.learned_evidence, lesson.learned_link) == (EVIDENCE, LINK)
    assert event.reason == EVIDENCE  # no reason typed: the change made is the why
    [row] = _audit(session, lesson)
    assert row.before == {"status": "validated", "learned_evidence": "", "learned_link": None}
    assert row.after == {
        "status": "learned",
        "reason": EVIDENCE,
        "learned_evidence": EVIDENCE,
        "learned_link": LINK,
    }


def test_learned_evidence_survives_export_and_import(session: Session, tmp_path: Path) -> None:
    lesson = _lesson(session, S.ACTIONED)
    lifecycle.transition(
        session, lesson=lesson, to=S.LEARNED, actor="kim", evidence=EVIDENCE, link=LINK
    )
    session.commit()
    exported = export_bank(session)
    other = make_engine(f"sqlite:///{tmp_path / 'copy.db'}")
    try:
        migrate(other)
        with Session(other) as copy:
            assert import_bank(copy, exported).errors == []
            copy.commit()
            [imported] = copy.exec(select(Lesson)).all()
            assert (imported.learned_evidence, imported.learned_link) == (EVIDENCE, LINK)
    finally:
        other.dispose()


# --- the review date set on validation ---------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2026, 11, 21), 12, date(2027, 11, 21)),
        (date(2026, 12, 15), 1, date(2027, 1, 15)),
        (date(2026, 3, 31), 6, date(2026, 9, 30)),
        (date(2026, 5, 1), 120, date(2036, 5, 1)),
    ],
)
def test_add_months_keeps_the_day_or_the_month_end(
    start: date, months: int, expected: date
) -> None:
    assert lifecycle.add_months(start, months) == expected


@pytest.mark.parametrize("src", [S.IDENTIFIED, S.RETIRED])
def test_validation_sets_the_review_date_a_period_ahead(
    session: Session, src: LessonStatus
) -> None:
    lesson = _lesson(session, src)
    lifecycle.transition(
        session, lesson=lesson, to=S.VALIDATED, actor="kim", reason="ok", review_months=6
    )
    today = utcnow().date()
    assert lesson.review_due == lifecycle.add_months(today, 6)
    [row] = _audit(session, lesson)
    assert row.before is not None and row.before["review_due"] is None
    assert row.after is not None and row.after["review_due"] == lesson.review_due.isoformat()


def test_validation_keeps_a_review_date_still_ahead_and_replaces_a_past_one(
    session: Session,
) -> None:
    today = utcnow().date()
    ahead = _lesson(session, S.IDENTIFIED, review_due=today + timedelta(days=30))
    past = _lesson(session, S.IDENTIFIED, review_due=today - timedelta(days=1))
    for lesson in (ahead, past):
        lifecycle.transition(session, lesson=lesson, to=S.VALIDATED, actor="kim")
    assert ahead.review_due == today + timedelta(days=30)
    assert past.review_due == lifecycle.next_review(today=today)


def test_validation_uses_the_review_date_given(session: Session) -> None:
    chosen = utcnow().date() + timedelta(days=90)
    lesson = _lesson(session, S.IDENTIFIED)
    lifecycle.transition(session, lesson=lesson, to=S.VALIDATED, actor="kim", review_due=chosen)
    assert lesson.review_due == chosen


# --- through the API -----------------------------------------------------------------------------


def _new_lesson(client: Client) -> int:
    made = client.post("/api/reviews", json=review_payload())
    assert made.status_code == 201, made.text
    lesson_id: int = made.json()["lessons"][0]["id"]
    return lesson_id


def _api_step(client: Client, lesson_id: int, body: dict[str, Any]) -> Any:
    return client.post(f"/api/lessons/{lesson_id}/transition", headers=client.curator, json=body)


def test_api_walks_a_lesson_to_learned_with_evidence(client: Client, settings: Settings) -> None:
    lesson_id = _new_lesson(client)
    for to in ("validated", "actioned"):
        assert _api_step(client, lesson_id, {"to": to}).status_code == 200
    done = _api_step(
        client,
        lesson_id,
        {"to": "learned", "learned_evidence": EVIDENCE, "learned_link": LINK},
    )
    assert done.status_code == 200, done.text
    body = done.json()
    assert (body["status"], body["learned_evidence"], body["learned_link"]) == (
        "learned",
        EVIDENCE,
        LINK,
    )
    assert body["history"][-1]["actor"] == "kim"
    assert client.get(f"/api/lessons/{lesson_id}").json()["learned_link"] == LINK


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"to": "learned"}, 422, "learned_evidence"),
        ({"to": "learned", "learned_evidence": EVIDENCE}, 422, "learned_link"),
        (
            {"to": "learned", "learned_evidence": EVIDENCE, "learned_link": "ftp://x.org"},
            422,
            "learned_link",
        ),
        ({"to": "learned", "learned_evidence": 7, "learned_link": LINK}, 422, "learned_evidence"),
        ({"to": "merged", "reason": "a duplicate"}, 409, "to"),
    ],
)
def test_api_refuses_learned_without_evidence_and_merged(
    client: Client, body: dict[str, Any], status: int, field: str
) -> None:
    lesson_id = _new_lesson(client)
    assert _api_step(client, lesson_id, {"to": "validated"}).status_code == 200
    before = client.get(f"/api/lessons/{lesson_id}").json()
    refused = _api_step(client, lesson_id, body)
    assert refused.status_code == status, refused.text
    error = refused.json()["error"]
    assert field in error["fields"]
    if body["to"] == "merged":
        assert "use merge" in error["message"]
    assert client.get(f"/api/lessons/{lesson_id}").json() == before


def test_openapi_documents_the_evidence_fields(client: Client) -> None:
    schema = client.get("/api/openapi.json").json()["components"]["schemas"]["TransitionIn"]
    assert {"learned_evidence", "learned_link"} <= set(schema["properties"])
    assert set(TransitionIn.model_fields) == set(schema["properties"])


# --- through the lesson page -------------------------------------------------------------------


@pytest.fixture
def kim(settings: Settings) -> Iterator[Client]:
    yield from app_client(settings, as_user="kim")


def _validated(engine: Engine, client: Client) -> int:
    lesson_id = _new_lesson(client)
    with transaction(engine) as session:
        lesson = session.get(Lesson, lesson_id)
        assert lesson is not None
        lifecycle.transition(session, lesson=lesson, to=S.VALIDATED, actor="kim")
    return lesson_id


def _field(page: BeautifulSoup, name: str) -> Tag:
    found = page.find(attrs={"name": name})
    assert isinstance(found, Tag), name
    return found


def test_lesson_page_form_asks_for_evidence_when_learned_is_a_choice(
    kim: Client, engine: Engine
) -> None:
    lesson_id = _validated(engine, kim)
    page = BeautifulSoup(kim.get(f"/lessons/{lesson_id}").text, "html.parser")
    options = [o["value"] for o in _field(page, "to").find_all("option")]
    assert options == ["actioned", "learned", "retired"]  # merging is not a plain step
    for name in ("learned_evidence", "learned_link"):
        field = _field(page, name)
        label = page.find("label", attrs={"for": field["id"]})
        assert isinstance(label, Tag) and label.get_text(strip=True)
    duplicates = page.find("a", attrs={"href": "/curate/duplicates"})
    assert isinstance(duplicates, Tag)


def test_lesson_page_form_hides_evidence_when_learned_is_not_a_choice(
    kim: Client, engine: Engine
) -> None:
    lesson_id = _new_lesson(kim)  # identified: learned is not a next step
    page = BeautifulSoup(kim.get(f"/lessons/{lesson_id}").text, "html.parser")
    assert page.find(attrs={"name": "to"}) is not None
    assert page.find(attrs={"name": "learned_evidence"}) is None


def test_lesson_page_offers_no_transition_form_to_a_contributor(
    client: Client, engine: Engine
) -> None:
    lesson_id = _validated(engine, client)
    page = BeautifulSoup(client.get(f"/lessons/{lesson_id}").text, "html.parser")
    assert page.find("form", attrs={"action": f"/lessons/{lesson_id}/transition"}) is None


def test_lesson_page_form_marks_learned_and_shows_the_evidence(kim: Client, engine: Engine) -> None:
    lesson_id = _validated(engine, kim)
    moved = kim.post(
        f"/lessons/{lesson_id}/transition",
        data={"to": "learned", "reason": "", "learned_evidence": EVIDENCE, "learned_link": LINK},
        follow_redirects=False,
    )
    assert moved.status_code == 303, moved.text
    page = BeautifulSoup(kim.get(f"/lessons/{lesson_id}").text, "html.parser")
    assert EVIDENCE in page.get_text()
    link = page.find("a", attrs={"href": LINK})
    assert isinstance(link, Tag) and link.get("rel") == ["noopener", "noreferrer"]


def test_lesson_page_form_without_link_rerenders_with_what_was_typed(
    kim: Client, engine: Engine
) -> None:
    lesson_id = _validated(engine, kim)
    refused = kim.post(
        f"/lessons/{lesson_id}/transition",
        data={"to": "learned", "reason": "Done", "learned_evidence": EVIDENCE, "learned_link": ""},
        follow_redirects=False,
    )
    assert refused.status_code == 422
    page = BeautifulSoup(refused.text, "html.parser")
    assert _field(page, "learned_evidence").get_text() == EVIDENCE
    link = _field(page, "learned_link")
    assert link.get("aria-invalid") == "true"
    error = page.find(id=link["aria-describedby"])
    assert isinstance(error, Tag) and "link" in error.get_text()
    assert kim.get(f"/api/lessons/{lesson_id}").json()["status"] == "validated"


def test_lesson_page_never_links_a_stored_non_http_evidence_link(
    kim: Client, engine: Engine
) -> None:
    """An import can carry any text in learned_link: it is shown, never made a link."""
    lesson_id = _validated(engine, kim)
    with transaction(engine) as session:
        lesson = session.get(Lesson, lesson_id)
        assert lesson is not None
        lesson.learned_evidence, lesson.learned_link = EVIDENCE, "javascript:alert(1)"
        session.add(lesson)
    page = BeautifulSoup(kim.get(f"/lessons/{lesson_id}").text, "html.parser")
    assert "javascript:alert(1)" in page.get_text()
    assert page.find("a", attrs={"href": "javascript:alert(1)"}) is None
