"""What the workbench shows: queue lines and the case file, read from the stored request, trace and answers.

Everything here is read-only and built per request from the database; nothing is cached.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from priorauth.errors import BundleError
from priorauth.fhir.bundle import ReceivedBundle, read_bundle
from priorauth.fhir.notes import NoteText, note_texts
from priorauth.review.models import ReviewAction, ReviewLetter
from priorauth.review.settings import ReviewSettings
from priorauth.store.models import Case, DeterminationRecord, ResponseVersion
from priorauth.store.repository import Repository

Json = dict[str, Any]

OUTCOME_LABELS = {
    "pended": "Pended for information",
    "clinical_review": "Clinical review",
    "recommend_denial": "Engine recommends denial",
    "referred": "Referred to another policy",
    "no_policy": "No automated policy",
    "approved": "Approved",
    "approved_modified": "Approved (modified)",
    "denied": "Denied",
    "information_requested": "Information requested",
    "cancelled": "Cancelled",
}
STATUS_LABELS = {"met": "Met", "not_met": "Not met", "unknown": "Unknown"}
STATUS_ICONS = {"met": "✓", "not_met": "✗", "unknown": "?"}
EXPEDITED_PRIORITIES = frozenset({"stat", "urgent"})


# --- small FHIR readers ---------------------------------------------------------------------------
def text_of(concept: Any) -> str:
    """The readable text of a CodeableConcept (text, else the first display, else system|code)."""
    if not isinstance(concept, dict):
        return ""
    if isinstance(concept.get("text"), str) and concept["text"]:
        return str(concept["text"])
    for coding in concept.get("coding") or []:
        if isinstance(coding, dict) and coding.get("display"):
            return str(coding["display"])
    for coding in concept.get("coding") or []:
        if isinstance(coding, dict) and coding.get("code"):
            return f"{coding.get('code')}"
    return ""


def codes_of(concept: Any) -> str:
    """``code (display)`` for every coding of a CodeableConcept."""
    if not isinstance(concept, dict):
        return ""
    parts = []
    for coding in concept.get("coding") or []:
        if isinstance(coding, dict) and coding.get("code"):
            display = f" {coding['display']}" if coding.get("display") else ""
            parts.append(f"{coding['code']}{display}")
    return "; ".join(parts)


def human_name(resource: Json | None) -> str:
    """The first HumanName of a Patient or Practitioner, as ``Given Family``."""
    if not resource:
        return ""
    for name in resource.get("name") or []:
        if isinstance(name, dict):
            if name.get("text"):
                return str(name["text"])
            given = " ".join(str(g) for g in name.get("given") or [])
            prefix = " ".join(str(p) for p in name.get("prefix") or [])
            return " ".join(p for p in (prefix, given, str(name.get("family") or "")) if p)
    return ""


def identifier_value(resource: Json | None, system_hint: str | None = None) -> str:
    """The first identifier value (optionally one whose system contains ``system_hint``)."""
    if not resource:
        return ""
    for ident in resource.get("identifier") or []:
        if (
            isinstance(ident, dict)
            and ident.get("value")
            and (system_hint is None or system_hint in str(ident.get("system", "")))
        ):
            return str(ident["value"])
    return ""


def quantity_text(quantity: Any) -> str:
    """``10 mg`` from a Quantity."""
    if not isinstance(quantity, dict) or quantity.get("value") is None:
        return ""
    unit = quantity.get("unit") or quantity.get("code") or ""
    return (
        f"{quantity['value']:g} {unit}".strip()
        if isinstance(quantity["value"], float)
        else f"{quantity['value']} {unit}".strip()
    )


def period_text(period: Any) -> str:
    """``start to end`` from a Period."""
    if not isinstance(period, dict):
        return ""
    return f"{period.get('start', '…')} to {period.get('end', '…')}"


def resource_fields(resource: Json) -> list[tuple[str, str]]:
    """A readable summary of a FHIR resource: (label, value) pairs chosen per resource type."""
    kind = str(resource.get("resourceType", ""))
    out: list[tuple[str, str]] = []

    def add(label: str, value: Any) -> None:
        if value not in (None, "", [], {}):
            out.append((label, str(value)))

    if kind == "Condition":
        add("Condition", text_of(resource.get("code")))
        add("Codes", codes_of(resource.get("code")))
        add("Clinical status", text_of(resource.get("clinicalStatus")))
        for stage in resource.get("stage") or []:
            add("Stage", text_of(stage.get("summary")) if isinstance(stage, dict) else "")
        add("Onset", resource.get("onsetDateTime"))
    elif kind == "Observation":
        add("Observation", text_of(resource.get("code")))
        add("Value", text_of(resource.get("valueCodeableConcept")) or quantity_text(resource.get("valueQuantity")))
        add("Value", resource.get("valueString"))
        add("Method", text_of(resource.get("method")))
        add("Date", resource.get("effectiveDateTime"))
        add("Status", resource.get("status"))
    elif kind in ("MedicationAdministration", "MedicationStatement", "MedicationRequest"):
        add("Medication", text_of(resource.get("medicationCodeableConcept")))
        add("Date", resource.get("effectiveDateTime") or period_text(resource.get("effectivePeriod")))
        add("Authored", resource.get("authoredOn"))
        dosage = resource.get("dosage")
        if isinstance(dosage, dict):
            add("Dose", quantity_text(dosage.get("dose")))
        add("Status", resource.get("status"))
    elif kind == "DiagnosticReport":
        add("Report", text_of(resource.get("code")))
        add("Date", resource.get("effectiveDateTime"))
        add("Conclusion", resource.get("conclusion"))
    elif kind == "Procedure":
        add("Procedure", text_of(resource.get("code")))
        add("Date", resource.get("performedDateTime") or period_text(resource.get("performedPeriod")))
    elif kind == "Patient":
        add("Name", human_name(resource))
        add("Born", resource.get("birthDate"))
        add("Sex", resource.get("gender"))
        add("Member id", identifier_value(resource))
    elif kind == "Practitioner":
        add("Name", human_name(resource))
        add("NPI", identifier_value(resource, "npi"))
        for qual in resource.get("qualification") or []:
            add("Qualification", codes_of(qual.get("code")) if isinstance(qual, dict) else "")
    elif kind == "PractitionerRole":
        for spec in resource.get("specialty") or []:
            add("Specialty", codes_of(spec))
    elif kind == "Claim":
        for member in resource.get("careTeam") or []:
            if isinstance(member, dict):
                add("Care team qualification", codes_of(member.get("qualification")))
        for item in resource.get("item") or []:
            if isinstance(item, dict):
                add("Item", codes_of(item.get("productOrService")))
    elif kind == "Coverage":
        add("Plan type", text_of(resource.get("type")))
        add("Period", period_text(resource.get("period")))
    elif kind == "DocumentReference":
        add("Document", text_of(resource.get("type")))
        add("Date", resource.get("date"))
    else:
        add(kind, text_of(resource.get("code")))
    return out


# --- queue ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class QueueLine:
    """One pended case in the queue."""

    case_id: str
    tracking: str
    member: str
    line_of_business: str
    urgency: str
    outcome: str
    outcome_label: str
    policy: str
    received: datetime
    due: datetime
    state: str  # overdue | due-soon | on-time

    @property
    def state_label(self) -> str:
        """Words for the clock state (shown next to the colour)."""
        return {"overdue": "Overdue", "due-soon": "Due soon", "on-time": "On time"}[self.state]


def urgency_of(claim: Json) -> str:
    """``expedited`` when Claim.priority is stat or urgent, else ``standard``."""
    for coding in (claim.get("priority") or {}).get("coding") or []:
        if isinstance(coding, dict) and coding.get("code") in EXPEDITED_PRIORITIES:
            return "expedited"
    return "standard"


def _request_json(repo: Repository, case: Case) -> Json:
    received = repo.request(case.last_request_id)
    if received is None:
        return {}
    try:
        data = json.loads(received.received_body())
    except (ValueError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _resolve(bundle: Json, reference: Any) -> Json | None:
    if not isinstance(reference, str):
        return None
    tail = "/".join(reference.rstrip("/").split("/")[-2:])
    for entry in bundle.get("entry") or []:
        if not isinstance(entry, dict) or not isinstance(entry.get("resource"), dict):
            continue
        res = entry["resource"]
        if entry.get("fullUrl") == reference or f"{res.get('resourceType')}/{res.get('id')}" in (reference, tail):
            return dict(res)
    return None


def queue_lines(
    repo: Repository,
    settings: ReviewSettings,
    now: datetime,
    *,
    outcome: str | None = None,
    lob: str | None = None,
    policy: str | None = None,
) -> list[QueueLine]:
    """Every pended case, with its clock, ordered by due time (most urgent first)."""
    stmt = select(Case).where(Case.status == "pended")
    lines: list[QueueLine] = []
    for case in repo.session.scalars(stmt):
        dets = repo.current_determinations(case.id)
        pended = [d for d in dets.values() if d.review_action == "A4"] or list(dets.values())
        first = pended[0] if pended else None
        line_lob = (first.line_of_business if first else None) or "unknown"
        line_outcome = first.outcome if first else "pended"
        line_policy = (first.policy_id if first else None) or "none"
        if outcome and line_outcome != outcome:
            continue
        if lob and line_lob != lob:
            continue
        if policy and line_policy != policy:
            continue
        bundle = _request_json(repo, case)
        entries = bundle.get("entry") or [{}]
        claim = entries[0].get("resource") or {} if isinstance(entries[0], dict) else {}
        urgency = urgency_of(claim)
        patient = _resolve(bundle, (claim.get("patient") or {}).get("reference"))
        due = case.created_at + timedelta(hours=settings.clock(line_lob, urgency))
        if due <= now:
            state = "overdue"
        elif due - now <= timedelta(hours=settings.due_soon_hours):
            state = "due-soon"
        else:
            state = "on-time"
        lines.append(
            QueueLine(
                case_id=case.id,
                tracking=case.id.split("-")[0].upper(),
                member=human_name(patient) or (case.member_id or "unknown member"),
                line_of_business=line_lob,
                urgency=urgency,
                outcome=line_outcome,
                outcome_label=OUTCOME_LABELS.get(line_outcome, line_outcome),
                policy=line_policy
                if first is None or not first.policy_version
                else f"{line_policy} v{first.policy_version}",
                received=case.created_at,
                due=due,
                state=state,
            )
        )
    lines.sort(key=lambda line: (line.due, line.received))
    return lines


# --- case file ------------------------------------------------------------------------------------
@dataclass
class EvidenceView:
    """One piece of evidence, ready for the template."""

    kind: str
    title: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    raw: str | None = None
    before: str = ""
    quote: str = ""
    after: str = ""
    offsets: str = ""
    warning: str | None = None


@dataclass
class CriterionView:
    """One checklist line."""

    criterion_id: str
    depth: int
    status: str
    text: str
    reason: str
    logic: str
    needed: str | None
    evidence: list[EvidenceView]

    @property
    def status_label(self) -> str:
        """Met / Not met / Unknown."""
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def icon(self) -> str:
        """A glyph that repeats the status (never colour alone)."""
        return STATUS_ICONS.get(self.status, "•")


@dataclass
class ItemView:
    """One Claim item: what was asked and what was decided."""

    sequence: int
    product: str
    quantity: str
    period: str
    doses: list[tuple[str, str, str]]
    review_action: str
    outcome: str
    outcome_label: str
    decided_by: str
    policy_id: str | None
    policy_version: str | None
    policy_hash: str | None
    engine_version: str | None
    request_date: date | None
    line_of_business: str | None
    window: str
    auth_number: str | None
    requested_units: float | None
    approvable_units: int | None
    summary: str
    notes: list[str]
    checklist: list[CriterionView]
    missing: list[Json]

    @property
    def pended(self) -> bool:
        """True while the item waits for a decision."""
        return self.review_action == "A4"


@dataclass
class CaseView:
    """The whole case page."""

    case_id: str
    tracking: str
    status: str
    version: int
    org: str | None
    received: datetime
    due: datetime | None
    urgency: str
    claim_identifier: str
    member: list[tuple[str, str]]
    prescriber: list[tuple[str, str]]
    coverage: list[tuple[str, str]]
    items: list[ItemView]
    request_json: str
    response_json: str
    actions: list[ReviewAction]
    letters: list[ReviewLetter]
    responses: list[tuple[int, str, datetime]]

    @property
    def pended_items(self) -> list[ItemView]:
        """Items still waiting (A4)."""
        return [i for i in self.items if i.pended]

    def criteria_choices(self) -> list[tuple[str, str, bool]]:
        """(id, policy words, preselected) for the deny form: leaves of the pended items, not-met first."""
        seen: dict[str, tuple[str, str, bool]] = {}
        for item in self.pended_items:
            for node in item.checklist:
                if node.criterion_id in seen or node.logic in ("policy", "all_of", "any_of"):
                    continue
                seen[node.criterion_id] = (node.criterion_id, node.text, node.status == "not_met")
        return sorted(seen.values(), key=lambda c: (not c[2], c[0]))


def _note_excerpt(ev: Json, notes: list[NoteText], context: int = 160) -> EvidenceView:
    start, end, quote = int(ev.get("start", 0)), int(ev.get("end", 0)), str(ev.get("text", ""))
    doc = str(ev.get("document", ""))
    view = EvidenceView(
        kind="note",
        title=f"Note {doc}" + (f", section {ev['section']}" if ev.get("section") else ""),
        offsets=f"characters {start}–{end}",
    )
    if ev.get("modifiers"):
        view.fields.append(("Modifiers", ", ".join(str(m) for m in ev["modifiers"])))
    candidates = [n for n in notes if n.document == doc]
    for note in candidates:
        if note.text[start:end] == quote:
            lo, hi = max(0, start - context), min(len(note.text), end + context)
            view.before = ("…" if lo > 0 else "") + note.text[lo:start]
            view.quote = quote
            view.after = note.text[end:hi] + ("…" if hi < len(note.text) else "")
            if note.written:
                view.fields.append(("Written", note.written.isoformat()))
            return view
    view.quote = quote
    view.warning = "The note text in the stored request does not contain this span at these offsets."
    return view


def evidence_view(ev: Json, bundle: ReceivedBundle | None, notes: list[NoteText]) -> EvidenceView:
    """Render one evidence dict (from the stored trace) for people."""
    kind = ev.get("kind")
    if kind == "note":
        return _note_excerpt(ev, notes)
    if kind == "answer":
        view = EvidenceView(kind="answer", title=f"Questionnaire answer {ev.get('link_id')}")
        question = ""
        qr = bundle.resolve(str(ev.get("questionnaire_response"))) if bundle else None
        for item in (qr or {}).get("item") or []:
            if isinstance(item, dict) and item.get("linkId") == ev.get("link_id"):
                question = str(item.get("text") or "")
        view.fields = [
            ("Question", question),
            ("Answer", str(ev.get("value"))),
            ("Origin", str(ev.get("origin") or "not stated")),
            ("Author", str(ev.get("author") or "not stated")),
            ("Response", str(ev.get("questionnaire_response"))),
        ]
        view.fields = [f for f in view.fields if f[1]]
        return view
    if kind == "authorization":
        return EvidenceView(
            kind="authorization",
            title=f"Earlier authorization {ev.get('number')}",
            fields=[("Window", f"{ev.get('start')} to {ev.get('end')}")],
        )
    reference = str(ev.get("reference", ""))
    resource = bundle.resolve(reference) if bundle else None
    view = EvidenceView(kind="resource", title=reference)
    view.fields = [("Element", str(ev.get("path", ""))), ("Value", str(ev.get("value", "")))]
    if resource is not None:
        view.title = f"{resource.get('resourceType')} {resource.get('id', '')}".strip()
        view.fields.extend(resource_fields(resource))
        view.raw = json.dumps(resource, indent=2, ensure_ascii=False)
    return view


def _flatten(node: Json, depth: int, bundle: ReceivedBundle | None, notes: list[NoteText]) -> list[CriterionView]:
    seen: set[tuple[Any, ...]] = set()
    evidence: list[EvidenceView] = []
    for ev in node.get("evidence") or []:
        key = tuple(sorted((k, str(v)) for k, v in ev.items()))
        if key in seen:
            continue
        seen.add(key)
        evidence.append(evidence_view(ev, bundle, notes))
    out = [
        CriterionView(
            criterion_id=str(node.get("criterion_id")),
            depth=depth,
            status=str(node.get("status")),
            text=str(node.get("text", "")),
            reason=str(node.get("reason", "")),
            logic=str(node.get("logic", "leaf")),
            needed=node.get("needed"),
            evidence=evidence,
        )
    ]
    for child in node.get("children") or []:
        out.extend(_flatten(child, depth + 1, bundle, notes))
    return out


def _doses(bundle: Json, item: Json) -> list[tuple[str, str, str]]:
    out: list[tuple[str, str, str]] = []
    for ext in item.get("extension") or []:
        if isinstance(ext, dict) and str(ext.get("url", "")).endswith("extension-requestedService"):
            med = _resolve(bundle, (ext.get("valueReference") or {}).get("reference"))
            for dosage in (med or {}).get("dosageInstruction") or []:
                if not isinstance(dosage, dict):
                    continue
                dose = ""
                for dr in dosage.get("doseAndRate") or []:
                    if isinstance(dr, dict):
                        dose = quantity_text(dr.get("doseQuantity"))
                timing = dosage.get("timing") or {}
                when = ", ".join(str(e) for e in timing.get("event") or []) or text_of(timing.get("code"))
                out.append((when, dose, str(dosage.get("text") or "")))
    return out


def case_view(
    repo: Repository, settings: ReviewSettings, case_id: str, *, as_of: datetime | None = None
) -> CaseView | None:
    """Everything the case page shows, or None when there is no such case.

    With ``as_of`` the items show the determinations recorded up to that moment (a letter made late
    must state the decision it belongs to, not whatever the case has become since).
    """
    case = repo.case(case_id)
    if case is None:
        return None
    data = _request_json(repo, case)
    bundle: ReceivedBundle | None
    try:
        bundle = read_bundle(data)
        notes = note_texts(bundle)
    except (BundleError, Exception):  # a stored request that no longer parses is still shown raw
        bundle, notes = None, []
    claim: Json = bundle.claim if bundle else {}
    patient = _resolve(data, (claim.get("patient") or {}).get("reference"))
    coverage = None
    for ins in claim.get("insurance") or []:
        if isinstance(ins, dict):
            coverage = _resolve(data, (ins.get("coverage") or {}).get("reference"))
            break
    prescriber_role = None
    prescriber = None
    for member in claim.get("careTeam") or []:
        if isinstance(member, dict):
            found = _resolve(data, (member.get("provider") or {}).get("reference"))
            if found and found.get("resourceType") == "PractitionerRole":
                prescriber_role = found
                prescriber = _resolve(data, (found.get("practitioner") or {}).get("reference"))
            elif found and found.get("resourceType") == "Practitioner":
                prescriber = found
            break
    member_fields = [
        ("Name", human_name(patient)),
        ("Born", str((patient or {}).get("birthDate", ""))),
        ("Sex", str((patient or {}).get("gender", ""))),
        ("Member id", identifier_value(patient) or (case.member_id or "")),
    ]
    prescriber_fields = [
        ("Name", human_name(prescriber)),
        ("NPI", identifier_value(prescriber, "npi")),
        ("Specialty", "; ".join(codes_of(s) for s in (prescriber_role or {}).get("specialty") or [])),
    ]
    organization = _resolve(data, (claim.get("provider") or {}).get("reference"))
    if organization:
        prescriber_fields.append(("Organization", str(organization.get("name") or identifier_value(organization))))
    coverage_fields = [
        ("Line of business", text_of((coverage or {}).get("type"))),
        ("Subscriber id", str((coverage or {}).get("subscriberId", ""))),
        ("Plan period", period_text((coverage or {}).get("period"))),
        ("Status", str((coverage or {}).get("status", ""))),
    ]
    dets = repo.current_determinations(case.id) if as_of is None else _determinations_as_of(repo, case.id, as_of)
    engine_dets = _engine_determinations(repo, case.id)
    items: list[ItemView] = []
    for raw in claim.get("item") or []:
        if not isinstance(raw, dict):
            continue
        seq = int(raw.get("sequence", 0))
        det = dets.get(seq)
        trace_source = det if det is not None and det.trace_json() else engine_dets.get(seq)
        trace_text = trace_source.trace_json() if trace_source else None
        trace: Json = json.loads(trace_text) if trace_text else {}
        checklist = _flatten(trace["trace"], 0, bundle, notes) if trace.get("trace") else []
        items.append(
            ItemView(
                sequence=seq,
                product=codes_of(raw.get("productOrService")),
                quantity=quantity_text(raw.get("quantity")) or str((raw.get("quantity") or {}).get("value", "")),
                period=period_text(raw.get("servicedPeriod")) or str(raw.get("servicedDate", "")),
                doses=_doses(data, raw),
                review_action=det.review_action if det else "—",
                outcome=det.outcome if det else "unknown",
                outcome_label=OUTCOME_LABELS.get(det.outcome, det.outcome) if det else "not decided",
                decided_by=det.decided_by if det else "",
                policy_id=det.policy_id if det else None,
                policy_version=det.policy_version if det else None,
                policy_hash=det.policy_hash if det else None,
                engine_version=det.engine_version if det else None,
                request_date=det.request_date if det else None,
                line_of_business=det.line_of_business if det else None,
                window=f"{det.window_start} to {det.window_end}" if det and det.window_start else "",
                auth_number=det.auth_number if det else None,
                requested_units=trace.get("requested_units"),
                approvable_units=trace.get("approvable_units"),
                summary=str(trace.get("summary") or (det.reason if det else "") or ""),
                notes=json.loads(det.notes) if det and det.notes else [],
                checklist=checklist,
                missing=list(trace.get("missing") or []),
            )
        )
    latest = repo.latest_response(case.id)
    actions = list(
        repo.session.scalars(select(ReviewAction).where(ReviewAction.case_id == case.id).order_by(ReviewAction.id))
    )
    letters = list(
        repo.session.scalars(select(ReviewLetter).where(ReviewLetter.case_id == case.id).order_by(ReviewLetter.id))
    )
    responses = [
        (v.version, v.cause, v.created_at)
        for v in repo.session.scalars(
            select(ResponseVersion).where(ResponseVersion.case_id == case.id).order_by(ResponseVersion.version)
        )
    ]
    first = next(iter(dets.values()), None)
    urgency = urgency_of(claim)
    due = case.created_at + timedelta(hours=settings.clock(first.line_of_business if first else None, urgency))
    claim_ident = next(
        (f"{i.get('value')}" for i in claim.get("identifier") or [] if isinstance(i, dict) and i.get("value")), ""
    )
    return CaseView(
        case_id=case.id,
        tracking=case.id.split("-")[0].upper(),
        status=case.status,
        version=case.version,
        org=case.org,
        received=case.created_at,
        due=due if case.status == "pended" else None,
        urgency=urgency,
        claim_identifier=claim_ident,
        member=[f for f in member_fields if f[1]],
        prescriber=[f for f in prescriber_fields if f[1]],
        coverage=[f for f in coverage_fields if f[1]],
        items=items,
        request_json=json.dumps(data, indent=2, ensure_ascii=False),
        response_json=json.dumps(json.loads(latest.bundle)["entry"][0]["resource"], indent=2) if latest else "",
        actions=actions,
        letters=letters,
        responses=responses,
    )


def _engine_determinations(repo: Repository, case_id: str) -> dict[int, DeterminationRecord]:
    """The latest engine determination (with its trace) per item."""
    stmt = (
        select(DeterminationRecord)
        .where(DeterminationRecord.case_id == case_id, DeterminationRecord.decided_by == "engine")
        .order_by(DeterminationRecord.id)
    )
    return {row.item_sequence: row for row in repo.session.scalars(stmt)}


def _determinations_as_of(repo: Repository, case_id: str, as_of: datetime) -> dict[int, DeterminationRecord]:
    """The latest determination per item among those recorded at or before ``as_of``."""
    stmt = (
        select(DeterminationRecord)
        .where(DeterminationRecord.case_id == case_id, DeterminationRecord.created_at <= as_of)
        .order_by(DeterminationRecord.id)
    )
    return {row.item_sequence: row for row in repo.session.scalars(stmt)}
