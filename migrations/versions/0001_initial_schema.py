"""Initial schema: requests, cases, response versions, determinations, subscriptions, outbox, auth.

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-25 09:57:01.839666
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "api_client",
        sa.Column("client_id", sa.String(length=200), nullable=False),
        sa.Column("org", sa.String(length=200), nullable=False),
        sa.Column("org_system", sa.String(length=500), nullable=True),
        sa.Column("jwks", sa.Text(), nullable=False),
        sa.Column("scope", sa.String(length=1000), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("client_id"),
    )
    op.create_table(
        "assertion_jti",
        sa.Column("jti", sa.String(length=300), nullable=False),
        sa.Column("client_id", sa.String(length=200), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("jti"),
    )
    op.create_table(
        "received_request",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("operation", sa.String(length=16), nullable=False),
        sa.Column("org", sa.String(length=200), nullable=True),
        sa.Column("client_id", sa.String(length=200), nullable=True),
        sa.Column("content_type", sa.String(length=200), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("truncated", sa.Boolean(), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("request_date", sa.Date(), nullable=True),
        sa.Column("case_id", sa.String(length=36), nullable=True),
        sa.Column("claim_system", sa.String(length=500), nullable=True),
        sa.Column("claim_value", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("received_request", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_received_request_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_received_request_claim_value"), ["claim_value"], unique=False)
        batch_op.create_index(batch_op.f("ix_received_request_org"), ["org"], unique=False)

    op.create_table(
        "subscription",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("owner_org", sa.String(length=200), nullable=True),
        sa.Column("filter_org", sa.String(length=200), nullable=False),
        sa.Column("endpoint", sa.String(length=2000), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("resource", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("subscription", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_subscription_filter_org"), ["filter_org"], unique=False)

    op.create_table(
        "access_token",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=200), nullable=False),
        sa.Column("org", sa.String(length=200), nullable=False),
        sa.Column("scope", sa.String(length=1000), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["api_client.client_id"],
        ),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=120), nullable=False),
        sa.Column("subscription_id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("event_number", sa.Integer(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscription.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id"),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_due", ["status", "next_attempt_at"], unique=False)

    op.create_table(
        "pa_case",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org", sa.String(length=200), nullable=True),
        sa.Column("first_request_id", sa.String(length=36), nullable=False),
        sa.Column("last_request_id", sa.String(length=36), nullable=False),
        sa.Column("claim_system", sa.String(length=500), nullable=True),
        sa.Column("claim_value", sa.String(length=200), nullable=True),
        sa.Column("member_id", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["first_request_id"],
            ["received_request.id"],
        ),
        sa.ForeignKeyConstraint(
            ["last_request_id"],
            ["received_request.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("pa_case", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pa_case_claim_value"), ["claim_value"], unique=False)
        batch_op.create_index(batch_op.f("ix_pa_case_member_id"), ["member_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_pa_case_org"), ["org"], unique=False)

    op.create_table(
        "determination",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("request_id", sa.String(length=36), nullable=True),
        sa.Column("item_sequence", sa.Integer(), nullable=False),
        sa.Column("previous_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("decided_by", sa.String(length=16), nullable=False),
        sa.Column("reviewer_npi", sa.String(length=20), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("policy_id", sa.String(length=100), nullable=True),
        sa.Column("policy_version", sa.String(length=100), nullable=True),
        sa.Column("policy_hash", sa.String(length=200), nullable=True),
        sa.Column("engine_version", sa.String(length=50), nullable=True),
        sa.Column("request_date", sa.Date(), nullable=True),
        sa.Column("line_of_business", sa.String(length=50), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("review_action", sa.String(length=4), nullable=False),
        sa.Column("auth_number", sa.String(length=50), nullable=True),
        sa.Column("window_start", sa.Date(), nullable=True),
        sa.Column("window_end", sa.Date(), nullable=True),
        sa.Column("member_id", sa.String(length=200), nullable=True),
        sa.Column("trace", sa.Text(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("tracking_number", sa.String(length=50), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["pa_case.id"],
        ),
        sa.ForeignKeyConstraint(
            ["previous_id"],
            ["determination.id"],
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["received_request.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("determination", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_determination_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            "ix_determination_member_policy", ["member_id", "policy_id", "review_action"], unique=False
        )

    op.create_table(
        "response_version",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.String(length=36), nullable=True),
        sa.Column("cause", sa.String(length=16), nullable=False),
        sa.Column("bundle_id", sa.String(length=36), nullable=False),
        sa.Column("bundle", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["pa_case.id"],
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["received_request.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("bundle_id"),
        sa.UniqueConstraint("case_id", "version"),
    )


def downgrade() -> None:

    op.drop_table("response_version")
    with op.batch_alter_table("determination", schema=None) as batch_op:
        batch_op.drop_index("ix_determination_member_policy")
        batch_op.drop_index(batch_op.f("ix_determination_case_id"))

    op.drop_table("determination")
    with op.batch_alter_table("pa_case", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pa_case_org"))
        batch_op.drop_index(batch_op.f("ix_pa_case_member_id"))
        batch_op.drop_index(batch_op.f("ix_pa_case_claim_value"))

    op.drop_table("pa_case")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_due")

    op.drop_table("outbox")
    op.drop_table("access_token")
    with op.batch_alter_table("subscription", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subscription_filter_org"))

    op.drop_table("subscription")
    with op.batch_alter_table("received_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_received_request_org"))
        batch_op.drop_index(batch_op.f("ix_received_request_claim_value"))
        batch_op.drop_index(batch_op.f("ix_received_request_case_id"))

    op.drop_table("received_request")
    op.drop_table("assertion_jti")
    op.drop_table("api_client")
