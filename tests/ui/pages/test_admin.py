"""Admin pages, soft delete / restore / purge, the audit log and its CSV, safe Markdown."""

from __future__ import annotations

import csv
import io

import pytest
from bs4 import BeautifulSoup

from lessons.storage.settings import Settings
from tests.conftest import Client, app_client, review_payload, sign_in
from ui.shared.markdown import render


@pytest.fixture
def admin(settings: Settings) -> Client:
    for client in app_client(settings, as_user=None):
        sign_in(client, "ada")
        yield client  # type: ignore[misc]


def _lesson(client: Client, **lesson: object) -> int:
    body = review_payload(lessons=[{"title": "Order fridges early", **lesson}], actions=[])
    return int(client.post("/api/reviews", json=body).json()["lessons"][0]["id"])


@pytest.mark.parametrize(
    "path", ["/admin", "/admin/users", "/admin/audit", "/admin/deleted", "/admin/audit.csv"]
)
def test_admin_pages_are_for_admins_only(client: Client, admin: Client, path: str) -> None:
    assert client.get(path).status_code == 403
    assert admin.get(path).status_code == 200


def test_admin_adds_a_user_and_changes_a_role_and_both_are_audited(admin: Client) -> None:
    made = admin.post(
        "/admin/users",
        data={"username": "newbie", "password": "long password 1", "role": "contributor"},
        follow_redirects=False,
    )
    assert made.status_code == 303
    page = BeautifulSoup(admin.get("/admin/users").text, "html.parser")
    assert "newbie" in page.get_text()
    short = admin.post(
        "/admin/users", data={"username": "x", "password": "short", "role": "contributor"}
    )
    assert short.status_code == 422 and 'value="x"' in short.text
    rows = list(csv.DictReader(io.StringIO(admin.get("/admin/audit.csv").text)))
    created = [r for r in rows if r["action"] == "create" and r["entity"] == "user"]
    assert any('"newbie"' in r["after"] for r in created)
    assert all("password" not in r["after"] for r in rows)  # never the hash


def test_delete_restore_and_purge(client: Client, admin: Client) -> None:
    lesson_id = _lesson(client)
    client.post(
        f"/api/lessons/{lesson_id}/transition", headers=client.curator, json={"to": "validated"}
    )
    assert client.post(f"/lessons/{lesson_id}/delete").status_code == 403  # contributor
    assert admin.post(f"/lessons/{lesson_id}/delete", follow_redirects=False).status_code == 303
    assert client.get(f"/api/lessons/{lesson_id}").status_code == 404
    assert lesson_id not in [le["id"] for le in client.get("/api/lessons").json()["results"]]
    assert "Order fridges early" in admin.get("/admin/deleted").text
    admin.post(f"/admin/lessons/{lesson_id}/restore")
    assert client.get(f"/api/lessons/{lesson_id}").status_code == 200
    refused = admin.post(f"/admin/lessons/{lesson_id}/purge")
    assert refused.status_code == 422  # purge only what was deleted first
    admin.post(f"/lessons/{lesson_id}/delete")
    admin.post(f"/admin/lessons/{lesson_id}/purge")
    assert admin.get(f"/api/lessons/{lesson_id}").status_code == 404
    actions = [
        r["action"]
        for r in csv.DictReader(io.StringIO(admin.get("/admin/audit.csv").text))
        if r["entity"] == "lesson" and r["entity_id"] == str(lesson_id)
    ]
    assert {"delete", "restore", "purge", "transition"} <= set(actions)


def test_curator_sees_a_lessons_changes_others_do_not(client: Client, admin: Client) -> None:
    lesson_id = _lesson(client)
    client.post(
        f"/api/lessons/{lesson_id}/transition",
        headers=client.curator,
        json={"to": "validated", "reason": "checked"},
    )
    assert "Audit log of this lesson" in admin.get(f"/lessons/{lesson_id}").text
    assert "Audit log of this lesson" not in client.get(f"/lessons/{lesson_id}").text


