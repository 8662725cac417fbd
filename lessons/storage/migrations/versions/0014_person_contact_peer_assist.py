"""how to reach a person, and peer-assist requests recorded on a BAR

Revision ID: 0014
Revises: 0016
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0014"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # ADD COLUMN, not a rebuild: rebuilding `person` would cascade through its references.
    op.add_column(
        "person",
        sa.Column(
            "contact",
            sqlmodel.sql.sqltypes.AutoString(length=500),
            nullable=False,
            server_default="",
        ),
    )
    op.create_table(
        "peer_assist",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bar_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("ask", sa.Text(), nullable=False),
        sa.Column("ask_by", sa.Date(), nullable=True),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("outcome_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["bar_id"], ["bar.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["requested_by_id"], ["user.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_peer_assist_bar_id", "peer_assist", ["bar_id"])
    op.create_index("ix_peer_assist_person_id", "peer_assist", ["person_id"])
    op.create_index("ix_peer_assist_requested_by_id", "peer_assist", ["requested_by_id"])


def downgrade() -> None:
    op.drop_table("peer_assist")
    op.drop_column("person", "contact")
