"""DecisionService: everything ``$submit``, ``$inquire`` and a reviewer's decision do, without HTTP.

Order of work for a submission: parse and validate, read the facts, run the engine (reading our
earlier approvals), then write the request bytes, case, determinations and response in ONE
transaction, and only then hand the answer back. A rejected request is stored with its
OperationOutcome the same way. Nothing here raises for a bad request: bad input is a 4xx answer,
business problems are in the ClaimResponse, and an engine failure pends the item for a person.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from priorauth.engine.decide import covering_policy, decide
from priorauth.engine.determination import Determination, Outcome
from priorauth.engine.evidence import AuthorizationEvidence
from priorauth.engine.facts import PlanConfig, PriorAuthorization, RequestedItem
from priorauth.errors import BundleError
from priorauth.fhir.bundle import read_bundle
from priorauth.fhir.extract import RequestFacts, coverage_of, extract_from
from priorauth.fhir.notes import NoteRecord, extract_notes
from priorauth.fhir.notes import facts_of as note_facts_of
from priorauth.notify.outbox import enqueue_notifications
from priorauth.pas import codes, mapping
from priorauth.pas.bundle import Json
from priorauth.pas.outcome import operation_outcome
from priorauth.pas.response import (
    ClaimError,
    ItemResult,
    ResponseContent,
    build_response_bundle,
)
from priorauth.pas.validate import PasRequest, parse_json, validate_request
from priorauth.policy.registry import PolicyRegistry, load_registry
from priorauth.service.eligibility import EligibilityQuery, load_eligibility
from priorauth.service.metrics import Metrics
from priorauth.service.settings import Settings
from priorauth.store.bodies import encode_body, pack_text
from priorauth.store.db import Database
from priorauth.store.models import (
    Case,
    DeterminationRecord,
    NoteExtractionRecord,
    ReceivedRequest,
    ResponseVersion,
)
from priorauth.store.repository import EarlierApproval, Repository

log = logging.getLogger(__name__)

FINAL_ACTIONS = frozenset({"A1", "A3", "A6", "C"})


def utcnow() -> datetime:
    """The wall clock, in UTC (the only clock the service reads; injected for tests)."""
    return datetime.now(UTC)


def _stored_body(body: bytes) -> dict[str, Any]:
    """The ``body`` and ``body_encoding`` columns for a received body (store/bodies.py)."""
    stored, encoding = encode_body(body)
    return {"body": stored, "body_encoding": encoding}


def dumps(data: Any) -> str:
    """Compact UTF-8 JSON, as stored and as sent (orjson: a response and its trace are encoded on every
    request, and the standard library took a tenth of the request's time doing it)."""
    return orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS).decode()


def _dumps_str_keys(data: Any) -> str:
    """:func:`dumps` for data whose keys are all strings (JSON we parsed, dicts we build with literal
    keys): the same text, without orjson's non-string-key mode, which doubled the encoding time of
    the response, trace and note payload written on every ``$submit``."""
    return orjson.dumps(data).decode()


@dataclass(frozen=True)
class Answer:
    """What to send back: HTTP status, body (JSON text) and the ids we recorded."""

    status: int
    body: str
    request_id: str
    case_id: str | None = None


class DecisionError(Exception):
    """A reviewer decision that cannot be recorded (unknown request, nothing pended, bad input)."""


@dataclass(frozen=True)
class _Decided:
    """An engine result for one item, before it is written."""

    sequence: int
    result: ItemResult
    outcome: str
    determination: Determination | None
    decided_by: str
    previous: DeterminationRecord | None


@dataclass(frozen=True)
class Submission:
    """A request read and decided but not yet stored (:meth:`DecisionService.prepare`)."""

    body: bytes
    org: str | None
    client_id: str | None
    content_type: str | None
    base_url: str
    request: PasRequest
    notes: tuple[NoteRecord, ...]
    now: datetime
    as_of: date
    member_id: str | None
    prior_case: Case | None
    decided: tuple[_Decided, ...]

    @property
    def determinations(self) -> tuple[Determination | None, ...]:
        """The engine's determination per item, in Claim order (None where no engine ran)."""
        return tuple(d.determination for d in self.decided)


