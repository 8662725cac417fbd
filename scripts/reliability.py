"""Reliability: concurrent reviews and BARs on live servers, then an import killed mid-way.

Starts `--servers` processes of `lessonbank serve` on 127.0.0.1 (free ports), sharing one
database: a fresh SQLite file in a temporary folder, or with `--database-url` an empty
PostgreSQL database (their secret key kept in the folder, no demo bank). The clients are
spread over the servers in turn. It makes a contributor and an API token with the CLI, then:

1. load: `--clients` threads together POST `--reviews` reviews (1-3 lessons each, every title
   carrying this run's marker; projects and authors drawn from small shared pools, so that
   concurrent requests race to create the same new project or person) while `--bar-clients`
   threads keep POSTing BARs over the lessons being written. Every request is timed; the total
   is bounded (`--max-bars`, `--deadline`) and every request has a timeout.
2. verify: GET /api/lessons/{id} for every id a 201 returned, and read the marked lessons
   straight from the database: every lesson acknowledged by a 201 must be there,
   once. No 5xx, and "database is locked" in no response and nowhere in the servers' logs.
3. crash: `lessonbank import nasa-llis` over both NASA files is killed with SIGKILL while its
   progress bar runs. The import is one transaction, so the database must keep its lesson
   count with no NASA row left (and, on SQLite, pass `PRAGMA integrity_check`). The import is
   then run to completion (while a probe keeps writing through the server) and must add one
   lesson per distinct NASA id; a third run must add nothing.

Prints a table, writes a JSON report and exits 1 when a check fails. The server is stopped at
the end, on failure too.

    .venv/bin/python scripts/reliability.py [--model hashing] [--reviews 2000] [--clients 16]
        [--bar-clients 4] [--servers 2] [--database-url postgresql://USER@HOST/EMPTY_DB]
        [--report reports/reliability.json] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

ROOT = Path(__file__).resolve().parent.parent
DATASETS = ROOT.parent / "shared" / "datasets"
NASA_FILES = (
    DATASETS / "nasa-llis" / "llis.jsonl",
    DATASETS / "nasa-llis-sections" / "llis_sections.jsonl",
)
LOCKED = "database is locked"
USER = "reliability"
PASSWORD = "reliability run password"  # a throwaway account in a throwaway database
# BARs rank what the load is writing (new lessons are `identified`), not an empty bank.
BAR_FILTERS = {"status": ["identified", "validated"]}

TOPICS = [
    (
        "Order cold-chain fridges before approval",
        "The fridges arrived three weeks late and the vaccination campaign started late.",
        "Procurement started only after budget approval; the lead time is twelve weeks.",
        "Start procurement of cold-chain equipment when the plan is drafted.",
    ),
    (
        "Pilot the case-management system with one team first",
        "Rolling the new system out to every social worker at once swamped the help desk.",
        "Nobody had used the system on real cases before go-live.",
        "Run a four-week pilot with one team and fix what they find before rolling out.",
    ),
    (
        "Agree access with landowners before the work party",
        "Volunteers arrived at the wetland and could not reach two of the planting sites.",
        "Access was agreed by phone with a tenant, not with the landowner.",
        "Get written access from the landowner a month ahead of every work party.",
    ),
    (
        "Test mobile money payments in every district",
        "Cash transfers failed in two districts where the agents had no float.",
        "The payment test ran only in the capital.",
        "Test a small payment through every agent before the first transfer round.",
    ),
    (
        "Sync field survey data when the signal returns",
        "Surveys were lost when the app crashed while offline for several days.",
        "The app kept answers in memory until it could upload them.",
        "Store every answer on the device at once and upload in the background.",
    ),
    (
        "Hand over contacts in person, not by list",
        "The new coordinator did not know who fixed the water points in the north.",
        "The handover was a spreadsheet of names with no introductions.",
        "Introduce the successor to the five key contacts before the leaver goes.",
    ),
    (
        "Book the flood exercise venue with the fire service",
        "The exercise lost a morning because the fire service used another map.",
        "Each agency prepared its own scenario material.",
        "Share one scenario pack and one map with every agency two weeks before.",
    ),
    (
        "Train farmers with seed they can buy locally",
        "Farmers liked the drought-tolerant seed but could not buy it the next season.",
        "The demonstration seed came from a supplier with no local stockist.",
        "Choose varieties that local agro-dealers already stock or will stock.",
    ),
]
BRIEFS = [
    "Planning a measles immunisation outreach in remote districts with mobile teams.",
    "Rolling out a new case-management system to social workers across the council.",
    "Starting a wetland restoration with landowners and volunteer work parties.",
    "Designing a cash transfer programme after a drought, with mobile money payments.",
    "Running a flood response exercise with the fire service and the council.",
    "Building a mobile data collection app for field surveys with poor connectivity.",
    "Handing over the water point maintenance programme to a new coordinator.",
    "Procuring solar fridges for health centres before the rainy season.",
    "Training farmers in field schools to adopt drought-tolerant seed.",
]


# --- pure helpers (tests/scripts/test_reliability_script.py) --------------------------------------


@dataclass
class Call:
    """One HTTP request as the client saw it. Status 0: no response (see `error`)."""

    kind: str
    status: int
    ms: float
    error: str = ""
    locked: bool = False  # the response body mentions "database is locked"


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-quantile (0 to 1), interpolated between the closest ranks; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def outcome(call: Call) -> str:
    """The status code as text, or the transport error's name when there was no response."""
    return str(call.status) if call.status else (call.error or "no response")


