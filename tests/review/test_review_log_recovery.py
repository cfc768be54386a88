"""Approve and deny write their review_action row in the decision's own transaction: the row and the decision
are stored together or not at all. Only the letter (derived data, rendered after the commit) can be missing,
and it is made again when the case page opens. A decision made outside the workbench gets no row."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from conftest import Loaded
from review_helpers import ADMIN, REVIEWER, csrf_of, review_action, sign_in
from service_helpers import cli as service_cli
from sqlalchemy import delete, func, select

from priorauth.review.models import ReviewAction, ReviewLetter
from priorauth.service.decisions import DecisionService
from priorauth.service.settings import load_settings
from priorauth.store.db import Database, open_database
from priorauth.store.models import Case, DeterminationRecord, OutboxMessage, ResponseVersion
from priorauth.store.repository import Repository

DENY = "Recommended for denial (expedited)"
NOTE = "Note, no progression documented"
REFERRED = "EX03 referred"
WHY = "The prescriber is a pulmonologist and no oncologist was consulted."


def _db(loaded: Loaded) -> Database:
    return open_database(loaded.env["PRIORAUTH_DATABASE_URL"])


def _logged(db: Database, case: str) -> tuple[list[ReviewAction], list[ReviewLetter]]:
    with db.read() as session:
        rows = list(session.scalars(select(ReviewAction).where(ReviewAction.case_id == case)))
        letters = list(session.scalars(select(ReviewLetter).where(ReviewLetter.case_id == case)))
    return rows, letters


def _pdf_text(content: bytes) -> str:
    from pypdf import PdfReader

    return " ".join(" ".join((p.extract_text() or "") for p in PdfReader(io.BytesIO(content)).pages).split())


def _post(loaded: Loaded, name: str, path: str, **form: str) -> None:
    client = sign_in(loaded.server, REVIEWER[0], REVIEWER[3])
    case = loaded.cases[name]
    csrf = csrf_of(client.get(f"/review/cases/{case}").text)
    answer = client.post(f"/review/cases/{case}/{path}", data={"csrf_token": csrf, **form})
    assert answer.status_code == 303, answer.text


@pytest.mark.parametrize(
    ("name", "path", "form", "action", "outcome"),
    [
        (
            REFERRED,
            "approve",
            {"reason": "Approved on review.", "start": "2026-03-02", "end": "2026-05-31"},
            "approve",
            "approved",
        ),
        (DENY, "deny", {"criterion": "I.A.2", "reason_code": "DOC", "reason": WHY}, "deny", "denied"),
    ],
)
def test_approve_and_deny_store_the_row_with_the_decision_it_records(
    loaded: Loaded, name: str, path: str, form: dict[str, str], action: str, outcome: str
) -> None:
    _post(loaded, name, path, **form)
    case = loaded.cases[name]
    db = _db(loaded)
    try:
        with db.read() as session:
            row = session.scalars(select(ReviewAction).where(ReviewAction.case_id == case)).one()
            decided = list(
                session.scalars(
                    select(DeterminationRecord).where(
                        DeterminationRecord.case_id == case, DeterminationRecord.decided_by == "reviewer"
                    )
                )
            )
            version = session.scalars(
                select(ResponseVersion).where(
                    ResponseVersion.case_id == case, ResponseVersion.version == row.response_version
                )
            ).one()
            current = session.get(Case, case)
        assert row.action == action and row.reviewer_npi == REVIEWER[2]
        assert decided and {(d.outcome, d.reviewer_npi) for d in decided} == {(outcome, REVIEWER[2])}
        assert sorted(d.item_sequence for d in decided) == row.sequences
        # The row points at the response version this decision produced: the review version stamped with the
        # determinations' clock reading, which is the case's current one.
        assert current is not None and version.version == current.version and version.cause == "review"
        assert {d.created_at for d in decided} == {version.created_at} and row.created_at == version.created_at
        assert len(_logged(db, case)[1]) == 1, "the letter is made right after the action"
    finally:
        db.dispose()


class CallbackError(RuntimeError):
    """What the callback raises."""


def test_a_failing_within_callback_stores_nothing_of_the_decision(
    loaded: Loaded, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = loaded.cases[DENY]
    for key, value in loaded.env.items():
        if key.startswith("PRIORAUTH_"):
            monkeypatch.setenv(key, value)
    db = _db(loaded)

    def counts() -> tuple[int, int, int, int, str, int]:
        with db.read() as session:
            determinations = session.scalar(
                select(func.count()).select_from(DeterminationRecord).where(DeterminationRecord.case_id == case)
            )
            versions = session.scalar(
                select(func.count()).select_from(ResponseVersion).where(ResponseVersion.case_id == case)
            )
            outbox = session.scalar(select(func.count()).select_from(OutboxMessage))
            actions = session.scalar(select(func.count()).select_from(ReviewAction))
            row = session.get(Case, case)
            assert row is not None
            return (
                int(determinations or 0),
                int(versions or 0),
                int(outbox or 0),
                int(actions or 0),
                row.status,
                row.version,
            )

    seen: list[Any] = []

    def within(repo: Repository, bundle: dict[str, Any]) -> None:
        # Inside the transaction the new version is visible; then the caller's own write fails.
        staged = repo.session.scalars(select(ResponseVersion).where(ResponseVersion.bundle_id == bundle["id"])).one()
        seen.append((bundle["resourceType"], staged.cause))
        raise CallbackError("the caller's row could not be written")

    try:
        before = counts()
        assert before[4] == "pended"
        with pytest.raises(CallbackError):
            DecisionService(db, load_settings()).record_decision(
                case, approve=False, reviewer_npi=REVIEWER[2], reason=WHY, criterion="I.A.2", within=within
            )
        assert seen == [("Bundle", "review")], "the callback ran inside the decision's transaction"
        assert counts() == before, "no determination, response version, outbox message or row was kept"
        response = loaded.server.submit_json(loaded.bundles[DENY], op="inquire").json()["entry"][0]["resource"]
        assert review_action(response, 1) == "A4", "the provider still sees the request pended"
    finally:
        db.dispose()


def test_a_missing_letter_is_made_again_when_the_case_page_opens(loaded: Loaded) -> None:
    _post(loaded, DENY, "deny", criterion="I.A.2", reason_code="MN", reason=WHY)
    case = loaded.cases[DENY]
    db = _db(loaded)
    try:
        rows, letters = _logged(db, case)
        assert len(rows) == 1 and len(letters) == 1
        # As if the process died after the decision committed but before the letter was stored.
        with db.write() as session:
            session.execute(delete(ReviewLetter).where(ReviewLetter.case_id == case))
        assert _logged(db, case)[1] == []

        client = sign_in(loaded.server, REVIEWER[0], REVIEWER[3])
        page = client.get(f"/review/cases/{case}").text
        rows_after, letters = _logged(db, case)
        assert [r.id for r in rows_after] == [rows[0].id], "the row is not written again"
        assert len(letters) == 1 and letters[0].action_id == rows[0].id and letters[0].kind == "denial"
        assert "Download denial letter" in page
        link = re.search(r'href="(/review/cases/[^"]+/letters/\d+)"', page)
        assert link
        text = _pdf_text(client.get(link.group(1)).content)
        assert "Prior authorization denied" in text and "I.A.2" in text and "pulmonologist" in text

        client.get(f"/review/cases/{case}")
        assert len(_logged(db, case)[1]) == 1, "opening the case again makes no second letter"
        admin = sign_in(loaded.server, ADMIN[0], ADMIN[3])
        assert admin.get("/review/audit", params={"case": case}).text.count("(completed late)") == 1
    finally:
        db.dispose()


def test_a_cli_decision_is_recorded_by_the_service_without_a_workbench_row(loaded: Loaded) -> None:
    case = loaded.cases[NOTE]
    service_cli(loaded.env, "decide", case, "--reviewer-npi", REVIEWER[2], "--reason", "Records reviewed.", "--approve")
    client = sign_in(loaded.server, REVIEWER[0], REVIEWER[3])
    assert "No reviewer action yet." in client.get(f"/review/cases/{case}").text
    db = _db(loaded)
    try:
        assert _logged(db, case) == ([], [])
        with db.read() as session:
            decided = list(
                session.scalars(
                    select(DeterminationRecord).where(
                        DeterminationRecord.case_id == case, DeterminationRecord.decided_by == "reviewer"
                    )
                )
            )
        assert decided and {(d.outcome, d.reviewer_npi, d.reason) for d in decided} == {
            ("approved", REVIEWER[2], "Records reviewed.")
        }
    finally:
        db.dispose()
