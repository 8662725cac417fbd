"""The `lessonbank` command (hashing embedder to stay quick): its commands through main() as a
process would run them (tests/conftest.py run_cli), and `serve` as a real process."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import run_cli
from tests.databases import databases


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(
        *args,
        env={"LESSONBANK_EMBEDDING_MODEL": "hashing", "LESSONBANK_SECRET_KEY": "cli-test-key"},
    )


@pytest.fixture
def demo_db(tmp_path: Path, demo_template: str) -> str:
    """A database with the demo bank, made the way `serve` makes it on first start (a copy of
    the session's demo template, which the app's start-up made)."""
    return databases().copy(demo_template, tmp_path, "demo")


def test_export_then_import_round_trips_and_reimport_does_not_duplicate(
    demo_db: str, tmp_path: Path
) -> None:
    out = tmp_path / "bank.json"
    assert _run("export", str(out), "--database-url", demo_db).returncode == 0
    copy_url = f"sqlite:///{tmp_path / 'copy.db'}"
    first = _run("import", "lessonbank-json", str(out), "--database-url", copy_url)
    assert first.returncode == 0, first.stderr
    assert "Added" in first.stdout
    second = _run("import", "lessonbank-json", str(out), "--database-url", copy_url)
    assert second.returncode == 0
    assert "Added nothing" in second.stdout
    again = _run("export", "--database-url", copy_url)
    original, copied = json.loads(out.read_text()), json.loads(again.stdout)
    for doc in (original, copied):
        doc.pop("exported_at")
    assert copied == original


def test_import_unreadable_file_exits_2_with_a_message(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    result = _run(
        "import", "lessonbank-json", str(bad), "--database-url", f"sqlite:///{tmp_path / 'x.db'}"
    )
    assert result.returncode == 2
    assert "Cannot read" in result.stderr


def test_import_with_bad_records_keeps_good_ones_and_exits_1(tmp_path: Path) -> None:
    doc = tmp_path / "partial.json"
    doc.write_text(
        json.dumps(
            {
                "format": "lessonbank-export",
                "version": 1,
                "lessons": [{"uid": "a", "title": "Kept"}, {"uid": "b"}],
            }
        )
    )
    url = f"sqlite:///{tmp_path / 'x.db'}"
    result = _run("import", "lessonbank-json", str(doc), "--database-url", url)
    assert result.returncode == 1
    assert "skipped lessons[1]" in result.stderr
    exported = json.loads(_run("export", "--database-url", url).stdout)
    assert [le["title"] for le in exported["lessons"]] == ["Kept"]


def test_search_json_lists_ranked_lessons(demo_db: str) -> None:
    result = _run(
        "search",
        "volunteers dropping out of monitoring",
        "--json",
        "--limit",
        "3",
        "--database-url",
        demo_db,
    )
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert len(body["results"]) == 3
    scores = [r["score"] for r in body["results"]]
    assert scores == sorted(scores, reverse=True)
    assert {"lesson_id", "title", "why"} <= set(body["results"][0])


def test_reindex_embeds_nothing_when_vectors_are_current(demo_db: str) -> None:
    result = _run("reindex", "--database-url", demo_db)
    assert result.returncode == 0
    assert "Embedded 0 lessons" in result.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_starts_on_a_fresh_database_with_the_demo_bank(tmp_path: Path) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "LESSONBANK_EMBEDDING_MODEL": "hashing",
        "LESSONBANK_SECRET_KEY_FILE": str(tmp_path / "secret_key"),
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ui.cli.main",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--database-url",
            f"sqlite:///{tmp_path / 'fresh' / 'lessonbank.db'}",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        health = None
        for _ in range(240):  # bounded: up to a minute
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.25)
        assert health is not None and health.status_code == 200
        assert health.json()["status"] == "ok"
        lessons = httpx.get(f"http://127.0.0.1:{port}/api/lessons", timeout=10).json()
        # Not signed in: the partner view, the demo bank's public, validated lessons only.
        assert lessons["total"] >= 10
        assert {le["sensitivity"] for le in lessons["results"]} == {"public"}
        home = httpx.get(f"http://127.0.0.1:{port}/", timeout=10)
        assert home.status_code == 200 and "Lessonbank" in home.text
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_import_csv_with_mapping_reports_bad_rows_and_is_idempotent(tmp_path: Path) -> None:
    sheet = tmp_path / "log.csv"
    sheet.write_text("Ref,Lesson,Story\nA1,Pilot first,Bugs found early\nA2,,Missing title\n")
    url = f"sqlite:///{tmp_path / 'x.db'}"
    args = (
        "import",
        "csv",
        str(sheet),
        "--map",
        "title=Lesson",
        "--map",
        "external_id=Ref",
        "--map",
        "observation=Story",
        "--database-url",
        url,
    )
    first = _run(*args)
    assert first.returncode == 1
    assert "Added 1, updated 0, unchanged 0" in first.stdout
    assert f"skipped {sheet}:3" in first.stderr
    second = _run(*args)
    assert "Added 0, updated 0, unchanged 1" in second.stdout


def test_import_csv_without_title_mapping_exits_2(tmp_path: Path) -> None:
    sheet = tmp_path / "log.csv"
    sheet.write_text("Lesson\nx\n")
    result = _run(
        "import",
        "csv",
        str(sheet),
        "--map",
        "observation=Lesson",
        "--database-url",
        f"sqlite:///{tmp_path / 'x.db'}",
    )
    assert result.returncode == 2
    assert "title" in result.stderr


def test_import_nasa_llis_from_several_files(tmp_path: Path) -> None:
    one = tmp_path / "a.jsonl"
    one.write_text(
        json.dumps(
            {
                "lesson_id": "7",
                "title": "Torque the screws",
                "lesson": "Loose screws caused faults.",
            }
        )
        + "\n"
    )
    two = tmp_path / "b.jsonl"
    two.write_text(
        json.dumps(
            {
                "lesson_number": "7",
                "title": "Torque the screws",
                "recommendation_text": "Specify torque.",
            }
        )
        + "\n"
    )
    url = f"sqlite:///{tmp_path / 'x.db'}"
    result = _run("import", "nasa-llis", str(two), str(one), "--database-url", url)
    assert result.returncode == 0, result.stderr
    assert "Added 1" in result.stdout and "embedded 1" in result.stdout
    exported = json.loads(_run("export", "--database-url", url).stdout)
    (lesson,) = exported["lessons"]
    assert lesson["external_id"] == "7" and lesson["recommendation"] == "Specify torque."
    assert lesson["insight"] == "Loose screws caused faults."
