"""R4 Subscriptions Backport notification Bundles (``history``): SubscriptionStatus, then the PAS Bundle."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from priorauth.pas import codes

Json = dict[str, Any]


def notification_bundle(
    *,
    subscription_id: str,
    base_url: str,
    event_number: int,
    timestamp: datetime,
    response_bundle: Json,
) -> Json:
    """A full-resource event notification carrying the complete PAS response Bundle (spec-61)."""
    focus = f"{base_url.rstrip('/')}/Bundle/{response_bundle['id']}"
    status: Json = {
        "resourceType": "Parameters",
        "id": str(uuid.uuid4()),
        "meta": {"profile": [codes.PROFILE_BACKPORT_STATUS]},
        "parameter": [
            {
                "name": "subscription",
                "valueReference": {"reference": f"{base_url.rstrip('/')}/Subscription/{subscription_id}"},
            },
            {"name": "topic", "valueCanonical": codes.TOPIC_PAS},
            {"name": "status", "valueCode": "active"},
            {"name": "type", "valueCode": "event-notification"},
            {"name": "events-since-subscription-start", "valueString": str(event_number)},
            {
                "name": "notification-event",
                "part": [
                    {"name": "event-number", "valueString": str(event_number)},
                    {"name": "timestamp", "valueInstant": timestamp.isoformat(timespec="milliseconds")},
                    {"name": "focus", "valueReference": {"reference": focus}},
                ],
            },
        ],
    }
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": "history",
        "timestamp": timestamp.isoformat(timespec="milliseconds"),
        "entry": [
            {
                "fullUrl": f"urn:uuid:{status['id']}",
                "resource": status,
                "request": {"method": "GET", "url": f"Subscription/{subscription_id}/$status"},
                "response": {"status": "200"},
            },
            {
                "fullUrl": focus,
                "resource": response_bundle,
                "request": {"method": "PUT", "url": f"Bundle/{response_bundle['id']}"},
                "response": {"status": "200"},
            },
        ],
    }
