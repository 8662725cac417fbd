"""Review pages (ui/pages/reviews.py): the form for each kind, its posts (redirect on success;
re-render with what was typed and the problem beside the field on failure), and a review."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup, Tag
from sqlalchemy import Engine
from sqlmodel import Session, select
from starlette.testclient import TestClient

from lessons.capture import questions
from lessons.storage.models import Review, ReviewKind, User
from tests.ui.pages.helpers import (
    assert_error_beside,
    assert_kept,
    context,
    element,
    field_value,
    labelled,
    lesson_links,
    post_review,
    rendered,
    review_form,
    row_counts,
)

# --- reviews -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(ReviewKind))
def test_review_form_each_kind_labels_every_question(client: TestClient, kind: str) -> None:
    response = client.get(f"/reviews/new?kind={kind}")
    page = rendered(response, "review_form.html")
    question_set = questions.current(kind)
    assert context(response)["kind"] == kind
    assert context(response)["question_set"] == question_set
    assert field_value(page, "kind") == kind
    for question in question_set.questions:
        name = f"answers.{question.id}"
        assert question.text in labelled(page, name)
        field = element(page, name=name)
        if question.is_score:
            assert (field.name, field.get("type")) == ("input", "number")
        else:
            assert field.name == "textarea"
    answer_fields = {str(f["name"]) for f in page.find_all(attrs={"name": True})}
    answer_fields = {n for n in answer_fields if n.startswith("answers.")}
    assert answer_fields == {f"answers.{q.id}" for q in question_set.questions}
    current = page.select("nav.tabs a[aria-current='page']")
    assert [a.get_text() for a in current] == [question_set.title]
    for name in ("lessons.0.title", "lessons.0.observation", "actions.0.what", "project.name"):
        assert labelled(page, name)


def test_review_form_unknown_kind_falls_back_to_aar(client: TestClient) -> None:
    response = client.get("/reviews/new?kind=debrief")
    page = rendered(response, "review_form.html")
    assert context(response)["kind"] == "aar"
    assert field_value(page, "kind") == "aar"


def test_review_form_preselects_the_project(client: TestClient) -> None:
    project_id = post_review(client)["project"]["id"]
    page = rendered(client.get(f"/reviews/new?project_id={project_id}"), "review_form.html")
    assert field_value(page, "project.id") == str(project_id)


def test_review_page_shows_answers_lessons_and_actions(client: TestClient) -> None:
    review = post_review(client)
    response = client.get(f"/reviews/{review['id']}")
    page = rendered(response, "review.html")
    assert context(response)["review"].id == review["id"]
    answers = dict(
        zip(
            [dt.get_text() for dt in page.select("dl.answers dt")],
            [dd.get_text() for dd in page.select("dl.answers dd")],
            strict=True,
        )
    )
    assert answers == {
        "What was supposed to happen?": review["answers"]["planned"],
        "What actually happened?": review["answers"]["actual"],
    }
    assert lesson_links(page) == [review["lessons"][0]["id"]]
    assert review["actions"][0]["what"] in page.get_text()
    assert page.find("a", href=f"/projects/{review['project']['id']}") is not None


@pytest.mark.parametrize("review_id", [999, 2**63, 2**64])
def test_review_page_unknown_id_is_404(client: TestClient, review_id: int) -> None:
    rendered(client.get(f"/reviews/{review_id}"), "error.html", 404)


def test_review_form_valid_post_redirects_and_saves(client: TestClient) -> None:
    response = client.post("/reviews", data=review_form(), follow_redirects=False)
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith("/reviews/")
    review_id = int(location.rsplit("/", 1)[-1])

    page = rendered(client.get(location), "review.html")
    [lesson_id] = lesson_links(page)
    assert "Order fridges early" in page.get_text()
    assert "Add a lead-time check" in page.get_text()

    lesson = client.get(f"/api/lessons/{lesson_id}").json()
    assert lesson["title"] == "Order fridges early"
    assert lesson["review_id"] == review_id
    assert lesson["status"] == "identified"
    assert lesson["tags"] == ["cold-chain", "procurement"]
    assert lesson["project"]["name"] == "Measles 2025"
    [action] = lesson["actions"]
    assert (action["what"], action["owner"]["name"], action["due"]) == (
        "Add a lead-time check",
        "Tom Reyes",
        "2031-09-30",
    )
    listed = client.get("/lessons?status=identified")
    assert lesson_id in lesson_links(BeautifulSoup(listed.text, "html.parser"))


def test_review_form_existing_project_ignores_new_project_fields(
    client: TestClient, engine: Engine
) -> None:
    project_id = post_review(client)["project"]["id"]
    before = row_counts(engine)
    form = review_form(**{"project.id": str(project_id), "project.name": "Should be ignored"})
    response = client.post("/reviews", data=form, follow_redirects=False)
    assert response.status_code == 303
    review = context(client.get(response.headers["location"]))["review"]
    assert review.project_id == project_id
    assert row_counts(engine)["project"] == before["project"]


def test_review_form_blank_lesson_and_action_blocks_are_not_saved(
    client: TestClient, engine: Engine
) -> None:
    form = review_form(
        **{
            "lessons.0.title": "",
            "lessons.0.observation": "",
            "lessons.0.insight": "",
            "lessons.0.recommendation": "",
            "lessons.0.tags": "",
            "actions.0.what": "",
            "actions.0.owner": "",
            "actions.0.due": "",
            "actions.0.lesson_index": "",
        }
    )
    response = client.post("/reviews", data=form, follow_redirects=False)
    assert response.status_code == 303
    counts = row_counts(engine)
    assert (counts["review"], counts["lesson"], counts["action"]) == (1, 0, 0)


INVALID_REVIEWS = [
    pytest.param({"answers.planned": "", "answers.actual": ""}, "answers.planned", id="no-answers"),
    pytest.param({"project.id": "999"}, "project.id", id="unknown-project"),
    pytest.param(
        {"lessons.0.title": "An over-long lesson title"}, "lessons.0.title", id="title-too-long"
    ),
    pytest.param(
        {"lessons.0.observation": "o" * 201}, "lessons.0.observation", id="observation-too-long"
    ),
    pytest.param({"held_on": "31/02/2025"}, "held_on", id="held-on-not-a-date"),
    pytest.param({"actions.0.due": "soon"}, "actions.0.due", id="action-due-not-a-date"),
    pytest.param(
        {
            "kind": "retrospect",
            "answers.objectives": "Reach everyone",
            "answers.score": "11",
        },
        "answers.score",
        id="retrospect-score-11",
    ),
]


@pytest.mark.parametrize(("changes", "field"), INVALID_REVIEWS)
def test_review_form_invalid_rerenders_with_values_and_error_beside_field(
    small_client: TestClient, engine: Engine, changes: dict[str, str], field: str
) -> None:
    form = review_form(**changes)
    if form["kind"] != "aar":
        # Only the chosen kind's questions are on its form.
        form = {k: v for k, v in form.items() if not k.startswith("answers.") or k in changes}
    response = small_client.post("/reviews", data=form, follow_redirects=False)
    page = rendered(response, "review_form.html", 422)
    ctx = context(response)
    assert field in ctx["errors"]
    message = assert_error_beside(page, field)
    assert message == ctx["errors"][field]
    alert = page.find(attrs={"role": "alert"})
    assert isinstance(alert, Tag)
    assert alert.find("a", href=f"#{field.replace('.', '-')}") is not None
    assert_kept(page, {k: v for k, v in form.items() if k != "kind"})
    assert set(row_counts(engine).values()) == {0}


def test_review_form_missing_project_error_is_tied_to_a_field(
    client: TestClient, engine: Engine
) -> None:
    form = review_form(**{"project.name": "", "project.unit": "", "project.summary": ""})
    response = client.post("/reviews", data=form)
    page = rendered(response, "review_form.html", 422)
    # A problem with the project as a whole is shown beside the box a person would fill in.
    assert "project.name" in context(response)["errors"]
    assert element(page, id="project-name-error").get_text(strip=True)
    assert page.find(attrs={"aria-describedby": "project-name-error"}) is not None


def test_review_form_error_on_second_lesson_shows_beside_it_when_first_is_blank(
    small_client: TestClient,
) -> None:
    form = review_form(
        **{
            "lessons.0.title": "",
            "lessons.0.observation": "",
            "lessons.0.insight": "",
            "lessons.0.recommendation": "",
            "lessons.0.tags": "",
            "lessons.1.title": "An over-long lesson title",
            "actions.0.lesson_index": "",
        }
    )
    response = small_client.post("/reviews", data=form)
    page = rendered(response, "review_form.html", 422)
    assert_error_beside(page, "lessons.1.title")


def test_review_form_add_lesson_grows_the_form_and_keeps_everything(
    client: TestClient, engine: Engine
) -> None:
    form = review_form(add_lesson="1")
    response = client.post("/reviews", data=form, follow_redirects=False)
    page = rendered(response, "review_form.html")
    assert context(response)["lesson_slots"] == 2
    assert len(page.select("fieldset.lesson")) == 2
    assert_kept(page, {k: v for k, v in form.items() if k not in {"kind", "add_lesson"}})
    assert field_value(page, "lessons.1.title") == ""
    assert field_value(page, "lessons.1.observation") == ""
    assert labelled(page, "lessons.1.title")
    assert page.find("p", class_="error") is None
    assert set(row_counts(engine).values()) == {0}

    grown = {**form, "lessons.1.title": "Second lesson"}
    response = client.post("/reviews", data=grown)
    page = rendered(response, "review_form.html")
    assert len(page.select("fieldset.lesson")) == 3
    assert field_value(page, "lessons.1.title") == "Second lesson"
    # The action can now point at any of the three lessons.
    options = element(page, name="actions.0.lesson_index").find_all("option")
    assert [o["value"] for o in options] == ["", "0", "1", "2"]
    assert set(row_counts(engine).values()) == {0}


def test_review_form_add_action_grows_the_form_and_keeps_everything(
    client: TestClient, engine: Engine
) -> None:
    form = review_form(add_action="1")
    response = client.post("/reviews", data=form)
    page = rendered(response, "review_form.html")
    assert len(page.select("fieldset.action")) == 2
    assert len(page.select("fieldset.lesson")) == 1
    assert field_value(page, "actions.0.what") == "Add a lead-time check"
    assert field_value(page, "actions.1.what") == ""
    assert set(row_counts(engine).values()) == {0}


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        pytest.param(
            [("kind", "aar"), ("lessons", "x"), ("answers", "y"), ("project", "z")],
            {"project.name", "answers"},
            id="groups-sent-as-plain-fields",
        ),
        pytest.param(
            [("kind", "debrief"), ("answers.planned", "p"), ("project.name", "P")],
            {"kind"},
            id="unknown-kind",
        ),
        pytest.param(
            [("kind", "aar"), ("answers.bogus", "p"), ("project.name", "P")],
            {"answers.bogus"},
            id="unknown-question",
        ),
        pytest.param(
            [("kind", "aar"), ("answers", "y"), ("answers.planned", "p"), ("project.name", "P")],
            {"answers"},
            id="group-and-field-with-one-name",
        ),
    ],
)
def test_review_form_tampered_fields_rerender_not_crash(
    client: TestClient, engine: Engine, fields: list[tuple[str, str]], errors: set[str]
) -> None:
    body = "&".join(f"{name}={value}" for name, value in fields)
    response = client.post(
        "/reviews",
        content=body.encode(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    page = rendered(response, "review_form.html", 422)
    assert set(context(response)["errors"]) == errors
    assert page.find(attrs={"role": "alert"}) is not None
    assert set(row_counts(engine).values()) == {0}


def test_review_form_over_max_request_bytes_is_413_page(
    small_client: TestClient, engine: Engine
) -> None:
    response = small_client.post("/reviews", data=review_form(**{"answers.actual": "x" * 6000}))
    page = rendered(response, "error.html", 413)
    assert "5000" in page.get_text()
    assert set(row_counts(engine).values()) == {0}


def test_review_form_author_is_the_signed_in_user_or_a_directory_person(
    client: TestClient, engine: Engine
) -> None:
    """Issue 15 item 1: left empty, whose words are the signed-in account's; a name typed that
    is not in the people directory is refused beside the field (it would have become a
    second person), everything typed kept, nothing saved."""
    before = row_counts(engine)
    refused = client.post("/reviews", data=review_form(author="Casey Someone"))
    page = rendered(refused, "review_form.html", 422)
    assert "people directory" in assert_error_beside(page, "author")
    assert_kept(page, {"author": "Casey Someone", "lessons.0.title": "Order fridges early"})
    assert row_counts(engine) == before
    saved = client.post("/reviews", data=review_form(), follow_redirects=False)
    assert saved.status_code == 303
    review_id = int(saved.headers["location"].rsplit("/", 1)[1])
    with Session(engine) as session:
        review = session.get(Review, review_id)
        casey = session.exec(select(User).where(User.username == "casey")).one()
        assert review is not None and casey.person_id is not None
        assert (review.recorded_by_id, review.author_id) == (casey.id, casey.person_id)
    assert row_counts(engine)["person"] == before["person"]  # the account's own person


def _alert_items(page: BeautifulSoup) -> list[str]:
    alert = page.find(attrs={"role": "alert"})
    assert isinstance(alert, Tag)
    return [li.get_text(" ", strip=True) for li in alert.find_all("li")]


def test_review_form_messages_name_fields_as_the_form_labels_them(
    small_client: TestClient, engine: Engine
) -> None:
    """Issue 15 item 6: a problem names the field as the form labels it ("Lesson 1 title"),
    never its dotted path, at the top and beside the field; missing fields and lengths come
    in one answer, not one wave per submit."""
    title = "A lesson title far longer than twenty characters"
    form = review_form(**{"lessons.0.title": title, "actions.0.what": ""})
    response = small_client.post("/reviews", data=form)
    page = rendered(response, "review_form.html", 422)
    beside_title = assert_error_beside(page, "lessons.0.title")
    assert beside_title == f"Lesson 1 title: at most 20 characters (you typed {len(title)})"
    assert assert_error_beside(page, "actions.0.what") == "Action 1 what: required"
    items = _alert_items(page)
    assert beside_title in items and "Action 1 what: required" in items
    alert_text = " ".join(items)
    for path in ("lessons.0.title", "actions.0.what", "Field required", "got"):
        assert path not in alert_text
    assert_kept(page, {k: v for k, v in form.items() if k != "kind"})
    assert set(row_counts(engine).values()) == {0}


def test_review_form_stranger_author_and_long_title_come_in_one_answer(
    small_client: TestClient, engine: Engine
) -> None:
    """Issue 15 item 6: the people-directory check on "Whose words" no longer hides the other
    problems until the next submit."""
    form = review_form(**{"author": "Casey Someone", "lessons.0.title": "x" * 21})
    response = small_client.post("/reviews", data=form)
    page = rendered(response, "review_form.html", 422)
    assert set(context(response)["errors"]) == {"author", "lessons.0.title"}
    assert assert_error_beside(page, "author").startswith("Whose words: ")
    assert "people directory" in assert_error_beside(page, "author")
    assert assert_error_beside(page, "lessons.0.title").startswith("Lesson 1 title: ")
    assert len(_alert_items(page)) == 2
    assert_kept(page, {k: v for k, v in form.items() if k != "kind"})
    assert set(row_counts(engine).values()) == {0}


def test_review_form_refuses_a_new_action_due_in_the_past(
    client: TestClient, engine: Engine
) -> None:
    """Issue 15 item 6: a due date of 1999 is refused beside the field, not saved silently."""
    form = review_form(**{"actions.0.due": "1999-09-30"})
    response = client.post("/reviews", data=form)
    page = rendered(response, "review_form.html", 422)
    assert (
        assert_error_beside(page, "actions.0.due") == "Action 1 due date: Due date is in the past"
    )
    assert_kept(page, {k: v for k, v in form.items() if k != "kind"})
    assert set(row_counts(engine).values()) == {0}


def test_review_form_stranger_author_and_missing_answers_come_in_one_answer(
    client: TestClient, engine: Engine
) -> None:
    """Issue 15 item 6: the review's own rules (answers required) are reported together with
    the form's problems (a stranger as author), and nothing is saved."""
    form = review_form(author="Casey Someone", **{"answers.planned": "", "answers.actual": ""})
    response = client.post("/reviews", data=form)
    page = rendered(response, "review_form.html", 422)
    errors = context(response)["errors"]
    assert "author" in errors and "answers.planned" in errors
    planned = questions.current("aar").questions[0]
    assert assert_error_beside(page, "answers.planned").startswith(f"{planned.text}: ")
    assert assert_error_beside(page, "author").startswith("Whose words: ")
    assert_kept(page, {k: v for k, v in form.items() if k != "kind"})
    assert set(row_counts(engine).values()) == {0}
