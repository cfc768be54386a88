"""SMART Backend Services: private_key_jwt assertions, tokens bound to one organization."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey
from service_helpers import EXAMPLES, PAS_REQUESTS, Server, cli, free_port, service_env

HOMECARE = PAS_REQUESTS / "ig-pas221_Bundle-HomecareAuthorizationBundleExample.json"


def _client(env: dict[str, str], tmp: Path, client_id: str, org: str) -> RSAKey:
    key = RSAKey.generate_key(2048, parameters={"kid": f"{client_id}-key", "alg": "RS384", "use": "sig"})
    jwks = tmp / f"{client_id}.jwks.json"
    jwks.write_text(json.dumps({"keys": [key.as_dict(private=False)]}))
    cli(env, "clients", "add", client_id, "--org", org, "--jwks", str(jwks))
    return key


def _assertion(key: RSAKey, client_id: str, aud: str, **overrides: Any) -> str:
    now = int(time.time())
    claims = {"iss": client_id, "sub": client_id, "aud": aud, "exp": now + 240, "jti": str(uuid.uuid4())}
    claims.update(overrides)
    return jwt.encode({"alg": "RS384", "kid": key.kid, "typ": "JWT"}, claims, key, algorithms=["RS384"])


def _token(server: Server, assertion: str) -> httpx.Response:
    return httpx.post(
        f"{server.url}/auth/token",
        data={
            "grant_type": "client_credentials",
            "scope": "system/Claim.c system/ClaimResponse.r",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion,
        },
    )


@pytest.fixture
def secured(tmp_path: Path) -> Any:
    env = service_env(f"sqlite:///{tmp_path / 'a.db'}", PRIORAUTH_AUTH="on")
    key_a = _client(env, tmp_path, "clinic-a", "ORG-A")
    key_b = _client(env, tmp_path, "clinic-b", "ORG-B")
    server = Server(env, tmp_path / "server.log").start()
    yield server, key_a, key_b
    server.stop()


def test_org_a_token_cannot_read_org_b_requests(secured: Any) -> None:
    server, key_a, key_b = secured
    aud = f"{server.url}/auth/token"
    answer_a = _token(server, _assertion(key_a, "clinic-a", aud))
    assert answer_a.status_code == 200, answer_a.text
    token_a = answer_a.json()["access_token"]
    assert answer_a.json()["token_type"] == "bearer"
    token_b = _token(server, _assertion(key_b, "clinic-b", aud)).json()["access_token"]

    submitted = server.submit(HOMECARE.read_bytes(), token=token_a)
    assert submitted.status_code == 200
    response_id = submitted.json()["entry"][0]["resource"]["id"]
    request_id = submitted.headers["x-request-id"]

    def get(path: str, token: str) -> httpx.Response:
        return httpx.get(server.url + path, headers={"Authorization": f"Bearer {token}"})

    assert get(f"/fhir/ClaimResponse/{response_id}", token_a).status_code == 200
    assert get(f"/fhir/Bundle/{request_id}", token_a).content == HOMECARE.read_bytes()
    assert get(f"/fhir/ClaimResponse/{response_id}", token_b).status_code == 404
    assert get(f"/fhir/Bundle/{request_id}", token_b).status_code == 404
    assert server.submit(HOMECARE.read_bytes(), token=token_b, op="inquire").status_code == 404
    assert server.submit(HOMECARE.read_bytes(), token=token_a, op="inquire").status_code == 200
    # A subscription can only filter on the caller's own organization.
    from service_helpers import subscription

    sub = subscription("ORG-A", "http://127.0.0.1:9/hook")
    assert (
        httpx.post(
            f"{server.url}/fhir/Subscription", json=sub, headers={"Authorization": f"Bearer {token_b}"}
        ).status_code
        == 403
    )
    assert (
        httpx.post(
            f"{server.url}/fhir/Subscription", json=sub, headers={"Authorization": f"Bearer {token_a}"}
        ).status_code
        == 201
    )


def test_requests_without_a_valid_token_are_refused(secured: Any) -> None:
    server, key_a, key_b = secured
    aud = f"{server.url}/auth/token"
    no_token = server.submit(EXAMPLES.joinpath("EX01_medicaid_approval_structured.json").read_bytes())
    assert no_token.status_code == 401 and no_token.json()["issue"][0]["code"] == "login"
    assert server.submit(b"{}", token="made-up").status_code == 401
    # Public endpoints stay public.
    assert httpx.get(f"{server.url}/fhir/metadata").status_code == 200
    assert httpx.get(f"{server.url}/healthz").status_code == 200
    # Assertion problems: wrong key, replayed jti, wrong audience, expired, unknown client.
    assert _token(server, _assertion(key_b, "clinic-a", aud)).json()["error"] == "invalid_client"
    once = _assertion(key_a, "clinic-a", aud)
    assert _token(server, once).status_code == 200
    assert _token(server, once).status_code == 401
    assert _token(server, _assertion(key_a, "clinic-a", "https://elsewhere/token")).status_code == 401
    assert _token(server, _assertion(key_a, "clinic-a", aud, exp=int(time.time()) - 120)).status_code == 401
    assert _token(server, _assertion(key_a, "nobody", aud, sub="nobody")).status_code == 401
    bad_grant = httpx.post(f"{server.url}/auth/token", data={"grant_type": "password"})
    assert bad_grant.json()["error"] == "unsupported_grant_type"


def test_auth_off_refused_on_a_public_address(tmp_path: Path) -> None:
    env = service_env(f"sqlite:///{tmp_path / 'x.db'}")
    result = cli(env, "serve", "--host", "0.0.0.0", "--port", str(free_port()), check=False)
    assert result.returncode == 2
    assert "loopback" in result.stderr


def test_clients_add_rejects_private_keys(tmp_path: Path) -> None:
    env = service_env(f"sqlite:///{tmp_path / 'k.db'}")
    key = RSAKey.generate_key(2048)
    path = tmp_path / "private.json"
    path.write_text(json.dumps({"keys": [key.as_dict(private=True)]}))
    result = cli(env, "clients", "add", "c", "--org", "O", "--jwks", str(path), check=False)
    assert result.returncode == 1 and "private" in result.stderr
