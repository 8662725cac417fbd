"""scripts/bench_import.py runs: its probe times every phase of the real import command (with
the hashing embedder here: the model's speed is the script's business, not this test's)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench_import.py"
spec = importlib.util.spec_from_file_location("bench_import", SCRIPT)
assert spec and spec.loader
bench_import = importlib.util.module_from_spec(spec)
sys.modules["bench_import"] = bench_import
spec.loader.exec_module(bench_import)


@pytest.mark.skipif(
    not all(p.exists() for p in bench_import.SOURCES), reason="../shared/datasets is not here"
)
def test_the_import_probe_times_every_phase(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LESSONBANK_EMBEDDING_MODEL", "hashing")
    result = bench_import.run_import(tmp_path / "import.db")
    phases = result["phases_s"]
    for name in ("read_files", "migrate", "load_model", "write_lessons", "embed", "command"):
        assert phases[name] >= 0, name  # each phase was timed (the hashing "model" loads in 0)
    assert phases["embed"] > 0 and phases["write_lessons"] > 0
    assert result["summary"].startswith("Added 1976, updated 0, unchanged 0 lessons")
    assert len(bench_import.lesson_texts(tmp_path / "import.db")) == 1976