class DecisionService:
    """Orchestrates validation, the engine, storage and notifications. Thread-safe; one per process."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        registry_loader: Callable[[], PolicyRegistry] = load_registry,
        plan: PlanConfig | None = None,
        clock: Callable[[], datetime] = utcnow,
        metrics: Metrics | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self._registry_loader = registry_loader
        self.plan = plan or plan_from_settings(settings)
        self.eligibility = load_eligibility(settings.eligibility)
        self.clock = clock
        self.metrics = metrics or Metrics()
        self._zone = ZoneInfo(settings.timezone)

    # --- dates and ids ------------------------------------------------------------------------
    def request_date(self, now: datetime) -> date:
        """The request date: ``PRIORAUTH_TODAY`` when set, else today in the payer's time zone."""
        return self.settings.today or now.astimezone(self._zone).date()

    @staticmethod
    def _auth_number(as_of: date) -> str:
        return f"PA{as_of:%y%m%d}-{secrets.token_hex(4).upper()}"

    # --- rejection ----------------------------------------------------------------------------
    def reject(
        self,
        body: bytes,
        error: BundleError,
        *,
        operation: str,
        status: int = 400,
        org: str | None = None,
        client_id: str | None = None,
        content_type: str | None = None,
        truncated: bool = False,
    ) -> Answer:
        """Store what was received with the OperationOutcome we answer, then return that answer."""
        now = self.clock()
        request_id = str(uuid.uuid4())
        outcome = dumps(operation_outcome(error.expression, error.message, code=error.issue_code))
        with self.db.write() as session:
            session.add(
                ReceivedRequest(
                    id=request_id,
                    received_at=now,
                    operation=operation,
                    org=org,
                    client_id=client_id,
                    content_type=content_type,
                    **_stored_body(body),
                    truncated=truncated,
                    http_status=status,
                    outcome=outcome,
                    request_date=self.request_date(now),
                )
            )
        self.metrics.requests.labels(operation, str(status)).inc()
        return Answer(status, outcome, request_id)

    # --- $submit ------------------------------------------------------------------------------
    def submit(
        self,
        body: bytes,
        *,
        org: str | None,
        client_id: str | None = None,
        content_type: str | None = None,
        base_url: str | None = None,
    ) -> Answer:
        """Decide a PAS request Bundle (new request, update or cancel) and store everything before answering."""
        prepared = self.prepare(body, org=org, client_id=client_id, content_type=content_type, base_url=base_url)
        return prepared if isinstance(prepared, Answer) else self.commit(prepared)

    def prepare(
        self,
        body: bytes,
        *,
        org: str | None,
        client_id: str | None = None,
        content_type: str | None = None,
        base_url: str | None = None,
    ) -> Submission | Answer:
        """Read and decide a request without storing the decision: a :class:`Submission` for
        :meth:`commit`, or the 4xx answer (already stored) when the Bundle is rejected."""
        base = base_url or self.settings.base_url
        try:
            request = validate_request(parse_json(body), operation="submit")
        except BundleError as exc:
            return self.reject(body, exc, operation="submit", org=org, client_id=client_id, content_type=content_type)
        facts: RequestFacts | None
        notes: tuple[NoteRecord, ...] = ()
        try:
            checked = read_bundle(request.bundle)
        except BundleError as exc:
            return self.reject(body, exc, operation="submit", org=org, client_id=client_id, content_type=content_type)
        try:
            # Intake: clinical notes are extracted once, here, and stored with the request; the engine
            # only ever sees the resulting facts.
            notes = extract_notes(checked)
        except Exception:
            log.exception("note extraction failed; the request is decided on its structured data")
        try:
            facts = extract_from(checked, None, tuple(note_facts_of(n) for n in notes))
        except BundleError as exc:
            return self.reject(body, exc, operation="submit", org=org, client_id=client_id, content_type=content_type)
        except Exception:
            log.exception("reading the request failed; items go to manual review")
            facts = None
        if org is None and facts is not None and facts.submitter_identifiers:
            # Without authentication the submitting organization is what the Bundle says it is.
            org = facts.submitter_identifiers[0][1]
        elif org is None:
            org = _submitter_from_claim(request)

        now = self.clock()
        as_of = self.request_date(now)
        member_id = facts.member_id if facts is not None else None
        with self.db.read_connection() as connection, Repository.on(connection) as repo:
            prior_case = self._related_case(repo, request, org)
            prior_dets = repo.current_determinations(prior_case.id) if prior_case else {}
            decided = self._decide_items(repo, request, facts, as_of, member_id, prior_case, prior_dets)
        return Submission(
            body, org, client_id, content_type, base, request, notes, now, as_of, member_id, prior_case, tuple(decided)
        )

    def commit(self, prepared: Submission) -> Answer:
        """Store a prepared submission (request bytes, notes, case, determinations, response) in ONE
        transaction, then return the answer."""
        body, org, now, as_of = prepared.body, prepared.org, prepared.now, prepared.as_of
        request, decided, prior_case, member_id = (
            prepared.request,
            prepared.decided,
            prepared.prior_case,
            prepared.member_id,
        )
        request_id = str(uuid.uuid4())
        claim_system, claim_value = _first_identifier(request.claim)
        case_id = prior_case.id if prior_case else str(uuid.uuid4())
        tracking = case_id.split("-")[0].upper()
        items = tuple(
            d.result if d.result.review_action != "A4" else _with_tracking(d.result, tracking) for d in decided
        )
        errors: tuple[ClaimError, ...] = ()
        general: tuple[str, ...] = ()
        if not decided:
            errors = (ClaimError("15", "The Claim has no items to authorize (Claim.item is empty)."),)
            general = ("The request has no items; nothing was decided. Resubmit with the services requested.",)
        if prior_case is not None:
            general = (f"This answer replaces earlier answers to request {prior_case.id}.", *general)
        content = ResponseContent(case_id, now, items, general_notes=general, errors=errors)
        bundle = build_response_bundle(
            request.bundle, request.claim, content, base_url=prepared.base_url, index=request.index
        )
        text = _dumps_str_keys(bundle)
        status = _case_status(items, errors)
        cause = "submit" if prior_case is None else ("cancel" if status == "cancelled" else "update")

        # Rows as column dicts, inserted without ORM instances (see Repository.insert_values).
        received = {
            "id": request_id,
            "received_at": now,
            "operation": "submit",
            "org": org,
            "client_id": prepared.client_id,
            "content_type": prepared.content_type,
            **_stored_body(body),
            "truncated": False,
            "http_status": 200,
            "outcome": None,
            "request_date": as_of,
            "case_id": case_id,
            "claim_system": claim_system,
            "claim_value": claim_value,
        }
        # Everything but what depends on the stored case is built before the write lock is taken.
        rows: list[tuple[type[Any], dict[str, Any]]] = [
            (ReceivedRequest, received),
            *((NoteExtractionRecord, _note_row(n, request_id, now)) for n in prepared.notes),
        ]
        if prior_case is None:
            version = 1
            rows.append(
                (
                    Case,
                    {
                        "id": case_id,
                        "org": org,
                        "first_request_id": request_id,
                        "last_request_id": request_id,
                        "claim_system": claim_system,
                        "claim_value": claim_value,
                        "member_id": member_id,
                        "status": status,
                        "version": version,
                        "created_at": now,
                        "updated_at": now,
                    },
                )
            )
        records = [
            (DeterminationRecord, self._record(item, case_id, request_id, as_of, member_id, now, tracking))
            for item in decided
        ]
        with self.db.write_connection() as connection, Repository.on(connection) as repo:
            if prior_case is not None:
                # The request row first: the case will name it as its last request.
                repo.insert_values(*rows)
                rows = []
                locked = repo.case(case_id, for_update=True)
                assert locked is not None
                locked.version += 1
                locked.status = status
                locked.last_request_id = request_id
                locked.updated_at = now
                version = locked.version
                repo.session.flush()
            # One call: rows go in the order given (request, notes, case, determinations, response).
            repo.insert_values(
                *rows,
                *records,
                (
                    ResponseVersion,
                    {
                        "case_id": case_id,
                        "version": version,
                        "request_id": request_id,
                        "cause": cause,
                        "bundle": text,
                        "bundle_id": bundle["id"],
                        "created_at": now,
                    },
                ),
            )
        self.metrics.requests.labels("submit", "200").inc()
        for item in decided:
            self.metrics.items.labels(item.result.review_action, item.decided_by).inc()
        return Answer(200, text, request_id, case_id)

    def _related_case(self, repo: Repository, request: PasRequest, org: str | None) -> Case | None:
        """The case an update or cancel refers to through ``Claim.related.claim``, if we have it."""
        for related in request.claim.get("related") or []:
            if not isinstance(related, dict) or not isinstance(related.get("claim"), dict):
                continue
            ref = related["claim"]
            identifier: Json | None = ref.get("identifier") if isinstance(ref.get("identifier"), dict) else None
            if identifier is None and isinstance(ref.get("reference"), str):
                target = request.index.resolve(ref["reference"])
                if target is not None and target.get("resourceType") == "Claim":
                    system, value = _first_identifier(target)
                    identifier = {"system": system, "value": value} if value else None
            if identifier and isinstance(identifier.get("value"), str):
                found = self._case_by_identifier(repo, org, identifier.get("system"), identifier["value"])
                if found is not None:
                    return found
        return None

    @staticmethod
    def _case_by_identifier(repo: Repository, org: str | None, system: Any, value: str) -> Case | None:
        from sqlalchemy import select

        stmt = select(ReceivedRequest.case_id).where(
            ReceivedRequest.claim_value == value,
            ReceivedRequest.case_id.is_not(None),
            ReceivedRequest.operation == "submit",
        )
        if isinstance(system, str):
            stmt = stmt.where(ReceivedRequest.claim_system == system)
        if org is not None:
            stmt = stmt.where(ReceivedRequest.org == org)
        stmt = stmt.order_by(ReceivedRequest.received_at.desc()).limit(1)
        case_id = repo.session.scalar(stmt)
        return repo.case(case_id) if case_id else None

    def _decide_items(
        self,
        repo: Repository,
        request: PasRequest,
        facts: RequestFacts | None,
        as_of: date,
        member_id: str | None,
        prior_case: Case | None,
        prior_dets: dict[int, DeterminationRecord],
    ) -> list[_Decided]:
        claim = request.claim
        cancel_all = _certification_type(claim) == "3"
        by_sequence = {item.sequence: item for item in facts.items} if facts is not None else {}
        out: list[_Decided] = []
        for raw in claim.get("item") or []:
            sequence: int = raw["sequence"]
            previous = prior_dets.get(sequence)
            if cancel_all or _info_cancelled(raw) or _certification_type(raw) == "3":
                out.append(
                    _Decided(sequence, mapping.cancelled_result(sequence), "cancelled", None, "provider", previous)
                )
                continue
            if previous is not None and previous.review_action in FINAL_ACTIONS and not _info_changed(raw):
                # An unchanged item keeps its final answer; re-running the engine could undo a reviewer.
                out.append(
                    _Decided(sequence, result_from_record(previous), previous.outcome, None, "carried", previous)
                )
                continue
            item = by_sequence.get(sequence)
            if facts is None or item is None:
                result = mapping.engine_failure_result(sequence, tracking_number="")
                out.append(_Decided(sequence, result, "clinical_review", None, "engine", previous))
                continue
            ineligible = self._ineligible(facts, member_id, as_of)
            if ineligible is not None:
                result = mapping.ineligible_result(sequence, ineligible, tracking_number="")
                out.append(_Decided(sequence, result, "pended", None, "eligibility", previous))
                continue
            try:
                det = self._run_engine(repo, facts, item, as_of, member_id, prior_case)
            except Exception:
                log.exception("engine failed on item %s", sequence)
                result = mapping.engine_failure_result(sequence, tracking_number="")
                out.append(_Decided(sequence, result, "clinical_review", None, "engine", previous))
                continue
            auth = self._auth_number(as_of) if det.outcome is Outcome.APPROVED and det.window else None
            result = mapping.engine_item_result(sequence, det, auth_number=auth, tracking_number="")
            out.append(_Decided(sequence, result, det.outcome.value, det, "engine", previous))
        return out

    def _ineligible(self, facts: RequestFacts, member_id: str | None, as_of: date) -> str | None:
        """Why the plan's eligibility check failed (None when it passed or is off); never raises."""
        if self.eligibility is None:
            return None
        coverage = coverage_of(facts.bundle)
        try:
            answer = self.eligibility(EligibilityQuery(member_id, coverage[1] if coverage else None, as_of))
        except Exception as exc:
            log.exception("eligibility check failed")
            return f"the eligibility check could not be completed ({exc.__class__.__name__})"
        return None if answer.eligible else answer.reason or "the member is not eligible"

    def _run_engine(
        self,
        repo: Repository,
        facts: RequestFacts,
        item: RequestedItem,
        as_of: date,
        member_id: str | None,
        prior_case: Case | None,
    ) -> Determination:
        """Decide with our earlier approvals for this member under the policy covering the item
        (continued therapy). The policy, not the item coding, keys the drug."""
        registry = self._registry_loader()
        policy_id = covering_policy(registry, item, as_of)
        priors: tuple[PriorAuthorization, ...] = ()
        if member_id is not None and policy_id is not None:
            priors = prior_authorizations(
                repo.approvals(member_id, policy_id), exclude_case=prior_case.id if prior_case else None
            )
        return decide(registry, facts.facts_for(item, priors), as_of, self.plan)

    def _record(
        self,
        item: _Decided,
        case_id: str,
        request_id: str,
        as_of: date,
        member_id: str | None,
        now: datetime,
        tracking: str,
    ) -> dict[str, Any]:
        """The determination row's columns for one decided item."""
        det = item.determination
        prev = item.previous
        result = item.result
        return {
            "case_id": case_id,
            "request_id": request_id,
            "item_sequence": item.sequence,
            "previous_id": prev.id if prev is not None else None,
            "decided_by": "engine"
            if item.decided_by == "carried" and prev is None
            else (prev.decided_by if item.decided_by == "carried" and prev is not None else item.decided_by),
            "reviewer_npi": prev.reviewer_npi if item.decided_by == "carried" and prev is not None else None,
            "reason": (
                prev.reason
                if item.decided_by == "carried" and prev is not None
                else (det.summary if det is not None else None)
            ),
            "policy_id": det.policy_id if det else (prev.policy_id if prev else None),
            "policy_version": det.policy_version if det else (prev.policy_version if prev else None),
            "policy_hash": det.policy_hash if det else (prev.policy_hash if prev else None),
            "engine_version": det.engine_version if det else (prev.engine_version if prev else None),
            "request_date": as_of,
            "line_of_business": det.line_of_business if det else (prev.line_of_business if prev else None),
            "outcome": item.outcome,
            "review_action": result.review_action,
            "auth_number": result.auth_number,
            "window_start": result.window[0] if result.window else None,
            "window_end": result.window[1] if result.window else None,
            "member_id": member_id,
            **(
                {"trace": None, "trace_packed": pack_text(orjson.dumps(det.to_dict()))}
                if det is not None
                else (prev.trace_columns() if prev else {"trace": None, "trace_packed": None})
            ),
            "notes": _dumps_str_keys(list(result.notes)),
            "tracking_number": tracking if result.review_action == "A4" else None,
            "created_at": now,
        }

    # --- $inquire -----------------------------------------------------------------------------
    def inquire(
        self,
        body: bytes,
        *,
        org: str | None,
        client_id: str | None = None,
        content_type: str | None = None,
        base_url: str | None = None,
    ) -> Answer:
        """Find the submitting organization's request matching the inquiry and return its latest answer."""
        base = base_url or self.settings.base_url
        try:
            request = validate_request(parse_json(body), operation="inquire")
        except BundleError as exc:
            return self.reject(body, exc, operation="inquire", org=org, client_id=client_id, content_type=content_type)
        if org is None:
            org = _submitter_from_claim(request)
        now = self.clock()
        case: Case | None = None
        stored: ResponseVersion | None = None
        with self.db.read() as session:
            repo = Repository(session)
            for ident in request.claim.get("identifier") or []:
                if isinstance(ident, dict) and isinstance(ident.get("value"), str):
                    case = self._case_by_identifier(repo, org, ident.get("system"), ident["value"])
                    if case is not None:
                        break
            if case is not None:
                stored = repo.latest_response(case.id)
        if case is None or stored is None:
            error = BundleError(
                "Bundle.entry[0].resource.identifier",
                "no prior authorization request of this organization matches the Claim identifier",
                issue_code="not-found",
            )
            return self.reject(
                body, error, operation="inquire", status=404, org=org, client_id=client_id, content_type=content_type
            )
        answer = inquiry_bundle(json.loads(stored.bundle), request.bundle, now=now, base_url=base)
        text = dumps(answer)
        request_id = str(uuid.uuid4())
        claim_system, claim_value = _first_identifier(request.claim)
        with self.db.write() as session:
            session.add(
                ReceivedRequest(
                    id=request_id,
                    received_at=now,
                    operation="inquire",
                    org=org,
                    client_id=client_id,
                    content_type=content_type,
                    **_stored_body(body),
                    truncated=False,
                    http_status=200,
                    request_date=self.request_date(now),
                    case_id=case.id,
                    claim_system=claim_system,
                    claim_value=claim_value,
                )
            )
        self.metrics.requests.labels("inquire", "200").inc()
        return Answer(200, text, request_id, case.id)

    # --- reviewer decision --------------------------------------------------------------------
    def record_decision(
        self,
        target_id: str,
        *,
        approve: bool,
        reviewer_npi: str,
        reason: str,
        criterion: str | None = None,
        sequences: Sequence[int] | None = None,
        window: tuple[date, date] | None = None,
        reason_code: str | None = None,
        within: Callable[[Repository, Json], None] | None = None,
    ) -> Json:
        """A clinical reviewer's final decision on a pended request (case or request id).

        Writes a new determination per pended item (linked to the engine's), a new ClaimResponse
        version, and one outbox message per matching subscription, in one transaction. Returns the
        new response Bundle.

        ``within``, when given, is called inside that same transaction right after the new response
        version is staged, with the repository and the new response Bundle. It lets a caller (the
        reviewer workbench) write its own rows about the decision atomically with it: either the
        decision and the caller's rows are all committed, or none is. An exception it raises rolls
        the whole decision back and propagates.
        """
        if not reviewer_npi.isdigit() or len(reviewer_npi) != 10:
            raise DecisionError("a reviewer NPI is 10 digits")
        if not reason.strip():
            raise DecisionError("a reason is required")
        now = self.clock()
        with self.db.write() as session:
            repo = Repository(session)
            case = repo.case(target_id, for_update=True) or repo.case_for_request(target_id)
            if case is None:
                raise DecisionError(f"no request or case {target_id!r}")
            case = repo.case(case.id, for_update=True) or case
            if case.status != "pended":
                raise DecisionError(f"case {case.id} is {case.status}, not pended")
            current = repo.current_determinations(case.id)
            pended = [s for s, d in current.items() if d.review_action == "A4"]
            chosen = [s for s in pended if sequences is None or s in sequences]
            if not chosen:
                raise DecisionError(f"case {case.id} has no pended item among {sequences}")
            last = repo.request(case.last_request_id)
            assert last is not None
            request = validate_request(parse_json(last.received_body()), operation="submit")
            results: dict[int, ItemResult] = {s: result_from_record(d) for s, d in current.items()}
            for sequence in chosen:
                prev = current[sequence]
                if approve:
                    item_window = window or _reviewer_window(prev, now, self)
                    auth = self._auth_number(self.request_date(now))
                    result = mapping.reviewer_approval(
                        sequence, auth_number=auth, window=item_window, npi=reviewer_npi, reason=reason
                    )
                else:
                    result = mapping.reviewer_denial(
                        sequence, npi=reviewer_npi, reason=reason, criterion=criterion, reason_code=reason_code
                    )
                results[sequence] = result
                session.add(
                    DeterminationRecord(
                        case_id=case.id,
                        request_id=None,
                        item_sequence=sequence,
                        previous_id=prev.id,
                        decided_by="reviewer",
                        reviewer_npi=reviewer_npi,
                        reason=reason,
                        policy_id=prev.policy_id,
                        policy_version=prev.policy_version,
                        policy_hash=prev.policy_hash,
                        engine_version=prev.engine_version,
                        request_date=prev.request_date,
                        line_of_business=prev.line_of_business,
                        outcome="approved" if approve else "denied",
                        review_action=result.review_action,
                        auth_number=result.auth_number,
                        window_start=result.window[0] if result.window else None,
                        window_end=result.window[1] if result.window else None,
                        member_id=prev.member_id,
                        **prev.trace_columns(),
                        notes=dumps(list(result.notes)),
                        created_at=now,
                    )
                )
                self.metrics.items.labels(result.review_action, "reviewer").inc()
            bundle = self.publish_review_version(repo, case, request, results, reviewer_npi=reviewer_npi, now=now)
            if within is not None:
                within(repo, bundle)
        return bundle

    def publish_review_version(
        self,
        repo: Repository,
        case: Case,
        request: PasRequest,
        results: dict[int, ItemResult],
        *,
        reviewer_npi: str,
        now: datetime,
    ) -> Json:
        """Inside the caller's transaction: the new ClaimResponse version after a reviewer's action, and
        one outbox message per matching subscription. Returns the response Bundle."""
        items = tuple(results[s] for s in sorted(results))
        content = ResponseContent(case.id, now, items, reviewer_npi=reviewer_npi, human_reviewed=True)
        bundle = build_response_bundle(
            request.bundle, request.claim, content, base_url=self.settings.base_url, index=request.index
        )
        case.version += 1
        case.status = _case_status(items, ())
        case.updated_at = now
        repo.add(
            ResponseVersion(
                case_id=case.id,
                version=case.version,
                request_id=None,
                cause="review",
                bundle=dumps(bundle),
                bundle_id=bundle["id"],
                created_at=now,
            )
        )
        enqueue_notifications(
            repo,
            org=case.org,
            case_id=case.id,
            event_key=f"{case.id}:v{case.version}",
            response_bundle=bundle,
            base_url=self.settings.base_url,
            now=now,
        )
        return bundle

    # --- reads --------------------------------------------------------------------------------
    def claim_response(self, claim_response_id: str, org: str | None) -> Json | None:
        """The current ClaimResponse of a case, if ``org`` may see it (None when auth is off)."""
        with self.db.read() as session:
            repo = Repository(session)
            case = repo.case(claim_response_id)
            if case is None or (org is not None and case.org != org):
                return None
            stored = repo.latest_response(case.id)
            if stored is None:
                return None
            resource: Json = json.loads(stored.bundle)["entry"][0]["resource"]
            return resource

    def stored_bundle(self, bundle_id: str, org: str | None) -> bytes | None:
        """A received request Bundle (by request id) or an answered one (by response Bundle id), as stored."""
        from sqlalchemy import select

        with self.db.read() as session:
            received = session.get(ReceivedRequest, bundle_id)
            if received is not None:
                if org is not None and received.org != org:
                    return None
                return received.received_body()
            version = session.scalars(select(ResponseVersion).where(ResponseVersion.bundle_id == bundle_id)).first()
            if version is None:
                return None
            case = session.get(Case, version.case_id)
            if case is None or (org is not None and case.org != org):
                return None
            return version.bundle.encode()


