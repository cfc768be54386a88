"""The ``/review`` pages: sign-in, queue, case page, actions, letters and the audit log."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import select

from priorauth.policy.registry import PolicyRegistry
from priorauth.review import accounts, actions, letters
from priorauth.review.casefile import OUTCOME_LABELS, CaseView, case_view, queue_lines
from priorauth.review.models import AuditEvent, Reviewer, ReviewLetter
from priorauth.review.settings import ReviewSettings
from priorauth.service.state import AppState
from priorauth.store.repository import Repository

SESSION_COOKIE = "priorauth_review"
LOGIN_COOKIE = "priorauth_review_login"

router = APIRouter(prefix="/review", include_in_schema=False)


def make_environment() -> Environment:
    """The Jinja2 environment over the package's templates (autoescaped)."""
    return Environment(loader=PackageLoader("priorauth.review", "templates"), autoescape=select_autoescape(["html"]))


def _state(request: Request) -> AppState:
    state: AppState = request.app.state.priorauth
    return state


def _settings(request: Request) -> ReviewSettings:
    settings: ReviewSettings = request.app.state.review_settings
    return settings


def _env(request: Request) -> Environment:
    env: Environment = request.app.state.review_templates
    return env


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


def _page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    html = _env(request).get_template(template).render(**context)
    response = HTMLResponse(html, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'"
    )
    return response


def _signed_in(request: Request) -> accounts.SignedIn | None:
    state = _state(request)
    return accounts.current_session(state.db, request.cookies.get(SESSION_COOKIE), now=state.clock())


def _to_login(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/review/login?next={quote(target)}", status_code=303)


def _refuse(request: Request, who: accounts.SignedIn | None, message: str, status: int = 403) -> HTMLResponse:
    return _page(
        request,
        "message.html",
        status,
        heading="Not allowed",
        message=message,
        me=who.reviewer if who else None,
        csrf=who.csrf_token if who else "",
    )


# --- sign-in ----------------------------------------------------------------------------------
@router.get("/login")
def login_form(request: Request, next: str = "/review", error: str = "") -> HTMLResponse:
    """The sign-in form, with a login CSRF token (double-submit cookie)."""
    token = secrets.token_urlsafe(24)
    response = _page(request, "login.html", me=None, csrf=token, next=next, error=error)
    response.set_cookie(
        LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=_settings(request).cookie_secure, path="/review"
    )
    return response


@router.post("/login")
def login(
    request: Request,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/review",
) -> Response:
    """Check the password, open a server-side session and go on."""
    state = _state(request)
    if not accounts.csrf_ok(request.cookies.get(LOGIN_COOKIE, ""), csrf_token):
        accounts.record_audit(
            state.db,
            now=state.clock(),
            event="csrf_refused",
            username=username,
            detail="login",
            client=_client(request),
        )
        return _refuse(request, None, "The sign-in form expired or was not ours; reload the page and try again.")
    reviewer = accounts.authenticate(state.db, username, password)
    if reviewer is None:
        accounts.record_audit(
            state.db, now=state.clock(), event="login_failed", username=username, client=_client(request)
        )
        return login_form(request, next=next, error="The user name or password is wrong.")
    token = accounts.open_session(state.db, reviewer, now=state.clock(), hours=_settings(request).session_hours)
    accounts.record_audit(state.db, now=state.clock(), event="login", reviewer=reviewer, client=_client(request))
    target = next if next.startswith("/review") and not next.startswith("//") else "/review"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=_settings(request).cookie_secure,
        path="/review",
        max_age=int(_settings(request).session_hours * 3600),
    )
    response.delete_cookie(LOGIN_COOKIE, path="/review")
    return response


