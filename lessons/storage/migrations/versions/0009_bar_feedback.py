"""BARs keep their pseudo-relevance feedback, items the brief's cosine to each passage

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("bar", schema=None) as batch_op:
        batch_op.add_column(sa.Column("feedback", sa.JSON(), nullable=True))
    with op.batch_alter_table("bar_item", schema=None) as batch_op:
        batch_op.add_column(sa.Column("passage_cosines", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("bar_item", schema=None) as batch_op:
        batch_op.drop_column("passage_cosines")
    with op.batch_alter_table("bar", schema=None) as batch_op:
        batch_op.drop_column("feedback")
