"""Queries and writes, one small method per question the service asks. Callers own the transaction."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, or_, select, update
from sqlalchemy.orm import Session

from priorauth.store.models import (
    Case,
    DeterminationRecord,
    OutboxMessage,
    ReceivedRequest,
    ResponseVersion,
    SubscriptionRecord,
)
from priorauth.store.statements import NotPrecompiledError, insert_rows, prepared_select


@dataclass(frozen=True)
class EarlierApproval:
    """What continued therapy needs of one of our stored approvals."""

    id: int
    case_id: str
    auth_number: str | None
    window_start: date | None
    window_end: date | None


@functools.cache
def _insert_of(table: Any) -> Any:
    return insert(table)


# The earlier-approvals query of the $submit path is built once and compiled once per dialect
# (store/statements.py): constructing a select() per call cost more CPU than running it.
_D = DeterminationRecord.__table__.c
_APPROVALS = (
    select(_D.id, _D.case_id, _D.auth_number, _D.window_start, _D.window_end)
    .where(
        _D.member_id == bindparam("member_id"),
        _D.policy_id == bindparam("policy_id"),
        # A6 is an approval for less than asked: still "receiving via our benefit" (II.A.1).
        # (Two comparisons, not IN: an expanding IN parameter cannot be compiled once.)
        or_(_D.review_action == "A1", _D.review_action == "A6"),
        _D.window_start.is_not(None),
    )
    .order_by(_D.id.desc())
    .limit(bindparam("limit"))
)


class Repository:
    """Thin wrapper over a session; no business rules here."""

    def __init__(self, session: Session | None = None, *, connection: Connection | None = None) -> None:
        if (session is None) == (connection is None):
            raise TypeError("give a session or a connection")
        self._session = session
        self._connection = connection

    @classmethod
    @contextmanager
    def on(cls, connection: Connection) -> Iterator[Repository]:
        """A repository on a Core connection and its transaction; the ORM session some queries need
        is made on first use, joined to that transaction, and closed at the end of the block."""
        repo = cls(connection=connection)
        try:
            yield repo
        finally:
            if repo._session is not None:
                repo._session.close()

    @property
    def session(self) -> Session:
        """The ORM session (made on first use when the repository is on a connection)."""
        if self._session is None:
            # Joined to the connection's transaction (SQLAlchemy's default join mode): the block that
            # began it commits or rolls it back, not the session.
            self._session = Session(bind=self._connection, expire_on_commit=False)
        return self._session

    @property
    def connection(self) -> Connection:
        """The Core connection of the current transaction."""
        return self._connection if self._connection is not None else self.session.connection()

    # --- requests and cases -------------------------------------------------------------------
    def add(self, *rows: object) -> None:
        """Stage new rows."""
        self.session.add_all(rows)

    def insert_values(self, *rows: tuple[type[Any], dict[str, Any]]) -> None:
        """INSERT ``(Model, {column: value})`` rows; absent columns are left to their defaults.

        The $submit path builds these dicts itself: constructing ORM instances only to read them back
        cost more than the inserts. Rows of one table with the same columns go in one executemany.
        """
        batches: dict[tuple[Any, tuple[str, ...]], list[dict[str, Any]]] = {}
        for model, values in rows:
            batches.setdefault((model.__table__, tuple(values)), []).append(values)
        connection = self.connection
        for (table, keys), params in batches.items():
            try:
                insert_rows(connection, table, keys, params)
            except NotPrecompiledError:
                connection.execute(_insert_of(table), params)

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
        connection = self.connection
        query = prepared_select(_APPROVALS, connection.dialect)
        return [
            EarlierApproval(*row)
            for row in query.rows(connection, member_id=member_id, policy_id=policy_id, limit=limit)
        ]

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
