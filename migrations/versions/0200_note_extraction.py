"""Note extractions made at intake, stored with the extractor version and rule-set hash.

Revision ID: 0200_note_extraction
Revises: 0100_review
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0200_note_extraction"
down_revision: str | None = "0100_review"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "note_extraction",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("request_id", sa.String(length=36), nullable=False),
        sa.Column("document", sa.String(length=500), nullable=False),
        sa.Column("attachment", sa.Integer(), nullable=False),
        sa.Column("extractor_version", sa.String(length=32), nullable=False),
        sa.Column("ruleset_sha256", sa.String(length=80), nullable=False),
        sa.Column("text_sha256", sa.String(length=80), nullable=False),
        sa.Column("written", sa.Date(), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["received_request.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_note_extraction_request_id", "note_extraction", ["request_id"])


def downgrade() -> None:
    op.drop_index("ix_note_extraction_request_id", table_name="note_extraction")
    op.drop_table("note_extraction")
