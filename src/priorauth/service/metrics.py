"""Prometheus metrics, one registry per application instance (no global default registry)."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram


@dataclass
class Metrics:
    """The service's counters and histograms."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.requests = Counter(
            "priorauth_pas_requests",
            "PAS operations by operation and HTTP status",
            ["operation", "status"],
            registry=self.registry,
        )
        self.items = Counter(
            "priorauth_pas_items",
            "Claim items answered, by X12 306 review action and decider",
            ["review_action", "decided_by"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "priorauth_pas_seconds",
            "Time to answer a PAS operation",
            ["operation"],
            buckets=(0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15),
            registry=self.registry,
        )
        self.notifications = Counter(
            "priorauth_notifications",
            "Subscription notification attempts by result",
            ["result"],
            registry=self.registry,
        )
