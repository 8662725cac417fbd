"""`migrate_to`: a seeded SQLite bank copied into a real PostgreSQL and compared row by row;
a copy interrupted mid-way and run again; and the refusals, made before anything is written."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing

import pytest
from sqlalchemy import Engine, text
from sqlmodel import col
from sqlmodel import select as sm_select

from lessons.accounts.membership import add_member
from lessons.storage.db import make_engine, transaction
from lessons.storage.models import Project, User
from lessons.storage.moving import CopyPlan, MoveRefused, migrate_to
from lessons.storage.settings import Settings
from lessons.taxonomy.schemes import create_scheme
from lessons.taxonomy.terms import add_term
from tests.conftest import Client
from tests.postgres import column_names, every_row
from tests.ui.leaks.bank import seed_bank


class Interrupted(Exception):
    """Stands for a kill mid-copy: raised from the progress callback after some batches."""


@pytest.fixture
def bank(client: Client, settings: Settings) -> str:
    """The leak suite's bank (accounts, tokens, a session, reviews, lessons with vectors,
    passages and sentence vectors, actions, BARs, a merge, audit rows, a deleted lesson), a
    failed sign-in, a project member, and a taxonomy whose first term sits under a later one
    (a reference to a row copied after it)."""
    seed_bank(client, settings.database_url)
    client.post("/login", data={"username": "casey", "password": "wrong"})
    engine = make_engine(settings.database_url)
    try:
        with transaction(engine, write=True) as session:
            scheme = create_scheme(session, key="ops", name="Operations", actor="test")
            assert scheme.id is not None
            narrow = add_term(session, scheme_id=scheme.id, name="Cold chain", actor="test")
            broad = add_term(session, scheme_id=scheme.id, name="Logistics", actor="test")
            narrow.parent_id = broad.id
            project = session.exec(sm_select(Project).order_by(col(Project.id))).first()
            user = session.exec(sm_select(User).where(User.username == "casey")).one()
            assert project is not None and project.id is not None
            add_member(session, project_id=project.id, user=user, actor="test")
    finally:
        engine.dispose()
    return settings.database_url


@pytest.fixture
def engines(bank: str, pg_url: str) -> Iterator[tuple[Engine, Engine]]:
    source, target = make_engine(bank), make_engine(pg_url)
    yield source, target
    source.dispose()
    target.dispose()


def test_every_table_is_copied_row_for_row(
    bank: str, pg_url: str, engines: tuple[Engine, Engine]
) -> None:
    report = migrate_to(bank, pg_url, batch_rows=7)

    assert report.ok, report.checks
    copied = {t.name: t.rows for t in report.plan.tables}
    for table in (
        "lesson", "lesson_embedding", "lesson_passages", "lesson_sentences", "lesson_tag",
        "lesson_event", "lesson_merge", "audit_event", "review", "action", "bar", "bar_item",
        "project", "person", "tag_scheme", "tag_term", "user", "api_token", "user_session",
        "project_member", "login_failure",
    ):  # fmt: skip
        assert copied.get(table, 0) > 0, f"the fixture has no {table} row to copy"
    source, target = engines
    for table in copied:
        if table == "lesson_version":
            continue  # a change counter: the target's own triggers may move it on
        # the source's columns: the target may add its own (the pgvector copy of a vector)
        columns = column_names(source, table)
        assert every_row(target, table, columns) == every_row(source, table), table
    assert "lesson_fts" in report.plan.skipped
    assert no_trigger_left_off(target)
    with target.connect() as connection:
        searchable = connection.execute(text("SELECT count(*) FROM lesson_search")).scalar_one()
        # the full-text row of each lesson, as the target's own triggers would have made it
        refilled = connection.execute(
            text(
                "SELECT count(*) FROM lesson_search s JOIN lesson l ON l.id = s.lesson_id "
                "WHERE s.document = setweight(to_tsvector('english', l.title), 'A') || "
                "setweight(to_tsvector('english', l.observation || ' ' || l.insight || ' ' || "
                "l.recommendation), 'D') || setweight(to_tsvector('english', coalesce(("
                "SELECT string_agg(replace(t.tag, '-', ' '), ' ') FROM lesson_tag t "
                "WHERE t.lesson_id = l.id), '')), 'B')"
            )
        ).scalar_one()
    assert searchable == refilled == copied["lesson"]


def no_trigger_left_off(engine: Engine) -> bool:
    with engine.connect() as connection:
        return not connection.execute(
            text("SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal AND tgenabled = 'D'")
        ).scalar_one()


def test_ids_continue_after_the_copied_ones(
    bank: str, pg_url: str, engines: tuple[Engine, Engine]
) -> None:
    migrate_to(bank, pg_url)

    _, target = engines
    with target.connect() as connection:
        highest = connection.execute(text("SELECT max(id) FROM lesson")).scalar_one()
        following = connection.execute(
            text("SELECT nextval(pg_get_serial_sequence('lesson', 'id'))")
        ).scalar_one()
    assert following == highest + 1


def test_an_interrupted_copy_finishes_on_the_next_run_without_duplicates(
    bank: str, pg_url: str, engines: tuple[Engine, Engine]
) -> None:
    batches = []

    def stop_mid_audit_log(table: str, rows: int) -> None:
        """Stops on audit_event's second batch: mid-table, whatever comes before it."""
        batches.append(table)
        if batches.count("audit_event") == 2:
            raise Interrupted

    with pytest.raises(Interrupted):
        migrate_to(bank, pg_url, batch_rows=3, progress=stop_mid_audit_log)
    source, target = engines
    with target.connect() as connection:
        partial = connection.execute(text("SELECT count(*) FROM audit_event")).scalar_one()
    assert 0 < partial < len(every_row(source, "audit_event")), "stopped mid-table"
    assert no_trigger_left_off(target)
    plans: list[CopyPlan] = []

    report = migrate_to(bank, pg_url, batch_rows=3, on_plan=plans.append)

    assert plans[0].resuming
    assert report.ok, report.checks
    for table in ("audit_event", "lesson", "lesson_embedding", "tag_term", "lesson_tag"):
        columns = column_names(source, table)
        assert every_row(target, table, columns) == every_row(source, table), table