def test_audit_csv_neutralises_formulas(client: Client, admin: Client) -> None:
    lesson_id = _lesson(client)
    client.patch(
        f"/api/lessons/{lesson_id}",
        headers=client.curator,
        json={"title": '=HYPERLINK("http://x")'},
    )
    text = admin.get("/admin/audit.csv").text
    for row in csv.reader(io.StringIO(text)):
        assert not any(cell.startswith("=") for cell in row)


@pytest.mark.parametrize(
    ("source", "present", "absent"),
    [
        ("**bold** and *em*", "<strong>bold</strong>", "<script"),
        ("<script>alert(1)</script>", "&lt;script&gt;", "<script"),
        ("[x](javascript:alert(1))", "javascript:alert(1)", 'href="javascript'),
        ("<img src=x onerror=alert(1)>", "&lt;img", "<img"),
        ("[site](https://example.org)", 'href="https://example.org"', "onclick"),
        ("- a\n- b", "<li>a</li>", "<script"),
    ],
)
def test_markdown_subset_renders_inert(source: str, present: str, absent: str) -> None:
    html = str(render(source))
    assert present in html
    assert absent not in html


def test_lesson_page_renders_markdown_safely(client: Client) -> None:
    lesson_id = _lesson(client, observation="**Late** fridges <script>alert(1)</script>")
    page = BeautifulSoup(client.get(f"/lessons/{lesson_id}").text, "html.parser")
    assert page.find("strong") is not None and page.find("strong").get_text() == "Late"  # type: ignore[union-attr]
    assert page.find("script") is None


def test_admin_manages_project_members_and_membership_decides_restricted_access(
    admin: Client, client: Client
) -> None:
    """casey (contributor) sees a restricted lesson only while a member of its project; each
    change is audited."""
    lesson_id = _lesson(client, sensitivity="restricted")
    project_id = client.get(f"/api/lessons/{lesson_id}", headers=client.admin).json()["project"][
        "id"
    ]
    assert client.get(f"/api/lessons/{lesson_id}").status_code == 404

    listing = admin.get("/admin/projects")
    assert f"/admin/projects/{project_id}/members" in listing.text
    added = admin.post(
        f"/admin/projects/{project_id}/members", data={"username": "casey"}, follow_redirects=False
    )
    assert added.status_code == 303
    page = BeautifulSoup(admin.get(f"/admin/projects/{project_id}/members").text, "html.parser")
    assert "casey" in page.find("table").get_text()
    assert client.get(f"/api/lessons/{lesson_id}").status_code == 200

    casey_id = next(u["id"] for u in _users(admin) if u["name"] == "casey")
    removed = admin.post(
        f"/admin/projects/{project_id}/members/{casey_id}/remove", follow_redirects=False
    )
    assert removed.status_code == 303
    assert client.get(f"/api/lessons/{lesson_id}").status_code == 404

    audit_page = admin.get(f"/admin/audit?entity=project&entity_id={project_id}").text
    assert "add_member" in audit_page and "remove_member" in audit_page


def _users(admin: Client) -> list[dict[str, object]]:
    page = BeautifulSoup(admin.get("/admin/users").text, "html.parser")
    return [
        {
            "name": form.find_parent("tr").td.get_text().split(" ")[0],
            "id": int(form["action"].split("/")[3]),
        }
        for form in page.select("form[action$='/role']")
    ]


def test_adding_an_unknown_member_keeps_the_form_and_changes_nothing(
    admin: Client, client: Client
) -> None:
    lesson_id = _lesson(client)
    project_id = client.get(f"/api/lessons/{lesson_id}").json()["project"]["id"]
    response = admin.post(f"/admin/projects/{project_id}/members", data={"username": "nobody"})
    assert response.status_code == 422
    assert "no user called" in response.text.lower()
    assert "No members yet" in response.text
    assert (
        admin.post("/admin/projects/999999/members", data={"username": "casey"}).status_code == 404
    )


def test_members_pages_are_for_admins_only(client: Client, admin: Client) -> None:
    lesson_id = _lesson(client)
    project_id = client.get(f"/api/lessons/{lesson_id}").json()["project"]["id"]
    for path in ("/admin/projects", f"/admin/projects/{project_id}/members"):
        assert client.get(path).status_code == 403
    refused = client.post(f"/admin/projects/{project_id}/members", data={"username": "casey"})
    assert refused.status_code == 403
