"""Determination traces stored compressed in a binary column (earlier rows keep their text column).

Revision ID: 0500_trace_packed
Revises: 0400_body_encoding
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0500_trace_packed"
down_revision: str | None = "0400_body_encoding"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("determination") as batch:
        batch.add_column(sa.Column("trace_packed", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    # Packed traces would be lost with the column: refuse rather than drop them.
    bind = op.get_bind()
    packed = bind.execute(sa.text("SELECT count(*) FROM determination WHERE trace_packed IS NOT NULL"))
    if packed.scalar_one():
        raise RuntimeError("determination traces are stored compressed; downgrading would drop them")
    with op.batch_alter_table("determination") as batch:
        batch.drop_column("trace_packed")
