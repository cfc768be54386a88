"""Units a reviewer authorized on an A6 (approved for less) item, answered as an addItem.

Revision ID: 0300_authorized_units
Revises: 0200_note_extraction
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0300_authorized_units"
down_revision: str | None = "0200_note_extraction"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("determination") as batch:
        batch.add_column(sa.Column("authorized_units", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("determination") as batch:
        batch.drop_column("authorized_units")
