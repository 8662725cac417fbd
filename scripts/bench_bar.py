"""Time to first page on a fresh start, and BAR response time on the demo bank.

Starts `lessonbank serve` as a real process on 127.0.0.1 against a new SQLite file (so the
measured start includes migrations, loading the demo bank, loading the model and embedding the
bank), then a second start on the same file (nothing left to embed). It then posts 20 BAR briefs
over HTTP and, in the same run, times the model's own query embedding for the same briefs as the
baseline: the BAR's overhead is reported as a ratio to it, since absolute times on shared
machines are noisy.

    .venv/bin/python scripts/bench_bar.py [--runs 20] [--report reports/bench_bar.json]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

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
    "Digitising the library's local history collection with volunteers.",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(database_url: str) -> dict[str, str]:
    """Keep the generated secret key next to the benchmark's database, not in the checkout."""
    folder = Path(database_url.removeprefix("sqlite:///")).parent
    return {
        **os.environ,
        "LESSONBANK_SECRET_KEY_FILE": str(folder / "secret_key"),
        # One token sends every timed BAR: no per-user rate limit.
        "LESSONBANK_RATE_LIMIT_BAR": "",
    }


def _token(database_url: str) -> str:
    """A contributor and an API token for them, made with the CLI as an operator would."""
    cli = [sys.executable, "-m", "ui.cli.main"]
    env = _env(database_url)
    subprocess.run(
        [*cli, "users", "add", "bench", "--database-url", database_url],
        input="benchmark password\n",
        text=True,
        check=True,
        env=env,
        capture_output=True,
    )
    made = subprocess.run(
        [*cli, "tokens", "create", "bench", "--database-url", database_url],
        text=True,
        check=True,
        env=env,
        capture_output=True,
    )
    return made.stdout.strip().splitlines()[-1]


def _start(database_url: str, port: int) -> tuple[subprocess.Popen[bytes], float]:
    """Start the server; return it and the seconds until the first page answered 200."""
    started = time.perf_counter()
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
            database_url,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=_env(database_url),
    )
    deadline = started + 600
    while time.perf_counter() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 200:
                return server, time.perf_counter() - started
        except httpx.TransportError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("the server did not answer within 10 minutes")


def _stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    server.wait(timeout=60)


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--report", default="reports/bench_bar.json")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'lessonbank.db'}"
        port = _free_port()
        server, cold_start = _start(url, port)
        _stop(server)
        server, warm_start = _start(url, port)
        try:
            base = f"http://127.0.0.1:{port}"
            auth = {"Authorization": f"Bearer {_token(url)}"}
            with httpx.Client(base_url=base, timeout=60, headers=auth) as client:
                client.post("/api/bar", json={"brief": "warm-up"}).raise_for_status()
                bar_ms = []
                for i in range(args.runs):
                    t = time.perf_counter()
                    response = client.post("/api/bar", json={"brief": BRIEFS[i % len(BRIEFS)]})
                    bar_ms.append((time.perf_counter() - t) * 1000)
                    response.raise_for_status()
                lesson_count = client.get("/api/lessons").json()["total"]  # those it may see
        finally:
            _stop(server)

    # Baseline, same run and machine: the model's own embedding of the same briefs.
    from retrieval.embedder import load_embedder

    embedder = load_embedder("all-MiniLM-L6-v2")
    embedder.encode(["warm-up"])
    embed_ms = []
    for i in range(args.runs):
        t = time.perf_counter()
        embedder.encode([BRIEFS[i % len(BRIEFS)]])
        embed_ms.append((time.perf_counter() - t) * 1000)

    bar_median, embed_median = statistics.median(bar_ms), statistics.median(embed_ms)
    report = {
        "lessons": lesson_count,
        "runs": args.runs,
        "first_page_fresh_start_s": round(cold_start, 2),
        "first_page_second_start_s": round(warm_start, 2),
        "bar_http_ms": {"median": round(bar_median, 1), "p95": round(_p95(bar_ms), 1)},
        "query_embedding_ms": {
            "median": round(embed_median, 1),
            "p95": round(_p95(embed_ms), 1),
        },
        "bar_over_embedding_ratio": round(bar_median / embed_median, 2),
    }
    rows = [
        ("first page, fresh start (migrate, demo bank, model, embed)", f"{cold_start:.2f} s"),
        ("first page, second start (vectors stored)", f"{warm_start:.2f} s"),
        (f"POST /api/bar over HTTP, median of {args.runs}", f"{bar_median:.1f} ms"),
        (f"POST /api/bar over HTTP, p95 of {args.runs}", f"{report['bar_http_ms']['p95']} ms"),
        ("baseline: query embedding alone, median", f"{embed_median:.1f} ms"),
        ("BAR median / embedding median", f"{report['bar_over_embedding_ratio']}x"),
    ]
    width = max(len(name) for name, _ in rows)
    print(f"Demo bank: {lesson_count} lessons")
    for name, value in rows:
        print(f"{name:<{width}}  {value:>10}")
    Path(args.report).parent.mkdir(parents=True, exist_ok=True)
    Path(args.report).write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.report}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
