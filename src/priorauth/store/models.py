"""Tables. Rows that record what happened (requests, determinations, response versions) are append-only.

A *case* is one prior-authorization request as the provider sees it: the first ``$submit`` and every
update or cancel that names it in ``Claim.related``. Its ClaimResponse id is the case id.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from priorauth.store.bodies import decode_body, unpack_text

# SQLite only autoincrements INTEGER PRIMARY KEY; BigInteger elsewhere (PostgreSQL bigserial).
_BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps in UTC: aware in Python on both back ends (SQLite stores them naive, in UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        # SQLite compares timestamps as text; one naive UTC format keeps comparisons right.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base; the metadata is what the Alembic migrations create."""

    type_annotation_map = {datetime: UTCDateTime()}


class ReceivedRequest(Base):
    """Every body received on a PAS operation, byte for byte, accepted or rejected."""

    __tablename__ = "received_request"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    operation: Mapped[str] = mapped_column(String(16))  # submit | inquire
    org: Mapped[str | None] = mapped_column(String(200), index=True)
    client_id: Mapped[str | None] = mapped_column(String(200))
    content_type: Mapped[str | None] = mapped_column(String(200))
    # As stored: read it with received_body() (store/bodies.py says why it may be compressed).
    body: Mapped[bytes] = mapped_column(LargeBinary)
    body_encoding: Mapped[str] = mapped_column(String(16), default="identity", server_default="identity")
    truncated: Mapped[bool] = mapped_column(Boolean, default=False)
    http_status: Mapped[int] = mapped_column(Integer)
    # The OperationOutcome sent back for a rejected request (JSON text), else null.
    outcome: Mapped[str | None] = mapped_column(Text)
    request_date: Mapped[date | None] = mapped_column(Date)
    case_id: Mapped[str | None] = mapped_column(String(36), index=True)
    # The Claim's first identifier, so $inquire can find a request by its own or its update's identifier.
    claim_system: Mapped[str | None] = mapped_column(String(500))
    claim_value: Mapped[str | None] = mapped_column(String(200), index=True)

    def received_body(self) -> bytes:
        """The body byte for byte as it was received."""
        return decode_body(self.body, self.body_encoding)


class Case(Base):
    """The current state of one authorization request; its id is the ClaimResponse id."""

    __tablename__ = "pa_case"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org: Mapped[str | None] = mapped_column(String(200), index=True)
    first_request_id: Mapped[str] = mapped_column(ForeignKey("received_request.id"))
    last_request_id: Mapped[str] = mapped_column(ForeignKey("received_request.id"))
    claim_system: Mapped[str | None] = mapped_column(String(500))
    claim_value: Mapped[str | None] = mapped_column(String(200), index=True)
    member_id: Mapped[str | None] = mapped_column(String(200), index=True)
    status: Mapped[str] = mapped_column(String(16))  # pended | final | cancelled
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ResponseVersion(Base):
    """Each response bundle we produced for a case, in order; the highest version is current."""

    __tablename__ = "response_version"
    __table_args__ = (UniqueConstraint("case_id", "version"),)

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("pa_case.id"))
    version: Mapped[int] = mapped_column(Integer)
    request_id: Mapped[str | None] = mapped_column(ForeignKey("received_request.id"))
    cause: Mapped[str] = mapped_column(String(16))  # submit | update | cancel | review
    bundle_id: Mapped[str] = mapped_column(String(36), unique=True)
    bundle: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DeterminationRecord(Base):
    """One decision on one item: engine or reviewer. Append-only; a re-decision links to the previous one."""

    __tablename__ = "determination"
    __table_args__ = (Index("ix_determination_member_policy", "member_id", "policy_id", "review_action"),)

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("pa_case.id"), index=True)
    request_id: Mapped[str | None] = mapped_column(ForeignKey("received_request.id"))
    item_sequence: Mapped[int] = mapped_column(Integer)
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("determination.id"))
    decided_by: Mapped[str] = mapped_column(String(16))  # engine | reviewer | provider
    reviewer_npi: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    policy_id: Mapped[str | None] = mapped_column(String(100))
    policy_version: Mapped[str | None] = mapped_column(String(100))
    policy_hash: Mapped[str | None] = mapped_column(String(200))
    engine_version: Mapped[str | None] = mapped_column(String(50))
    request_date: Mapped[date | None] = mapped_column(Date)
    line_of_business: Mapped[str | None] = mapped_column(String(50))
    outcome: Mapped[str] = mapped_column(String(32))
    review_action: Mapped[str] = mapped_column(String(4))  # X12 306: A1 A3 A4 A6 C
    auth_number: Mapped[str | None] = mapped_column(String(50))
    window_start: Mapped[date | None] = mapped_column(Date)
    window_end: Mapped[date | None] = mapped_column(Date)
    member_id: Mapped[str | None] = mapped_column(String(200))
    # Determination.to_dict() as JSON: in trace_packed (compressed, store/bodies.py), or in trace for
    # rows written before that column existed. Read it with trace_json().
    trace: Mapped[str | None] = mapped_column(Text)
    trace_packed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    notes: Mapped[str | None] = mapped_column(Text)  # the process notes shown for the item, JSON list
    tracking_number: Mapped[str | None] = mapped_column(String(50))
    # A6 only: the units a reviewer authorized (answered as an addItem).
    authorized_units: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    def trace_json(self) -> str | None:
        """The engine's trace as JSON text, wherever it is stored (None when no engine ran)."""
        if self.trace_packed is not None:
            return unpack_text(self.trace_packed)
        return self.trace

    def trace_columns(self) -> dict[str, Any]:
        """This row's trace, as the columns of a row that carries it forward (a later decision)."""
        return {"trace": self.trace, "trace_packed": self.trace_packed}


