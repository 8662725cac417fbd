"""passage vectors of long lessons; BAR items keep their match band, passage score and sentence

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0008"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "lesson_passages",
        sa.Column("lesson_id", sa.Integer(), nullable=False),
        sa.Column("model", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("content_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("vectors", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["lesson_id"], ["lesson.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("lesson_id"),
    )
    with op.batch_alter_table("bar_item", schema=None) as batch_op:
        batch_op.add_column(sa.Column("passage_score", sa.Float(), nullable=True))
        batch_op.add_column(
            sa.Column("match", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True)
        )
        batch_op.add_column(sa.Column("best_sentence", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("bar_item", schema=None) as batch_op:
        batch_op.drop_column("best_sentence")
        batch_op.drop_column("match")
        batch_op.drop_column("passage_score")
    op.drop_table("lesson_passages")