def summarise(calls: Iterable[Call]) -> dict[str, dict[str, Any]]:
    """Per kind: requests, outcomes by status, failures, 5xx, locked bodies, latency."""
    by_kind: dict[str, list[Call]] = {}
    for call in calls:
        by_kind.setdefault(call.kind, []).append(call)
    summary: dict[str, dict[str, Any]] = {}
    for kind, group in by_kind.items():
        times = [c.ms for c in group]
        statuses = Counter(outcome(c) for c in group)

        def ms(q: float, times: list[float] = times) -> float | None:
            value = percentile(times, q)
            return None if value is None else round(value, 1)

        summary[kind] = {
            "requests": len(group),
            "by_status": dict(sorted(statuses.items())),
            "failures": sum(1 for c in group if not 200 <= c.status < 300),
            "server_errors": sum(1 for c in group if c.status >= 500),
            "no_response": sum(1 for c in group if c.status == 0),
            "locked_in_body": sum(1 for c in group if c.locked),
            "p50_ms": ms(0.5),
            "p95_ms": ms(0.95),
            "max_ms": ms(1.0),
        }
    return summary


def lesson_title(marker: str, review_no: int, lesson_no: int, topic: str) -> str:
    """A title no other run or lesson shares: the marker, then which review and lesson."""
    return f"{marker} r{review_no:05d} l{lesson_no} {topic}"


def review_body(
    marker: str, review_no: int, *, projects: int, authors: int, seed: int
) -> dict[str, Any]:
    """A valid POST /api/reviews body with 1-3 marked lessons, the same for the same inputs."""
    rng = random.Random(f"{seed}:{review_no}")
    lessons = []
    for lesson_no in range(1, rng.randint(1, 3) + 1):
        topic = rng.randrange(len(TOPICS))
        title, observation, insight, recommendation = TOPICS[topic]
        lessons.append(
            {
                "title": lesson_title(marker, review_no, lesson_no, title),
                "observation": f"{observation} (review {review_no}, lesson {lesson_no})",
                "insight": insight,
                "recommendation": recommendation,
                "polarity": rng.choice(["improve", "sustain"]),
                "perspective": "operational",
                "tags": ["reliability", f"topic-{topic}"],
                "sensitivity": "internal",
            }
        )
    body: dict[str, Any] = {
        "kind": "aar",
        "project": {"name": f"{marker} project {rng.randrange(projects)}", "unit": "Field"},
        "author": f"{marker} author {rng.randrange(authors)}",
        "held_on": "2025-06-30",
        "answers": {
            "planned": "Deliver the work on time with the partners.",
            "actual": f"It went as review {review_no} describes.",
        },
        "lessons": lessons,
        "actions": [],
    }
    if rng.random() < 0.5:
        body["actions"].append(
            {
                "what": f"Follow up review {review_no}",
                "owner": f"{marker} author {rng.randrange(authors)}",
                "due": "2025-09-30",
                "lesson_index": 0,
            }
        )
    return body


def exception_lines(log_text: str) -> Counter[str]:
    """The closing line (type and message) of every traceback in a log, counted."""
    found: Counter[str] = Counter()
    inside = False
    for line in log_text.splitlines():
        if line.startswith("Traceback (most recent call last):"):
            inside = True
        elif inside and line and not line[0].isspace():
            found[line.strip()[:300]] += 1
            inside = False
    return found


_IMPORT_SUMMARY = re.compile(r"Added (\d+), updated (\d+), unchanged (\d+) lessons; embedded (\d+)")


def import_counts(stdout: str) -> dict[str, int] | None:
    """The counts `lessonbank import` prints at the end, or None when it printed none."""
    match = _IMPORT_SUMMARY.search(stdout)
    if match is None:
        return None
    added, updated, unchanged, embedded = (int(g) for g in match.groups())
    return {"added": added, "updated": updated, "unchanged": unchanged, "embedded": embedded}


def last_progress(stderr: str) -> str:
    """The newest progress-bar state in captured stderr (tqdm redraws with carriage returns)."""
    pieces = [p.strip() for p in re.split(r"[\r\n]", stderr) if p.strip()]
    bars = [p for p in pieces if "%|" in p]
    return bars[-1] if bars else ""


