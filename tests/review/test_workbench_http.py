"""The workbench over plain HTTP: roles, CSRF, mandatory reasons, partial approval, information requests, audit."""

from __future__ import annotations

import re

import httpx
from conftest import Loaded
from review_helpers import ADMIN, REVIEWER, csrf_of, review_action, sign_in

DENY = "Recommended for denial (expedited)"
NOTE = "Note, no progression documented"
INFO = "EX02 pended for information"


def _inquire(loaded: Loaded, name: str) -> dict:  # type: ignore[type-arg]
    answer = loaded.server.submit_json(loaded.bundles[name], op="inquire")
    assert answer.status_code == 200, answer.text
    return answer.json()["entry"][0]["resource"]  # type: ignore[no-any-return]


def test_sign_in_is_required(loaded: Loaded) -> None:
    answer = httpx.get(f"{loaded.server.url}/review", follow_redirects=False)
    assert answer.status_code == 303 and "/review/login" in answer.headers["location"]
    bad = httpx.post(f"{loaded.server.url}/review/cases/{loaded.cases[DENY]}/deny", data={"reason": "x"})
    assert bad.status_code == 401
    client = httpx.Client(base_url=loaded.server.url)
    form = client.get("/review/login")
    wrong = client.post(
        "/review/login", data={"username": REVIEWER[0], "password": "nope-nope", "csrf_token": csrf_of(form.text)}
    )
    assert wrong.status_code == 200 and "wrong" in wrong.text


def test_queue_is_ordered_by_due_time(loaded: Loaded) -> None:
    client = sign_in(loaded.server, REVIEWER[0], REVIEWER[3])
    page = client.get("/review").text
    order = re.findall(r'<tr class="row-[a-z-]+" data-case="([0-9a-f-]+)"', page)
    pended = {loaded.cases[n] for n in loaded.cases if n != "EX01 approved"}
    assert set(order) == pended
    assert order[0] == loaded.cases[DENY], "the expedited request (24 h clock) is due first"
    dues = re.findall(r'<td class="mono">(\d{4}-\d\d-\d\d \d\d:\d\d) UTC</td>\s*<td><span class="badge clock', page)
    assert dues == sorted(dues)
    filtered = client.get("/review", params={"lob": "medicaid"}).text
    assert re.findall(r'data-case="([0-9a-f-]+)"', filtered) == [loaded.cases["EX03 referred"]]
    referred = client.get("/review", params={"status": "referred"}).text
    assert loaded.cases["EX03 referred"] in referred and loaded.cases[DENY] not in referred


def test_admin_cannot_decide(loaded: Loaded) -> None:
    client = sign_in(loaded.server, ADMIN[0], ADMIN[3])
    case = loaded.cases[DENY]
    page = client.get(f"/review/cases/{case}")
    assert page.status_code == 200 and 'id="cannot-decide"' in page.text and "deny-form" not in page.text
    answer = client.post(
        f"/review/cases/{case}/deny",
        data={"csrf_token": csrf_of(page.text), "criterion": "I.A.2", "reason_code": "MN", "reason": "No."},
    )
    assert answer.status_code == 403
    assert review_action(_inquire(loaded, DENY), 1) == "A4"


def test_a_denial_needs_a_reason(loaded: Loaded) -> None:
    client = sign_in(loaded.server, REVIEWER[0], REVIEWER[3])
    case = loaded.cases[DENY]
    page = client.get(f"/review/cases/{case}")
    answer = client.post(
        f"/review/cases/{case}/deny",
        data={"csrf_token": csrf_of(page.text), "criterion": "I.A.2", "reason_code": "MN", "reason": "   "},
    )
    assert answer.status_code == 422 and "specific reason" in answer.text
    no_criterion = client.post(
        f"/review/cases/{case}/deny",
        data={"csrf_token": csrf_of(page.text), "criterion": "", "reason_code": "MN", "reason": "Not an oncologist."},
    )
    assert no_criterion.status_code == 422 and "criterion" in no_criterion.text
    assert review_action(_inquire(loaded, DENY), 1) == "A4"


def test_a_forged_form_is_refused(loaded: Loaded) -> None:
    client = sign_in(loaded.server, REVIEWER[0], REVIEWER[3])
    case = loaded.cases[DENY]
    form = {"criterion": "I.A.2", "reason_code": "MN", "reason": "Forged."}
    assert client.post(f"/review/cases/{case}/deny", data=form).status_code == 403
    assert client.post(f"/review/cases/{case}/deny", data={**form, "csrf_token": "guess"}).status_code == 403
    assert client.post(f"/review/cases/{case}/approve", data={"reason": "ok"}).status_code == 403
    assert review_action(_inquire(loaded, DENY), 1) == "A4"


