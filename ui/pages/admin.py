"""Administration: users and roles, project membership, the audit log, and deleted lessons
(restore or purge)."""

from __future__ import annotations

from sqlmodel import Session, col, select
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from lessons.accounts import audit
from lessons.accounts import users as accounts
from lessons.capture import projects
from lessons.catalogue import service as catalogue
from lessons.errors import DomainError, NotFound
from lessons.storage.models import Lesson, Role
from ui.pages.render import page
from ui.shared.body import form_handler, path_id
from ui.shared.forms import nested
from ui.shared.params import id_param
from ui.shared.state import CURATORS, require, session_for, viewer_for


def admin_home(request: Request) -> Response:
    require(request, Role.ADMIN)
    return page(request, "admin.html", {})


def _users_page(request: Request, status: int = 200, **extra: object) -> Response:
    with session_for(request) as session:
        context = {
            "users": accounts.list_users(session),
            "roles": list(Role),
            "errors": {},
            "values": {},
            **extra,
        }
        return page(request, "admin_users.html", context, status=status)


def users(request: Request) -> Response:
    require(request, Role.ADMIN)
    return _users_page(request)


@form_handler
def user_create(request: Request, form: FormData) -> Response:
    viewer = require(request, Role.ADMIN)
    values = nested(form)
    try:
        with session_for(request) as session:
            accounts.create_user(
                session,
                username=str(values.get("username") or ""),
                password=str(values.get("password") or ""),
                role=Role(
                    str(values.get("role")) if values.get("role") in set(Role) else "contributor"
                ),
                actor=viewer.name,
            )
    except DomainError as exc:
        shown = {"username": values.get("username", ""), "role": values.get("role", "")}
        return _users_page(request, 422, errors=exc.fields, message=exc.message, values=shown)
    return RedirectResponse("/admin/users", status_code=303)


@form_handler
def user_role(request: Request, form: FormData) -> Response:
    viewer = require(request, Role.ADMIN)
    user_id = path_id(request)
    values = nested(form)
    role = values.get("role")
    if role not in set(Role):
        return _users_page(request, 422, message="Choose a role.", errors={})
    with session_for(request) as session:
        user = accounts.get_user(session, user_id=user_id)
        accounts.set_role(session, user=user, role=Role(str(role)), actor=viewer.name)
    return RedirectResponse("/admin/users", status_code=303)


def project_list(request: Request) -> Response:
    require(request, Role.ADMIN)
    with session_for(request) as session:
        context = {
            "projects": projects.list_projects(session, viewer=viewer_for(request)),
            "counts": accounts.member_counts(session),
        }
        return page(request, "admin_projects.html", context)


def _members_page(request: Request, status: int = 200, **extra: object) -> Response:
    with session_for(request, write=False) as session:
        project = projects.get(session, project_id=path_id(request), viewer=viewer_for(request))
        context = {
            "project": project,
            "members": accounts.list_members(session, project_id=project.id or 0),
            "users": accounts.list_users(session),
            "errors": {},
            "values": {},
            **extra,
        }
        return page(request, "admin_members.html", context, status=status)


def members(request: Request) -> Response:
    require(request, Role.ADMIN)
    return _members_page(request)


@form_handler
def member_add(request: Request, form: FormData) -> Response:
    viewer = require(request, Role.ADMIN)
    project_id = path_id(request)
    values = nested(form)
    username = str(values.get("username") or "").strip()
    with session_for(request) as session:
        projects.get(session, project_id=project_id, viewer=viewer_for(request))  # NotFound: a 404
        try:
            user = accounts.find_user(session, username=username)
        except NotFound:
            user = None
        if user is not None:
            accounts.add_member(session, project_id=project_id, user=user, actor=viewer.name)
    if user is None:
        return _members_page(
            request,
            422,
            message=f"There is no user called {username!r}." if username else "Choose a user.",
            errors={"username": "no such user"},
            values={"username": username},
        )
    return RedirectResponse(f"/admin/projects/{project_id}/members", status_code=303)