def prior_authorizations(
    records: Sequence[EarlierApproval], *, exclude_case: str | None = None
) -> tuple[PriorAuthorization, ...]:
    """Our stored approvals as engine facts (continued therapy), newest first."""
    out: list[PriorAuthorization] = []
    for row in records:
        if row.case_id == exclude_case or row.window_start is None or row.window_end is None:
            continue
        number = row.auth_number or f"determination-{row.id}"
        evidence = AuthorizationEvidence(number, row.window_start.isoformat(), row.window_end.isoformat())
        out.append(PriorAuthorization(number, row.window_start, row.window_end, evidence))
    return tuple(out)


def inquiry_bundle(stored_response: Json, inquiry: Json, *, now: datetime, base_url: str) -> Json:
    """The latest stored answer, re-profiled as a PAS inquiry response Bundle."""
    claim_response = json.loads(dumps(stored_response["entry"][0]["resource"]))
    claim_response["meta"] = {"profile": [codes.PROFILE_INQUIRY_RESPONSE]}
    bundle: Json = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "meta": {"profile": [codes.PROFILE_INQUIRY_RESPONSE_BUNDLE]},
    }
    if isinstance(inquiry.get("identifier"), dict):
        bundle["identifier"] = inquiry["identifier"]
    bundle["type"] = "collection"
    bundle["timestamp"] = now.isoformat(timespec="seconds")
    bundle["entry"] = [
        {"fullUrl": f"{base_url.rstrip('/')}/ClaimResponse/{claim_response['id']}", "resource": claim_response},
        *stored_response["entry"][1:],
    ]
    return bundle


