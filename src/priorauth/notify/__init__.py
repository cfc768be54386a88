"""Subscription notifications: a durable outbox written with each decision, delivered by a worker."""