def test_a_target_holding_another_bank_is_refused_untouched(
    bank: str, pg_url: str, settings: Settings, engines: tuple[Engine, Engine]
) -> None:
    migrate_to(bank, pg_url)
    _, target = engines
    with target.begin() as connection:
        connection.execute(text("UPDATE lesson SET title = 'Another bank' WHERE id = 1"))
    with target.connect() as connection:
        before = connection.execute(text("SELECT count(*) FROM audit_event")).scalar_one()

    with pytest.raises(MoveRefused, match="already holds another bank: its lesson row 1"):
        migrate_to(bank, pg_url)

    with target.connect() as connection:
        assert connection.execute(text("SELECT title FROM lesson WHERE id = 1")).scalar_one() == (
            "Another bank"
        )
        after = connection.execute(text("SELECT count(*) FROM audit_event")).scalar_one()
    assert after == before


def test_a_source_behind_the_newest_schema_is_refused(bank: str, pg_url: str) -> None:
    path = bank.removeprefix("sqlite:///")
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '0009'")
        connection.commit()

    with pytest.raises(MoveRefused, match="schema revision 0009, not the newest"):
        migrate_to(bank, pg_url)


@pytest.mark.parametrize(
    ("source", "target", "reason"),
    [
        ("sqlite:////nowhere/lessonbank.db", "postgresql://u@h/db", "no database at"),
        ("sqlite:///{bank}", "sqlite:////tmp/copy.db", "must be a PostgreSQL database"),
        ("postgresql://u@h/db", "postgresql://u@h/db", "the same database"),
    ],
)
def test_impossible_copies_are_refused(bank: str, source: str, target: str, reason: str) -> None:
    with pytest.raises(MoveRefused, match=reason):
        migrate_to(source.format(bank=bank.removeprefix("sqlite:///")), target)
