"""How the near-duplicate rule behaves on the real NASA lessons: the pairs it flags at several
thresholds, and the precision of samples of pairs read by hand.

Both NASA files are imported as `lessonbank import nasa-llis` does (the same command, run
in-process, real model) into a temporary SQLite database. Every pair of lessons is scored by
the bank-wide pair list the curators' page uses (`retrieval.duplicates`): the cosine of the
stored lesson vectors, then the advice check (the cosine of what each lesson recommends) and
the minimum of text.

Three seeded samples are printed with their text for a person to read:
- `rule`: pairs the app offers (lesson cosine >= THRESHOLD and advice >= ADVICE_THRESHOLD);
- `vectors_only`: pairs at lesson cosine >= 0.85 with no advice check (the first rule tried);
- `advice_removed`: pairs above THRESHOLD that the advice check leaves out (what it costs).
The verdicts of the last reading are in `JUDGED` below (every pair offered at the default
thresholds has one, so the precision there is a census, not an estimate), and the report gives
the precision they add up to. Verdicts:
- same: the same lesson (the same finding and advice: one lesson filed twice, or the same
  advice drawn from the same kind of event): merging them loses nothing;
- related: the same event, subject or programme, but a different lesson (different advice):
  keep both;
- different: not about the same thing (e.g. two "See Lesson N" pointers).

    .venv/bin/python scripts/check_duplicates.py [--datasets DIR] [--database PATH]
        [--sample 30] [--report reports/check_duplicates.json] [--bench-rows 100000]

`--database PATH` builds the database there on the first run and reuses it after (keep it
outside the repository). `--bench-rows N` also times the all-pairs pass and an incremental
update over N random vectors (the cost does not depend on what the vectors hold).
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import tempfile
import textwrap
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a file: make the project's packages importable
    sys.path.insert(0, str(REPO))

MODEL = "all-MiniLM-L6-v2"
FILES = ("nasa-llis/llis.jsonl", "nasa-llis-sections/llis_sections.jsonl")
THRESHOLDS = (0.75, 0.80, 0.85, 0.90, 0.95)
VECTORS_ONLY_AT = 0.85
SEED = 4

# Verdicts from reading the printed samples: NASA lesson ids (lower first) -> (verdict, why).
# Filled in by hand; see the module docstring for what each verdict means.
JUDGED: dict[tuple[str, str], tuple[str, str]] = {
    # vectors_only sample (lesson cosine >= 0.85, no advice check)
    ("1051", "1076"): ("same", "the same lesson filed twice, word for word"),
    ("1055", "1072"): ("same", "the same lesson filed twice, word for word"),
    ("1053", "1074"): ("same", "the same lesson filed twice, word for word"),
    ("1557", "1561"): ("same", "the same report filed twice (punctuation differs)"),
    ("1560", "1561"): ("same", "the same report filed twice (punctuation differs)"),
    ("1557", "1564"): ("same", "the same report filed twice (punctuation differs)"),
    ("1553", "1573"): ("same", "the same text on sub-project authority, filed twice"),
    ("5437", "5456"): (
        "same",
        "the Building 1100 fire, same root causes and advice, 2011 and 2019",
    ),
    ("232", "233"): ("same", "the collapsed exhaust gas cooler: inspect ageing vacuum lines"),
    ("267", "1089"): ("same", "TOPEX lift fixture: the lesson and the board report saying it"),
    ("1008", "1077"): ("same", "both ask to fire the RSRM flight support motor more often"),
    ("876", "877"): ("related", "one frostbite event: test conditions vs hazard recognition"),
    ("1157", "1158"): ("related", "SOFIA roles: clear safety chain vs involve aviation staff"),
    ("290", "292"): (
        "related",
        "one overheated computer: certify installers vs monitor temperature",
    ),
    ("871", "872"): (
        "related",
        "one nitrogen asphyxiation: hazard analysis vs transfer monitoring",
    ),
    ("745", "872"): (
        "related",
        "one nitrogen asphyxiation: open-area oxygen vs transfer monitoring",
    ),
    ("6477", "6496"): ("related", "earned value management: change management vs tool integration"),
    ("1375", "1379"): ("related", "one electrocution: contractor safety vs securing the scene"),
    ("1374", "1378"): ("related", "one electrocution: accurate drawings vs lockout/tagout checks"),
    ("644", "694"): ("related", "Ni-Cd vs Super Ni-Cd battery storage: different procedures"),
    ("3", "450"): ("related", "one flooded control room: work procedures vs emergency training"),
    ("1350", "1353"): ("related", "ADEOS-II data gaps: analyst skills vs an operations concept"),
    ("1350", "1357"): ("related", "ADEOS-II data gaps: analyst skills vs keeping skills"),
    ("1349", "1354"): ("related", "ADEOS-II data gaps: test data vs a test bed"),
    ("1149", "1150"): ("related", "computer security: less reliance on people vs an NSA analysis"),
    ("1080", "1081"): ("different", "two 'See Lesson N' pointers to different lessons"),
    ("1081", "1083"): ("different", "two 'See Lesson N' pointers to different lessons"),
    ("1081", "1082"): ("different", "two 'See Lesson N' pointers to different lessons"),
    ("1080", "1082"): ("different", "two 'See Lesson N' pointers to different lessons"),
    ("1082", "1083"): ("different", "two 'See Lesson N' pointers to different lessons"),
    # rule sample (lesson cosine >= 0.85 then advice >= 0.65; first read at 0.80)
    ("1049", "1078"): ("same", "the same SLWT abort-power finding, filed twice"),
    ("1049", "1079"): ("same", "the same SLWT abort-power finding, filed twice"),
    ("1057", "1071"): ("same", "the same crew radiation finding, filed twice"),
    ("1052", "1075"): ("same", "the same logistics workforce finding, filed twice"),
    ("1558", "1559"): ("same", "the same indirect-cost lesson, filed twice"),
    ("1558", "1563"): ("same", "the same indirect-cost lesson, filed twice"),
    ("1516", "1523"): ("same", "the same NGLT formulation lesson, filed twice"),
    ("1550", "1571"): ("same", "the same planning-documents lesson, filed twice"),
    ("1557", "1560"): ("same", "the same report filed twice (punctuation differs)"),
    ("1561", "1564"): ("same", "the same report filed twice (punctuation differs)"),
    ("1551", "1570"): ("same", "the same staffing-mix lesson, filed twice"),
    ("639", "1687"): ("same", "DS1 ion engine shutdown: the lesson and its copy in a test series"),
    ("1017", "1063"): ("same", "ISS caution and warning systems engineering, 1997 and 1998"),
    ("1115", "1147"): ("same", "EVA research funding too low, 1999 and 2000"),
    ("1008", "1050"): ("same", "both ask to fire the RSRM flight support motor more often"),
    ("1146", "1341"): ("same", "have a formal risk management plan, from KSC and from ARC"),
    ("1392", "1393"): ("related", "one steam line rupture: steam design vs planning for failure"),
    ("1374", "1375"): ("related", "one electrocution: accurate drawings vs contractor safety"),
    ("1020", "1108"): ("related", "X-38: a good approach (1997) vs an ambitious plan (1999)"),
    ("5236", "5296"): ("related", "Ares-1 mockups: human factors early vs physical mockups"),
    ("590", "593"): ("related", "Mars Pathfinder software: process vs architecture"),
    ("773", "788"): ("related", "ESD: design practices vs surface charging analysis"),
    ("946", "947"): (
        "related",
        "one joint, two design fixes: pressurising slot vs interference fit",
    ),
    ("685", "732"): ("related", "ESD control: ground equipment vs flight hardware"),
    ("1559", "1563"): ("same", "the same indirect-cost lesson, filed twice"),
    ("1050", "1077"): ("same", "the same FSM test-interval lesson, filed twice"),
    ("1556", "1562"): ("same", "the same earned value lesson, filed twice"),
    ("1562", "1565"): ("same", "the same earned value lesson, filed twice"),
    ("1506", "1522"): ("same", "the same OSP standards lesson, filed twice"),
    ("1552", "1569"): ("same", "the same project reserves lesson, filed twice"),
    ("746", "860"): ("same", "mod and rehab projects: add a move coordinator, 1999 and 2000"),
    ("1284", "1424"): ("same", "market project results to management: same insight and advice"),
    ("1011", "1052"): ("same", "shuttle logistics transition going to plan, 1997 and 1998"),
    ("1011", "1075"): ("same", "shuttle logistics transition going to plan, 1997 and 1998"),
    ("1391", "1393"): (
        "related",
        "one steam line rupture: corrosion checks vs planning for failure",
    ),
    ("1850", "1851"): ("related", "CLCS: the final briefing vs its project start-up lesson"),
    ("1567", "1574"): ("same", "the same milestone-creep lesson, filed twice"),
    ("1555", "1566"): ("same", "the same external relations lesson, filed twice"),
    ("1560", "1564"): ("same", "the same report filed twice (punctuation differs)"),
    ("634", "637"): ("same", "WIRE cover ejection: the lesson and the board report, pyro inhibits"),
    ("6497", "6498"): ("related", "earned value: training strategy vs set it up at project start"),
    ("1375", "1378"): ("related", "one electrocution: contractor safety vs random inspections"),
    ("718", "720"): ("related", "star image metrology part I (visual) vs part II (irradiance)"),
    ("1602", "1607"): ("related", "one actuator redesign: spares vs unloaded output drivers"),
    ("1144", "1147"): ("related", "EVA: supportability initiatives vs research funding"),
    ("1603", "1609"): ("related", "one actuator redesign: logic latch-up vs high-current layout"),
    # the rest of the pairs offered at 0.85 (so the precision there is a census)
    ("1078", "1079"): ("same", "the same SLWT abort-power finding, filed twice"),
    ("4976", "5396"): ("same", "the ruptured COPV: mishap and close-call reports, same lesson"),
    ("1556", "1565"): ("same", "the same earned value lesson, filed twice"),
    ("1391", "1392"): ("related", "one steam line rupture: corrosion checks vs steam design"),
    ("618", "1181"): ("same", "the ruptured paint drum: incompatible paint wastes, no overpacking"),
    ("1568", "1573"): ("same", "the same sub-project authority lesson, filed twice"),
    ("1569", "1572"): ("same", "the same project reserves lesson, filed twice"),
    ("1552", "1572"): ("same", "the same project reserves lesson, filed twice"),
    ("6016", "6236"): ("related", "Constellation lessons: volume I vs volume II (other content)"),
    ("113", "149"): ("same", "SSME vertical installer: worn air piston, maintain and inspect it"),
    ("1607", "1609"): ("related", "one actuator redesign: unloaded drivers vs high-current layout"),
    # advice_removed sample (lesson cosine >= 0.85 but advice < 0.65)
    ("1976", "2016"): ("related", "NAOMS survey: a research data center vs records management"),
    ("290", "291"): ("related", "one overheated computer: certified installers vs dust covers"),
    ("1263", "1265"): ("related", "one wind tunnel model loss: sting deflection vs a hard stop"),
    ("6476", "6497"): ("related", "earned value: work authorisation vs training"),
    ("874", "875"): ("related", "one overheated mainframe: inspection of maintenance vs sensors"),
    ("1261", "1266"): ("related", "one wind tunnel model loss: worst cases vs stopping tests"),
    ("1352", "1355"): ("related", "ADEOS-II data gaps: data accounting vs configuration audits"),
    ("1553", "1568"): ("same", "sub-project authority; one copy adds a recommendation"),
    ("1261", "1265"): ("related", "one wind tunnel model loss: worst cases vs a hard stop"),
    ("745", "871"): ("related", "one nitrogen asphyxiation: open-area oxygen vs procedures"),
    ("1378", "1379"): ("related", "one electrocution: lockout/tagout vs securing the scene"),
    ("742", "875"): ("related", "one overheated mainframe: checks after power-up vs sensors"),
    ("1265", "1266"): ("related", "one wind tunnel model loss: a hard stop vs stopping tests"),
    ("1264", "1266"): ("related", "one wind tunnel model loss: mount loads vs stopping tests"),
    ("1352", "1356"): ("related", "ADEOS-II data gaps: data accounting vs launch-delay costs"),
}


@dataclass(frozen=True)
class Scored:
    first: Any  # Lesson
    second: Any
    score: float
    advice: float
    substantive: bool

    @property
    def ids(self) -> list[str]:
        return sorted([self.first.external_id, self.second.external_id], key=int)

    def offered(self, threshold: float, advice: float) -> bool:
        return self.substantive and self.score >= threshold and self.advice >= advice


def build_database(url: str, datasets: Path) -> dict[str, Any]:
    """`lessonbank import nasa-llis` both files into `url` (imports and embeds)."""
    from ui.cli.main import main as lessonbank

    started = time.perf_counter()
    status = lessonbank(
        ["import", "nasa-llis", *(str(datasets / f) for f in FILES), "--database-url", url]
    )
    return {"import_status": status, "import_and_embed_s": round(time.perf_counter() - started, 1)}


def score_pairs(session: Any, retriever: Any) -> tuple[list[Scored], float]:
    """Every pair at or above the lowest threshold, with its advice cosine."""
    from lessons.accounts.access import CURATOR
    from lessons.storage.models import Lesson
    from retrieval import duplicates
    from retrieval.duplicate_pairs import PairCache

    cache = duplicates.DuplicateCache(pairs=PairCache(min(THRESHOLDS)))
    started = time.perf_counter()
    cache.pairs.update(session, retriever)
    elapsed = time.perf_counter() - started
    a, b, s = cache.pairs.pairs(duplicates.candidate_ids(session, viewer=CURATOR), min(THRESHOLDS))
    lessons = {i: session.get(Lesson, i) for i in set(a.tolist()) | set(b.tolist())}
    triples = [
        (lessons[x], lessons[y], score)
        for x, y, score in zip(a.tolist(), b.tolist(), s.tolist(), strict=True)
    ]
    advice = duplicates.advice_scores(retriever, cache, triples)
    scored = [
        Scored(
            x,
            y,
            round(score, 4),
            advice_score,
            duplicates.substantive(x) and duplicates.substantive(y),
        )
        for (x, y, score), advice_score in zip(triples, advice, strict=True)
    ]
    return scored, elapsed


def components(pairs: list[tuple[int, int]]) -> list[set[int]]:
    """Groups of lessons joined by pairs (what a curator would merge into one lesson each)."""
    parent: dict[int, int] = {}

    def root(x: int) -> int:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        parent[root(a)] = root(b)
    groups: dict[int, set[int]] = {}
    for x in parent:
        groups.setdefault(root(x), set()).add(x)
    return list(groups.values())


def counts(scored: list[Scored], advice: float) -> list[dict[str, Any]]:
    rows = []
    for threshold in THRESHOLDS:
        close = [p for p in scored if p.score >= threshold]
        offered = [p for p in close if p.offered(threshold, advice)]
        ids = [(p.first.id, p.second.id) for p in offered]
        groups = components(ids)
        rows.append(
            {
                "threshold": threshold,
                "pairs_by_vectors": len(close),
                "pairs_offered": len(offered),
                "lessons_offered": len({x for p in ids for x in p}),
                "groups": len(groups),
                "largest_group": max((len(g) for g in groups), default=0),
            }
        )
    return rows


def lesson_view(lesson: Any) -> dict[str, Any]:
    return {
        "external_id": lesson.external_id,
        "title": lesson.title,
        "date": lesson.lesson_date.isoformat() if lesson.lesson_date else None,
        "unit": lesson.unit,
        "observation": lesson.observation,
        "recommendation": lesson.recommendation,
    }


def sample(pairs: list[Scored], n: int) -> list[dict[str, Any]]:
    """`n` pairs drawn at random (seeded), highest score first, with any verdict."""
    chosen = sorted(random.Random(SEED).sample(pairs, min(n, len(pairs))), key=lambda p: -p.score)
    out = []
    for pair in chosen:
        verdict = JUDGED.get((pair.ids[0], pair.ids[1]))
        out.append(
            {
                "score": pair.score,
                "advice": pair.advice,
                "ids": pair.ids,
                "verdict": verdict[0] if verdict else None,
                "why": verdict[1] if verdict else None,
                "lessons": [lesson_view(pair.first), lesson_view(pair.second)],
            }
        )
    return out


def precision(drawn: list[dict[str, Any]]) -> dict[str, Any]:
    judged = [p for p in drawn if p["verdict"]]
    tally = {
        v: sum(1 for p in judged if p["verdict"] == v) for v in ("same", "related", "different")
    }
    return {
        "judged": len(judged),
        "of": len(drawn),
        **tally,
        "precision": round(tally["same"] / len(judged), 3) if judged else None,
    }


def show(drawn: list[dict[str, Any]], heading: str) -> None:
    print(f"\n=== {heading} ===")
    for n, pair in enumerate(drawn, 1):
        verdict = f"  [{pair['verdict']}: {pair['why']}]" if pair["verdict"] else ""
        ids = " / ".join(pair["ids"])
        print(f"\n#{n} lesson {pair['score']:.4f} advice {pair['advice']:.4f}  {ids}{verdict}")
        for lesson in pair["lessons"]:
            where = f"{lesson['date']}, {lesson['unit']}"
            print(f"  - {lesson['external_id']} ({where}): {lesson['title']}")
            for part in ("observation", "recommendation"):
                text = " ".join((lesson[part] or "").split())[:500]
                if text:
                    print(textwrap.indent(textwrap.fill(f"{part}: {text}", 100), "      "))


def bench(rows: int) -> dict[str, Any]:
    """Time the all-pairs pass and a 10-lesson incremental update over `rows` vectors."""
    from retrieval.duplicate_pairs import pairs_above
    from retrieval.duplicates import FLOOR

    generator = np.random.default_rng(0)
    vectors = generator.standard_normal((rows, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    started = time.perf_counter()
    pairs_above(vectors, FLOOR)
    full = time.perf_counter() - started
    started = time.perf_counter()
    pairs_above(vectors[:10], FLOOR, others=vectors)
    incremental = time.perf_counter() - started
    return {"rows": rows, "all_pairs_s": round(full, 2), "ten_changed_s": round(incremental, 3)}


def arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=Path, default=REPO.parent / "shared" / "datasets")
    parser.add_argument("--database", type=Path, help="SQLite file to build once and reuse")
    parser.add_argument("--sample", type=int, default=30)
    parser.add_argument("--report", type=Path, default=REPO / "reports" / "check_duplicates.json")
    parser.add_argument("--bench-rows", type=int, default=0)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = arguments(argv)
    for relative in FILES:
        if not (args.datasets / relative).is_file():
            print(f"{args.datasets / relative} not found (see --datasets)", file=sys.stderr)
            return 2
    from sqlmodel import Session, func, select

    from lessons.storage.db import make_engine, migrate
    from lessons.storage.models import Lesson
    from retrieval.duplicates import ADVICE_THRESHOLD, THRESHOLD
    from retrieval.embedder import load_embedder
    from retrieval.service import Retriever

    wall = time.perf_counter()
    scratch = None
    if args.database is None:
        scratch = tempfile.TemporaryDirectory(prefix="lessonbank-duplicates-")
        database = Path(scratch.name) / "nasa.db"
    else:
        database = args.database.resolve()
    url = f"sqlite:///{database}"
    reused = database.exists()
    try:
        build = {} if reused else build_database(url, args.datasets)
        engine = make_engine(url)
        migrate(engine)
        retriever = Retriever(load_embedder(MODEL))
        with Session(engine) as session:
            lessons = int(session.exec(select(func.count()).select_from(Lesson)).one())
            scored, scored_s = score_pairs(session, retriever)
            offered = [p for p in scored if p.offered(THRESHOLD, ADVICE_THRESHOLD)]
            vectors_only = [p for p in scored if p.score >= VECTORS_ONLY_AT]
            removed = [
                p
                for p in scored
                if p.substantive and p.score >= THRESHOLD and p.advice < ADVICE_THRESHOLD
            ]
            # Every pair offered, with any verdict: when all are judged, a census.
            census = sample(offered, len(offered))
            samples = {
                "rule": sample(offered, args.sample),
                "vectors_only": sample(vectors_only, args.sample),
                "advice_removed": sample(removed, 10),
            }
        engine.dispose()
    finally:
        if scratch is not None:
            scratch.cleanup()
    headings = {
        "census": f"every pair offered ({len(census)})",
        "rule": f"offered: lesson >= {THRESHOLD}, advice >= {ADVICE_THRESHOLD}",
        "vectors_only": f"vectors only: lesson >= {VECTORS_ONLY_AT}",
        "advice_removed": f"lesson >= {THRESHOLD} but advice < {ADVICE_THRESHOLD} (left out)",
    }
    for key, drawn in samples.items():
        show(drawn, f"{len(drawn)} pairs, {headings[key]}")
    table = counts(scored, ADVICE_THRESHOLD)
    print(f"\nNASA LLIS: {lessons} lessons; all pairs scored in {scored_s:.1f} s")
    print(f"{'threshold':>9} {'by vectors':>11} {'offered':>8} {'lessons':>8} {'groups':>7}")
    for row in table:
        print(
            f"{row['threshold']:>9.2f} {row['pairs_by_vectors']:>11} {row['pairs_offered']:>8} "
            f"{row['lessons_offered']:>8} {row['groups']:>7}"
        )
    judged = {key: precision(drawn) for key, drawn in samples.items()}
    judged["census"] = precision(census)
    for key, result in judged.items():
        print(f"{headings[key]}: {result}")
    timing = bench(args.bench_rows) if args.bench_rows else None
    if timing:
        print(f"bench: {timing}")
    document = {
        "script": "scripts/check_duplicates.py",
        "model": MODEL,
        "platform": platform.platform(),
        "database": "temporary" if scratch is not None else str(database),
        "database_reused": reused,
        "build": build,
        "lessons": lessons,
        "threshold": THRESHOLD,
        "advice_threshold": ADVICE_THRESHOLD,
        "all_pairs_s": round(scored_s, 2),
        "by_threshold": table,
        "precision": judged,
        "samples": samples,
        "census": [
            {
                **{k: pair[k] for k in ("score", "advice", "ids", "verdict", "why")},
                "titles": [lesson["title"] for lesson in pair["lessons"]],
            }
            for pair in census
        ],
        "bench": timing,
        "total_s": round(time.perf_counter() - wall, 1),
    }
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(document, indent=2) + "\n")
    print(f"wrote {args.report}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
