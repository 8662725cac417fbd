"""Handovers: the secret project's handover (its role, leaver, contact, work and follow-up)
reaches its successor and nobody else outside the project, and a write on it answers as on a
missing one."""

from __future__ import annotations

from typing import Any

from lessons.storage.db import make_engine
from lessons.storage.settings import Settings
from tests.conftest import TOKENS, Client
from tests.ui.leaks.bank import (
    MARK_STORY,
    PUBLIC_ROLE,
    SECRET_CONTACT,
    SECRET_ROLE,
    SECRET_WORDS,
    Bank,
)
from tests.ui.leaks.detect import _same_answer


def test_writes_on_a_hidden_handover_answer_as_on_a_missing_one(
    client: Client, anon_client: Client, settings: Settings, fresh_bank: Bank
) -> None:
    """Acknowledging, asking, answering or reassigning on the secret handover casey may not
    read answers exactly as on an id that does not exist, and changes nothing."""
    missing = 10**9
    bearer = {"Authorization": f"Bearer {TOKENS['casey']}"}
    hidden_review = fresh_bank.reviews["secret_handover"]
    hidden_question = fresh_bank.follow_ups["secret"]
    writes: list[tuple[str, str, int, dict[str, Any]]] = [
        ("POST", "/api/reviews/{id}/acknowledge", hidden_review, {}),
        ("POST", "/api/reviews/{id}/questions", hidden_review, {"json": {"question": "Why?"}}),
        ("POST", "/api/follow-ups/{id}/answer", hidden_question, {"json": {"answer": "No."}}),
        (
            "POST",
            "/api/reviews/{id}/reassign",
            hidden_review,
            {"json": {"actions": [{"action_id": 1}]}},
        ),
        ("POST", "/reviews/{id}/acknowledge", hidden_review, {"data": {}}),
        ("POST", "/reviews/{id}/questions", hidden_review, {"data": {"question": "Why?"}}),
        ("POST", "/reviews/{id}/reassign", hidden_review, {"data": {"actions.0.action_id": "1"}}),
    ]
    engine = make_engine(settings.database_url)
    try:
        before = _handover_rows(engine)
        for method, path, hidden, body in writes:
            for who, headers in ((client, {}), (anon_client, bearer)):
                answers = [
                    who.request(
                        method, path.format(id=i), headers=headers, follow_redirects=False, **body
                    )
                    for i in (hidden, missing)
                ]
                where = (method, path, "bearer" if headers else "session")
                assert answers[0].status_code == answers[1].status_code == 404, where
                assert _same_answer(answers[0].text, answers[1].text, hidden, missing), where
        answer_page = "/reviews/{id}/questions/{q}/answer"
        answers = [
            client.post(
                answer_page.format(id=review_id, q=question_id),
                data={f"answer-{question_id}": "No."},
                follow_redirects=False,
            )
            for review_id, question_id in ((hidden_review, hidden_question), (missing, missing))
        ]
        assert answers[0].status_code == answers[1].status_code == 404
        assert _handover_rows(engine) == before
    finally:
        engine.dispose()


def _handover_rows(engine: Any) -> list[Any]:
    with engine.connect() as connection:
        return [
            list(connection.exec_driver_sql(f"SELECT * FROM {table} ORDER BY 1"))
            for table in ("handover", "handover_question", "handover_contact", "action")
        ]


def test_the_successor_reads_the_secret_handover_and_casey_does_not(
    client: Client, settings: Settings, fresh_bank: Bank
) -> None:
    """The filter hides what it must and no more: sam, named successor, reads the secret
    handover's story; casey, signed in, finds neither it nor its role."""
    sam = {"Authorization": f"Bearer {_token(settings, 'sam')}"}
    review_id = fresh_bank.reviews["secret_handover"]
    read = client.get(f"/api/reviews/{review_id}", headers=sam)
    assert read.status_code == 200, read.text
    body = read.json()
    assert body["handover"]["role"]["name"] == SECRET_ROLE
    assert [c["person"]["name"] for c in body["handover"]["contacts"]] == [SECRET_CONTACT]
    assert MARK_STORY in body["handover"]["questions"][0]["question"]
    roles = client.get("/api/roles").json()["results"]
    assert [r["name"] for r in roles] == [PUBLIC_ROLE]
    page = client.get("/roles").text
    assert not [word for word in SECRET_WORDS if word.lower() in page.lower()]
    assert client.get(f"/roles/{fresh_bank.roles['secret']}").status_code == 404


def _token(settings: Settings, username: str) -> str:
    """A fresh bearer token for `username` (the bank's accounts beyond the template's)."""
    from lessons.accounts import users as accounts
    from lessons.storage.db import transaction

    engine = make_engine(settings.database_url)
    try:
        with transaction(engine, write=True) as session:
            user = accounts.find_user(session, username=username)
            return accounts.create_token(session, user=user, name="leak test", actor="test")
    finally:
        engine.dispose()


def test_sharing_a_hidden_lesson_answers_as_sharing_a_missing_one(
    client: Client, anon_client: Client, settings: Settings, fresh_bank: Bank
) -> None:
    """Casey, a member, shares the restricted lesson: exactly as for a lesson that does not
    exist, and nothing is shared."""
    community = fresh_bank.communities["cold_chain"]
    bearer = {"Authorization": f"Bearer {TOKENS['casey']}"}
    hidden, missing = fresh_bank.lessons["restricted"], 10**9
    engine = make_engine(settings.database_url)
    try:
        before = _share_rows(engine)
        for who, headers in ((client, {}), (anon_client, bearer)):
            answers = [
                who.post(
                    f"/api/communities/{community}/shares",
                    json={"lesson_id": i},
                    headers=headers,
                )
                for i in (hidden, missing)
            ]
            assert answers[0].status_code == answers[1].status_code == 404
            assert _same_answer(answers[0].text, answers[1].text, hidden, missing)
        pages = [
            client.post(f"/communities/{community}/shares", data={"lesson_id": str(i)})
            for i in (hidden, missing)
        ]
        assert pages[0].status_code == pages[1].status_code == 404
        assert _share_rows(engine) == before
    finally:
        engine.dispose()


def _share_rows(engine: Any) -> list[Any]:
    with engine.connect() as connection:
        return list(connection.exec_driver_sql("SELECT * FROM community_share ORDER BY id"))


def test_community_shows_casey_its_visible_lessons_and_not_the_restricted_ones(
    client: Client, fresh_bank: Bank
) -> None:
    """The filter hides what it must and no more: the public lessons with its tag show, the
    shared restricted lesson and the restricted lesson drawn from an answer do not."""
    community = fresh_bank.communities["cold_chain"]
    detail = client.get(f"/api/communities/{community}").json()
    shown = {le["id"] for le in detail["lessons"]}
    assert fresh_bank.lessons["public_twin"] in shown
    assert fresh_bank.lessons["restricted"] not in shown
    assert detail["shared"] == []
    (question,) = detail["questions"]
    assert question["answers"][0]["lesson_id"] is None
    as_kim = client.get(f"/api/communities/{community}", headers=client.curator).json()
    assert as_kim["shared"][0]["lesson"]["id"] == fresh_bank.lessons["restricted"]
    assert as_kim["questions"][0]["answers"][0]["lesson_id"] == fresh_bank.drawn_lesson
