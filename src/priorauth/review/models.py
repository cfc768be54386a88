"""Workbench tables: reviewers, sessions, reviewer actions, letters and the audit log.

Actions, letters and audit rows are append-only: nothing updates or deletes them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from priorauth.store.models import UTCDateTime, _BigId


class ReviewBase(DeclarativeBase):
    """Declarative base of the workbench's own tables (created by migration 0100_review)."""

    type_annotation_map = {datetime: UTCDateTime()}


class Reviewer(ReviewBase):
    """A person who signs in to ``/review``: a clinical reviewer (NPI) or an administrator."""

    __tablename__ = "review_user"

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    npi: Mapped[str | None] = mapped_column(String(10))
    specialty: Mapped[str | None] = mapped_column(String(200))
    credentials: Mapped[str | None] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))  # reviewer | admin
    password_hash: Mapped[str] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    @property
    def can_decide(self) -> bool:
        """Only an active reviewer with a recorded NPI may record a clinical decision."""
        return self.active and self.role == "reviewer" and bool(self.npi)


class ReviewSession(ReviewBase):
    """A server-side sign-in session, stored by the SHA-256 of its cookie value, with its CSRF token."""

    __tablename__ = "review_session"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("review_user.id"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ReviewAction(ReviewBase):
    """One reviewer action on a case: approve, approve_partial, deny or request_info (append-only)."""

    __tablename__ = "review_action"

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(String(36), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("review_user.id"))
    reviewer_npi: Mapped[str | None] = mapped_column(String(10))
    action: Mapped[str] = mapped_column(String(20))
    review_action: Mapped[str] = mapped_column(String(4))  # the X12 306 code the items got
    sequences: Mapped[list[int]] = mapped_column(JSON)
    criterion: Mapped[str | None] = mapped_column(String(50))
    reason_code: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, object]] = mapped_column(JSON)
    response_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ReviewLetter(ReviewBase):
    """A generated letter (PDF), stored with the case."""

    __tablename__ = "review_letter"

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(String(36), index=True)
    action_id: Mapped[int | None] = mapped_column(ForeignKey("review_action.id"))
    kind: Mapped[str] = mapped_column(String(20))  # approval | partial | denial | information
    filename: Mapped[str] = mapped_column(String(200))
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AuditEvent(ReviewBase):
    """Who did what, when: every case view, download, action, sign-in and sign-out."""

    __tablename__ = "review_audit"

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    reviewer_id: Mapped[int | None] = mapped_column(Integer)
    username: Mapped[str | None] = mapped_column(String(100))
    event: Mapped[str] = mapped_column(String(40))
    case_id: Mapped[str | None] = mapped_column(String(36), index=True)
    detail: Mapped[str | None] = mapped_column(Text)
    client: Mapped[str | None] = mapped_column(String(100))
