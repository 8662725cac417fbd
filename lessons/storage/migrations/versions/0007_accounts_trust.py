"""accounts trust: normalised user names, server-side sessions, who recorded a review

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-07

User names are stored in one normal form (NFKC + casefold, lessons.accounts.normal_username).
Existing names are rewritten to it; names that would become the same refuse the upgrade, named,
so an admin renames one first (nothing is changed until none clash).
"""

from collections import defaultdict
from collections.abc import Sequence

import unicodedata

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    _normalise_user_names()
    op.create_table(
        "user_session",
        sa.Column("id_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id_hash"),
    )
    with op.batch_alter_table("user_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_session_user_id"), ["user_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_user_session_expires_at"), ["expires_at"], unique=False
        )
    # In place (ALTER TABLE ... ADD COLUMN ... REFERENCES): rebuilding `review` with foreign
    # keys on would set every lesson's review_id to NULL as the old table is dropped.
    _add_reference("review", "recorded_by_id", "user")
    with op.batch_alter_table("review", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_review_recorded_by_id"), ["recorded_by_id"], unique=False
        )


def normal_username(name: str) -> str:
    """lessons.accounts.normal_username as of this revision (a migration keeps its own copy,
    so a later change to the rule cannot change what this step did)."""
    once = unicodedata.normalize("NFKC", name.strip()).casefold()
    return unicodedata.normalize("NFKC", once).strip()


def _normalise_user_names() -> None:
    connection = op.get_bind()
    users = connection.execute(sa.text("SELECT id, username FROM \"user\"")).all()
    by_normal: dict[str, list[str]] = defaultdict(list)
    for _, name in users:
        by_normal[normal_username(name)].append(name)
    clashes = {normal: names for normal, names in by_normal.items() if len(names) > 1}
    if clashes:
        listed = "; ".join(
            f"{', '.join(repr(n) for n in sorted(names))} would all become {normal!r}"
            for normal, names in sorted(clashes.items())
        )
        raise RuntimeError(
            "User names are now compared in one normal form (NFKC + casefold), and some "
            f"existing users would share a name: {listed}. Nothing was changed: rename or "
            "remove all but one of each (in the database, or on a copy with the previous "
            "version's `lessonbank users` commands), then start Lessonbank again."
        )
    for user_id, name in users:
        if normal_username(name) != name:
            connection.execute(
                sa.text("UPDATE \"user\" SET username = :name WHERE id = :id"),
                {"name": normal_username(name), "id": user_id},
            )
    # Recent failures count towards the lock under the name's normal form.
    for failure_id, name in connection.execute(sa.text("SELECT id, username FROM login_failure")):
        if normal_username(name) != name:
            connection.execute(
                sa.text("UPDATE login_failure SET username = :name WHERE id = :id"),
                {"name": normal_username(name)[:100], "id": failure_id},
            )


def _add_reference(table: str, column: str, target: str) -> None:
    """A nullable integer column referencing `target`.id (ON DELETE SET NULL), added in place."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            f'ALTER TABLE "{table}" ADD COLUMN {column} INTEGER '
            f'REFERENCES "{target}" (id) ON DELETE SET NULL'
        )
    else:
        op.add_column(table, sa.Column(column, sa.Integer(), nullable=True))
        op.create_foreign_key(
            f"fk_{table}_{column}", table, target, [column], ["id"], ondelete="SET NULL"
        )


def downgrade() -> None:
    with op.batch_alter_table("review", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_recorded_by_id"))
    op.execute('ALTER TABLE "review" DROP COLUMN recorded_by_id')
    with op.batch_alter_table("user_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_session_expires_at"))
        batch_op.drop_index(batch_op.f("ix_user_session_user_id"))
    op.drop_table("user_session")
    # Normalised names stay normalised: the old code finds them all the same.
