"""Received bodies may be stored compressed: record each one's encoding (earlier rows: identity).

Revision ID: 0400_body_encoding
Revises: 0300_authorized_units
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0400_body_encoding"
down_revision: str | None = "0300_authorized_units"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("received_request") as batch:
        batch.add_column(sa.Column("body_encoding", sa.String(16), nullable=False, server_default="identity"))


def downgrade() -> None:
    # Compressed bodies cannot be left behind an identity column: refuse rather than lose them.
    bind = op.get_bind()
    compressed = bind.execute(sa.text("SELECT count(*) FROM received_request WHERE body_encoding <> 'identity'"))
    if compressed.scalar_one():
        raise RuntimeError("received bodies are stored compressed; downgrading would make them unreadable")
    with op.batch_alter_table("received_request") as batch:
        batch.drop_column("body_encoding")
