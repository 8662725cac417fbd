"""communities of practice: members, facilitators and followers, shared lessons, questions and answers

Revision ID: 0015b
Revises: 0015
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = "0015b"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "community",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
        sa.UniqueConstraint("uid"),
    )
    op.create_table(
        "community_member",
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("follows", sa.Boolean(), nullable=False),
        sa.Column("joined_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["community_id"], ["community.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("community_id", "user_id"),
    )
    op.create_table(
        "community_question",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("asked_by_id", sa.Integer(), nullable=True),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("asked_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["asked_by_id"], ["user.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["community_id"], ["community.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("community_question", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_community_question_asked_by_id"), ["asked_by_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_community_question_community_id"), ["community_id"], unique=False
        )

    op.create_table(
        "community_answer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column("answered_by_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("answered_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("lesson_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["answered_by_id"], ["user.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["lesson_id"], ["lesson.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["question_id"], ["community_question.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("community_answer", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_community_answer_answered_by_id"), ["answered_by_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_community_answer_lesson_id"), ["lesson_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_community_answer_question_id"), ["question_id"], unique=False
        )

    op.create_table(
        "community_share",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("lesson_id", sa.Integer(), nullable=False),
        sa.Column("shared_by_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("shared_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["community_id"], ["community.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["lesson_id"], ["lesson.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["shared_by_id"], ["user.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("community_id", "lesson_id"),
    )
    with op.batch_alter_table("community_share", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_community_share_community_id"), ["community_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_community_share_lesson_id"), ["lesson_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_community_share_shared_by_id"), ["shared_by_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("community_share", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_community_share_shared_by_id"))
        batch_op.drop_index(batch_op.f("ix_community_share_lesson_id"))
        batch_op.drop_index(batch_op.f("ix_community_share_community_id"))

    op.drop_table("community_share")
    with op.batch_alter_table("community_answer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_community_answer_question_id"))
        batch_op.drop_index(batch_op.f("ix_community_answer_lesson_id"))
        batch_op.drop_index(batch_op.f("ix_community_answer_answered_by_id"))

    op.drop_table("community_answer")
    with op.batch_alter_table("community_question", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_community_question_community_id"))
        batch_op.drop_index(batch_op.f("ix_community_question_asked_by_id"))

    op.drop_table("community_question")
    op.drop_table("community_member")
    op.drop_table("community")