def member_remove(request: Request) -> Response:
    viewer = require(request, Role.ADMIN)
    project_id = path_id(request)
    user_id = path_id(request, "user_id")
    with session_for(request) as session:
        projects.get(session, project_id=project_id, viewer=viewer_for(request))  # NotFound: a 404
        user = accounts.get_user(session, user_id=user_id)
        accounts.remove_member(session, project_id=project_id, user=user, actor=viewer.name)
    return RedirectResponse(f"/admin/projects/{project_id}/members", status_code=303)


def audit_log(request: Request) -> Response:
    require(request, Role.ADMIN)
    entity = request.query_params.get("entity") or None
    entity_id = id_param(request.query_params, "entity_id", label="The record id")
    with session_for(request) as session:
        rows = audit.events(session, entity=entity, entity_id=entity_id)
        return page(request, "admin_audit.html", {"rows": rows, "entity": entity or ""})


def audit_csv(request: Request) -> Response:
    require(request, Role.ADMIN)
    with session_for(request) as session:
        rows = audit.events(session, limit=1_000_000)
        body = audit.to_csv(rows)
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": 'attachment; filename="lessonbank-audit.csv"'},
    )


def deleted(request: Request) -> Response:
    require(request, Role.ADMIN)
    with session_for(request) as session:
        rows = list(
            session.exec(
                select(Lesson)
                .where(col(Lesson.deleted_at).is_not(None))
                .order_by(col(Lesson.deleted_at).desc())
            )
        )
        return page(request, "admin_deleted.html", {"lessons": rows})


def _lesson(request: Request, session: Session) -> Lesson:
    lesson = session.get(Lesson, path_id(request))
    if lesson is None:
        raise NotFound("No such lesson.")
    return lesson


def lesson_delete(request: Request) -> Response:
    viewer = require(request, *CURATORS)
    with session_for(request) as session:
        lesson = _lesson(request, session)
        catalogue.delete_lesson(session, lesson=lesson, actor=viewer.name)
    return RedirectResponse("/lessons", status_code=303)


def lesson_restore(request: Request) -> Response:
    viewer = require(request, Role.ADMIN)
    with session_for(request) as session:
        lesson = _lesson(request, session)
        catalogue.restore_lesson(session, lesson=lesson, actor=viewer.name)
        lesson_id = lesson.id
    return RedirectResponse(f"/lessons/{lesson_id}", status_code=303)


def lesson_purge(request: Request) -> Response:
    viewer = require(request, Role.ADMIN)
    try:
        with session_for(request) as session:
            catalogue.purge_lesson(session, lesson=_lesson(request, session), actor=viewer.name)
    except DomainError as exc:  # e.g. not deleted first: say so on the page
        with session_for(request) as session:
            rows = list(session.exec(select(Lesson).where(col(Lesson.deleted_at).is_not(None))))
            return page(
                request, "admin_deleted.html", {"lessons": rows, "message": exc.message}, status=422
            )
    return RedirectResponse("/admin/deleted", status_code=303)


routes = [
    Route("/admin", admin_home, methods=["GET"]),
    Route("/admin/users", users, methods=["GET"]),
    Route("/admin/users", user_create, methods=["POST"]),
    Route("/admin/users/{id:int}/role", user_role, methods=["POST"]),
    Route("/admin/projects", project_list, methods=["GET"]),
    Route("/admin/projects/{id:int}/members", members, methods=["GET"]),
    Route("/admin/projects/{id:int}/members", member_add, methods=["POST"]),
    Route("/admin/projects/{id:int}/members/{user_id:int}/remove", member_remove, methods=["POST"]),
    Route("/admin/audit", audit_log, methods=["GET"]),
    Route("/admin/audit.csv", audit_csv, methods=["GET"]),
    Route("/admin/deleted", deleted, methods=["GET"]),
    Route("/lessons/{id:int}/delete", lesson_delete, methods=["POST"]),
    Route("/admin/lessons/{id:int}/restore", lesson_restore, methods=["POST"]),
    Route("/admin/lessons/{id:int}/purge", lesson_purge, methods=["POST"]),
]
