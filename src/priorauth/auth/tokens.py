"""The token endpoint's logic and bearer-token checks (no HTTP here).

A client proves itself with a ``private_key_jwt`` assertion signed by a key in its registered JWKS
(SMART Backend Services): ``iss`` = ``sub`` = client id, ``aud`` = our token URL, short ``exp``,
never-reused ``jti``. It receives an opaque bearer token bound to its one organization. Tokens are
stored hashed, so every process of a fleet accepts tokens any of them issued.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from priorauth.store.db import Database
from priorauth.store.models import AccessToken, ApiClient, AssertionJti

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ALGORITHMS = ("RS384", "ES384", "RS256", "ES256", "PS384", "EdDSA")


@dataclass(frozen=True)
class Principal:
    """Who is calling: a client of one organization (``org`` None only when authentication is off)."""

    client_id: str | None
    org: str | None
    scope: str = ""


class TokenError(Exception):
    """An OAuth error: ``error`` is the RFC 6749 code, ``status`` the HTTP status."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _unverified_claims(assertion: str) -> dict[str, Any]:
    try:
        payload = assertion.split(".")[1]
        data: Any = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError) as exc:
        raise TokenError("invalid_client", f"client_assertion is not a JWT ({exc})", 401) from None
    if not isinstance(data, dict):
        raise TokenError("invalid_client", "client_assertion payload is not an object", 401)
    return data


class TokenService:
    """Issues and checks tokens against the database; caches checked tokens briefly per process."""

    def __init__(self, db: Database, *, ttl_seconds: int, max_assertion_seconds: int) -> None:
        self.db = db
        self.ttl = timedelta(seconds=ttl_seconds)
        self.max_assertion = timedelta(seconds=max_assertion_seconds)
        self._cache: dict[str, tuple[Principal, datetime]] = {}
        self._lock = threading.Lock()

    def issue(self, *, form: dict[str, str], audiences: set[str], now: datetime) -> dict[str, Any]:
        """Handle a token request (form fields); returns the OAuth JSON answer or raises TokenError."""
        if form.get("grant_type") != "client_credentials":
            raise TokenError("unsupported_grant_type", "grant_type must be client_credentials")
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            raise TokenError("invalid_request", f"client_assertion_type must be {ASSERTION_TYPE}")
        assertion = form.get("client_assertion") or ""
        client_id = str(_unverified_claims(assertion).get("iss") or "")
        with self.db.read() as session:
            client = session.get(ApiClient, client_id)
            if client is None or not client.active:
                raise TokenError("invalid_client", "unknown client", 401)
            jwks, org, allowed = json.loads(client.jwks), client.org, client.scope
        try:
            token = jwt.decode(assertion, KeySet.import_key_set(jwks), algorithms=list(ALGORITHMS))
        except (JoseError, ValueError) as exc:
            raise TokenError(
                "invalid_client", f"assertion signature not valid for the registered keys ({exc})", 401
            ) from None
        claims = token.claims
        self._check_claims(claims, client_id, audiences, now)
        requested = (form.get("scope") or "").split()
        granted = [s for s in requested if s in allowed.split()] if requested else allowed.split()
        if requested and not granted:
            raise TokenError("invalid_scope", "none of the requested scopes is granted to this client")
        access = secrets.token_urlsafe(32)
        with self.db.write() as session:
            session.execute(delete(AssertionJti).where(AssertionJti.expires_at < now))
            session.add(
                AccessToken(
                    token_hash=_hash(access),
                    client_id=client_id,
                    org=org,
                    scope=" ".join(granted),
                    expires_at=now + self.ttl,
                )
            )
        return {
            "access_token": access,
            "token_type": "bearer",
            "expires_in": int(self.ttl.total_seconds()),
            "scope": " ".join(granted),
        }

    def _check_claims(self, claims: dict[str, Any], client_id: str, audiences: set[str], now: datetime) -> None:
        if claims.get("sub") != client_id:
            raise TokenError("invalid_client", "assertion sub must equal iss (the client id)", 401)
        aud = claims.get("aud")
        auds = set(aud) if isinstance(aud, list) else {aud}
        if not auds & audiences:
            raise TokenError("invalid_client", "assertion aud is not this token endpoint", 401)
        exp = claims.get("exp")
        if not isinstance(exp, int | float):
            raise TokenError("invalid_client", "assertion has no exp", 401)
        expires = datetime.fromtimestamp(exp, tz=now.tzinfo)
        if expires <= now - timedelta(seconds=30):
            raise TokenError("invalid_client", "assertion expired", 401)
        if expires > now + self.max_assertion + timedelta(seconds=30):
            raise TokenError("invalid_client", "assertion lifetime exceeds 5 minutes", 401)
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti:
            raise TokenError("invalid_client", "assertion has no jti", 401)
        try:
            with self.db.write() as session:
                session.add(AssertionJti(jti=f"{client_id}:{jti}", client_id=client_id, expires_at=expires))
        except IntegrityError:
            raise TokenError("invalid_client", "assertion jti was already used", 401) from None

    def check(self, bearer: str, now: datetime) -> Principal | None:
        """The principal for a bearer token, or None when unknown or expired."""
        key = _hash(bearer)
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None and hit[1] > now:
            return hit[0]
        with self.db.read() as session:
            row = session.get(AccessToken, key)
            if row is None or row.expires_at <= now:
                return None
            principal = Principal(row.client_id, row.org, row.scope)
            expires = row.expires_at
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[key] = (principal, expires)
        return principal