@router.post("/logout")
def logout(request: Request, csrf_token: Annotated[str, Form()] = "") -> Response:
    """End the session."""
    who = _signed_in(request)
    if who is None:
        return _to_login(request)
    if not accounts.csrf_ok(who.csrf_token, csrf_token):
        return _csrf_refused(request, who, None)
    state = _state(request)
    accounts.end_session(state.db, who.token_hash, now=state.clock())
    accounts.record_audit(state.db, now=state.clock(), event="logout", reviewer=who.reviewer, client=_client(request))
    response = RedirectResponse("/review/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/review")
    return response


def _csrf_refused(request: Request, who: accounts.SignedIn, case_id: str | None) -> HTMLResponse:
    state = _state(request)
    accounts.record_audit(
        state.db,
        now=state.clock(),
        event="csrf_refused",
        reviewer=who.reviewer,
        case_id=case_id,
        detail=request.url.path,
        client=_client(request),
    )
    return _refuse(request, who, "The form's security token is missing or wrong; nothing was recorded.")


# --- queue ------------------------------------------------------------------------------------
def _remaining(now: datetime) -> Any:
    def text(due: datetime) -> str:
        delta = due - now
        hours = abs(delta.total_seconds()) / 3600
        span = f"{hours:.0f} h" if hours >= 1 else f"{abs(delta.total_seconds()) / 60:.0f} min"
        return f"{span} left" if delta.total_seconds() > 0 else f"{span} late"

    return text


@router.get("")
@router.get("/")
def queue(request: Request, status: str = "", lob: str = "", policy: str = "") -> Response:
    """Every pended request, ordered by due time, with filters."""
    who = _signed_in(request)
    if who is None:
        return _to_login(request)
    state, settings = _state(request), _settings(request)
    now = state.clock()
    with state.db.read() as session:
        repo = Repository(session)
        everything = queue_lines(repo, settings, now)
        lines = queue_lines(repo, settings, now, outcome=status or None, lob=lob or None, policy=policy or None)
    accounts.record_audit(
        state.db,
        now=now,
        event="view_queue",
        reviewer=who.reviewer,
        detail=f"status={status} lob={lob} policy={policy}",
        client=_client(request),
    )
    counts = {"overdue": 0, "due-soon": 0, "on-time": 0}
    for line in lines:
        counts[line.state] += 1
    clock_text = f"standard {settings.standard_hours:g} h, expedited {settings.expedited_hours:g} h" + "".join(
        f"; {lob_name}: " + ", ".join(f"{k} {v:g} h" for k, v in hours.items())
        for lob_name, hours in settings.clock_hours.items()
    )
    return _page(
        request,
        "queue.html",
        me=who.reviewer,
        csrf=who.csrf_token,
        lines=lines,
        counts=counts,
        filters={"status": status, "lob": lob, "policy": policy},
        statuses=[(o, OUTCOME_LABELS.get(o, o)) for o in sorted({line.outcome for line in everything})],
        lobs=sorted({line.line_of_business for line in everything}),
        policies=sorted({line.policy.split(" ")[0] for line in everything}),
        remaining=_remaining(now),
        clock_text=clock_text,
        due_soon=f"{settings.due_soon_hours:g}",
    )


# --- case page --------------------------------------------------------------------------------
def _load_case(request: Request, case_id: str) -> tuple[CaseView | None, dict[int, str]]:
    state = _state(request)
    with state.db.read() as session:
        view = case_view(Repository(session), _settings(request), case_id)
        names = {r.id: r.name for r in session.scalars(select(Reviewer))}
    return view, names