def _reviewer_window(prev: DeterminationRecord, now: datetime, service: DecisionService) -> tuple[date, date]:
    """The engine's window when it computed one, else the configured default from the request date."""
    if prev.window_start and prev.window_end:
        return prev.window_start, prev.window_end
    start = prev.request_date or service.request_date(now)
    return start, start + timedelta(days=service.settings.reviewer_default_days - 1)


def result_from_record(row: DeterminationRecord) -> ItemResult:
    """A stored determination as the item answer it gave (for carrying it into a new response version)."""
    notes = tuple(json.loads(row.notes)) if row.notes else ()
    window = (row.window_start, row.window_end) if row.window_start and row.window_end else None
    return ItemResult(
        row.item_sequence,
        row.review_action,
        notes,
        auth_number=row.auth_number,
        window=window,
        tracking_number=row.tracking_number,
        authorized_units=row.authorized_units,
    )


def _with_tracking(result: ItemResult, tracking: str) -> ItemResult:
    return dataclasses.replace(result, tracking_number=tracking)


def _case_status(items: Sequence[ItemResult], errors: Sequence[ClaimError]) -> str:
    if errors:
        return "error"
    if items and all(i.review_action == "C" for i in items):
        return "cancelled"
    return "pended" if any(i.review_action == "A4" for i in items) else "final"


