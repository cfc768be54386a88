"""Helpers for the CRD/DTR tests: a real uvicorn process, a tiny FHIR file server, fixture builders."""

from __future__ import annotations

import copy
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fhir.resources.R4B import get_fhir_model_class

Json = dict[str, Any]
HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SHARED = Path(os.environ.get("PRIORAUTH_SHARED_DIR", str(REPO.parent / "shared")))
CRD = SHARED / "fixtures" / "davinci" / "crd"
DTR = SHARED / "fixtures" / "davinci" / "dtr"
EXAMPLES = SHARED / "fixtures" / "examples"
COVERAGE_INFO = "http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-coverage-information"
QUESTIONNAIRE = "https://priorauth.dev/fhir/Questionnaire/CP.PHAR.685"
TODAY = "2026-03-02"  # the examples' request date


def load(path: Path) -> Json:
    data: Json = json.loads(path.read_text())
    return data


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Uvicorn:
    """``uvicorn --factory app_for_tests:create_app`` in a subprocess on a free loopback port."""

    def __init__(self, log: Path, today: str = TODAY) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.env = {**os.environ, "PRIORAUTH_TODAY": today, "PRIORAUTH_POLICY_DIR": str(REPO / "policies")}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Uvicorn:
        cmd = [sys.executable, "-m", "uvicorn", "--factory", "app_for_tests:create_app", "--app-dir", str(HERE)]
        cmd += ["--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"]
        self.proc = subprocess.Popen(cmd, env=self.env, stdout=self.log.open("wb"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"uvicorn exited: {self.log.read_text()}")
            try:
                if httpx.get(f"{self.base}/cds-services", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError(f"uvicorn did not start: {self.log.read_text()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class FhirFiles:
    """A tiny FHIR server: ``GET /Type/id`` reads, ``GET /Type?patient=...`` searchsets, from a dict."""

    def __init__(self, resources: list[Json]) -> None:
        self.resources = resources
        self.requests: list[tuple[str, str | None]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.requests.append((self.path, self.headers.get("Authorization")))
                status, body = owner.answer(self.path)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/fhir+json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}/r4"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def answer(self, raw: str) -> tuple[int, Json]:
        url = urlsplit(raw)
        parts = url.path.removeprefix("/r4/").strip("/").split("/")
        if len(parts) == 2:
            for res in self.resources:
                if res["resourceType"] == parts[0] and res.get("id") == parts[1]:
                    return 200, res
            return 404, {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "not-found"}]}
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        found = []
        for res in self.resources:
            if res["resourceType"] != parts[0]:
                continue
            text = json.dumps(res)
            if all(v.split("/")[-1] in text for k, v in query.items() if k in ("patient", "practitioner")):
                found.append(res)
        return 200, {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": len(found),
            "entry": [{"fullUrl": f"{self.base}/{r['resourceType']}/{r['id']}", "resource": r} for r in found],
        }

    def __enter__(self) -> FhirFiles:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Uvicorn]:
    srv = Uvicorn(tmp_path_factory.mktemp("uvicorn") / "server.log").start()
    yield srv
    srv.stop()


