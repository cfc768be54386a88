"""PAS Subscriptions (R4 Backport): rest-hook, full-resource, one ``org-identifier`` filter.

Subscriptions are activated on creation (no handshake): the PAS topic has one event, the final
answer to a pended request.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from priorauth.errors import BundleError
from priorauth.pas import codes
from priorauth.store.db import Database
from priorauth.store.models import SubscriptionRecord

Json = dict[str, Any]


class SubscriptionForbiddenError(Exception):
    """The filter names an organization the caller does not belong to."""


def parse_subscription(data: Json) -> tuple[str, str, list[str], datetime | None]:
    """Validate a PAS Subscription; returns (org filter, endpoint, headers, end). Raises BundleError."""
    if data.get("resourceType") != "Subscription":
        raise BundleError("Subscription.resourceType", f"expected a Subscription, got {data.get('resourceType')!r}")
    criteria = data.get("criteria")
    if criteria != codes.TOPIC_PAS:
        raise BundleError("Subscription.criteria", f"the topic must be {codes.TOPIC_PAS}")
    filters = [
        ext.get("valueString")
        for ext in (data.get("_criteria") or {}).get("extension") or []
        if isinstance(ext, dict) and ext.get("url") == codes.EXT_FILTER_CRITERIA
    ]
    org: str | None = None
    for value in filters:
        if isinstance(value, str) and "=" in value:
            name, _, wanted = value.partition("=")
            # "identifier=" is the pre-2.2 spelling of the same filter (Inferno's older fixtures).
            if name.strip() in ("org-identifier", "identifier") and wanted.strip():
                org = wanted.strip().split("|")[-1]
    if org is None:
        raise BundleError(
            "Subscription.criteria.extension", "an org-identifier filter criterion is required", issue_code="required"
        )
    channel = data.get("channel")
    if not isinstance(channel, dict) or channel.get("type") != "rest-hook":
        raise BundleError("Subscription.channel.type", "only rest-hook channels are supported")
    endpoint = channel.get("endpoint")
    if not isinstance(endpoint, str) or not endpoint.startswith(("http://", "https://")):
        raise BundleError("Subscription.channel.endpoint", "an http(s) endpoint is required", issue_code="required")
    content = [
        ext.get("valueCode")
        for ext in (channel.get("_payload") or {}).get("extension") or []
        if isinstance(ext, dict) and ext.get("url") == codes.EXT_PAYLOAD_CONTENT
    ]
    if content and content[0] != "full-resource":
        raise BundleError("Subscription.channel.payload", "PAS notifications are full-resource only")
    headers = [h for h in channel.get("header") or [] if isinstance(h, str) and ":" in h]
    end: datetime | None = None
    if isinstance(data.get("end"), str):
        try:
            end = datetime.fromisoformat(data["end"].replace("Z", "+00:00"))
        except ValueError:
            raise BundleError("Subscription.end", "not an instant") from None
    return org, endpoint, headers, end


def create_subscription(db: Database, data: Json, *, caller_org: str | None, now: datetime) -> Json:
    """Store an active subscription and return it as a resource (id and status set)."""
    org, endpoint, headers, end = parse_subscription(data)
    if caller_org is not None and caller_org != org:
        raise SubscriptionForbiddenError(f"the filter names organization {org}, not the caller's")
    resource = dict(data)
    resource["id"] = str(uuid.uuid4())
    resource["status"] = "active" if end is None or end > now else "off"
    with db.write() as session:
        session.add(
            SubscriptionRecord(
                id=resource["id"],
                owner_org=caller_org,
                filter_org=org,
                endpoint=endpoint,
                headers=headers,
                status=resource["status"],
                end=end,
                events=0,
                resource=json.dumps(resource),
                created_at=now,
            )
        )
    return resource


def read_subscription(db: Database, subscription_id: str, *, caller_org: str | None) -> Json | None:
    """The subscription as a resource, with its current status, if the caller owns it."""
    with db.read() as session:
        row = session.get(SubscriptionRecord, subscription_id)
        if row is None or (caller_org is not None and row.filter_org != caller_org):
            return None
        resource: Json = json.loads(row.resource)
        resource["status"] = row.status
        return resource


def delete_subscription(db: Database, subscription_id: str, *, caller_org: str | None) -> bool:
    """Turn a subscription off (kept for the record); False when not found or not the caller's."""
    with db.write() as session:
        row = session.get(SubscriptionRecord, subscription_id)
        if row is None or (caller_org is not None and row.filter_org != caller_org):
            return False
        row.status = "off"
        return True
