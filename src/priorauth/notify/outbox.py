"""The outbox: rows written in the decision's transaction, claimed by workers with a lease.

Delivery is at least once per row and a row exists once per (event, subscription) thanks to the
unique ``event_id``; receivers can de-duplicate on the ``X-Priorauth-Event`` header. On PostgreSQL,
claiming uses ``SELECT … FOR UPDATE SKIP LOCKED`` so a fleet never hands one row to two workers; on
SQLite the write lock serialises claims.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select

from priorauth.notify.notification import notification_bundle
from priorauth.store.db import Database
from priorauth.store.models import OutboxMessage
from priorauth.store.repository import Repository


@dataclass(frozen=True)
class Claimed:
    """A message leased to this worker: what to POST, where, with which headers."""

    id: int
    event_id: str
    endpoint: str
    headers: tuple[str, ...]
    payload: str
    attempts: int


def enqueue_notifications(
    repo: Repository,
    *,
    org: str | None,
    case_id: str,
    event_key: str,
    response_bundle: dict[str, Any],
    base_url: str,
    now: datetime,
) -> int:
    """Stage one message per active subscription for ``org``; returns how many. Same transaction as the decision."""
    if org is None:
        return 0
    count = 0
    for sub in repo.active_subscriptions(org, now):
        number = repo.next_event_number(sub.id)
        payload = notification_bundle(
            subscription_id=sub.id,
            base_url=base_url,
            event_number=number,
            timestamp=now,
            response_bundle=response_bundle,
        )
        repo.add(
            OutboxMessage(
                event_id=f"{event_key}:{sub.id}",
                subscription_id=sub.id,
                case_id=case_id,
                event_number=number,
                payload=json.dumps(payload, separators=(",", ":")),
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
        count += 1
    return count


def claim_due(db: Database, *, now: datetime, limit: int, lease: timedelta) -> list[Claimed]:
    """Lease up to ``limit`` due messages to the caller (committed before delivery starts)."""
    from priorauth.store.models import SubscriptionRecord

    with db.write() as session:
        stmt = (
            select(OutboxMessage)
            .where(
                OutboxMessage.status == "pending",
                OutboxMessage.next_attempt_at <= now,
                or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until <= now),
            )
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(limit)
        )
        if db.dialect == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        rows = list(session.scalars(stmt))
        claimed: list[Claimed] = []
        for row in rows:
            row.lease_until = now + lease
            sub = session.get(SubscriptionRecord, row.subscription_id)
            if sub is None or sub.status != "active":
                row.status = "failed"
                row.last_error = "subscription no longer active"
                continue
            claimed.append(
                Claimed(row.id, row.event_id, sub.endpoint, tuple(sub.headers or ()), row.payload, row.attempts)
            )
        return claimed


def mark_delivered(db: Database, message_id: int, *, now: datetime) -> None:
    """Record a successful delivery."""
    with db.write() as session:
        row = session.get(OutboxMessage, message_id)
        if row is not None:
            row.status = "delivered"
            row.delivered_at = now
            row.attempts += 1
            row.lease_until = None


def mark_failed(
    db: Database,
    message_id: int,
    *,
    now: datetime,
    error: str,
    max_attempts: int,
    base_seconds: float,
    max_seconds: float,
) -> bool:
    """Record a failed attempt and schedule the next with exponential back-off; True when given up."""
    with db.write() as session:
        row = session.get(OutboxMessage, message_id)
        if row is None:
            return True
        row.attempts += 1
        row.last_error = error[:2000]
        row.lease_until = None
        if row.attempts >= max_attempts:
            row.status = "failed"
            return True
        delay = min(max_seconds, base_seconds * (2 ** (row.attempts - 1)))
        row.next_attempt_at = now + timedelta(seconds=delay)
        return False
