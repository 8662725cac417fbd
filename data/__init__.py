"""The demo lesson bank (package data) and, at run time, the embedded SQLite database."""

from pathlib import Path

DEMO_BANK = Path(__file__).parent / "demo_bank.json"
