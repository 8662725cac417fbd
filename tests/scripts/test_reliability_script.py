"""The reliability script's pure helpers, on hand-worked cases (no server, no model)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from lessons.schemas import Limits, ReviewIn, parse
from lessons.storage.settings import Settings

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "reliability.py"


def _load() -> ModuleType:
    # scripts/ is not a package: load the file by path (registered first, for its dataclasses).
    spec = importlib.util.spec_from_file_location("reliability", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


rel = _load()


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([], 0.5, None),
        ([7.0], 0.95, 7.0),
        ([1.0, 2.0, 3.0, 4.0], 0.5, 2.5),
        ([4.0, 1.0, 3.0, 2.0], 0.0, 1.0),
        ([4.0, 1.0, 3.0, 2.0], 1.0, 4.0),
        ([float(i) for i in range(1, 21)], 0.95, 19.05),
    ],
)
def test_percentile_interpolates_between_ranks(
    values: list[float], q: float, expected: float | None
) -> None:
    result = rel.percentile(values, q)
    assert result == pytest.approx(expected) if expected is not None else result is None


def test_summarise_counts_statuses_failures_and_locked_bodies() -> None:
    calls = [
        rel.Call("review", 201, 10.0),
        rel.Call("review", 201, 30.0),
        rel.Call("review", 500, 50.0, locked=True),
        rel.Call("review", 0, 90.0, error="ReadTimeout"),
        rel.Call("bar", 201, 5.0),
    ]
    summary = rel.summarise(calls)
    review = summary["review"]
    assert review["requests"] == 4
    assert review["by_status"] == {"201": 2, "500": 1, "ReadTimeout": 1}
    assert (review["failures"], review["server_errors"], review["no_response"]) == (2, 1, 1)
    assert review["locked_in_body"] == 1
    assert review["p50_ms"] == 40.0
    assert review["max_ms"] == 90.0
    assert summary["bar"]["failures"] == 0


def test_review_body_is_valid_and_marked() -> None:
    limits = Limits.from_settings(Settings(load_demo=False))
    for number in range(1, 40):
        body = rel.review_body("relabc", number, projects=3, authors=2, seed=1)
        assert 1 <= len(body["lessons"]) <= 3
        for lesson_no, lesson in enumerate(body["lessons"], start=1):
            assert lesson["title"].startswith(f"relabc r{number:05d} l{lesson_no} ")
        parse(ReviewIn, body, limits)  # raises ValidationFailed if the API would refuse it


def test_review_body_is_the_same_for_the_same_inputs() -> None:
    first = rel.review_body("m", 5, projects=4, authors=4, seed=9)
    assert first == rel.review_body("m", 5, projects=4, authors=4, seed=9)
    assert first != rel.review_body("m", 6, projects=4, authors=4, seed=9)


def test_titles_of_different_reviews_never_collide() -> None:
    titles = [
        lesson["title"]
        for number in range(1, 300)
        for lesson in rel.review_body("m", number, projects=2, authors=2, seed=3)["lessons"]
    ]
    assert len(titles) == len(set(titles))


def test_exception_lines_takes_the_closing_line_of_each_traceback() -> None:
    log = "\n".join(
        [
            "INFO: started",
            "Traceback (most recent call last):",
            '  File "x.py", line 1, in f',
            "    g()",
            "sqlite3.IntegrityError: UNIQUE constraint failed: project.name",
            "",
            "The above exception was the direct cause of the following exception:",
            "",
            "Traceback (most recent call last):",
            '  File "y.py", line 2, in h',
            "sqlalchemy.exc.IntegrityError: (sqlite3.IntegrityError) UNIQUE constraint failed",
            "[SQL: INSERT INTO project ...]",
            "Traceback (most recent call last):",
            '  File "x.py", line 1, in f',
            "sqlite3.IntegrityError: UNIQUE constraint failed: project.name",
        ]
    )
    found = rel.exception_lines(log)
    assert found == {
        "sqlite3.IntegrityError: UNIQUE constraint failed: project.name": 2,
        "sqlalchemy.exc.IntegrityError: (sqlite3.IntegrityError) UNIQUE constraint failed": 1,
    }


@pytest.mark.parametrize(
    ("stdout", "expected"),
    [
        (
            "Added 1976, updated 0, unchanged 0 lessons; embedded 1976.\n",
            {"added": 1976, "updated": 0, "unchanged": 0, "embedded": 1976},
        ),
        ("", None),
        ("Traceback ...", None),
    ],
)
def test_import_counts_reads_the_closing_summary(
    stdout: str, expected: dict[str, int] | None
) -> None:
    assert rel.import_counts(stdout) == expected


def test_last_progress_is_the_newest_bar_state() -> None:
    stderr = (
        "loading\rImporting:   0%|          | 0/1976 [00:00<?, ?lesson/s]"
        "\rImporting:   5%|▌         | 99/1976 [00:01<00:13, 135.21lesson/s]\nskipped x\n"
    )
    assert rel.last_progress(stderr).startswith("Importing:   5%")
    assert rel.last_progress("no bar here\n") == ""


def test_nasa_ids_are_distinct_numeric_ids_across_files(tmp_path: Path) -> None:
    first = tmp_path / "a.jsonl"
    second = tmp_path / "b.jsonl"
    first.write_text(
        "\n".join(
            [
                json.dumps({"lesson_id": 1, "title": "a"}),
                json.dumps({"lesson_id": "2"}),
                "not json",
                json.dumps({"lesson_id": "x9"}),
                "",
            ]
        ),
        encoding="utf-8",
    )
    second.write_text(
        json.dumps({"lesson_number": "2"}) + "\n" + json.dumps({"lesson_number": 3}) + "\n",
        encoding="utf-8",
    )
    assert rel.nasa_ids([first, second]) == {"1", "2", "3"}


def test_render_table_aligns_numbers_right_and_text_left() -> None:
    text = rel.render_table(("what", "n", "note"), [("reviews", 2000, "ok"), ("bars", 7, "")])
    lines = text.splitlines()
    assert lines[0].split() == ["what", "n", "note"]
    assert set(lines[1].replace(" ", "")) == {"-"}
    assert lines[2] == "reviews  2000  ok"
    assert lines[3] == "bars        7"


def test_outcome_names_the_error_when_there_was_no_response() -> None:
    assert rel.outcome(rel.Call("bar", 0, 1.0, error="ConnectError")) == "ConnectError"
    assert rel.outcome(rel.Call("bar", 422, 1.0)) == "422"