def tarlatamab_request(**overrides: Any) -> Json:
    """A draft tarlatamab MedicationRequest (NDC 55513-0059-01), cycle 1 step-up doses."""
    doses = [(1, "2026-03-02", 1), (8, "2026-03-09", 10), (15, "2026-03-16", 10)]
    mr: Json = {
        "resourceType": "MedicationRequest",
        "id": "mr-tarlatamab",
        "status": "draft",
        "intent": "order",
        "medicationCodeableConcept": {
            "coding": [{"system": "http://hl7.org/fhir/sid/ndc", "code": "55513-0059-01"}],
            "text": "Imdelltra (tarlatamab-dlle) 1 mg vial",
        },
        "subject": {"reference": "Patient/pat015"},
        "authoredOn": TODAY,
        "requester": {"reference": "Practitioner/pra1234"},
        "insurance": [{"reference": "Coverage/cov015"}],
        "dosageInstruction": [
            {
                "sequence": i + 1,
                "text": f"Cycle 1 Day {day}: tarlatamab-dlle {mg} mg IV",
                "timing": {"event": [on], "code": {"text": f"Cycle 1 Day {day}"}},
                "doseAndRate": [
                    {"doseQuantity": {"value": mg, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"}}
                ],
            }
            for i, (day, on, mg) in enumerate(doses)
        ],
    }
    mr.update(overrides)
    return mr


def with_tarlatamab(hook_request: Json, order: Json | None = None) -> Json:
    """An adapted copy of a shared hook request whose draft order is a tarlatamab MedicationRequest."""
    body = copy.deepcopy(hook_request)
    order = order or tarlatamab_request()
    if body["hook"] == "order-dispatch":
        body["context"]["order"] = f"MedicationRequest/{order['id']}"
        body.setdefault("prefetch", {})["order"] = order
    else:
        body["context"]["draftOrders"] = {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": order}],
        }
        if body["hook"] == "order-select":
            body["context"]["selections"] = [f"MedicationRequest/{order['id']}"]
    return body


def example_resources(name: str) -> tuple[Json, list[Json]]:
    """A PAS example's Claim and its other resources, urn:uuid references rewritten to ``Type/id``."""
    bundle = load(EXAMPLES / name)
    text = json.dumps(bundle)
    for entry in bundle["entry"]:
        res = entry["resource"]
        text = text.replace(f'"{entry["fullUrl"]}"', f'"{res["resourceType"]}/{res["id"]}"')
    rewritten = json.loads(text)
    resources = [e["resource"] for e in rewritten["entry"]]
    return resources[0], resources[1:]


def example_hook(name: str, hook: str = "order-sign", prefetch: bool = True) -> tuple[Json, list[Json]]:
    """An order hook built from a PAS example: its MedicationRequest as the draft order, the rest prefetched."""
    claim, resources = example_resources(name)
    order = next(r for r in resources if r["resourceType"] == "MedicationRequest")
    order = {**order, "status": "draft", "insurance": [claim["insurance"][0]["coverage"]]}
    patient = next(r for r in resources if r["resourceType"] == "Patient")
    role = next(r for r in resources if r["resourceType"] == "PractitionerRole")
    practitioner_ref = role["practitioner"]["reference"]

    def searchset(*types: str) -> Json:
        found = [r for r in resources if r["resourceType"] in types]
        return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in found]}

    body: Json = {
        "hook": hook,
        "hookInstance": "3b7f6a48-0000-4c1e-9a53-tarlatamab",
        "context": {"userId": practitioner_ref, "patientId": patient["id"]},
    }
    if hook == "order-dispatch":
        body["context"].update({"order": f"MedicationRequest/{order['id']}", "performer": practitioner_ref})
    else:
        body["context"]["draftOrders"] = {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": order}],
        }
        if hook == "order-select":
            body["context"]["selections"] = [f"MedicationRequest/{order['id']}"]
    if prefetch:
        body["prefetch"] = {
            "patient": patient,
            "coverage": searchset("Coverage"),
            "conditions": searchset("Condition"),
            "medicationStatements": searchset("MedicationStatement"),
            "medicationAdministrations": searchset("MedicationAdministration"),
            "observations": searchset("Observation", "DiagnosticReport"),
            "practitionerRoles": searchset("PractitionerRole"),
            "user": next(r for r in resources if r["resourceType"] == "Practitioner"),
        }
        if hook == "order-dispatch":
            body["prefetch"]["order"] = order
    return body, [*resources, order]


def coverage_information(resource: Json) -> dict[str, Any]:
    """The coverage-information sub-extensions of an updated order, checked against CRD 2.2's rules."""
    exts = [e for e in resource.get("extension", []) if e.get("url") == COVERAGE_INFO]
    assert len(exts) == 1, "exactly one coverage-information extension per order (one coverage)"
    subs: dict[str, Any] = {}
    for sub in exts[0]["extension"]:
        value = next(v for k, v in sub.items() if k.startswith("value"))
        assert sub["url"] not in subs, f"{sub['url']} repeated"
        subs[sub["url"]] = value
    for required in ("coverage", "covered", "date", "coverage-assertion-id"):
        assert required in subs, f"{required} is 1..1"
    assert subs["covered"] in ("covered", "not-covered", "conditional", "indeterminate")
    assert subs.get("pa-needed", "no-auth") in (
        "no-auth",
        "auth-needed",
        "satisfied",
        "performpa",
        "conditional",
        "indeterminate",
    )
    assert subs.get("doc-needed", "clinical") in ("clinical", "admin", "patient", "conditional", "indeterminate")
    assert subs.get("doc-purpose", "withpa") in ("withpa", "withclaim", "withorder", "retain-doc", "OTH")
    assert subs["coverage"]["reference"].startswith("Coverage/")
    # crd-ci invariants
    if subs["covered"] == "not-covered":
        assert "pa-needed" not in subs
    if "conditional" in (subs["covered"], subs.get("pa-needed"), subs.get("doc-needed")):
        assert "info-needed" in subs
    if "indeterminate" in (subs["covered"], subs.get("pa-needed"), subs.get("doc-needed")):
        assert subs.get("reason", {}).get("text") or subs.get("reason", {}).get("coding")
    if "questionnaire" in subs:
        assert "doc-needed" in subs
    if "doc-purpose" in subs:
        assert "doc-needed" in subs and "reason" in subs
    assert ("satisfied-pa-id" in subs) == (subs.get("pa-needed") == "satisfied")
    return subs


def validate(resource: Json) -> None:
    """Parse with the fhir.resources R4B model of its type (raises on invalid)."""
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)