def _first_identifier(resource: Json) -> tuple[str | None, str | None]:
    for ident in resource.get("identifier") or []:
        if isinstance(ident, dict) and isinstance(ident.get("value"), str):
            system = ident.get("system")
            return (system if isinstance(system, str) else None), ident["value"]
    return None, None


def _submitter_from_claim(request: PasRequest) -> str | None:
    """The requesting organization's first identifier value (Claim.provider, or its PractitionerRole's org)."""
    ref = (request.claim.get("provider") or {}).get("reference")
    target = request.index.resolve(ref) if isinstance(ref, str) else None
    if target is not None and target.get("resourceType") == "PractitionerRole":
        org_ref = (target.get("organization") or {}).get("reference")
        target = request.index.resolve(org_ref) if isinstance(org_ref, str) else None
    if target is None:
        return None
    _, value = _first_identifier(target)
    return value


def _extension_code(node: Json, url: str) -> str | None:
    for ext in node.get("extension") or []:
        if isinstance(ext, dict) and ext.get("url") == url:
            if "valueCode" in ext:
                return str(ext["valueCode"])
            for coding in (ext.get("valueCodeableConcept") or {}).get("coding") or []:
                if isinstance(coding, dict) and "code" in coding:
                    return str(coding["code"])
    return None


def _certification_type(node: Json) -> str | None:
    return _extension_code(node, codes.EXT_CERTIFICATION_TYPE)


