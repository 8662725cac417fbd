"""handovers: role, successor, contacts, follow-up questions

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "job_role",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
        sa.UniqueConstraint("uid"),
    )
    op.create_table(
        "handover",
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("job_role_id", sa.Integer(), nullable=True),
        sa.Column("successor_user_id", sa.Integer(), nullable=True),
        sa.Column("acknowledged_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("work_in_flight", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["job_role_id"], ["job_role.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["review_id"], ["review.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["successor_user_id"], ["user.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("review_id"),
    )
    with op.batch_alter_table("handover", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_handover_job_role_id"), ["job_role_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_handover_successor_user_id"), ["successor_user_id"], unique=False
        )

    op.create_table(
        "handover_contact",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("why", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["review_id"], ["review.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("handover_contact", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_handover_contact_person_id"), ["person_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_handover_contact_review_id"), ["review_id"], unique=False
        )

    op.create_table(
        "handover_question",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("asked_by_id", sa.Integer(), nullable=True),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("asked_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("answered_by_id", sa.Integer(), nullable=True),
        sa.Column("answered_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["answered_by_id"], ["user.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["asked_by_id"], ["user.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["review_id"], ["review.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("handover_question", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_handover_question_answered_by_id"), ["answered_by_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_handover_question_asked_by_id"), ["asked_by_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_handover_question_review_id"), ["review_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("handover_question", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_handover_question_review_id"))
        batch_op.drop_index(batch_op.f("ix_handover_question_asked_by_id"))
        batch_op.drop_index(batch_op.f("ix_handover_question_answered_by_id"))

    op.drop_table("handover_question")
    with op.batch_alter_table("handover_contact", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_handover_contact_review_id"))
        batch_op.drop_index(batch_op.f("ix_handover_contact_person_id"))

    op.drop_table("handover_contact")
    with op.batch_alter_table("handover", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_handover_successor_user_id"))
        batch_op.drop_index(batch_op.f("ix_handover_job_role_id"))

    op.drop_table("handover")
    op.drop_table("job_role")
