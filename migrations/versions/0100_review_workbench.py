"""Reviewer workbench: reviewers, sessions, reviewer actions, letters, audit log.

Revision ID: 0100_review
Revises: 0001
Create Date: 2026-11-26 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0100_review"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "review_user",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(100), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("npi", sa.String(10), nullable=True),
        sa.Column("specialty", sa.String(200), nullable=True),
        sa.Column("credentials", sa.String(100), nullable=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.String(300), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_table(
        "review_session",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("reviewer_id", _ID, sa.ForeignKey("review_user.id"), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.Column("ended_at", _TS, nullable=True),
    )
    op.create_table(
        "review_action",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.String(36), nullable=False, index=True),
        sa.Column("reviewer_id", _ID, sa.ForeignKey("review_user.id"), nullable=False),
        sa.Column("reviewer_npi", sa.String(10), nullable=True),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("review_action", sa.String(4), nullable=False),
        sa.Column("sequences", sa.JSON(), nullable=False),
        sa.Column("criterion", sa.String(50), nullable=True),
        sa.Column("reason_code", sa.String(20), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("response_version", sa.Integer(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_table(
        "review_letter",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.String(36), nullable=False, index=True),
        sa.Column("action_id", _ID, sa.ForeignKey("review_action.id"), nullable=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_table(
        "review_audit",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("at", _TS, nullable=False, index=True),
        sa.Column("reviewer_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(100), nullable=True),
        sa.Column("event", sa.String(40), nullable=False),
        sa.Column("case_id", sa.String(36), nullable=True, index=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("client", sa.String(100), nullable=True),
    )


def downgrade() -> None:
    for table in ("review_audit", "review_letter", "review_action", "review_session", "review_user"):
        op.drop_table(table)
