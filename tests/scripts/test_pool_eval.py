"""The pooling script: fair trimming of lesson text, and a run over the demo bank with the fake
embedder that must write one blind sheet per brief, the pools and READY."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


pool = _load("pool_eval")


def test_fair_trim_keeps_short_parts_whole_and_shares_the_rest() -> None:
    parts = [("A", "x" * 50), ("B", "word " * 100), ("C", "y" * 10)]
    trimmed = dict(pool.fair_trim(parts, 200))
    assert trimmed["A"] == "x" * 50 and trimmed["C"] == "y" * 10
    assert trimmed["B"].endswith(" …") and len(trimmed["B"]) <= 200 - 60 + 2
    assert dict(pool.fair_trim(parts, 10_000)) == dict(parts)


def test_pooling_the_demo_bank_writes_blind_shuffled_sheets_covering_every_pooled_lesson(
    tmp_path: Path,
) -> None:
    briefs = tmp_path / "briefs.jsonl"
    briefs.write_text(
        "".join(
            json.dumps({"id": i, "bank": "demo", "subset": "plain", "half": "tune", "brief": t})
            + "\n"
            for i, t in (("d01", "flood warnings in other languages"), ("d02", "bin routes"))
        ),
        encoding="utf-8",
    )
    out, pools = tmp_path / "sheets", tmp_path / "pools.json"
    argv = ["--briefs", str(briefs), "--cache", str(tmp_path), "--out", str(out)]
    assert pool.main([*argv, "--pools", str(pools), "--model", "hashing", "--depth", "5"]) == 0

    pooled = json.loads(pools.read_text(encoding="utf-8"))
    assert set(pooled) == {"d01", "d02"}
    assert set(pooled["d01"]) == set(pool.SYSTEMS)
    assert all(0 < len(ranking) <= 5 for ranking in pooled["d01"].values())
    assert (out / "READY").exists()
    text = (out / "d01.md").read_text(encoding="utf-8")
    keys = re.findall(r"^key: `(.+)`$", text, flags=re.MULTILINE)
    union = {key for ranking in pooled["d01"].values() for key in ranking}
    assert sorted(keys) == sorted(union)  # every pooled lesson once
    assert keys == pool.pooled(pooled["d01"], "d01")  # the seeded shuffle, not any ranking
    assert not any(system in text for system in ("bm25", "rrf60", "shipped", "passages"))
    assert "flood warnings in other languages" in text
