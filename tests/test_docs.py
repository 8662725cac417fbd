"""The README documents every setting and every command (a new one fails until it is)."""

from __future__ import annotations

from pathlib import Path

from lessons.storage.settings import Settings
from ui.cli.main import parser

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


def test_readme_documents_every_setting() -> None:
    missing = [name for name in Settings.model_fields if f"LESSONBANK_{name.upper()}" not in README]
    assert missing == []


def test_every_setting_has_a_description() -> None:
    assert [n for n, f in Settings.model_fields.items() if not f.description] == []


def test_readme_documents_every_command() -> None:
    subparsers = next(a for a in parser()._actions if a.dest == "command")
    commands = list(subparsers.choices)  # type: ignore[union-attr]
    assert {"serve", "search", "reindex", "export", "import"} <= set(commands)
    assert [c for c in commands if f"lessonbank {c}" not in README] == []


def test_readme_first_screen_has_the_two_commands() -> None:
    first_screen = "\n".join(README.splitlines()[:30])
    assert "make run" in first_screen
    assert "make test" in first_screen
    ci = (Path(__file__).parent.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in ci
