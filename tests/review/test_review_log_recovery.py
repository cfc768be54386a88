"""A decision recorded without its review_action row or letter (the process died in between) is completed
the next time the case page opens, exactly once; and the rows rebuilt from stored determinations say what
the workbench itself writes."""

from __future__ import annotations

import io
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import Loaded
from review_helpers import ADMIN, REVIEWER, csrf_of, review_action, sign_in
from service_helpers import cli as service_cli
from sqlalchemy import select

from priorauth.review import actions, recovery
from priorauth.review.models import ReviewAction, ReviewLetter
from priorauth.review.settings import ReviewSettings
from priorauth.service.decisions import DecisionService
from priorauth.service.settings import load_settings
from priorauth.store.db import Database, open_database
from priorauth.store.models import ResponseVersion

DENY = "Recommended for denial (expedited)"
NOTE = "Note, no progression documented"
INFO = "EX02 pended for information"
REFERRED = "EX03 referred"
ONCOLOGIST = "Prescribed by or in consultation with an oncologist"
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


def test_a_denial_without_its_review_row_is_completed_once_on_the_case_page(
    loaded: Loaded, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = loaded.cases[DENY]
    for key, value in loaded.env.items():
        if key.startswith("PRIORAUTH_"):
            monkeypatch.setenv(key, value)
    db = _db(loaded)
    try:
        # What the deny action does before it writes its review_action row; then the process "dies".
        codes = ReviewSettings().denial_reason_codes
        DecisionService(db, load_settings()).record_decision(
            case,
            approve=False,
            reviewer_npi=REVIEWER[2],
            reason=actions.denial_reason(WHY, "I.A.2", ONCOLOGIST, "MN", codes["MN"]),
            criterion="I.A.2",
            reason_code="MN",
        )
        assert _logged(db, case) == ([], [])
        response = loaded.server.submit_json(loaded.bundles[DENY], op="inquire").json()["entry"][0]["resource"]
        assert review_action(response, 1) == "A3", "the provider already has the decision"

        # Several reviewers open the case at once: the row and the letter are written once.
        clients = [sign_in(loaded.server, REVIEWER[0], REVIEWER[3]) for _ in range(4)]
        with ThreadPoolExecutor(len(clients)) as pool:
            pages = list(pool.map(lambda c: c.get(f"/review/cases/{case}"), clients))
        assert [p.status_code for p in pages] == [200] * len(clients)
        rows, letters = _logged(db, case)
        assert len(rows) == 1 and len(letters) == 1, (rows, letters)
        row = rows[0]
        assert (row.action, row.review_action, row.sequences) == ("deny", "A3", [1])
        assert (row.criterion, row.reason_code, row.reason, row.reviewer_npi) == ("I.A.2", "MN", WHY, REVIEWER[2])
        assert row.details == {"policy_words": ONCOLOGIST, "reason_code_text": codes["MN"], "recovered": True}
        assert letters[0].action_id == row.id and letters[0].kind == "denial"

        page = clients[0].get(f"/review/cases/{case}").text
        assert "deny → A3" in page and WHY in page and "Download denial letter" in page
        link = re.search(r'href="(/review/cases/[^"]+/letters/\d+)"', page)
        assert link
        text = _pdf_text(clients[0].get(link.group(1)).content)
        assert "Prior authorization denied" in text and "I.A.2" in text and ONCOLOGIST in text
        assert "pulmonologist" in text and "MN" in text and REVIEWER[1] in text and REVIEWER[2] in text
        assert [len(x) for x in _logged(db, case)] == [1, 1], "opening the case again writes nothing more"

        admin = sign_in(loaded.server, ADMIN[0], ADMIN[3])
        log = admin.get("/review/audit", params={"case": case}).text
        assert log.count("action_recovered") == 1 and "(completed late)" in log
    finally:
        db.dispose()


def test_a_cli_decision_by_a_workbench_reviewer_gets_its_row_and_letter(loaded: Loaded) -> None:
    approved, foreign = loaded.cases[REFERRED], loaded.cases[NOTE]
    service_cli(
        loaded.env, "decide", approved, "--reviewer-npi", REVIEWER[2], "--reason", "Records reviewed.", "--approve"
    )
    # An NPI that is no workbench reviewer's: nobody to attribute a review_action row to.
    service_cli(loaded.env, "decide", foreign, "--reviewer-npi", "1999999992", "--reason", "Not met.", "--deny")
    client = sign_in(loaded.server, REVIEWER[0], REVIEWER[3])
    page = client.get(f"/review/cases/{approved}").text
    assert "approve → A1" in page and "Download approval letter" in page
    response = loaded.server.submit_json(loaded.bundles[REFERRED], op="inquire").json()["entry"][0]["resource"]
    link = re.search(r'href="(/review/cases/[^"]+/letters/\d+)"', page)
    assert link
    text = _pdf_text(client.get(link.group(1)).content)
    assert "Prior authorization approved" in text and response["preAuthRef"] in text and "CRS" in text
    assert "No reviewer action yet." in client.get(f"/review/cases/{foreign}").text
    db = _db(loaded)
    try:
        assert _logged(db, foreign) == ([], [])
    finally:
        db.dispose()


def test_rebuilt_rows_say_what_the_workbench_writes(loaded: Loaded) -> None:
    client = sign_in(loaded.server, REVIEWER[0], REVIEWER[3])

    def post(name: str, path: str, **form: str) -> None:
        case = loaded.cases[name]
        csrf = csrf_of(client.get(f"/review/cases/{case}").text)
        answer = client.post(f"/review/cases/{case}/{path}", data={"csrf_token": csrf, **form})
        assert answer.status_code == 303, answer.text

    post(REFERRED, "approve", reason="Approved on review.", start="2026-03-02", end="2026-05-31")
    post(
        INFO,
        "approve-partial",
        sequence="1",
        units="61",
        start="2026-03-02",
        end="2026-05-31",
        criterion="V",
        reason="3 months first.",
    )
    post(NOTE, "request-info", criterion="I.A.4", needed="the restaging CT report", days="10")
    post(DENY, "deny", criterion="I.A.2", reason_code="DOC", reason=WHY)
    db = _db(loaded)
    try:
        with db.read() as session:
            logged = list(session.scalars(select(ReviewAction).order_by(ReviewAction.id)))
            assert [r.action for r in logged] == ["approve", "approve_partial", "request_info", "deny"]
            for row in logged:
                version = session.scalars(
                    select(ResponseVersion).where(
                        ResponseVersion.case_id == row.case_id, ResponseVersion.version == row.response_version
                    )
                ).one()
                rebuilt = recovery.rebuild(session, version)
                assert rebuilt is not None, row.action
                entry = rebuilt.entry
                assert rebuilt.reviewer.id == row.reviewer_id
                assert (entry.action, entry.review_action, entry.sequences) == (
                    row.action,
                    row.review_action,
                    row.sequences,
                )
                assert (entry.reason, entry.criterion, entry.reason_code) == (
                    row.reason,
                    row.criterion,
                    row.reason_code,
                )
                assert entry.details == {**row.details, "recovered": True}, row.action
    finally:
        db.dispose()
