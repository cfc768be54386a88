"""Queries and writes, one small method per question the service asks. Callers own the transaction."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from priorauth.store.models import (
    Case,
    DeterminationRecord,
    OutboxMessage,
    ReceivedRequest,
    ResponseVersion,
    SubscriptionRecord,
)


@dataclass(frozen=True)
class EarlierApproval:
    """What continued therapy needs of one of our stored approvals."""

    id: int
    case_id: str
    auth_number: str | None
    window_start: date | None
    window_end: date | None


@functools.cache
def _column_keys(table: Any) -> tuple[str, ...]:
    return tuple(c.key for c in table.columns)


@functools.cache
def _insert_of(table: Any) -> Any:
    return insert(table)


# Statements on the $submit path (these and the inserts above) are built once: constructing a select() per call cost more CPU than
# running it (SQLAlchemy still caches the compiled form).
_D = DeterminationRecord.__table__.c
_APPROVALS = (
    select(_D.id, _D.case_id, _D.auth_number, _D.window_start, _D.window_end)
    .where(
        _D.member_id == bindparam("member_id"),
        _D.policy_id == bindparam("policy_id"),
        # A6 is an approval for less than asked: still "receiving via our benefit" (II.A.1).
        _D.review_action.in_(("A1", "A6")),
        _D.window_start.is_not(None),
    )
    .order_by(_D.id.desc())
    .limit(bindparam("limit"))
)


class Repository:
    """Thin wrapper over a session; no business rules here."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # --- requests and cases -------------------------------------------------------------------
    def add(self, *rows: object) -> None:
        """Stage new rows."""
        self.session.add_all(rows)

    def insert(self, *rows: object) -> None:
        """INSERT transient model instances directly (no unit of work); None columns are left to defaults.

        Rows of one table with the same columns go in one executemany.
        """
        batches: dict[tuple[Any, tuple[str, ...]], list[dict[str, Any]]] = {}
        for row in rows:
            table = type(row).__table__  # type: ignore[attr-defined]
            values = {key: value for key in _column_keys(table) if (value := getattr(row, key, None)) is not None}
            batches.setdefault((table, tuple(values)), []).append(values)
        connection = self.session.connection()
        for (table, _keys), params in batches.items():
            # A Core insert on the Table (not the ORM-enabled insert(Model)) skips the ORM's bulk
            # persistence machinery, which dominated the $submit write path.
            connection.execute(_insert_of(table), params if len(params) > 1 else params[0])

    def flush(self) -> None:
        """Send staged rows (needed before rows that reference their generated ids)."""
        self.session.flush()

    def request(self, request_id: str) -> ReceivedRequest | None:
        """A received request by id."""
        return self.session.get(ReceivedRequest, request_id)

    def case(self, case_id: str, *, for_update: bool = False) -> Case | None:
        """A case by id (row-locked on PostgreSQL when ``for_update``)."""
        stmt = select(Case).where(Case.id == case_id)
        if for_update:
            stmt = stmt.with_for_update()
        return self.session.scalars(stmt).first()

    def case_for_request(self, request_id: str) -> Case | None:
        """The case a request created or updated."""
        req = self.request(request_id)
        if req is None or req.case_id is None:
            return None
        return self.case(req.case_id)

    def latest_case_for_claim(self, org: str | None, system: str | None, value: str) -> Case | None:
        """The most recent case whose Claim identifier matches, restricted to ``org`` when given."""
        stmt = select(Case).where(Case.claim_value == value)
        if system is not None:
            stmt = stmt.where(Case.claim_system == system)
        if org is not None:
            stmt = stmt.where(Case.org == org)
        stmt = stmt.order_by(Case.created_at.desc(), Case.id.desc()).limit(1)
        return self.session.scalars(stmt).first()

    def pended_cases(self, limit: int = 100) -> Sequence[Case]:
        """Cases waiting for a decision, oldest first."""
        stmt = select(Case).where(Case.status == "pended").order_by(Case.created_at).limit(limit)
        return self.session.scalars(stmt).all()

    # --- responses ----------------------------------------------------------------------------
    def latest_response(self, case_id: str) -> ResponseVersion | None:
        """The current response bundle of a case."""
        stmt = (
            select(ResponseVersion)
            .where(ResponseVersion.case_id == case_id)
            .order_by(ResponseVersion.version.desc())
            .limit(1)
        )
        return self.session.scalars(stmt).first()

    # --- determinations -----------------------------------------------------------------------
    def current_determinations(self, case_id: str) -> dict[int, DeterminationRecord]:
        """The latest determination per item sequence."""
        stmt = (
            select(DeterminationRecord).where(DeterminationRecord.case_id == case_id).order_by(DeterminationRecord.id)
        )
        latest: dict[int, DeterminationRecord] = {}
        for row in self.session.scalars(stmt):
            latest[row.item_sequence] = row
        return latest

    def approvals(self, member_id: str, policy_id: str, limit: int = 20) -> Sequence[EarlierApproval]:
        """Our approvals (A1, or A6 for less than asked) for a member under a policy, newest first."""
        params = {"member_id": member_id, "policy_id": policy_id, "limit": limit}
        return [EarlierApproval(*row) for row in self.session.connection().execute(_APPROVALS, params)]

    # --- subscriptions and outbox -------------------------------------------------------------
    def subscription(self, subscription_id: str) -> SubscriptionRecord | None:
        """A subscription by id."""
        return self.session.get(SubscriptionRecord, subscription_id)

    def active_subscriptions(self, org: str, now: datetime) -> Sequence[SubscriptionRecord]:
        """Active subscriptions whose org-identifier filter names ``org``."""
        stmt = select(SubscriptionRecord).where(
            SubscriptionRecord.filter_org == org, SubscriptionRecord.status == "active"
        )
        return [s for s in self.session.scalars(stmt) if s.end is None or s.end > now]

    def next_event_number(self, subscription_id: str) -> int:
        """Increment and return the subscription's event counter (atomic under concurrent writers)."""
        self.session.execute(
            update(SubscriptionRecord)
            .where(SubscriptionRecord.id == subscription_id)
            .values(events=SubscriptionRecord.events + 1)
        )
        value = self.session.scalar(select(SubscriptionRecord.events).where(SubscriptionRecord.id == subscription_id))
        return int(value or 0)

    def outbox_counts(self) -> dict[str, int]:
        """Messages by status (for metrics and tests)."""
        rows = self.session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))
        return {status: int(count) for status, count in rows}