def test_partial_approval_is_a6_with_an_authorized_add_item(loaded: Loaded) -> None:
    client = sign_in(loaded.server, REVIEWER[0], REVIEWER[3])
    case = loaded.cases[INFO]
    page = client.get(f"/review/cases/{case}")
    answer = client.post(
        f"/review/cases/{case}/approve-partial",
        data={
            "csrf_token": csrf_of(page.text),
            "sequence": "1",
            "units": "61",
            "start": "2026-03-02",
            "end": "2026-05-31",
            "criterion": "V",
            "reason": "Initial 3 months only; response must be documented before the rest.",
        },
        follow_redirects=True,
    )
    assert answer.status_code == 200 and "Modified approval recorded" in answer.text
    response = _inquire(loaded, INFO)
    assert review_action(response, 1) == "A6"
    added = response["addItem"][0]
    assert added["itemSequence"] == [1] and added["quantity"]["value"] == 61
    code = added["adjudication"][0]["extension"][0]["extension"][0]["valueCodeableConcept"]["coding"][0]["code"]
    assert code == "A1"
    assert response["preAuthPeriod"] == {"start": "2026-03-02", "end": "2026-05-31"}
    assert {"url": "wasHumanReviewedFlag", "valueBoolean": True} in response["extension"][0]["extension"]
    assert any("61 of the 241 units" in n["text"] for n in response["processNote"])
    assert "Download partial letter" in answer.text


def test_request_for_information_stays_pended_and_names_what_is_needed(loaded: Loaded) -> None:
    client = sign_in(loaded.server, REVIEWER[0], REVIEWER[3])
    case = loaded.cases[NOTE]
    page = client.get(f"/review/cases/{case}")
    answer = client.post(
        f"/review/cases/{case}/request-info",
        data={
            "csrf_token": csrf_of(page.text),
            "criterion": "I.A.4",
            "needed": "the restaging CT report showing progression after carboplatin",
            "days": "10",
        },
        follow_redirects=True,
    )
    assert answer.status_code == 200 and "Request for information recorded" in answer.text
    response = _inquire(loaded, NOTE)
    assert review_action(response, 1) == "A4"
    texts = " ".join(n["text"] for n in response["processNote"])
    assert "criterion I.A.4" in texts and "restaging CT report" in texts and "platinum" in texts
    assert "Download information letter" in answer.text
    # still in the queue
    assert case in client.get("/review").text


def test_audit_log_is_for_admins(loaded: Loaded) -> None:
    reviewer = sign_in(loaded.server, REVIEWER[0], REVIEWER[3])
    case = loaded.cases[DENY]
    reviewer.get(f"/review/cases/{case}")
    assert reviewer.get("/review/audit").status_code == 403
    admin = sign_in(loaded.server, ADMIN[0], ADMIN[3])
    log = admin.get("/review/audit", params={"case": case})
    assert log.status_code == 200
    assert "view_case" in log.text and REVIEWER[0] in log.text
    # sign-out ends the server-side session
    page = reviewer.get("/review")
    assert reviewer.post("/review/logout", data={"csrf_token": csrf_of(page.text)}).status_code == 303
    assert reviewer.get("/review", follow_redirects=False).status_code == 303


def test_approval_is_a1_with_a_letter_carrying_the_boxed_warning(loaded: Loaded) -> None:
    import io

    from pypdf import PdfReader

    client = sign_in(loaded.server, REVIEWER[0], REVIEWER[3])
    case = loaded.cases["EX03 referred"]
    page = client.get(f"/review/cases/{case}")
    answer = client.post(
        f"/review/cases/{case}/approve",
        data={"csrf_token": csrf_of(page.text), "reason": "Approved on review of the records."},
        follow_redirects=True,
    )
    assert answer.status_code == 200 and "Approval recorded" in answer.text
    response = _inquire(loaded, "EX03 referred")
    assert review_action(response, 1) == "A1" and response["preAuthRef"]
    link = re.search(r'href="(/review/cases/[^"]+/letters/\d+)"', answer.text)
    assert link
    pdf = client.get(link.group(1))
    assert pdf.headers["content-type"] == "application/pdf"
    text = " ".join(" ".join((p.extract_text() or "") for p in PdfReader(io.BytesIO(pdf.content)).pages).split())
    assert response["preAuthRef"] in text and "units" in text
    assert "CRS" in text and "ICANS" in text and "22 to 24 hours" in text
    # a decided case leaves the queue
    assert case not in client.get("/review").text
