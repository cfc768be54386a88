"""A clinical reviewer in Chromium: sign in, queue, case checklist with a highlighted note span, deny,
letter; then the provider over HTTP sees A3 on $inquire and receives the subscription notification."""

from __future__ import annotations

import io
import json
import os
import time
from pathlib import Path

import httpx
import pytest
from conftest import Loaded
from review_helpers import REVIEWER, review_action, submitter_org, subscription

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
OUTPUT = Path(__file__).resolve().parents[2] / "test-output"
DENY = "Recommended for denial (expedited)"


def _chromium() -> Path:
    if CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    if os.environ.get("CI"):
        pytest.fail("/usr/bin/chromium is required for the browser tests in CI")
    pytest.skip("/usr/bin/chromium is not installed")


@pytest.mark.browser
def test_reviewer_denies_in_the_browser_and_the_provider_is_told(loaded: Loaded) -> None:
    executable = _chromium()
    from playwright.sync_api import expect, sync_playwright
    from pypdf import PdfReader
    from service_helpers import Receiver

    OUTPUT.mkdir(exist_ok=True)
    server = loaded.server
    case = loaded.cases[DENY]
    bundle = loaded.bundles[DENY]
    receiver = Receiver().start()
    try:
        sub = httpx.post(f"{server.url}/fhir/Subscription", json=subscription(submitter_org(bundle), receiver.url))
        assert sub.status_code == 201, sub.text

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(executable), args=ARGS)
            page = browser.new_page(viewport={"width": 1500, "height": 1000}, accept_downloads=True)
            page.goto(f"{server.url}/review")
            page.get_by_label("User name").fill(REVIEWER[0])
            page.get_by_label("Password").fill(REVIEWER[3])
            page.get_by_label("Password").press("Enter")  # keyboard, no mouse
            page.wait_for_url(f"{server.url}/review")

            rows = page.locator("#queue tbody tr")
            expect(rows).to_have_count(4)
            first = rows.first
            assert first.get_attribute("data-case") == case, "the expedited request is due first"
            expect(first).to_contain_text("Expedited")
            expect(first).to_contain_text("On time")
            page.screenshot(path=str(OUTPUT / "review-queue.png"), full_page=True)

            started = time.perf_counter()
            first.get_by_role("link").click()
            page.wait_for_url(f"**/review/cases/{case}")
            expect(page.locator("h1")).to_contain_text("Request")
            opened = time.perf_counter()

            # The checklist: id, policy words, status in colour and words, evidence.
            row = page.locator('tr.criterion[data-criterion="I.A.2"]')
            expect(row).to_contain_text("Not met")
            expect(row).to_contain_text("Prescribed by or in consultation with an oncologist")
            expect(row.locator(".ev-answer")).to_contain_text("Origin")
            progression = page.locator('tr.criterion[data-criterion="I.A.4"]')
            expect(progression).to_contain_text("Met")
            mark = progression.locator("mark.span").filter(has_text="progression").first
            expect(mark).to_be_visible()
            colour = mark.evaluate("el => getComputedStyle(el).backgroundColor")
            assert colour not in ("rgba(0, 0, 0, 0)", "transparent")
            context = mark.locator("xpath=..").inner_text()
            assert "showed progression with new liver lesions" in context.replace("\n", " ")
            expect(progression).to_contain_text("characters")
            expect(page.locator('tr.criterion[data-criterion="I.A.3"] .ev-resource').first).to_contain_text("Patient")
            page.screenshot(path=str(OUTPUT / "review-case.png"), full_page=False)
            progression.screenshot(path=str(OUTPUT / "review-case-evidence-span.png"))
            page.screenshot(path=str(OUTPUT / "review-case-full.png"), full_page=True)

            # Deny: the reviewer opens the form, the not-met criterion is preselected; give the reason.
            page.get_by_text("Deny", exact=True).click()
            expect(page.get_by_label("Criterion not met")).to_have_value("I.A.2")
            page.get_by_label("Specific reason (sent to the provider)").fill(
                "The prescriber is a pulmonologist and the questionnaire states no oncologist was consulted; "
                "the records show no oncology consultation."
            )
            submitted = time.perf_counter()
            page.get_by_role("button", name="Deny (A3)").click()
            expect(page.locator("#flash")).to_contain_text("Denial recorded")
            done = time.perf_counter()
            elapsed = done - started
            timing = {
                "open_case_to_recorded_denial_seconds": round(elapsed, 3),
                "case_page_load_seconds": round(opened - started, 3),
                "checks_and_form_filling_seconds": round(submitted - opened, 3),
                "deny_post_with_letter_and_reload_seconds": round(done - submitted, 3),
            }
            (OUTPUT / "review-timing.json").write_text(json.dumps(timing, indent=2))
            print(f"open case -> recorded denial: {elapsed:.2f} s")

            with page.expect_download() as info:
                page.locator("a.letter").first.click()
            target = OUTPUT / "denial-letter.pdf"
            info.value.save_as(str(target))
            browser.close()

        text = "\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(target.read_bytes())).pages)
        flat = " ".join(text.split())
        assert "Prior authorization denied" in flat
        assert "I.A.2" in flat and "Prescribed by or in consultation with an oncologist" in flat
        assert "pulmonologist" in flat and "appeal" in flat.lower()
        assert REVIEWER[1] in flat and REVIEWER[2] in flat and "MD" in flat

        # The provider's view: $inquire shows A3 with the human-review flag; the notification arrived.
        inquiry = server.submit_json(bundle, op="inquire")
        final = inquiry.json()["entry"][0]["resource"]
        assert review_action(final, 1) == "A3"
        reviewer_ext = final["extension"][0]["extension"]
        assert {"url": "wasHumanReviewedFlag", "valueBoolean": True} in reviewer_ext
        assert any(e.get("valueIdentifier", {}).get("value") == REVIEWER[2] for e in reviewer_ext)
        notes = " ".join(n["text"] for n in final["processNote"])
        assert "I.A.2" in notes and "pulmonologist" in notes and "appeal" in notes
        assert "Prescribed by or in consultation with an oncologist" in notes
        delivered = receiver.wait_for(1)
        pas = delivered[0]["entry"][1]["resource"]
        assert review_action(pas["entry"][0]["resource"], 1) == "A3"
    finally:
        receiver.stop()
