"""Reviewer accounts (argon2 hashes), server-side sessions with CSRF tokens, and the audit log."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from priorauth.review.models import AuditEvent, Reviewer, ReviewSession
from priorauth.store.db import Database

_HASHER = PasswordHasher()
# Verified against when the user does not exist, so a wrong name costs as much as a wrong password.
_DUMMY_HASH = _HASHER.hash("not a password of anyone")
ROLES = ("reviewer", "admin")


class AccountError(ValueError):
    """A reviewer account that cannot be created as asked."""


def npi_is_valid(npi: str) -> bool:
    """A 10-digit NPI with a correct Luhn check digit (prefix 80840, as CMS specifies)."""
    if len(npi) != 10 or not npi.isdigit():
        return False
    digits = [int(c) for c in "80840" + npi]
    total = 0
    for index, digit in enumerate(reversed(digits)):
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def create_reviewer(
    db: Database,
    *,
    username: str,
    name: str,
    password: str,
    role: str = "reviewer",
    npi: str | None = None,
    specialty: str | None = None,
    credentials: str | None = None,
    now: datetime,
) -> Reviewer:
    """Add a reviewer or admin; the password is stored only as an argon2id hash."""
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if npi is not None and not npi_is_valid(npi):
        raise AccountError(f"{npi!r} is not a valid NPI (10 digits with a Luhn check digit)")
    if len(password) < 8:
        raise AccountError("the password must have at least 8 characters")
    if not username.strip() or not name.strip():
        raise AccountError("username and name are required")
    with db.write() as session:
        if session.scalars(select(Reviewer).where(Reviewer.username == username)).first() is not None:
            raise AccountError(f"a reviewer named {username!r} already exists")
        row = Reviewer(
            username=username.strip(),
            name=name.strip(),
            npi=npi,
            specialty=specialty,
            credentials=credentials,
            role=role,
            password_hash=_HASHER.hash(password),
            active=True,
            created_at=now,
        )
        session.add(row)
        session.flush()
        session.expunge(row)
    return row


def authenticate(db: Database, username: str, password: str) -> Reviewer | None:
    """The active reviewer with this name and password, else None (constant work either way)."""
    with db.read() as session:
        row = session.scalars(select(Reviewer).where(Reviewer.username == username)).first()
        stored = row.password_hash if row is not None else _DUMMY_HASH
        try:
            _HASHER.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
        if row is None or not row.active:
            return None
        session.expunge(row)
        return row


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class SignedIn:
    """The reviewer behind a request and the session's CSRF token."""

    reviewer: Reviewer
    csrf_token: str
    token_hash: str


def open_session(db: Database, reviewer: Reviewer, *, now: datetime, hours: float) -> str:
    """Start a session; returns the cookie value (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    with db.write() as session:
        session.add(
            ReviewSession(
                token_hash=_digest(token),
                reviewer_id=reviewer.id,
                csrf_token=secrets.token_urlsafe(32),
                created_at=now,
                expires_at=now + timedelta(hours=hours),
            )
        )
    return token


def current_session(db: Database, token: str | None, *, now: datetime) -> SignedIn | None:
    """The live session for a cookie value, with its reviewer."""
    if not token:
        return None
    digest = _digest(token)
    with db.read() as session:
        row = session.get(ReviewSession, digest)
        if row is None or row.ended_at is not None or row.expires_at <= now:
            return None
        reviewer = session.get(Reviewer, row.reviewer_id)
        if reviewer is None or not reviewer.active:
            return None
        session.expunge(reviewer)
        return SignedIn(reviewer, row.csrf_token, digest)


def end_session(db: Database, token_hash: str, *, now: datetime) -> None:
    """Sign out: the session can no longer be used."""
    with db.write() as session:
        row = session.get(ReviewSession, token_hash)
        if row is not None and row.ended_at is None:
            row.ended_at = now


def csrf_ok(expected: str, given: str | None) -> bool:
    """Constant-time comparison of the form's CSRF token with the session's."""
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())


def audit(
    session: Session,
    *,
    now: datetime,
    event: str,
    reviewer: Reviewer | None = None,
    username: str | None = None,
    case_id: str | None = None,
    detail: str | None = None,
    client: str | None = None,
) -> None:
    """Append one audit row in the caller's transaction."""
    session.add(
        AuditEvent(
            at=now,
            reviewer_id=reviewer.id if reviewer is not None else None,
            username=reviewer.username if reviewer is not None else username,
            event=event,
            case_id=case_id,
            detail=detail,
            client=client,
        )
    )


def record_audit(db: Database, **kwargs: object) -> None:
    """Append one audit row in its own transaction."""
    with db.write() as session:
        audit(session, **kwargs)  # type: ignore[arg-type]
