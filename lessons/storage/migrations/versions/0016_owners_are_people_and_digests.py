"""action owners are people in the directory; e-mail addresses and the daily digest's deliveries

Revision ID: 0016
Revises: 0010
Create Date: 2026-12-08

An action's owner has been a person row since 0001, but that row was found or created from
whatever name was typed, so the directory filled with owners who are nothing but a name: no
account, no profile, nothing written. This migration treats such an owner as the free text it
was: linked to the directory person of exactly that name (case-insensitive, trimmed) when
there is one, otherwise kept on the action as imported text (`owner_text`) and shown as such.
Every other owner stays as it is.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0016"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "person",
        sa.Column(
            "email",
            sqlmodel.sql.sqltypes.AutoString(length=320),
            nullable=False,
            server_default="",
        ),
    )
    op.add_column(
        "action",
        sa.Column(
            "owner_text",
            sqlmodel.sql.sqltypes.AutoString(length=200),
            nullable=False,
            server_default="",
        ),
    )
    op.create_table(
        "digest_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
        sa.Column("claimed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("sent_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("person_id", "day"),
    )
    op.create_index(
        op.f("ix_digest_delivery_person_id"), "digest_delivery", ["person_id"], unique=False
    )
    _owners_to_directory(op.get_bind())


def _owners_to_directory(connection: sa.Connection) -> None:
    """Relink (or keep as text) every owner who is only a typed name."""
    people = connection.execute(
        sa.text("SELECT id, name, unit, role, bio, expertise FROM person")
    ).all()
    in_directory = _in_directory_ids(connection, people)
    by_name = {_key(name): pid for pid, name, *_ in people if pid in in_directory}
    owners = connection.execute(
        sa.text("SELECT DISTINCT owner_id FROM action WHERE owner_id IS NOT NULL")
    ).scalars()
    names = {pid: name for pid, name, *_ in people}
    for owner_id in list(owners):
        if owner_id in in_directory:
            continue
        name = names[owner_id]
        match = by_name.get(_key(name))
        if match is not None:
            connection.execute(
                sa.text("UPDATE action SET owner_id = :to WHERE owner_id = :was"),
                {"to": match, "was": owner_id},
            )
        else:
            connection.execute(
                sa.text(
                    "UPDATE action SET owner_id = NULL, owner_text = :name WHERE owner_id = :was"
                ),
                {"name": name.strip(), "was": owner_id},
            )


def _in_directory_ids(connection: sa.Connection, people: Sequence[sa.Row]) -> set[int]:
    """People who are more than a typed owner name: with an account, a profile, or something
    they wrote (a review or a lesson)."""
    known = set(
        connection.execute(
            sa.text(
                "SELECT person_id FROM \"user\" WHERE person_id IS NOT NULL"
                " UNION SELECT author_id FROM review WHERE author_id IS NOT NULL"
                " UNION SELECT author_id FROM lesson WHERE author_id IS NOT NULL"
            )
        ).scalars()
    )
    for pid, _name, unit, role, bio, expertise in people:
        if (unit or "").strip() or (role or "").strip() or (bio or "").strip():
            known.add(pid)
        elif expertise and expertise not in ("[]", "null"):  # JSON text (SQLite) or a list
            known.add(pid)
    return known


def _key(name: str) -> str:
    return (name or "").strip().casefold()


def downgrade() -> None:
    op.drop_index(op.f("ix_digest_delivery_person_id"), table_name="digest_delivery")
    op.drop_table("digest_delivery")
    op.drop_column("action", "owner_text")
    op.drop_column("person", "email")
