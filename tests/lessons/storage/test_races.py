"""Two OS processes creating the same people and projects at once lose nothing and raise
nothing, on the backend the session runs on (`pytest --backend=postgresql`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import func
from sqlmodel import Session, select

from lessons.storage.db import make_engine
from lessons.storage.models import Person, Project
from lessons.storage.settings import Settings

ROUNDS = 15
NAMES_PER_ROUND = 4

# Each worker says "ready", waits for "go" on stdin (so both start together), then in each
# round creates the round's people and projects in one transaction: the two processes ask for
# the same names at the same moments. On SQLite the transaction takes the write lock first,
# as every app writer does; on PostgreSQL it does not, so the two really race on the unique
# keys (as an import beside the web app would).
WORKER = """
import sys
from lessons.capture import projects
from lessons.people import service as people
from lessons.schemas import ProjectRef
from lessons.storage import backends
from lessons.storage.db import make_engine, transaction

url, rounds, per_round = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
engine = make_engine(url)
lock_first = backends.of(engine).name == "sqlite"
print("ready", flush=True)
sys.stdin.readline()
for round_ in range(rounds):
    with transaction(engine, write=lock_first) as session:
        for i in range(per_round):
            name = f"Person {round_}-{i}"
            people.find_or_create(session, name=name)
            projects.resolve(session, ref=ProjectRef(name=f"Project {round_}-{i}"))
engine.dispose()
print("done", flush=True)
"""


def _start(url: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, url, str(ROUNDS), str(NAMES_PER_ROUND)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[3],
    )


def test_two_processes_creating_the_same_names_at_once(settings: Settings) -> None:
    workers = [_start(settings.database_url) for _ in range(2)]
    for worker in workers:
        assert worker.stdout is not None
        if worker.stdout.readline() != "ready\n":
            raise AssertionError(worker.communicate(timeout=60))
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write("go\n")
        worker.stdin.flush()
    results = [worker.communicate(timeout=120) for worker in workers]
    assert [(w.returncode, err) for w, (_, err) in zip(workers, results, strict=True)] == [
        (0, ""),
        (0, ""),
    ]
    engine = make_engine(settings.database_url)
    with Session(engine) as session:
        people = session.exec(
            select(Person.name, func.count())
            .where(Person.name.startswith("Person "))  # type: ignore[attr-defined]
            .group_by(Person.name)
        ).all()
        projects = session.exec(
            select(Project.name, func.count())
            .where(Project.name.startswith("Project "))  # type: ignore[attr-defined]
            .group_by(Project.name)
        ).all()
    engine.dispose()
    expected = ROUNDS * NAMES_PER_ROUND
    assert (len(people), len(projects)) == (expected, expected)  # nothing lost
    assert {n for _, n in people} == {n for _, n in projects} == {1}  # nothing twice
