"""Service settings from flags or ``PRIORAUTH_*`` environment variables, built by :func:`load_settings`."""

from __future__ import annotations

import ipaddress
from datetime import date
from typing import Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything configurable about one service process. Never a module-level instance."""

    model_config = SettingsConfigDict(env_prefix="PRIORAUTH_", extra="ignore")

    database_url: str = "sqlite:///priorauth.db"
    host: str = "127.0.0.1"
    port: int = 8000
    auth: Literal["on", "off"] = "on"
    today: date | None = None
    timezone: str = "America/Chicago"
    public_base_url: str | None = None
    max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    migrate_on_start: bool | None = None
    token_ttl_seconds: int = 300
    assertion_max_lifetime_seconds: int = 300
    outbox_enabled: bool = True
    outbox_poll_seconds: float = 0.5
    outbox_batch: int = 20
    outbox_max_attempts: int = 15
    outbox_backoff_base_seconds: float = 1.0
    outbox_backoff_max_seconds: float = 600.0
    outbox_lease_seconds: float = 60.0
    delivery_timeout_seconds: float = 10.0
    reviewer_default_days: int = 182
    bench_endpoints: bool = False
    # Threads that run decisions in one process. Decisions are CPU-bound under one GIL: more threads
    # only add switching (measured: 40 threads cost ~20% more CPU a request than 2). Run more
    # processes (``serve --workers N``) for more cores.
    decision_threads: int = Field(default=2, ge=1, le=64)
    # Deciding processes behind this HTTP process (0: decide in its threads). One per core spreads
    # $submit/$inquire request by request, where --workers spreads connections (service/pool.py).
    decision_processes: int = Field(default=0, ge=0, le=64)
    # Plan configuration the policy defers to.
    not_on_formulary: list[Literal["commercial", "marketplace", "medicaid"]] = Field(default_factory=list)
    medicaid_state_overrides: dict[str, str] = Field(default_factory=dict)
    # Eligibility plug-in ("package.module:function"); off by default.
    eligibility: str | None = None

    @field_validator("auth", mode="before")
    @classmethod
    def _auth_words(cls, value: Any) -> Any:
        if isinstance(value, bool):
            return "on" if value else "off"
        if isinstance(value, str) and value.lower() in ("0", "false", "no", "off", "disabled"):
            return "off"
        if isinstance(value, str) and value.lower() in ("1", "true", "yes", "on", "enabled"):
            return "on"
        return value

    @property
    def is_sqlite(self) -> bool:
        """True for the embedded default database."""
        return self.database_url.startswith("sqlite")

    @property
    def should_migrate(self) -> bool:
        """Migrate at start: yes on SQLite by default, on PostgreSQL only when asked."""
        return self.is_sqlite if self.migrate_on_start is None else self.migrate_on_start

    @property
    def base_url(self) -> str:
        """The FHIR base used in fullUrls of answers produced outside an HTTP request."""
        if self.public_base_url:
            return self.public_base_url.rstrip("/")
        return f"http://{self.host}:{self.port}/fhir"


def is_loopback(host: str) -> bool:
    """True for addresses that only this machine can reach."""
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def load_settings(**overrides: Any) -> Settings:
    """Read the environment, then apply explicit overrides (command-line flags win)."""
    clean = {k: v for k, v in overrides.items() if v is not None}
    return Settings(**clean)
