"""``priorauth``: evaluate a request offline, show and test the policy, and (from the service) serve."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from priorauth.cli.review_commands import review_cli
from priorauth.cli.service_commands import service_cli
from priorauth.engine.decide import decide
from priorauth.errors import BundleError, CaseError, PolicyDataError
from priorauth.fhir.extract import extract_request
from priorauth.policy.registry import load_registry

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Prior authorization as policy-as-code.")
policy_app = typer.Typer(no_args_is_help=True, help="Show and test the policies.")
app.add_typer(policy_app, name="policy")
app.add_typer(service_cli)
app.add_typer(review_cli)
console = Console()
errors = Console(stderr=True)


def fail(message: str, code: int = 2) -> None:
    """Print a one-line error naming the file and field, and exit (2 = bad input)."""
    errors.print(f"[bold red]error:[/bold red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def parse_day(value: str | None, option: str) -> date | None:
    """A YYYY-MM-DD option value, or a clear error naming the option."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option}: {value!r} is not a date (expected YYYY-MM-DD)")
    return None  # pragma: no cover


def read_json(path: Path) -> Any:
    """Parse a JSON file, failing with the file and position on a problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        fail(f"{path}: file not found")
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        fail(f"{path}: cannot be read ({exc.__class__.__name__})")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})")


@app.command()
def evaluate(
    bundle: Annotated[Path, typer.Argument(help="A PAS request Bundle (JSON).")],
    as_of: Annotated[str | None, typer.Option("--as-of", help="Request date YYYY-MM-DD (default: today).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the determinations as JSON.")] = False,
    notes: Annotated[bool, typer.Option(help="Read clinical notes with the note extractor (intake step).")] = True,
) -> None:
    """Decide one request offline: the same engine and mapping as $submit, no server, no database."""
    from priorauth.cli.render import determination_panel

    request_date = parse_day(as_of, "--as-of") or date.today()
    data = read_json(bundle)
    try:
        registry = load_registry()
        request = extract_request(data, read_notes=notes)
    except BundleError as exc:
        fail(f"{bundle}: {exc.expression}: {exc.message}")
        return
    except PolicyDataError as exc:
        fail(f"policy data: {exc}")
        return
    results = [(item.sequence, decide(registry, request.facts_for(item), request_date)) for item in request.items]
    if as_json:
        payload = {
            "request": str(bundle),
            "request_date": request_date.isoformat(),
            "problems": list(request.shared.problems),
            "items": [{"sequence": seq, "determination": det.to_dict()} for seq, det in results],
        }
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
        return
    if not results:
        console.print(f"[yellow]No item to decide:[/yellow] {'; '.join(request.shared.problems)}")
    for seq, det in results:
        console.print(determination_panel(det, str(seq)))


@policy_app.command("show")
def policy_show(
    as_of: Annotated[str | None, typer.Option("--as-of", help="Show the version in force on YYYY-MM-DD.")] = None,
    policy_id: Annotated[str, typer.Option("--policy", help="Policy id.")] = "CP.PHAR.685",
) -> None:
    """Render the policy version in force as a tree: criteria, readings, durations, referrals, codes."""
    from priorauth.cli.render import policy_tree

    day = parse_day(as_of, "--as-of") or date.today()
    try:
        registry = load_registry()
    except PolicyDataError as exc:
        fail(f"policy data: {exc}")
        return
    if policy_id not in registry.policies:
        fail(f"--policy: unknown policy {policy_id!r} (known: {', '.join(registry.policies)})")
    version = registry.resolve(policy_id, day)
    if version is None:
        fail(f"--as-of: no version of {policy_id} is in force on {day}")
        return
    console.print(policy_tree(version))


@policy_app.command("test")
def policy_test(
    path: Annotated[Path | None, typer.Argument(help="A case file or folder (default: every policy's cases).")] = None,
) -> None:
    """Run the policy's YAML cases and print each failing criterion with its trace."""
    from priorauth.cases.runner import run_cases, summarize

    try:
        results = run_cases(path)
    except (CaseError, PolicyDataError) as exc:
        fail(str(exc))
        return
    for result in results:
        if not result.passed:
            console.rule(f"[red]FAILED[/red] {result.name}")
            console.print(result.explain(), highlight=False, markup=False)
    summary = summarize(results)
    failed = [r for r in results if not r.passed]
    console.print(f"[{'red' if failed else 'green'}]{summary}[/]")
    raise typer.Exit(1 if failed or not results else 0)


def run() -> None:
    """Console-script entry point."""
    app()