@router.get("/cases/{case_id}")
def case_page(request: Request, case_id: str, done: str = "", error: str = "") -> Response:
    """The checklist with evidence, the request, and the decision forms."""
    who = _signed_in(request)
    if who is None:
        return _to_login(request)
    state = _state(request)
    # A letter lost to a crash after its decision committed is made here, before the page is read,
    # so the reviewer who reloads sees it (see priorauth.review.letters.complete_letters).
    for issued in letters.complete_letters(
        state.db, _env(request), _settings(request), lambda: _registry(request), case_id, now=state.clock()
    ):
        accounts.record_audit(
            state.db,
            now=state.clock(),
            event="letter_generated",
            reviewer=who.reviewer,
            case_id=case_id,
            detail=f"{issued.kind} letter {issued.letter_id} (completed late)",
        )
    view, names = _load_case(request, case_id)
    if view is None:
        return _page(
            request,
            "message.html",
            404,
            heading="Not found",
            message=f"No case {case_id}.",
            me=who.reviewer,
            csrf=who.csrf_token,
        )
    accounts.record_audit(
        state.db, now=state.clock(), event="view_case", reviewer=who.reviewer, case_id=case_id, client=_client(request)
    )
    return _render_case(request, who, view, names, flash=_flash(done), error=error)


def _flash(done: str) -> str:
    return {
        "approve": "Approval recorded (A1). The provider is notified and sees it on $inquire.",
        "approve_partial": "Modified approval recorded (A6 with an authorized addItem A1). The provider is notified.",
        "deny": "Denial recorded (A3, reviewed by a clinician). The provider is notified and sees it on $inquire.",
        "request_info": "Request for information recorded; the item stays pended (A4). The provider is notified.",
    }.get(done, "")


def _render_case(
    request: Request,
    who: accounts.SignedIn,
    view: CaseView,
    names: dict[int, str],
    *,
    flash: str = "",
    error: str = "",
    status: int = 200,
) -> HTMLResponse:
    settings, state = _settings(request), _state(request)
    now = state.clock()
    clock_state, clock_label = "on-time", "On time"
    if view.due is not None:
        if view.due <= now:
            clock_state, clock_label = "overdue", "Overdue"
        elif view.due - now <= timedelta(hours=settings.due_soon_hours):
            clock_state, clock_label = "due-soon", "Due soon"
    pended = view.pended_items
    first = pended[0] if pended else (view.items[0] if view.items else None)
    start = state.decisions.request_date(now)
    default_units = first.approvable_units if first and first.approvable_units else ""
    return _page(
        request,
        "case.html",
        status,
        me=who.reviewer,
        csrf=who.csrf_token,
        c=view,
        names=names,
        flash=flash,
        error=error,
        clock_state=clock_state,
        clock_label=clock_label,
        criteria=view.criteria_choices(),
        reason_codes=settings.denial_reason_codes,
        rfi_days=settings.rfi_days,
        policy_label=f"{first.policy_id} version {first.policy_version}" if first and first.policy_id else "the policy",
        default_units=default_units,
        default_start=start.isoformat(),
        default_end=(start + timedelta(days=90)).isoformat(),
        deny_open=bool(error),
    )


@router.get("/cases/{case_id}/request.json")
def request_json(request: Request, case_id: str) -> Response:
    """The request Bundle as received (the latest submission of the case)."""
    who = _signed_in(request)
    if who is None:
        return _to_login(request)
    state = _state(request)
    with state.db.read() as session:
        repo = Repository(session)
        case = repo.case(case_id)
        received = repo.request(case.last_request_id) if case else None
    if received is None:
        return _refuse(request, who, f"No case {case_id}.", 404)
    accounts.record_audit(
        state.db,
        now=state.clock(),
        event="view_request",
        reviewer=who.reviewer,
        case_id=case_id,
        client=_client(request),
    )
    return Response(received.received_body(), media_type="application/fhir+json")