def nasa_ids(paths: Iterable[Path]) -> set[str]:
    """The distinct lesson ids in NASA LLIS JSON-lines files (what an import should add)."""
    ids: set[str] = set()
    for path in paths:
        with path.open(encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(row, dict):
                    lesson_id = str(row.get("lesson_id") or row.get("lesson_number") or "")
                    if lesson_id.strip().isdigit():
                        ids.add(lesson_id.strip())
    return ids


def _numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def render_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Rows under a header and a rule; columns of numbers right-aligned, the rest left."""
    body = [["" if c is None else str(c) for c in row] for row in rows]
    cells = [[str(c) for c in header], *body]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    right = [all(_numeric(r[i]) for r in body if r[i]) and i > 0 for i in range(len(header))]
    lines = []
    for number, row in enumerate(cells):
        parts = [
            cell.rjust(widths[i]) if right[i] else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        lines.append("  ".join(parts).rstrip())
        if number == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


# --- processes: the CLI, the server and the imports -----------------------------------------


def lessonbank_command() -> list[str]:
    """The `lessonbank` console script of this interpreter's environment."""
    script = Path(sys.executable).parent / "lessonbank"
    if script.exists():
        return [str(script)]
    found = shutil.which("lessonbank")
    if found:
        return [found]
    raise SystemExit("the lessonbank command is not installed (run `make` first)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Run:
    """What every process of the run shares: the folder, the database and the environment."""

    folder: Path
    model: str
    database_url: str = ""  # empty: an SQLite file in `folder`
    command: list[str] = field(default_factory=lessonbank_command)
    started: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.database_url or f"sqlite:///{self.folder / 'lessonbank.db'}"

    @property
    def sqlite(self) -> bool:
        return make_url(self.url).get_backend_name() == "sqlite"

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        env.update(
            LESSONBANK_DATABASE_URL=self.url,
            LESSONBANK_SECRET_KEY_FILE=str(self.folder / "secret_key"),
            LESSONBANK_LOAD_DEMO="false",
            LESSONBANK_EMBEDDING_MODEL=self.model,
            # A few tokens stand for many people here: no per-user rate limit.
            LESSONBANK_RATE_LIMIT_SEARCH="",
            LESSONBANK_RATE_LIMIT_BAR="",
            PYTHONUNBUFFERED="1",
        )
        return env

    def cli(self, *args: str, stdin: str | None = None, timeout: float = 300) -> str:
        """Run a CLI command to completion; its stdout (raises with stderr when it fails)."""
        done = subprocess.run(
            [*self.command, *args, "--database-url", self.url],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env,
            cwd=self.folder,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"lessonbank {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout

    def spawn(self, args: Sequence[str], name: str) -> subprocess.Popen[bytes]:
        """Start a command with stdout and stderr captured to `<name>.out` / `<name>.err`."""
        with (
            (self.folder / f"{name}.out").open("wb") as out,
            (self.folder / f"{name}.err").open("wb") as err,
        ):
            process = subprocess.Popen(
                [*self.command, *args],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                env=self.env,
                cwd=self.folder,
            )
        self.started.append(process)
        return process

    def log(self, name: str) -> str:
        text = ""
        for suffix in ("out", "err"):
            path = self.folder / f"{name}.{suffix}"
            if path.exists():
                text += path.read_text(encoding="utf-8", errors="replace")
        return text

    def stop_all(self) -> None:
        """Stop every process this run started and is still running: TERM, then KILL."""
        for process in self.started:
            stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    """TERM, then KILL if it has not ended within 30 s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)


def server_names(count: int) -> list[str]:
    return ["server"] if count == 1 else [f"server-{i + 1}" for i in range(count)]


@contextmanager
def serving(run: Run, count: int, timeout: float) -> Iterator[tuple[list[str], float]]:
    """`count` processes of `lessonbank serve` on 127.0.0.1 (free ports), one database, until
    the block ends (however it ends); yields their base URLs and the seconds until every
    /healthz answered 200. They start one after the other: each migrates at start-up."""
    started = time.perf_counter()
    servers: list[subprocess.Popen[bytes]] = []
    bases: list[str] = []
    try:
        for name in server_names(count):
            port = free_port()
            args = ["serve", "--host", "127.0.0.1", "--port", str(port), "--database-url", run.url]
            server = run.spawn(args, name)
            servers.append(server)
            base = f"http://127.0.0.1:{port}"
            while True:
                if server.poll() is not None:
                    raise RuntimeError(f"{name} exited at start:\n{run.log(name)[-3000:]}")
                if time.perf_counter() - started > timeout:
                    raise RuntimeError(f"{name} did not answer /healthz within {timeout:.0f} s")
                try:
                    if httpx.get(f"{base}/healthz", timeout=5).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.2)
            bases.append(base)
        yield bases, time.perf_counter() - started
    finally:
        for server in servers:
            stop(server)


# --- the database, read directly ------------------------------------------------------------


def query(url: str, sql: str, params: dict[str, object] | None = None) -> list[tuple[Any, ...]]:
    """Rows of one query, on a connection of its own (SQLite waits for a busy writer)."""
    extra: dict[str, Any] = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {}
    engine = create_engine(url, poolclass=NullPool, **extra)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql), params or {})]
    finally:
        engine.dispose()


def lesson_count(url: str) -> int:
    return int(query(url, "SELECT count(*) FROM lesson")[0][0])


def nasa_counts(url: str) -> tuple[int, int]:
    """Imported lessons (with an external id) and how many distinct external ids they have."""
    rows = query(
        url,
        "SELECT count(*), count(DISTINCT external_id) FROM lesson WHERE external_id IS NOT NULL",
    )
    return int(rows[0][0]), int(rows[0][1])


def marked_titles(url: str, marker: str) -> list[str]:
    """Titles of this run's load lessons (`marker` is alphanumeric: no LIKE escapes needed)."""
    sql = "SELECT title FROM lesson WHERE title LIKE :pattern"
    return [r[0] for r in query(url, sql, {"pattern": f"{marker} %"})]


def integrity(url: str) -> dict[str, Any]:
    """SQLite's own checks; PostgreSQL enforces its constraints on every write and has no
    file-level check to run (`n/a`)."""
    if not url.startswith("sqlite"):
        return {"integrity_check": "n/a (PostgreSQL)", "foreign_key_violations": 0}
    checks = [r[0] for r in query(url, "PRAGMA integrity_check")]
    foreign = query(url, "PRAGMA foreign_key_check")
    return {
        "integrity_check": "ok" if checks == ["ok"] else checks[:20],
        "foreign_key_violations": len(foreign),
    }


def integrity_ok(result: dict[str, Any]) -> bool:
    check = str(result["integrity_check"])
    sound = check == "ok" or check.startswith("n/a")
    return sound and result["foreign_key_violations"] == 0


# --- HTTP clients -----------------------------------------------------------------------------


def client(base: str, token: str, timeout: float) -> httpx.Client:
    return httpx.Client(
        base_url=base,
        headers={"Authorization": f"Bearer {token}"},
        timeout=httpx.Timeout(timeout, connect=10),
    )


@dataclass
class Reply:
    """What came back: the decoded JSON (None when there was none) and the raw text."""

    data: Any = None
    text: str = ""


def send(
    http: httpx.Client, kind: str, method: str, url: str, body: Any = None
) -> tuple[Call, Reply]:
    """One timed request: the call as recorded, and the reply."""
    http.cookies.clear()  # a bearer-token client, not a browser: no session, no CSRF cookie
    started = time.perf_counter()
    try:
        response = http.request(method, url, json=body)
    except httpx.HTTPError as exc:
        elapsed = (time.perf_counter() - started) * 1000
        return Call(kind, 0, elapsed, error=type(exc).__name__), Reply(text=repr(exc))
    elapsed = (time.perf_counter() - started) * 1000
    text = response.text
    try:
        data = response.json()
    except ValueError:
        data = None
    call = Call(kind, response.status_code, elapsed, locked=LOCKED in text.lower())
    return call, Reply(data, text)


@dataclass
class Load:
    """Shared state of the load threads; every change under `lock`. Client number i talks to
    server i modulo the number of servers."""

    bases: list[str]
    token: str
    marker: str
    args: argparse.Namespace
    lock: threading.Lock = field(default_factory=threading.Lock)
    calls: list[Call] = field(default_factory=list)
    next_review: int = 0
    bars: int = 0
    deadline: float = 0.0
    reviews_done: threading.Event = field(default_factory=threading.Event)
    acknowledged: dict[str, int] = field(default_factory=dict)  # title -> id, from 201s
    sent: dict[str, str] = field(default_factory=dict)  # title -> outcome of its request
    mismatched: list[int] = field(default_factory=list)  # 201s whose lessons differ
    bar_hits_marked: int = 0
    samples: list[dict[str, Any]] = field(default_factory=list)  # first failures

    def take_review(self) -> int | None:
        with self.lock:
            if self.next_review >= self.args.reviews or time.monotonic() > self.deadline:
                return None
            self.next_review += 1
            return self.next_review

    def take_bar(self) -> bool:
        with self.lock:
            if self.reviews_done.is_set() or time.monotonic() > self.deadline:
                return False
            if self.bars >= self.args.max_bars:
                return False
            self.bars += 1
            return True

    def record(self, call: Call, reply: Reply, url: str) -> None:
        self.calls.append(call)
        if not 200 <= call.status < 300 and len(self.samples) < 10:
            self.samples.append({"url": url, "status": outcome(call), "body": reply.text[:500]})

    def base(self, number: int) -> str:
        return self.bases[number % len(self.bases)]

    def review_worker(self, worker: int) -> None:
        with client(self.base(worker), self.token, self.args.timeout) as http:
            while (number := self.take_review()) is not None:
                body = review_body(
                    self.marker,
                    number,
                    projects=self.args.projects,
                    authors=self.args.authors,
                    seed=self.args.seed,
                )
                titles = [le["title"] for le in body["lessons"]]
                call, reply = send(http, "review", "POST", "/api/reviews", body)
                with self.lock:
                    self.record(call, reply, "/api/reviews")
                    for title in titles:
                        self.sent[title] = outcome(call)
                    data = reply.data
                    if call.status == 201 and isinstance(data, dict):
                        returned = {le["title"]: le["id"] for le in data.get("lessons", [])}
                        if sorted(returned) != sorted(titles):
                            self.mismatched.append(number)
                        self.acknowledged.update(returned)

    def bar_worker(self, number: int) -> None:
        rng = random.Random(f"{self.args.seed}:bar:{number}")
        with client(self.base(number), self.token, self.args.timeout) as http:
            while self.take_bar():
                body = {"brief": rng.choice(BRIEFS), "limit": 10, "filters": BAR_FILTERS}
                call, reply = send(http, "bar", "POST", "/api/bar", body)
                data = reply.data
                hits = 0
                if call.status == 201 and isinstance(data, dict):
                    hits = sum(
                        1
                        for r in data.get("results", [])
                        if str(r.get("title", "")).startswith(self.marker)
                    )
                with self.lock:
                    self.record(call, reply, "/api/bar")
                    self.bar_hits_marked += hits

    def health_worker(self, number: int) -> None:
        """GET /healthz (no database, no model) twice a second: how long the event loop
        takes to answer anything while the load runs."""
        with httpx.Client(base_url=self.base(number), timeout=self.args.timeout) as http:
            while not self.reviews_done.is_set() and time.monotonic() < self.deadline:
                call, reply = send(http, "healthz", "GET", "/healthz")
                with self.lock:
                    self.record(call, reply, "/healthz")
                self.reviews_done.wait(0.5)


def run_load(load: Load) -> float:
    """Reviews and BARs together; returns the seconds the reviews took."""
    args = load.args
    load.deadline = time.monotonic() + args.deadline
    started = time.perf_counter()
    reviewers = [
        threading.Thread(target=load.review_worker, args=(i,), name=f"review-{i}", daemon=True)
        for i in range(args.clients)
    ]
    bars = [
        threading.Thread(target=load.bar_worker, args=(i,), name=f"bar-{i}", daemon=True)
        for i in range(args.bar_clients)
    ]
    health = [
        threading.Thread(target=load.health_worker, args=(i,), name=f"healthz-{i}", daemon=True)
        for i in range(len(load.bases))
    ]
    for thread in [*bars, *reviewers, *health]:
        thread.start()
    last = time.perf_counter()
    while any(t.is_alive() for t in reviewers):
        for thread in reviewers:
            thread.join(timeout=1)
        if time.perf_counter() - last >= 15:
            last = time.perf_counter()
            with load.lock:
                failed = sum(1 for c in load.calls if not 200 <= c.status < 300)
                print(
                    f"  load: {load.next_review}/{args.reviews} reviews, {load.bars} BARs, "
                    f"{failed} failed, {last - started:.0f} s",
                    file=sys.stderr,
                )
    seconds = time.perf_counter() - started
    load.reviews_done.set()
    for thread in [*bars, *health]:
        thread.join(timeout=args.timeout + 30)
    return seconds


def verify_api(
    bases: list[str], token: str, expected: dict[str, int], args: argparse.Namespace
) -> Any:
    """GET every acknowledged lesson, spread over the servers; the calls and what did not
    match (a lesson written through one server is read through another)."""
    items = sorted(expected.items(), key=lambda item: item[1])
    lock = threading.Lock()
    calls: list[Call] = []
    wrong: list[dict[str, Any]] = []

    def worker(part: list[tuple[str, int]], base: str) -> None:
        with client(base, token, args.timeout) as http:
            for title, lesson_id in part:
                call, reply = send(http, "get lesson", "GET", f"/api/lessons/{lesson_id}")
                data = reply.data
                got = data.get("title") if isinstance(data, dict) else None
                with lock:
                    calls.append(call)
                    if call.status != 200 or got != title:
                        wrong.append({"id": lesson_id, "status": outcome(call), "title": got})

    threads = [
        threading.Thread(
            target=worker, args=(items[i :: args.clients], bases[(i + 1) % len(bases)]), daemon=True
        )
        for i in range(args.clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return calls, wrong


class Probe:
    """While an import runs: one small review and one BAR through the server, on repeat."""

    def __init__(self, base: str, token: str, marker: str, args: argparse.Namespace) -> None:
        self.base, self.token, self.marker, self.args = base, token, marker, args
        self.stop = threading.Event()
        self.calls: list[Call] = []
        self.acknowledged: dict[str, int] = {}
        self.sent: dict[str, str] = {}
        self.samples: list[dict[str, Any]] = []
        self.thread = threading.Thread(target=self._loop, name="probe", daemon=True)

    def _loop(self) -> None:
        number = 0
        with client(self.base, self.token, self.args.timeout) as http:
            while not self.stop.is_set():
                number += 1
                title = f"{self.marker} p{number:04d} written during an import"
                body = {
                    "kind": "aar",
                    "project": {"name": f"{self.marker} project"},
                    "answers": {"planned": "Keep writing while an import runs."},
                    "lessons": [
                        {
                            "title": title,
                            "observation": "A review posted while the import held the database.",
                            "polarity": "improve",
                            "perspective": "operational",
                            "sensitivity": "internal",
                        }
                    ],
                }
                for kind, url, payload in (
                    ("review during import", "/api/reviews", body),
                    ("BAR during import", "/api/bar", {"brief": rng_brief(number)}),
                ):
                    call, reply = send(http, kind, "POST", url, payload)
                    self.calls.append(call)
                    data = reply.data
                    if kind.startswith("review"):
                        self.sent[title] = outcome(call)
                        if call.status == 201 and isinstance(data, dict):
                            for lesson in data.get("lessons", []):
                                self.acknowledged[lesson["title"]] = lesson["id"]
                    if not 200 <= call.status < 300 and len(self.samples) < 5:
                        sample = {"url": url, "status": outcome(call), "body": reply.text[:500]}
                        self.samples.append(sample)
                self.stop.wait(self.args.probe_interval)

    def __enter__(self) -> Probe:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=self.args.timeout * 2 + 30)


def rng_brief(number: int) -> str:
    return BRIEFS[number % len(BRIEFS)]


# --- the crash test ---------------------------------------------------------------------------


def wait_for(predicate: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def import_args(run: Run) -> list[str]:
    return ["import", "nasa-llis", *map(str, NASA_FILES), "--database-url", run.url]


def run_import(run: Run, name: str, timeout: float) -> dict[str, Any]:
    """An import run to its end: exit status, seconds, the counts it printed (None when it
    printed none: it crashed) and the exceptions it died of."""
    started = time.perf_counter()
    process = run.spawn(import_args(run), name)
    try:
        status: int | None = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        status = None
    out = (run.folder / f"{name}.out").read_text(encoding="utf-8", errors="replace")
    err = (run.folder / f"{name}.err").read_text(encoding="utf-8", errors="replace")
    skipped = [line for line in err.splitlines() if line.startswith("skipped ")]
    counts = import_counts(out)
    return {
        "exit_status": status,
        "completed": counts is not None and status in (0, 1),
        "seconds": round(time.perf_counter() - started, 1),
        "counts": counts,
        "skipped_rows": len(skipped),
        "skipped_sample": skipped[:5],
        "exceptions": dict(exception_lines(err)),
        "last_progress": last_progress(err),
    }


def local_count(url: str) -> int:
    """Lessons written through the app rather than imported (no external id)."""
    return int(query(url, "SELECT count(*) FROM lesson WHERE external_id IS NULL")[0][0])


def kill_mid_import(run: Run, args: argparse.Namespace) -> dict[str, Any]:
    """Start an import, SIGKILL it a few seconds into its progress bar."""
    process = run.spawn(import_args(run), "import-killed")
    err_path = run.folder / "import-killed.err"

    def stderr() -> str:
        return err_path.read_text(encoding="utf-8", errors="replace")

    started = time.perf_counter()
    wait_for(lambda: "%|" in stderr() or process.poll() is not None, 300)
    time.sleep(args.kill_after)
    running = process.poll() is None
    progress = last_progress(stderr())
    process.kill()  # SIGKILL: no clean-up of any kind
    process.wait()
    return {
        "progress_bar_seen": bool(progress),
        "still_running_when_killed": running,
        "exit_status": process.returncode,
        "seconds_after_start": round(time.perf_counter() - started, 1),
        "last_progress": progress,
    }


def crash_test(
    run: Run, base: str, token: str, marker: str, args: argparse.Namespace
) -> tuple[dict[str, Any], list[Call]]:
    """Kill an import mid-way and check nothing of it remains; import to completion (first
    while a probe writes through the server, then quietly if that import died); once more."""
    expected = len(nasa_ids(NASA_FILES))
    result: dict[str, Any] = {"expected_distinct_nasa_ids": expected}
    before, before_local = lesson_count(run.url), local_count(run.url)
    result["lessons_before"] = before

    result["killed"] = kill_mid_import(run, args)
    result["after_kill"] = {
        **integrity(run.url),
        "lessons": lesson_count(run.url),
        "nasa_lessons": nasa_counts(run.url)[0],
        "files": sorted(p.name for p in run.folder.glob("lessonbank.db*")),
    }

    # The server writes again once the killed process's locks are gone.
    with client(base, token, args.timeout) as http:
        body = review_body(marker + "K", 1, projects=1, authors=1, seed=args.seed)
        after_kill_call, _ = send(http, "review after the kill", "POST", "/api/reviews", body)
    result["server_write_after_kill"] = {
        "status": outcome(after_kill_call),
        "ms": round(after_kill_call.ms, 1),
    }

    # To completion while the server takes writes, as it would when an admin imports by day.
    with Probe(base, token, marker + "P", args) as probe:
        under_writes = run_import(run, "import-under-writes", args.import_timeout)
    result["import_under_writes"] = under_writes
    quiet = None
    if not under_writes["completed"]:  # it died: finish the import with the server idle
        quiet = run_import(run, "import-quiet", args.import_timeout)
    result["import_quiet"] = quiet
    final = quiet or under_writes
    probe_present = marked_titles(run.url, marker + "P")
    after, after_local = lesson_count(run.url), local_count(run.url)
    nasa, distinct = nasa_counts(run.url)
    result["full"] = {
        "completed": final["completed"],
        "exit_status": final["exit_status"],
        "counts": final["counts"],
        "lessons_after": after,
        "grew_by": after - before,
        "written_through_server_meanwhile": after_local - before_local,
        "grew_by_nasa": (after - before) - (after_local - before_local),
        "nasa_lessons": nasa,
        "distinct_external_ids": distinct,
        **integrity(run.url),
    }
    result["probe"] = {
        "acknowledged": len(probe.acknowledged),
        "present": len(probe_present),
        "lost": sorted(set(probe.acknowledged) - set(probe_present)),
        "present_unacknowledged": sorted(set(probe_present) - set(probe.acknowledged)),
        "samples": probe.samples,
    }

    again = run_import(run, "import-again", args.import_timeout)
    nasa_again, distinct_again = nasa_counts(run.url)
    result["again"] = {
        **again,
        "lessons_after": lesson_count(run.url),
        "nasa_lessons": nasa_again,
        "distinct_external_ids": distinct_again,
    }
    return result, [after_kill_call, *probe.calls]


# --- checks, table, report ------------------------------------------------------------------


def checks(report: dict[str, Any], args: argparse.Namespace) -> list[tuple[str, bool, str]]:
    """(name, passed, detail) for every property the run must hold."""
    load, lessons, logs, crash = (
        report["load"],
        report["lessons"],
        report["server_log"],
        report["crash"],
    )
    requests = report["requests"]
    review = requests.get("review", {})
    five = sum(s["server_errors"] for s in requests.values())
    locked_bodies = sum(s["locked_in_body"] for s in requests.values())
    killed, after_kill = crash["killed"], crash["after_kill"]
    full, again = crash["full"], crash["again"]
    under = crash["import_under_writes"]
    expected = crash["expected_distinct_nasa_ids"]
    rows: list[tuple[str, bool, str]] = [
        (
            "every review sent",
            load["reviews_sent"] == args.reviews,
            f"{load['reviews_sent']} of {args.reviews}",
        ),
        (
            "every review answered 201",
            review.get("by_status", {}).get("201", 0) == args.reviews,
            json.dumps(review.get("by_status", {})),
        ),
        ("BARs ran during the load", requests.get("bar", {}).get("requests", 0) > 0, ""),
        ("no 5xx on any request", five == 0, f"{five} 5xx"),
        ("no 'database is locked' in a response", locked_bodies == 0, str(locked_bodies)),
        ("no 'database is locked' in the server log", logs["locked"] == 0, str(logs["locked"])),
        (
            "201 lessons match what was sent",
            not load["mismatched_reviews"],
            f"{len(load['mismatched_reviews'])} reviews differ",
        ),
        (
            "every posted lesson readable by the API",
            lessons["api_problems"] == 0,
            f"{lessons['api_ok']} of {lessons['posted']}",
        ),
        (
            "rows lost (posted with 201, not in the database) = 0",
            lessons["lost"] == 0,
            str(lessons["lost"]),
        ),
        ("no duplicate lessons", lessons["duplicates"] == 0, str(lessons["duplicates"])),
        (
            "no lesson from a refused (4xx) request",
            lessons["present_from_4xx"] == 0,
            str(lessons["present_from_4xx"]),
        ),
        (
            "import killed while its progress bar ran",
            bool(killed["still_running_when_killed"] and killed["progress_bar_seen"]),
            killed["last_progress"],
        ),
        (
            "integrity_check ok after the kill",
            integrity_ok(after_kill),
            f"{after_kill['integrity_check']}, {after_kill['foreign_key_violations']} FK errors",
        ),
        (
            "nothing of the killed import remains",
            after_kill["lessons"] == crash["lessons_before"] and after_kill["nasa_lessons"] == 0,
            f"lessons {crash['lessons_before']} -> {after_kill['lessons']}, "
            f"{after_kill['nasa_lessons']} NASA rows left",
        ),
        (
            "server writes after the kill",
            crash["server_write_after_kill"]["status"] == "201",
            crash["server_write_after_kill"]["status"],
        ),
        (
            "import completes while the server takes writes",
            under["completed"],
            f"exit {under['exit_status']}; {_first(under['exceptions'])}",
        ),
        (
            "writes during the import: none lost",
            not crash["probe"]["lost"],
            f"{crash['probe']['acknowledged']} acknowledged, {crash['probe']['present']} present",
        ),
        (
            f"import adds {expected} lessons (distinct NASA ids)",
            full["completed"]
            and full["grew_by_nasa"] == expected
            and full["nasa_lessons"] == expected,
            f"grew by {full['grew_by_nasa']} (+{full['written_through_server_meanwhile']} "
            "written through the server meanwhile)",
        ),
        (
            "no duplicate external ids",
            full["nasa_lessons"] == full["distinct_external_ids"]
            and again["nasa_lessons"] == again["distinct_external_ids"],
            f"{again['nasa_lessons']} rows, {again['distinct_external_ids']} distinct",
        ),
        (
            "re-import adds nothing",
            again["completed"]
            and again["lessons_after"] == full["lessons_after"]
            and (again["counts"] or {}).get("added") == 0,
            json.dumps(again["counts"]),
        ),
        (
            "integrity_check ok at the end",
            integrity_ok(report["final"]),
            str(report["final"]["integrity_check"]),
        ),
        (
            "load lessons unchanged at the end",
            report["final"]["marked_lessons"] == lessons["present_db"],
            f"{report['final']['marked_lessons']}",
        ),
    ]
    return rows


def _first(counter: dict[str, int]) -> str:
    return next(iter(counter), "")


def ms(value: float | None) -> str:
    return "" if value is None else f"{value:.0f}"


def print_report(report: dict[str, Any], rows: list[tuple[str, bool, str]]) -> None:
    config = report["config"]
    print(
        f"\nLessonbank reliability, marker {config['marker']}, model {config['model']}, "
        f"{config['clients']} review + {config['bar_clients']} BAR clients over "
        f"{config['servers']} server process(es) on {config['database']}, "
        f"{report['seconds']['total']:.0f} s in all"
    )
    names = {
        "review": "POST /api/reviews",
        "bar": "POST /api/bar",
        "get lesson": "GET /api/lessons/{id}",
        "healthz": "GET /healthz, during the load",
        "review during import": "POST /api/reviews, import running",
        "BAR during import": "POST /api/bar, import running",
    }
    table = []
    for kind, s in report["requests"].items():
        failures = {k: v for k, v in s["by_status"].items() if not k.startswith("2")}
        table.append(
            (
                names.get(kind, kind),
                s["requests"],
                s["failures"],
                ", ".join(f"{k}: {v}" for k, v in failures.items()) or "-",
                ms(s["p50_ms"]),
                ms(s["p95_ms"]),
                ms(s["max_ms"]),
            )
        )
    print(
        render_table(
            ("requests", "n", "failed", "failures by status", "p50 ms", "p95 ms", "max ms"), table
        )
    )
    lessons, crash = report["lessons"], report["crash"]
    killed, after_kill, full, again = (
        crash["killed"],
        crash["after_kill"],
        crash["full"],
        crash["again"],
    )
    under, quiet = crash["import_under_writes"], crash["import_quiet"]
    facts = [
        ("lessons posted (201)", lessons["posted"]),
        ("  present via GET /api/lessons/{id}", lessons["api_ok"]),
        ("  present in the database (by marker)", lessons["present_db"]),
        ("  rows lost (must be 0)", lessons["lost"]),
        ("  duplicates", lessons["duplicates"]),
        ("  present though not acknowledged", lessons["present_unacknowledged"]),
        ("BAR results that were load lessons", report["load"]["bar_hits_marked"]),
        (
            "'database is locked': responses / server log",
            f"{report['locked_bodies']} / {report['server_log']['locked']}",
        ),
        ("tracebacks in the server log", report["server_log"]["tracebacks"]),
        ("import killed at", f"{killed['last_progress'] or '(no progress seen)'}"),
        ("  still running when killed", killed["still_running_when_killed"]),
        (
            "  integrity_check / FK violations",
            f"{after_kill['integrity_check']} / {after_kill['foreign_key_violations']}",
        ),
        (
            "  lessons before / after the kill",
            f"{crash['lessons_before']} / {after_kill['lessons']}",
        ),
        ("  NASA rows left by the killed import", after_kill["nasa_lessons"]),
        ("  server write after the kill", crash["server_write_after_kill"]["status"]),
        (
            "import while the server writes: exit, s",
            f"{under['exit_status']}, {under['seconds']}"
            + ("" if under["completed"] else f", died at {under['last_progress'] or '?'}"),
        ),
        ("  died of", _first(under["exceptions"]) or "-"),
        (
            "  probe writes acknowledged / present",
            f"{crash['probe']['acknowledged']} / {crash['probe']['present']}",
        ),
        (
            "quiet import (run when the first died): exit, s",
            f"{quiet['exit_status']}, {quiet['seconds']}" if quiet else "not needed",
        ),
        (
            "  lessons added in all (distinct NASA ids)",
            f"{full['grew_by_nasa']} ({crash['expected_distinct_nasa_ids']})",
        ),
        (
            "  NASA rows / distinct external ids",
            f"{full['nasa_lessons']} / {full['distinct_external_ids']}",
        ),
        (
            "re-import: added, updated, unchanged",
            ", ".join(
                str((again["counts"] or {}).get(k, "?")) for k in ("added", "updated", "unchanged")
            ),
        ),
        (
            "  lessons after / NASA rows / distinct",
            f"{again['lessons_after']} / "
            f"{again['nasa_lessons']} / {again['distinct_external_ids']}",
        ),
    ]
    print()
    print(render_table(("result", "value"), facts))
    print()
    print(
        render_table(
            ("check", "", "detail"), [(n, "PASS" if ok else "FAIL", d) for n, ok, d in rows]
        )
    )
    if report["server_log"]["exceptions"]:
        print("\nexceptions in the server log:")
        for line, count in report["server_log"]["exceptions"].items():
            print(f"  {count:>5} x {line}")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="all-MiniLM-L6-v2", help="embedding model setting")
    parser.add_argument("--reviews", type=int, default=2000, help="reviews to POST in all")
    parser.add_argument("--clients", type=int, default=16, help="concurrent review clients")
    parser.add_argument("--bar-clients", type=int, default=4, help="concurrent BAR clients")
    parser.add_argument("--max-bars", type=int, default=20_000, help="cap on BARs in the load")
    parser.add_argument("--projects", type=int, default=24, help="shared project names")
    parser.add_argument("--authors", type=int, default=12, help="shared author names")
    parser.add_argument("--timeout", type=float, default=90, help="seconds per request")
    parser.add_argument("--deadline", type=float, default=600, help="seconds for the load")
    parser.add_argument("--kill-after", type=float, default=3, help="seconds into the import")
    parser.add_argument("--import-timeout", type=float, default=900, help="seconds per import")
    parser.add_argument("--probe-interval", type=float, default=1.0, help="seconds between probes")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--report", default="reports/reliability.json")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder and logs")
    parser.add_argument(
        "--servers", type=int, default=1, help="app processes sharing the database (PostgreSQL: 2)"
    )
    parser.add_argument(
        "--database-url",
        default="",
        help="an empty PostgreSQL database to run on (default: a new SQLite file)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    missing = [str(p) for p in NASA_FILES if not p.exists()]
    if missing:
        print(f"missing NASA files: {', '.join(missing)}", file=sys.stderr)
        return 2
    # SIGTERM ends the run through `finally` as Ctrl-C does, so the server is stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.perf_counter()
    marker = "rel" + uuid.uuid4().hex[:10]
    folder = Path(tempfile.mkdtemp(prefix="lessonbank-reliability-"))
    run = Run(folder=folder, model=args.model, database_url=args.database_url)
    seconds: dict[str, float] = {}
    report: dict[str, Any] = {
        "config": {
            "marker": marker,
            "model": args.model,
            "reviews": args.reviews,
            "clients": args.clients,
            "bar_clients": args.bar_clients,
            "timeout_s": args.timeout,
            "kill_after_s": args.kill_after,
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version,
            "database": make_url(run.url).render_as_string(hide_password=True),
            "servers": args.servers,
            "folder": str(folder) if args.keep else None,
        }
    }
    try:
        print(f"folder {folder}; creating the user and token", file=sys.stderr)
        run.cli("users", "add", USER, "--role", "contributor", stdin=PASSWORD + "\n")
        if lesson_count(run.url) != 0:  # the crash test counts what an import leaves
            print(f"{args.database_url} holds lessons; give an empty database", file=sys.stderr)
            return 2
        token = run.cli("tokens", "create", USER).strip().splitlines()[-1]
        with serving(run, args.servers, timeout=600) as (bases, start_s):
            base = bases[0]
            seconds["server_start"] = round(start_s, 1)
            report["config"]["listening"] = bases
            print(f"servers on {', '.join(bases)} after {start_s:.1f} s; load", file=sys.stderr)

            load = Load(bases=bases, token=token, marker=marker, args=args)
            seconds["load"] = round(run_load(load), 1)
            print(f"load done in {seconds['load']} s; verifying", file=sys.stderr)

            t = time.perf_counter()
            get_calls, wrong = verify_api(bases, token, load.acknowledged, args)
            present = marked_titles(run.url, marker)
            seconds["verify"] = round(time.perf_counter() - t, 1)
            present_set = set(present)
            unacknowledged = present_set - set(load.acknowledged)
            report["load"] = {
                "reviews_sent": load.next_review,
                "bars_sent": load.bars,
                "bar_hits_marked": load.bar_hits_marked,
                "mismatched_reviews": load.mismatched[:20],
                "failure_samples": load.samples,
            }
            report["lessons"] = {
                "posted": len(load.acknowledged),
                "api_ok": len(load.acknowledged) - len(wrong),
                "api_problems": len(wrong),
                "api_problem_sample": wrong[:10],
                "present_db": len(present),
                "lost": len(set(load.acknowledged) - present_set),
                "lost_sample": sorted(set(load.acknowledged) - present_set)[:10],
                "duplicates": len(present) - len(present_set),
                "present_unacknowledged": len(unacknowledged),
                "present_unacknowledged_by_status": dict(
                    Counter(load.sent.get(t, "never sent") for t in unacknowledged)
                ),
                "present_from_4xx": sum(
                    1 for t in unacknowledged if load.sent.get(t, "").startswith("4")
                ),
            }

            print("crash test: import, kill -9, check, import twice", file=sys.stderr)
            t = time.perf_counter()
            report["crash"], probe_calls = crash_test(run, base, token, marker, args)
            seconds["crash_test"] = round(time.perf_counter() - t, 1)
            report["final"] = {
                **integrity(run.url),
                "lessons": lesson_count(run.url),
                "marked_lessons": len(marked_titles(run.url, marker)),
            }
        server_log = "".join(run.log(name) for name in server_names(args.servers))
        all_calls = [*load.calls, *get_calls, *probe_calls]
        report["requests"] = summarise(all_calls)
        report["locked_bodies"] = sum(1 for c in all_calls if c.locked)
        exceptions = exception_lines(server_log)
        report["server_log"] = {
            "locked": server_log.lower().count(LOCKED),
            "tracebacks": server_log.count("Traceback (most recent call last):"),
            "exceptions": dict(exceptions.most_common(10)),
            "http_500_lines": len(re.findall(r'" 5\d\d\b', server_log)),
        }
        seconds["total"] = round(time.perf_counter() - started, 1)
        report["seconds"] = seconds
        rows = checks(report, args)
        report["checks"] = [{"check": n, "passed": ok, "detail": d} for n, ok, d in rows]
        report["passed"] = all(ok for _, ok, _ in rows)
        print_report(report, rows)
        path = Path(args.report)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"\nwrote {path}" + (f"; logs kept in {folder}" if args.keep else ""))
        return 0 if report["passed"] else 1
    finally:
        run.stop_all()
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
