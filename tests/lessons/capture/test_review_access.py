"""A review's free-text answers are as sensitive as its most sensitive lesson."""

from __future__ import annotations

from lessons.storage.settings import Settings
from tests.conftest import Client, app_client, review_payload, sign_in

STORY = "The vendor was paid twice because the invoice check was skipped"


def _restricted_review(client: Client) -> tuple[int, int]:
    body = review_payload(
        answers={"planned": "Pay suppliers on time.", "actual": STORY},
        lessons=[{"title": "Check invoices against orders", "sensitivity": "restricted"}],
        actions=[{"what": "Audit last year's payments"}],
    )
    made = client.post("/api/reviews", json=body, headers=client.curator).json()
    return int(made["id"]), int(made["project"]["id"])


def test_answers_of_a_review_with_a_restricted_lesson_are_for_members_and_curators(
    settings: Settings,
) -> None:
    for client in app_client(settings):  # casey, a contributor outside the project
        review_id, project_id = _restricted_review(client)
        page = client.get(f"/reviews/{review_id}")
        # Holding only restricted lessons, the review answers as a missing one.
        assert page.status_code == 404
        assert STORY not in page.text
        assert "Audit last year" not in page.text  # an action on no lesson tells the story too

        curator = client.get(f"/reviews/{review_id}", headers=client.curator)
        assert STORY in curator.text and "Audit last year" in curator.text

        admin = next(app_client(settings, as_user=None))
        sign_in(admin, "ada")
        admin.post(f"/admin/projects/{project_id}/members", data={"username": "casey"})
        member = client.get(f"/reviews/{review_id}")
        assert STORY in member.text and "Audit last year" in member.text


def test_answers_of_an_internal_review_are_shown_to_staff(client: Client) -> None:
    body = review_payload(answers={"planned": "Plan", "actual": STORY})
    review_id = client.post("/api/reviews", json=body).json()["id"]
    assert STORY in client.get(f"/reviews/{review_id}").text
