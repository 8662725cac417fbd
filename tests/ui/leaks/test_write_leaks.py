"""No write is an oracle: a write on a hidden lesson or its action answers exactly as on a
missing one, and changes nothing."""

from __future__ import annotations

from typing import Any

from lessons.storage.db import make_engine
from lessons.storage.settings import Settings
from tests.conftest import TOKENS, Client
from tests.ui.leaks.bank import QUERY_WORDS, Bank
from tests.ui.leaks.detect import _same_answer, leaks


def test_writes_on_a_hidden_lesson_answer_as_on_a_missing_one(
    client: Client, anon_client: Client, settings: Settings, fresh_bank: Bank
) -> None:
    """Editing, moving, deleting, restoring or purging a lesson casey may not see answers
    exactly as for an id that does not exist, and changes nothing: no write is an oracle."""
    missing = 10**9
    bearer = {"Authorization": f"Bearer {TOKENS['casey']}"}
    writes: list[tuple[str, str, dict[str, Any]]] = [
        ("PATCH", "/api/lessons/{id}", {"json": {"title": "Renamed by casey"}}),
        ("POST", "/api/lessons/{id}/transition", {"json": {"to": "validated"}}),
        ("POST", "/lessons/{id}/transition", {"data": {"to": "validated"}}),
        ("POST", "/lessons/{id}/edit", {"data": {"title": "Renamed by casey"}}),
        ("GET", "/lessons/{id}/edit", {}),
        ("POST", "/lessons/{id}/delete", {"data": {}}),
        ("POST", "/admin/lessons/{id}/restore", {"data": {}}),
        ("POST", "/admin/lessons/{id}/purge", {"data": {}}),
        ("POST", "/api/lessons/{id}/merge", {"json": {"duplicates": [1]}}),
        ("POST", "/merges/{id}/undo", {"data": {}}),
        ("POST", "/lessons/{id}/tags", {"data": {"tags": "cold-chain"}}),
        ("POST", "/curate/lessons/{id}/validate", {"data": {"decision": "accept"}}),
        ("POST", "/curate/lessons/{id}/review", {"data": {"decision": "confirm"}}),
        ("POST", "/curate/lessons/{id}/edit", {"data": {"title": "Renamed by casey"}}),
        ("POST", "/api/curation/lessons/{id}/validate", {"json": {"decision": "accept"}}),
        ("POST", "/api/curation/lessons/{id}/review", {"json": {"decision": "confirm"}}),
    ]
    engine = make_engine(settings.database_url)
    try:
        before = _lesson_rows(engine)
        for key in ("restricted", "restricted_pending", "public_deleted"):
            hidden = fresh_bank.lessons[key]
            for method, path, body in writes:
                for who, headers in ((client, {}), (anon_client, bearer)):
                    answers = [
                        who.request(
                            method,
                            path.format(id=lesson_id),
                            headers=headers,
                            follow_redirects=False,
                            **body,
                        )
                        for lesson_id in (hidden, missing)
                    ]
                    where = (key, method, path, "bearer" if headers else "session")
                    assert answers[0].status_code == answers[1].status_code, where
                    assert 400 <= answers[0].status_code < 500, where
                    assert _same_answer(answers[0].text, answers[1].text, hidden, missing), where
        assert _lesson_rows(engine) == before
    finally:
        engine.dispose()


def _lesson_rows(engine: Any) -> list[Any]:
    with engine.connect() as connection:
        return list(connection.exec_driver_sql("SELECT * FROM lesson ORDER BY id"))


def test_writes_on_an_action_of_a_hidden_lesson_answer_as_on_a_missing_one(
    client: Client, anon_client: Client, settings: Settings, fresh_bank: Bank
) -> None:
    """Editing, closing, dropping or carrying forward the action on a restricted lesson casey
    may not see, or the action on no lesson of its review, answers exactly as for an action
    that does not exist, and changes nothing."""
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as connection:
            # The action on the restricted lesson, and the one on no lesson of its review.
            hidden_actions = [
                row[0]
                for row in connection.exec_driver_sql(
                    "SELECT id FROM action WHERE lesson_id = ? "
                    "OR (lesson_id IS NULL AND review_id = ?)",
                    (fresh_bank.lessons["restricted"], fresh_bank.reviews["secret"]),
                )
            ]
        assert len(hidden_actions) == 2
        secret_review = fresh_bank.reviews["secret"]
        bar = client.post(
            "/api/bar",
            json={"brief": QUERY_WORDS, "project": {"id": fresh_bank.projects["public"]}},
        ).json()["id"]
        missing = 10**9
        bearer = {"Authorization": f"Bearer {TOKENS['casey']}"}
        writes: list[tuple[str, str, dict[str, Any]]] = [
            (
                "PATCH",
                "/api/actions/{id}",
                {"json": {"status": "dropped", "closure_evidence": "x"}},
            ),
            ("POST", "/api/actions/{id}/close", {"json": {"closure_evidence": "done"}}),
            ("POST", "/api/actions/{id}/drop", {"json": {"reason": "no longer needed"}}),
            ("POST", "/api/actions/{id}/carry-forward", {"json": {"review_id": secret_review}}),
            ("POST", "/actions/{id}", {"data": {"status": "done", "closure_evidence": "x"}}),
        ]
        before = _action_rows(engine)
        for hidden in hidden_actions:
            for method, path, body in writes:
                for who, headers in ((client, {}), (anon_client, bearer)):
                    answers = [
                        who.request(
                            method,
                            path.format(id=action_id),
                            headers=headers,
                            follow_redirects=False,
                            **body,
                        )
                        for action_id in (hidden, missing)
                    ]
                    where = (method, path, "bearer" if headers else "session")
                    assert answers[0].status_code == answers[1].status_code == 404, where
                    assert _same_answer(answers[0].text, answers[1].text, hidden, missing), where
            # Settling open actions where a team starts again, naming the hidden action.
            for url in (f"/reviews/{secret_review}/actions", f"/bar/{bar}/actions"):
                answers = [
                    client.post(
                        url,
                        data={"carry.0.action_id": str(action_id), "carry.0.decision": "dropped"},
                        follow_redirects=False,
                    )
                    for action_id in (hidden, missing)
                ]
                # 422 on casey's BAR; 404 on the secret review, which casey may not open at all.
                assert answers[0].status_code == answers[1].status_code in (404, 422), url
                assert _same_answer(answers[0].text, answers[1].text, hidden, missing), url
                assert not leaks(answers[0], fresh_bank, "casey-session"), url
        assert _action_rows(engine) == before
    finally:
        engine.dispose()


