"""Client registration (``priorauth clients add``): a client id, its organization and its public JWKS."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from joserfc.jwk import KeySet

from priorauth.store.db import Database
from priorauth.store.models import ApiClient

DEFAULT_SCOPE = "system/Claim.c system/ClaimResponse.r system/Bundle.r system/Subscription.crud"


class ClientError(ValueError):
    """A registration that cannot be accepted (bad JWKS, private keys, duplicate id)."""


def check_jwks(jwks: dict[str, Any]) -> None:
    """Reject anything but a JWKS of public signing keys."""
    keys = jwks.get("keys")
    if not isinstance(keys, list) or not keys:
        raise ClientError("a JWKS needs a non-empty 'keys' list")
    for key in keys:
        if not isinstance(key, dict):
            raise ClientError("each JWKS key is an object")
        if any(private in key for private in ("d", "p", "q", "dp", "dq", "qi", "k")):
            raise ClientError(f"key {key.get('kid')!r} holds private material; register the public key only")
    try:
        KeySet.import_key_set(jwks)  # type: ignore[arg-type]
    except Exception as exc:
        raise ClientError(f"the JWKS cannot be read: {exc}") from None


def add_client(
    db: Database,
    *,
    client_id: str,
    org: str,
    jwks: dict[str, Any],
    now: datetime,
    org_system: str | None = None,
    scope: str = DEFAULT_SCOPE,
    replace: bool = False,
) -> None:
    """Register (or with ``replace`` re-key) a client."""
    check_jwks(jwks)
    with db.write() as session:
        existing = session.get(ApiClient, client_id)
        if existing is not None and not replace:
            raise ClientError(f"client {client_id!r} exists (use --replace to change its keys)")
        if existing is None:
            session.add(
                ApiClient(
                    client_id=client_id,
                    org=org,
                    org_system=org_system,
                    jwks=json.dumps(jwks),
                    scope=scope,
                    active=True,
                    created_at=now,
                )
            )
        else:
            existing.org, existing.org_system = org, org_system
            existing.jwks, existing.scope, existing.active = json.dumps(jwks), scope, True
