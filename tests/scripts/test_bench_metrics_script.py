"""scripts/bench_metrics.py runs: it gives a copy of a bank history, times two versions of the
metrics on it and finds their outputs identical (here HEAD's against the working tree's)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

from sqlalchemy import Engine, text
from sqlmodel import Session

from lessons.storage.db import transaction
from lessons.storage.settings import Settings
from tests.lessons.metrics.test_metrics import seed_known_bank

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench_metrics.py"
spec = importlib.util.spec_from_file_location("bench_metrics", SCRIPT)
assert spec and spec.loader
bench_metrics = importlib.util.module_from_spec(spec)
sys.modules["bench_metrics"] = bench_metrics
spec.loader.exec_module(bench_metrics)


def test_the_bench_adds_history_to_a_copy_and_compares_outputs(
    tmp_path: Path, settings: Settings, engine: Engine, session: Session
) -> None:
    seed_known_bank(session)
    session.commit()
    with transaction(engine, write=True) as writing:
        writing.exec(text("DELETE FROM lesson_event"))  # type: ignore[call-overload]
    source = Path(settings.database_url.removeprefix("sqlite:///"))
    copy, report = tmp_path / "copy.db", tmp_path / "report.json"
    args = ["--source", str(source), "--db", str(copy), "--runs", "1", "--ref", "HEAD"]
    assert bench_metrics.main([*args, "--report", str(report)]) == 0
    written = json.loads(report.read_text())
    assert written["rows"]["lesson_event"] > 0 and written["rows"]["bar_item"] > 0
    assert all(row["identical"] for row in written["results"].values())
    with Session(engine) as untouched:
        assert untouched.exec(text("SELECT count(*) FROM lesson_event")).one()[0] == 0  # type: ignore[call-overload]
