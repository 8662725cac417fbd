"""review audience (stored, only widened) and the user who ran a BAR

Revision ID: 0006
Revises: 0007 (chained after main's 0007 at merge; the lead re-chains)
Create Date: 2026-12-07
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = "0006"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Narrowest first: a review's audience is the widest restriction of its lessons.
_ORDER = ("public", "internal", "restricted")


def upgrade() -> None:
    # Plain ADD COLUMN (no batch rebuild), as 0005 does.
    op.add_column(
        "review",
        sa.Column(
            "sensitivity",
            sqlmodel.sql.sqltypes.AutoString(length=20),
            nullable=False,
            server_default="public",
        ),
    )
    _backfill_review_audience()
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE bar ADD COLUMN run_by_user_id INTEGER "
            "REFERENCES user (id) ON DELETE SET NULL"
        )
    else:
        op.add_column("bar", sa.Column("run_by_user_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            "fk_bar_run_by_user_id", "bar", "user", ["run_by_user_id"], ["id"], ondelete="SET NULL"
        )
    op.create_index("ix_bar_run_by_user_id", "bar", ["run_by_user_id"], unique=False)


def _backfill_review_audience() -> None:
    """Each review takes the widest sensitivity of its lessons, purged ones included (the audit
    log keeps a purged lesson's row): a review whose restricted lesson was purged stays
    restricted. Existing BARs get no runner: their project's members and curators read them."""
    bind = op.get_bind()
    seen: dict[int, set[str]] = {}
    for review_id, sensitivity in bind.exec_driver_sql(
        "SELECT review_id, sensitivity FROM lesson WHERE review_id IS NOT NULL"
    ):
        seen.setdefault(review_id, set()).add(sensitivity)
    for (before,) in bind.exec_driver_sql(
        "SELECT before FROM audit_event WHERE entity = 'lesson' AND action = 'purge'"
    ):
        row = json.loads(before) if isinstance(before, str) else (before or {})
        if row.get("review_id") is not None and row.get("sensitivity"):
            seen.setdefault(int(row["review_id"]), set()).add(row["sensitivity"])
    for review_id, levels in seen.items():
        widest = max(levels, key=lambda s: _ORDER.index(s) if s in _ORDER else len(_ORDER))
        bind.exec_driver_sql(
            "UPDATE review SET sensitivity = ? WHERE id = ?",
            (widest if widest in _ORDER else "restricted", review_id),
        )


def downgrade() -> None:
    op.drop_index("ix_bar_run_by_user_id", table_name="bar")
    with op.batch_alter_table("bar", schema=None) as batch_op:
        batch_op.drop_column("run_by_user_id")
    with op.batch_alter_table("review", schema=None) as batch_op:
        batch_op.drop_column("sensitivity")
