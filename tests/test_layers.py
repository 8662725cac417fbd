"""Dependencies point down: ui -> lessons (the domain) and retrieval; retrieval -> the domain's
records and access rule; inside ui, cli -> app -> api | pages -> security -> shared, no cycles.

The contracts are in pyproject.toml ([tool.importlinter]); import-linter reads every import in
the three packages, including those under TYPE_CHECKING and inside functions.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parent.parent


def test_dependencies_point_down(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # the contracts name the packages from the repository's root
    monkeypatch.syspath_prepend(str(ROOT))
    assert lint_imports(config_filename="pyproject.toml", no_cache=True) == 0, (
        "an import breaks a layer contract: see the report above"
    )
