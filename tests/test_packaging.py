"""The package builds without setuptools' warnings and ships the web app's files (issue 15
item 9: "Package 'ui.static' is absent from the `packages` configuration" on every install)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).parent.parent
SHIPPED = ["ui/templates/base.html", "ui/static/lessonbank.css", "ui/static/favicon.svg"]


def test_wheel_builds_without_warnings_and_ships_templates_and_static(tmp_path: Path) -> None:
    source = tmp_path / "source"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".git",
            ".venv",
            "data/*.db*",
            "__pycache__",
            "*.egg-info",
            "build",
            "dist",
            ".mypy_cache",
            ".ruff_cache",
            ".pytest_cache",
            "evaluation",
            "docs",
        ),
    )
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-v",  # the build backend's own output, where setuptools warns
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-w",
            str(tmp_path / "wheel"),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = built.stdout + built.stderr
    assert built.returncode == 0, output[-3000:]
    assert "absent from the `packages` configuration" not in output, output[-3000:]
    (wheel,) = (tmp_path / "wheel").glob("lessonbank-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert [path for path in SHIPPED if path not in names] == []