def _info_changed(item: Json) -> bool:
    return _extension_code(item, codes.EXT_INFO_CHANGED) is not None


def _info_cancelled(item: Json) -> bool:
    return any(
        isinstance(ext, dict) and ext.get("url") == codes.EXT_INFO_CANCELLED and ext.get("valueBoolean") is True
        for ext in item.get("modifierExtension") or []
    )


def _note_row(note: NoteRecord, request_id: str, now: datetime) -> dict[str, Any]:
    extraction = note.extraction
    return {
        "request_id": request_id,
        "document": extraction.document,
        "attachment": extraction.attachment,
        "extractor_version": extraction.extractor_version,
        "ruleset_sha256": extraction.ruleset_sha256,
        "text_sha256": extraction.text_sha256,
        "written": note.written,
        "payload": _dumps_str_keys(note.to_dict()),
        "created_at": now,
    }


def plan_from_settings(settings: Settings) -> PlanConfig:
    """Formulary/PDL status and state Medicaid overrides from the settings."""
    lines = ("commercial", "marketplace", "medicaid")
    return PlanConfig(
        on_formulary=tuple(lob for lob in lines if lob not in settings.not_on_formulary),  # type: ignore[misc]
        medicaid_state_overrides=tuple(sorted((k.upper(), v) for k, v in settings.medicaid_state_overrides.items())),
    )
