"""Workbench commands: ``reviewers add`` and ``demo`` (mount with ``app.add_typer(review_cli)``).

Run directly with ``python -m priorauth.cli.review_commands``.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

review_cli = typer.Typer(help="The reviewer workbench.", no_args_is_help=True)
reviewers_cli = typer.Typer(help="Reviewer and administrator accounts for /review.", no_args_is_help=True)
review_cli.add_typer(reviewers_cli, name="reviewers")

DatabaseOpt = Annotated[
    str | None,
    typer.Option("--database-url", help="SQLAlchemy URL (default: PRIORAUTH_DATABASE_URL or ./priorauth.db)"),
]
DEMO_REVIEWER = ("demo-reviewer", "Dr. Alex Rivera", "1234567893", "Medical Oncology (207RX0202X)", "MD")
DEMO_ADMIN = ("demo-admin", "Sam Admin")
DEMO_PASSWORD = "review-demo-2026"


@reviewers_cli.command("add")
def reviewers_add(
    username: Annotated[str, typer.Argument(help="Sign-in name")],
    name: Annotated[str, typer.Option("--name", help="Full name, as printed on letters")],
    role: Annotated[str, typer.Option("--role", help="reviewer or admin")] = "reviewer",
    npi: Annotated[str | None, typer.Option("--npi", help="10-digit NPI (needed to record decisions)")] = None,
    specialty: Annotated[str | None, typer.Option("--specialty", help="Clinical specialty")] = None,
    credentials: Annotated[str | None, typer.Option("--credentials", help="e.g. MD, PharmD, RN")] = None,
    password: Annotated[
        str | None,
        typer.Option(
            "--password", help="Password (prompted, hidden, when omitted)", envvar="PRIORAUTH_REVIEWER_PASSWORD"
        ),
    ] = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Add a reviewer (role reviewer, with an NPI to decide) or an administrator (role admin)."""
    from priorauth.review.accounts import AccountError, create_reviewer
    from priorauth.service.decisions import utcnow
    from priorauth.service.settings import load_settings
    from priorauth.store.db import open_database, upgrade

    settings = load_settings(database_url=database_url)
    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    upgrade(settings.database_url)
    db = open_database(settings.database_url)
    try:
        row = create_reviewer(
            db,
            username=username,
            name=name,
            password=password,
            role=role,
            npi=npi,
            specialty=specialty,
            credentials=credentials,
            now=utcnow(),
        )
    except AccountError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    finally:
        db.dispose()
    can = "can record decisions" if row.can_decide else "cannot record decisions"
    typer.echo(f"added {row.role} {row.username} ({row.name}, NPI {row.npi or 'none'}): {can}")


@review_cli.command()
def demo(
    database_url: DatabaseOpt = None,
    host: Annotated[str | None, typer.Option(help="Where the service will listen (for the printed address)")] = None,
    port: Annotated[int | None, typer.Option(help="Port of the service (for the printed address)")] = None,
) -> None:
    """Load sample requests through $submit, add a demo reviewer and admin, and print where to sign in."""
    from priorauth.review.accounts import AccountError, create_reviewer
    from priorauth.review.samples import samples
    from priorauth.service.decisions import DecisionService, utcnow
    from priorauth.service.settings import load_settings
    from priorauth.store.db import open_database, upgrade

    settings = load_settings(database_url=database_url, host=host, port=port)
    upgrade(settings.database_url)
    db = open_database(settings.database_url)
    service = DecisionService(db, settings)
    try:
        for sample in samples():
            answer = service.submit(json.dumps(sample.bundle).encode(), org=None, content_type="application/fhir+json")
            response = json.loads(answer.body)
            resource = response["entry"][0]["resource"] if answer.status == 200 else response
            codes = [
                ext["valueCodeableConcept"]["coding"][0]["code"]
                for item in resource.get("item", [])
                for ext in item["adjudication"][0]["extension"][0]["extension"]
                if "valueCodeableConcept" in ext
            ]
            typer.echo(
                f"{sample.name:<40} {answer.status} {'/'.join(codes):<4} case {answer.case_id}  (expected {sample.expected})"
            )
        for username, name, npi, specialty, creds, role in (
            (*DEMO_REVIEWER, "reviewer"),
            (DEMO_ADMIN[0], DEMO_ADMIN[1], None, None, None, "admin"),
        ):
            try:
                create_reviewer(
                    db,
                    username=username,
                    name=name,
                    password=DEMO_PASSWORD,
                    role=role,
                    npi=npi,
                    specialty=specialty,
                    credentials=creds,
                    now=utcnow(),
                )
            except AccountError as exc:
                typer.echo(f"({username}: {exc})")
    finally:
        db.dispose()
    base = f"http://{settings.host}:{settings.port}"
    typer.echo("")
    typer.echo(f"Start the service:  priorauth serve --database-url {settings.database_url}")
    typer.echo(f"Sign in at:         {base}/review/login")
    typer.echo(f"  reviewer:  {DEMO_REVIEWER[0]} / {DEMO_PASSWORD}  (NPI {DEMO_REVIEWER[2]}, can decide)")
    typer.echo(f"  admin:     {DEMO_ADMIN[0]} / {DEMO_PASSWORD}  (audit log, cannot decide)")


if __name__ == "__main__":
    review_cli()