class SubscriptionRecord(Base):
    """An R4 Backport rest-hook Subscription filtered on the submitting organization."""

    __tablename__ = "subscription"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    owner_org: Mapped[str | None] = mapped_column(String(200))
    filter_org: Mapped[str] = mapped_column(String(200), index=True)
    endpoint: Mapped[str] = mapped_column(String(2000))
    headers: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))  # active | off | error
    end: Mapped[datetime | None] = mapped_column(UTCDateTime())
    events: Mapped[int] = mapped_column(Integer, default=0)
    resource: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OutboxMessage(Base):
    """A notification to deliver; written in the same transaction as the decision that causes it."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(120), unique=True)
    subscription_id: Mapped[str] = mapped_column(ForeignKey("subscription.id"))
    case_id: Mapped[str] = mapped_column(String(36))
    event_number: Mapped[int] = mapped_column(Integer)
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ApiClient(Base):
    """A SMART Backend Services client: one organization, one registered JWKS."""

    __tablename__ = "api_client"

    client_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    org: Mapped[str] = mapped_column(String(200))
    org_system: Mapped[str | None] = mapped_column(String(500))
    jwks: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(String(1000))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AccessToken(Base):
    """An issued bearer token, stored by SHA-256 so a database leak does not leak tokens."""

    __tablename__ = "access_token"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("api_client.client_id"))
    org: Mapped[str] = mapped_column(String(200))
    scope: Mapped[str] = mapped_column(String(1000))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AssertionJti(Base):
    """Client-assertion ids already used (replay protection), kept until the assertion expires."""

    __tablename__ = "assertion_jti"

    jti: Mapped[str] = mapped_column(String(300), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class NoteExtractionRecord(Base):
    """A clinical note's extraction, made at intake and stored so a replay reads the same evidence."""

    __tablename__ = "note_extraction"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("received_request.id"), index=True)
    document: Mapped[str] = mapped_column(String(500))
    attachment: Mapped[int] = mapped_column(Integer)
    extractor_version: Mapped[str] = mapped_column(String(32))
    ruleset_sha256: Mapped[str] = mapped_column(String(80))
    text_sha256: Mapped[str] = mapped_column(String(80))
    written: Mapped[date | None] = mapped_column(Date)
    # NoteRecord.to_dict(): every mention with offsets, section, modifiers and rule id.
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
