"""What every subcommand shares: the settings, from the environment and the command line.

Kept apart from `ui.cli.main` so the subcommand modules (accounts, backup) need not import the
module that imports them."""

from __future__ import annotations

import argparse
from typing import Any

from lessons.storage.settings import Settings


def settings_from_args(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    if args.database_url:
        overrides["database_url"] = args.database_url
    for name in ("host", "port"):
        if getattr(args, name, None) is not None:
            overrides[name] = getattr(args, name)
    return Settings(**overrides)
