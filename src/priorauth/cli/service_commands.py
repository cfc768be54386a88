"""Service commands: ``serve``, ``db upgrade``, ``clients add`` and ``decide`` (mounted by the main CLI).

Mount with ``app.add_typer(service_cli)`` (commands at the top level) or run directly:
``python -m priorauth.cli.service_commands serve``.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from priorauth.service.settings import load_settings

service_cli = typer.Typer(help="The PAS service and its database.", no_args_is_help=True)
db_cli = typer.Typer(help="Database maintenance.", no_args_is_help=True)
clients_cli = typer.Typer(help="SMART Backend Services clients.", no_args_is_help=True)
service_cli.add_typer(db_cli, name="db")
service_cli.add_typer(clients_cli, name="clients")

DatabaseOpt = Annotated[
    str | None,
    typer.Option("--database-url", help="SQLAlchemy URL (default: PRIORAUTH_DATABASE_URL or ./priorauth.db)"),
]


def _echo_json(data: object) -> None:
    typer.echo(json.dumps(data, indent=2))


def _welcome(host: str, port: int, database_url: str, auth: str) -> None:
    """Tell a newcomer where the service is and how to send it a sample request."""
    base = f"http://{host}:{port}"
    typer.echo(f"priorauth: serving on {base} (database {database_url}, auth {auth})", err=True)
    typer.echo(
        "  send a sample request:\n"
        f"    curl -s -X POST '{base}/fhir/Claim/$submit' -H 'Content-Type: application/fhir+json' "
        "--data @../shared/fixtures/examples/EX01_medicaid_approval_structured.json\n"
        f"  reviewer workbench: {base}/review (priorauth demo loads samples and a demo reviewer)",
        err=True,
    )
    if auth == "on":
        typer.echo("  auth is on: get a token at /auth/token, or start with PRIORAUTH_AUTH=off on loopback", err=True)


@service_cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (PRIORAUTH_HOST; default 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (PRIORAUTH_PORT; default 8000)")] = None,
    database_url: DatabaseOpt = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "info",
    access_log: Annotated[bool, typer.Option(help="log every request")] = False,
    workers: Annotated[int, typer.Option(min=1, help="Server processes sharing the database (PRIORAUTH_WORKERS)")] = 1,
) -> None:
    """Run the PAS service (FastAPI under uvicorn)."""
    import os

    import uvicorn

    from priorauth.service.app import InsecureConfigurationError, check_auth_binding, create_app
    from priorauth.service.eligibility import EligibilityConfigError, load_eligibility
    from priorauth.store.db import upgrade

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = load_settings(host=host, port=port, database_url=database_url)
    try:
        load_eligibility(settings.eligibility)
    except EligibilityConfigError as exc:
        typer.echo(f"refusing to start: {exc}", err=True)
        raise typer.Exit(2) from None
    workers = int(os.environ.get("PRIORAUTH_WORKERS", workers))
    _welcome(settings.host, settings.port, settings.database_url, settings.auth)
    if workers > 1:
        # Each worker is a separate process that rebuilds its settings from the environment; nothing
        # is shared in memory (the database holds every request, decision and outbox message).
        try:
            check_auth_binding(settings)
        except InsecureConfigurationError as exc:
            typer.echo(f"refusing to start: {exc}", err=True)
            raise typer.Exit(2) from None
        os.environ.update(
            PRIORAUTH_HOST=settings.host,
            PRIORAUTH_PORT=str(settings.port),
            PRIORAUTH_DATABASE_URL=settings.database_url,
        )
        if settings.should_migrate:
            upgrade(settings.database_url)  # once, before the workers start
        uvicorn.run(
            "priorauth.service.app:app_from_environment",
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=workers,
            log_level=log_level,
            access_log=access_log,
            timeout_graceful_shutdown=5,
        )
        return
    try:
        app = create_app(settings)
    except InsecureConfigurationError as exc:
        typer.echo(f"refusing to start: {exc}", err=True)
        raise typer.Exit(2) from None
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=log_level,
        access_log=access_log,
        timeout_graceful_shutdown=5,
    )


@db_cli.command("upgrade")
def db_upgrade(database_url: DatabaseOpt = None, revision: str = "head") -> None:
    """Apply the Alembic migrations."""
    from priorauth.store.db import upgrade

    settings = load_settings(database_url=database_url)
    upgrade(settings.database_url, revision)
    typer.echo(f"database at {revision}")


@clients_cli.command("add")
def clients_add(
    client_id: Annotated[str, typer.Argument(help="The client id (the assertion's iss and sub)")],
    org: Annotated[str, typer.Option("--org", help="The organization identifier value the client acts for")],
    jwks: Annotated[Path, typer.Option("--jwks", help="File with the client's public JWKS", exists=True)],
    org_system: Annotated[str | None, typer.Option("--org-system", help="Identifier system (e.g. NPI)")] = None,
    scope: Annotated[str | None, typer.Option(help="Space-separated scopes the client may get")] = None,
    replace: Annotated[bool, typer.Option(help="Re-key an existing client")] = False,
    database_url: DatabaseOpt = None,
) -> None:
    """Register a client with its public keys; it will only see its organization's requests."""
    from priorauth.auth.clients import DEFAULT_SCOPE, ClientError, add_client
    from priorauth.service.decisions import utcnow
    from priorauth.store.db import open_database, upgrade

    settings = load_settings(database_url=database_url)
    if settings.should_migrate:
        upgrade(settings.database_url)
    db = open_database(settings.database_url)
    try:
        add_client(
            db,
            client_id=client_id,
            org=org,
            org_system=org_system,
            jwks=json.loads(jwks.read_text()),
            scope=scope or DEFAULT_SCOPE,
            replace=replace,
            now=utcnow(),
        )
    except (ClientError, json.JSONDecodeError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        db.dispose()
    typer.echo(f"client {client_id} registered for organization {org}")


@service_cli.command()
def decide(
    request_id: Annotated[str, typer.Argument(help="Request id (X-Request-Id) or ClaimResponse id")],
    reviewer_npi: Annotated[str, typer.Option("--reviewer-npi", help="The reviewer's 10-digit NPI")],
    reason: Annotated[str, typer.Option(help="Why: the specific reason, shown to the provider")],
    approve: Annotated[bool, typer.Option("--approve", help="Approve the pended items")] = False,
    deny: Annotated[bool, typer.Option("--deny", help="Deny the pended items")] = False,
    criterion: Annotated[str | None, typer.Option(help="The criterion a denial cites, e.g. I.A.4")] = None,
    item: Annotated[list[int] | None, typer.Option(help="Item sequence(s); default all pended")] = None,
    start: Annotated[str | None, typer.Option(help="Approval start (YYYY-MM-DD)")] = None,
    end: Annotated[str | None, typer.Option(help="Approval end (YYYY-MM-DD)")] = None,
    database_url: DatabaseOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the new response Bundle")] = False,
) -> None:
    """Record a clinical reviewer's final decision on a pended request and notify subscribers."""
    from priorauth.service.decisions import DecisionError, DecisionService
    from priorauth.store.db import open_database

    if approve == deny:
        typer.echo("error: give exactly one of --approve / --deny", err=True)
        raise typer.Exit(2)
    window = (date.fromisoformat(start), date.fromisoformat(end)) if start and end else None
    settings = load_settings(database_url=database_url)
    db = open_database(settings.database_url)
    try:
        bundle = DecisionService(db, settings).record_decision(
            request_id,
            approve=approve,
            reviewer_npi=reviewer_npi,
            reason=reason,
            criterion=criterion,
            sequences=item or None,
            window=window,
        )
    except DecisionError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        db.dispose()
    if as_json:
        _echo_json(bundle)
        return
    response = bundle["entry"][0]["resource"]
    for entry in response.get("item", []):
        code = entry["adjudication"][0]["extension"][0]["extension"][0]["valueCodeableConcept"]["coding"][0]["code"]
        typer.echo(f"item {entry['itemSequence']}: {code}")
    typer.echo(f"ClaimResponse/{response['id']} updated; subscribers will be notified")


if __name__ == "__main__":
    sys.exit(service_cli())