def _action_rows(engine: Any) -> list[Any]:
    with engine.connect() as connection:
        return list(connection.exec_driver_sql("SELECT * FROM action ORDER BY id"))


def test_profile_writes_on_a_hidden_person_answer_as_on_a_missing_one(
    client: Client, anon_client: Client, settings: Settings, fresh_bank: Bank
) -> None:
    """Editing the profile of someone known only through the secret project's work answers
    as for a person who does not exist, and changes nothing (not even for an admin's form
    typed by casey: casey may not see them)."""
    missing = 10**9
    bearer = {"Authorization": f"Bearer {TOKENS['casey']}"}
    writes: list[tuple[str, str, dict[str, Any]]] = [
        ("PATCH", "/api/people/{id}", {"json": {"role": "Renamed by casey"}}),
        ("POST", "/people/{id}/edit", {"data": {"role": "Renamed by casey"}}),
        ("GET", "/people/{id}/edit", {}),
    ]
    engine = make_engine(settings.database_url)
    try:
        before = _person_rows(engine)
        for key in ("secret_author", "secret_owner", "secret_story_owner"):
            hidden = fresh_bank.people[key]
            for method, path, body in writes:
                for who, headers in ((client, {}), (anon_client, bearer)):
                    answers = [
                        who.request(
                            method,
                            path.format(id=person_id),
                            headers=headers,
                            follow_redirects=False,
                            **body,
                        )
                        for person_id in (hidden, missing)
                    ]
                    where = (key, method, path, "bearer" if headers else "session")
                    assert answers[0].status_code == answers[1].status_code == 404, where
                    assert _same_answer(answers[0].text, answers[1].text, hidden, missing), where
        assert _person_rows(engine) == before
    finally:
        engine.dispose()


def _person_rows(engine: Any) -> list[Any]:
    with engine.connect() as connection:
        return list(connection.exec_driver_sql("SELECT * FROM person ORDER BY id"))


def test_peer_assists_name_no_hidden_person_and_reach_no_hidden_bar(
    client: Client, anon_client: Client, fresh_bank: Bank
) -> None:
    """Casey may not ask someone known only through the secret project's work (refused as an
    unknown person), nor record a request or outcome on kim's BAR or on kim's request naming
    that person (answered as missing); what casey reads of their own BAR leaves it out."""
    missing = 10**9
    hidden_person = fresh_bank.people["secret_author"]
    mine, kims = fresh_bank.bars["casey"], fresh_bank.bars["kim"]
    bearer = {"Authorization": f"Bearer {TOKENS['casey']}"}
    for who, headers in ((client, {}), (anon_client, bearer)):
        asked = [
            who.post(
                f"/api/bar/{mine}/peer-assists",
                json={"person_id": person, "ask": "How did the fridges go?"},
                headers=headers,
            )
            for person in (hidden_person, missing)
        ]
        assert asked[0].status_code == asked[1].status_code == 422
        assert _same_answer(asked[0].text, asked[1].text, hidden_person, missing)
        on_hidden_bar = [
            who.post(
                f"/api/bar/{bar}/peer-assists",
                json={"person_id": fresh_bank.people["public_owner"], "ask": "Hello?"},
                headers=headers,
            )
            for bar in (kims, missing)
        ]
        assert on_hidden_bar[0].status_code == on_hidden_bar[1].status_code == 404
        assert _same_answer(on_hidden_bar[0].text, on_hidden_bar[1].text, kims, missing)
    shown = client.get(f"/api/bar/{mine}").json()
    assert shown["peer_assists"] == []  # kim's request names someone casey may not see
    kims_request = client.get(f"/api/bar/{mine}", headers=client.curator).json()
    [request] = kims_request["peer_assists"]
    for path in ("/api/peer-assists/{id}/outcome", "/peer-assists/{id}/outcome"):
        body: dict[str, Any] = (
            {"json": {"outcome": "x"}} if path.startswith("/api") else {"data": {"outcome": "x"}}
        )
        answers = [client.post(path.format(id=i), **body) for i in (request["id"], missing)]
        assert answers[0].status_code == answers[1].status_code == 404, path
        assert _same_answer(answers[0].text, answers[1].text, request["id"], missing)
    page = client.post(f"/bar/{mine}/peer-assists", data={"person_id": hidden_person, "ask": "Hi"})
    assert page.status_code == 422
    assert not leaks(page, fresh_bank, "casey-session", [])
