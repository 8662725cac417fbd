"""What the SQLite and PostgreSQL backups share: their errors, reports and safe publishing."""

from __future__ import annotations

import os
import tempfile
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from alembic.script import ScriptDirectory

from lessons.errors import ValidationFailed
from lessons.storage.db import MIGRATIONS


class BackupError(ValidationFailed):
    """A backup or restore that cannot be done as asked; nothing was changed."""

    code = "backup_refused"


class TargetExists(BackupError):
    """The backup's path is taken and overwriting was not asked for."""


class RestoreCancelled(Exception):
    """The confirmation callback declined the restore; nothing was changed."""


@dataclass(frozen=True)
class BankCounts:
    lessons: int
    reviews: int
    embeddings: int
    events: int

    def describe(self) -> str:
        return (
            f"{self.lessons} lessons, {self.reviews} reviews, "
            f"{self.embeddings} lesson vectors, {self.events} lesson events"
        )


@dataclass(frozen=True)
class BackupReport:
    path: Path
    revision: str
    counts: BankCounts
    pages: int
    size_bytes: int


@dataclass(frozen=True)
class RestorePlan:
    """What a restore is about to do, for a confirmation prompt; nothing is changed yet."""

    source: Path
    target: Path | str  # a file, or a PostgreSQL URL without its password
    revision: str
    counts: BankCounts | None  # None when the backup cannot be counted before it is restored


@dataclass(frozen=True)
class RestoreReport:
    path: Path | str  # as `RestorePlan.target`
    source: Path
    source_revision: str
    revision: str
    counts: BankCounts


def temp_beside(target: Path) -> Path:
    """An empty hidden file in the target's folder, to write the backup into before `publish`
    renames it into place (a rename within one filesystem is a single step)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    return Path(name)


def publish(temp: Path, target: Path, *, overwrite: bool) -> None:
    """Move the checked copy into place in one step."""
    try:
        if overwrite:
            os.replace(temp, target)
        else:
            # A hard link fails if the target appeared meanwhile, where a rename would
            # silently replace it; filesystems without hard links get check-then-rename.
            try:
                os.link(temp, target)
            except FileExistsError as exc:
                raise TargetExists(f"{target} already exists; refusing to overwrite it.") from exc
            except OSError:
                if target.exists():
                    raise TargetExists(
                        f"{target} already exists; refusing to overwrite it."
                    ) from None
                os.replace(temp, target)
    except OSError as exc:
        raise BackupError(f"Could not write {target}: {exc.strerror or exc}.") from exc
    _fsync_dir(target.parent)


def fsync(path: Path) -> None:
    with path.open("rb+") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    # Makes the rename durable; not every platform can open a directory, and that is fine.
    with suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def check_revision_known(revision: str, path: Path) -> None:
    """Refuse a backup whose schema is newer than this Lessonbank's migrations."""
    script = ScriptDirectory(str(MIGRATIONS))
    if not revision:
        raise BackupError(f"{path} is not a Lessonbank database (it has no schema revision).")
    if revision not in {r.revision for r in script.walk_revisions()}:
        head = script.get_current_head()
        raise BackupError(
            f"{path} has schema revision {revision}, newer than this Lessonbank knows "
            f"(up to {head}); restore it with the Lessonbank version that made it."
        )