@router.get("/cases/{case_id}/letters/{letter_id}")
def letter(request: Request, case_id: str, letter_id: int) -> Response:
    """Download a stored letter (PDF)."""
    who = _signed_in(request)
    if who is None:
        return _to_login(request)
    state = _state(request)
    with state.db.read() as session:
        row = session.get(ReviewLetter, letter_id)
        if row is None or row.case_id != case_id:
            return _refuse(request, who, "No such letter.", 404)
        pdf, filename = row.pdf, row.filename
    accounts.record_audit(
        state.db,
        now=state.clock(),
        event="download_letter",
        reviewer=who.reviewer,
        case_id=case_id,
        detail=filename,
        client=_client(request),
    )
    return Response(
        pdf, media_type="application/pdf", headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


# --- actions ----------------------------------------------------------------------------------
def _guard(request: Request, case_id: str, csrf_token: str) -> accounts.SignedIn | Response:
    """The signed-in reviewer who may decide, or the refusal (401 / 403, audited) to answer instead."""
    who = _signed_in(request)
    if who is None:
        return _refuse(request, None, "Sign in first; nothing was recorded.", 401)
    if not accounts.csrf_ok(who.csrf_token, csrf_token):
        return _csrf_refused(request, who, case_id)
    if not who.reviewer.can_decide:
        state = _state(request)
        accounts.record_audit(
            state.db,
            now=state.clock(),
            event="decision_refused",
            reviewer=who.reviewer,
            case_id=case_id,
            detail=f"{request.url.path}: role {who.reviewer.role}, NPI {who.reviewer.npi or 'none'}",
            client=_client(request),
        )
        return _refuse(request, who, "Only a clinical reviewer with a recorded NPI can record a decision.")
    return who


def _decide(
    request: Request, case_id: str, csrf_token: str, detail: str, act: Callable[[Reviewer], actions.Recorded]
) -> Response:
    """Every decision route: guard, run ``act``, then audit (``detail``), letter and back to the case page.

    An :class:`actions.ActionError` from ``act`` shows the case page again with the message (422).
    """
    who = _guard(request, case_id, csrf_token)
    if isinstance(who, Response):
        return who
    try:
        recorded = act(who.reviewer)
    except actions.ActionError as exc:
        return _error(request, who, case_id, str(exc))
    state = _state(request)
    accounts.record_audit(
        state.db,
        now=state.clock(),
        event=recorded.action,
        reviewer=who.reviewer,
        case_id=case_id,
        detail=detail,
        client=_client(request),
    )
    issued = _letter(request, recorded.action_id)
    if issued is not None and issued.created:
        accounts.record_audit(
            state.db,
            now=state.clock(),
            event="letter_generated",
            reviewer=who.reviewer,
            case_id=case_id,
            detail=f"{issued.kind} letter {issued.letter_id}",
        )
    return RedirectResponse(f"/review/cases/{case_id}?done={recorded.action}", status_code=303)


def _registry(request: Request) -> PolicyRegistry | None:
    try:
        return _state(request).decisions._registry_loader()
    except Exception:  # the letter still goes out without the boxed warning text
        return None


def _letter(request: Request, action_id: int) -> letters.Issued | None:
    return letters.ensure_letter(
        _state(request).db,
        _env(request),
        _settings(request),
        lambda: _registry(request),
        action_id,
        issued=_state(request).clock(),
    )


def _error(request: Request, who: accounts.SignedIn, case_id: str, message: str) -> Response:
    view, names = _load_case(request, case_id)
    state = _state(request)
    accounts.record_audit(
        state.db,
        now=state.clock(),
        event="action_rejected",
        reviewer=who.reviewer,
        case_id=case_id,
        detail=message,
        client=_client(request),
    )
    if view is None:
        return _refuse(request, who, message, 404)
    return _render_case(request, who, view, names, error=message, status=422)


def _dates(start: str, end: str) -> tuple[date, date] | None:
    if not start and not end:
        return None
    try:
        return date.fromisoformat(start), date.fromisoformat(end)
    except ValueError as exc:
        raise actions.ActionError(str(exc)) from exc


def _policy_words(request: Request, case_id: str, criterion: str) -> str:
    """The policy's words for a criterion of the case's checklist ("" when it is not there)."""
    view, _ = _load_case(request, case_id)
    for item in view.items if view else []:
        for node in item.checklist:
            if node.criterion_id == criterion:
                return node.text
    return ""


@router.post("/cases/{case_id}/approve")
def approve(
    request: Request,
    case_id: str,
    csrf_token: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    start: Annotated[str, Form()] = "",
    end: Annotated[str, Form()] = "",
) -> Response:
    """Approve in full (A1)."""
    return _decide(
        request,
        case_id,
        csrf_token,
        reason,
        lambda reviewer: actions.approve(
            _state(request).decisions, reviewer, case_id, reason=reason, window=_dates(start, end)
        ),
    )


@router.post("/cases/{case_id}/approve-partial")
def approve_partial(
    request: Request,
    case_id: str,
    csrf_token: Annotated[str, Form()] = "",
    sequence: Annotated[int, Form()] = 1,
    units: Annotated[float, Form()] = 0,
    start: Annotated[str, Form()] = "",
    end: Annotated[str, Form()] = "",
    criterion: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Approve fewer units or a shorter period (A6 + addItem A1)."""

    def act(reviewer: Reviewer) -> actions.Recorded:
        window = _dates(start, end)
        if window is None:
            raise actions.ActionError("give the authorized period")
        return actions.approve_partial(
            _state(request).decisions,
            reviewer,
            case_id,
            sequence=sequence,
            units=units,
            window=window,
            reason=reason,
            criterion=criterion or None,
        )

    return _decide(request, case_id, csrf_token, f"{units:g} units {start}..{end}: {reason}", act)


@router.post("/cases/{case_id}/deny")
def deny(
    request: Request,
    case_id: str,
    csrf_token: Annotated[str, Form()] = "",
    criterion: Annotated[str, Form()] = "",
    reason_code: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Deny (A3) with the specific reason and the criterion."""

    def act(reviewer: Reviewer) -> actions.Recorded:
        words = _policy_words(request, case_id, criterion)
        if criterion and not words:
            raise actions.ActionError(f"criterion {criterion} is not in this case's checklist")
        return actions.deny(
            _state(request).decisions,
            reviewer,
            case_id,
            criterion=criterion,
            policy_words=words,
            reason=reason,
            reason_code=reason_code,
            reason_codes=_settings(request).denial_reason_codes,
        )

    return _decide(request, case_id, csrf_token, f"{criterion} {reason_code}: {reason}", act)


@router.post("/cases/{case_id}/request-info")
def request_info(
    request: Request,
    case_id: str,
    csrf_token: Annotated[str, Form()] = "",
    criterion: Annotated[str, Form()] = "",
    needed: Annotated[str, Form()] = "",
    days: Annotated[int, Form()] = 14,
) -> Response:
    """Ask the provider for specific information; the items stay A4."""
    return _decide(
        request,
        case_id,
        csrf_token,
        f"{criterion}: {needed}",
        lambda reviewer: actions.request_information(
            _state(request).decisions,
            reviewer,
            case_id,
            criterion=criterion,
            policy_words=_policy_words(request, case_id, criterion),
            needed=needed,
            reply_days=max(1, min(days, 60)),
        ),
    )


# --- audit ------------------------------------------------------------------------------------
@router.get("/audit")
def audit_log(request: Request, case: str = "", user: str = "", limit: int = 500) -> Response:
    """The audit log (administrators only)."""
    who = _signed_in(request)
    if who is None:
        return _to_login(request)
    state = _state(request)
    if who.reviewer.role != "admin":
        accounts.record_audit(
            state.db, now=state.clock(), event="audit_refused", reviewer=who.reviewer, client=_client(request)
        )
        return _refuse(request, who, "Only an administrator can read the audit log.")
    stmt = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(max(1, min(limit, 5000)))
    if case:
        stmt = stmt.where(AuditEvent.case_id == case)
    if user:
        stmt = stmt.where(AuditEvent.username == user)
    with state.db.read() as session:
        events = list(session.scalars(stmt))
    accounts.record_audit(
        state.db, now=state.clock(), event="view_audit", reviewer=who.reviewer, client=_client(request)
    )
    return _page(
        request, "audit.html", me=who.reviewer, csrf=who.csrf_token, events=events, case_filter=case, user_filter=user
    )
