"""The precompiled hot-path statements (store/statements.py) store and read exactly what Core does.

Each row is written twice, once through ``Repository.insert_values`` (driver cursor) and once through
a plain Core insert, then read back through the ORM: every column must come back equal, on SQLite
and on PostgreSQL. The earlier-approvals query is checked against the same query run by Core.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from priorauth.store.db import open_database, upgrade
from priorauth.store.models import Case, DeterminationRecord, ReceivedRequest
from priorauth.store.repository import Repository

EASTERN = timezone(timedelta(hours=-5))
SENT = datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=EASTERN)


def _request(request_id: str, **changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": request_id,
        "received_at": SENT,
        "operation": "submit",
        "org": "ORG-1",
        "client_id": None,
        "content_type": "application/fhir+json",
        "body": b'{"resourceType":"Bundle"}\x00\xff',
        "http_status": 200,
        "request_date": date(2026, 3, 2),
        "case_id": None,
    }
    row.update(changes)
    return row


def _determination(case_id: str, sequence: int, action: str, window: tuple[date, date] | None) -> dict[str, Any]:
    return {
        "case_id": case_id,
        "request_id": None,
        "item_sequence": sequence,
        "previous_id": None,
        "decided_by": "engine",
        "reviewer_npi": None,
        "reason": "why",
        "policy_id": "CP.PHAR.685",
        "policy_version": "2025-10",
        "policy_hash": "sha256:x",
        "engine_version": "1",
        "request_date": date(2026, 3, 2),
        "line_of_business": "medicaid",
        "outcome": "approved",
        "review_action": action,
        "auth_number": f"PA-{case_id}-{sequence}",
        "window_start": window[0] if window else None,
        "window_end": window[1] if window else None,
        "member_id": "M-1",
        "trace": '{"a": 1}',
        "notes": "[]",
        "tracking_number": None,
        "authorized_units": 1.5 if action == "A6" else None,
        "created_at": SENT,
    }


def _columns(row: Any, skip: tuple[str, ...] = ("id",)) -> dict[str, Any]:
    return {c.key: getattr(row, c.key) for c in type(row).__table__.columns if c.key not in skip}


def _case(case_id: str) -> dict[str, Any]:
    return {
        "id": case_id,
        "org": "ORG-1",
        "first_request_id": "fast-1",
        "last_request_id": "fast-1",
        "member_id": "M-1",
        "status": "approved",
        "version": 1,
        "created_at": SENT,
        "updated_at": SENT,
    }


def _check(url: str) -> None:
    upgrade(url)
    db = open_database(url)
    try:
        with db.write() as session:
            repo = Repository(session)
            # "truncated" is left out of the fast row: its constant default (False) must be bound.
            repo.insert_values((ReceivedRequest, _request("fast-1")), (ReceivedRequest, _request("fast-2", org=None)))
            session.connection().execute(
                insert(ReceivedRequest.__table__), [_request("core-1"), _request("core-2", org=None)]
            )
            repo.insert_values((Case, _case("C-FAST")), (Case, _case("C-CORE")))
            windows = (date(2026, 1, 1), date(2026, 6, 30))
            repo.insert_values(
                *(
                    (DeterminationRecord, _determination("C-FAST", n, action, windows if n != 3 else None))
                    for n, action in enumerate(("A1", "A6", "A1", "A3", "A1"), start=1)
                )
            )
            session.connection().execute(
                insert(DeterminationRecord.__table__),
                [_determination("C-CORE", 1, "A1", windows), _determination("C-CORE", 2, "A6", windows)],
            )
        with db.read() as session:
            fast = [session.get(ReceivedRequest, i) for i in ("fast-1", "fast-2")]
            core = [session.get(ReceivedRequest, i) for i in ("core-1", "core-2")]
            for f, c in zip(fast, core, strict=True):
                assert f is not None and c is not None
                assert _columns(f) == _columns(c)
                assert f.truncated is False
                assert f.received_at == SENT and f.received_at.tzinfo is not None
            rows = session.scalars(select(DeterminationRecord).order_by(DeterminationRecord.id)).all()
            by_case = {(r.case_id, r.item_sequence): r for r in rows}
            skip = ("id", "case_id", "auth_number")
            assert _columns(by_case["C-FAST", 1], skip) == _columns(by_case["C-CORE", 1], skip)
            assert _columns(by_case["C-FAST", 2], skip) == _columns(by_case["C-CORE", 2], skip)
            assert by_case["C-FAST", 2].authorized_units == 1.5

            repo = Repository(session)
            for limit in (1, 3, 20):
                got = repo.approvals("M-1", "CP.PHAR.685", limit=limit)
                d = DeterminationRecord
                expected = session.execute(
                    select(d.id, d.case_id, d.auth_number, d.window_start, d.window_end)
                    .where(
                        d.member_id == "M-1",
                        d.policy_id == "CP.PHAR.685",
                        d.review_action.in_(("A1", "A6")),
                        d.window_start.is_not(None),
                    )
                    .order_by(d.id.desc())
                    .limit(limit)
                ).all()
                assert [tuple(vars(a).values()) for a in got] == [tuple(r) for r in expected]
                assert all(isinstance(a.window_start, date) for a in got)
            assert len(repo.approvals("M-1", "CP.PHAR.685")) == 5  # A1 A6 A1 (fast, with window) + A1 A6 (core)
            assert repo.approvals("M-2", "CP.PHAR.685") == []
    finally:
        db.dispose()


def test_fast_statements_match_core_on_sqlite(sqlite_url: str) -> None:
    _check(sqlite_url)


@pytest.mark.postgres
def test_fast_statements_match_core_on_postgres(pg_url: str) -> None:
    _check(pg_url)


def test_driver_errors_surface_as_sqlalchemy_errors_and_roll_back(sqlite_url: str) -> None:
    upgrade(sqlite_url)
    db = open_database(sqlite_url)
    try:
        with pytest.raises(IntegrityError), db.write() as session:
            row = _request("x")
            del row["http_status"]  # NOT NULL without a default, as with a Core insert
            Repository(session).insert_values((ReceivedRequest, _request("y")), (ReceivedRequest, row))
        with db.read() as session:
            assert session.get(ReceivedRequest, "y") is None  # the whole transaction rolled back
    finally:
        db.dispose()


def test_utc_is_what_sqlite_stores(sqlite_url: str) -> None:
    upgrade(sqlite_url)
    db = open_database(sqlite_url)
    try:
        with db.write() as session:
            Repository(session).insert_values((ReceivedRequest, _request("utc")))
        with db.read() as session:
            raw = session.connection().exec_driver_sql("SELECT received_at FROM received_request").scalar_one()
        assert str(raw).startswith(SENT.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"))
    finally:
        db.dispose()


@pytest.mark.postgres
def test_an_update_on_postgres_versions_the_case_through_the_joined_session(pg_url: str) -> None:
    """The $submit write runs on a Core connection; an update's row lock and version bump go through
    the ORM session joined to that same transaction."""
    from service_helpers import PAS_REQUESTS

    from priorauth.service.decisions import DecisionService
    from priorauth.service.settings import load_settings

    upgrade(pg_url)
    service = DecisionService(open_database(pg_url), load_settings(database_url=pg_url, today="2026-03-02"))
    try:
        first = service.submit(
            (PAS_REQUESTS / "ig-pas221_Bundle-HomecareAuthorizationBundleExample.json").read_bytes(), org=None
        )
        update = service.submit(
            (PAS_REQUESTS / "ig-pas221_Bundle-HomecareAuthorizationUpdateBundleExample.json").read_bytes(), org=None
        )
        assert update.case_id == first.case_id
        with service.db.read() as session:
            case = session.get(Case, first.case_id)
            assert case is not None and case.version == 2 and case.last_request_id == update.request_id
            rows = session.scalars(
                select(DeterminationRecord).where(DeterminationRecord.case_id == first.case_id)
            ).all()
            assert sum(r.previous_id is not None for r in rows) == 2
    finally:
        service.db.dispose()
