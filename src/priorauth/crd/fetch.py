"""Fetch prefetch data the client did not send, from the hook's ``fhirServer`` with its token."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx

FETCH_TIMEOUT_S = 3.0
_TOKEN = re.compile(r"\{\{([^}]+)\}\}")


def resolve_template(template: str, context: dict[str, Any]) -> str | None:
    """A prefetch template with its tokens filled from the hook context, or None when one is unknown."""
    unresolved = False

    def fill(match: re.Match[str]) -> str:
        nonlocal unresolved
        token = match.group(1).strip()
        value: Any = None
        if token.startswith("context."):
            value = context.get(token.removeprefix("context."))
        elif token in ("userPractitionerId", "userPractitionerRoleId", "userPatientId"):
            kind = token.removeprefix("user").removesuffix("Id")
            user = str(context.get("userId", ""))
            value = user.split("/", 1)[1] if user.startswith(kind + "/") else None
        if not isinstance(value, str) or not value:
            unresolved = True
            return ""
        return value

    filled = _TOKEN.sub(fill, template)
    return None if unresolved else filled


async def fetch_missing(
    server: str, authorization: dict[str, Any] | None, queries: dict[str, str], timeout: float = FETCH_TIMEOUT_S
) -> tuple[dict[str, Any], dict[str, str]]:
    """(key → fetched resource or Bundle, key → why it could not be fetched), all queries in parallel."""
    headers = {"Accept": "application/fhir+json"}
    token = (authorization or {}).get("access_token")
    if isinstance(token, str) and token:
        headers["Authorization"] = f"{(authorization or {}).get('token_type') or 'Bearer'} {token}"
    base = server.rstrip("/")
    found: dict[str, Any] = {}
    failed: dict[str, str] = {}
    async with httpx.AsyncClient(timeout=timeout, headers=headers) as client:

        async def one(key: str, query: str) -> None:
            try:
                response = await client.get(f"{base}/{query.lstrip('/')}")
                if response.status_code != 200:
                    failed[key] = f"{query}: HTTP {response.status_code}"
                    return
                body = response.json()
                if not isinstance(body, dict) or "resourceType" not in body:
                    failed[key] = f"{query}: not a FHIR resource"
                    return
                found[key] = body
            except (httpx.HTTPError, ValueError) as exc:
                failed[key] = f"{query}: {type(exc).__name__}"

        await asyncio.gather(*(one(k, q) for k, q in queries.items()))
    return found, failed
