"""Workbench settings (``PRIORAUTH_REVIEW_*``): review clocks, sessions, denial reason codes, letters."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

#: X12 278 HCR03 (code source 886) is a licensed list; these are placeholders a plan replaces with
#: its own licensed values through ``PRIORAUTH_REVIEW_DENIAL_REASON_CODES`` (JSON object code -> text).
DEFAULT_DENIAL_REASONS: dict[str, str] = {
    "MN": "Medical necessity: the policy's clinical criteria are not met",
    "DOC": "The documentation submitted does not support the request",
    "DOSE": "The requested dose or quantity exceeds what the policy allows",
}


class ReviewSettings(BaseSettings):
    """Everything configurable about the reviewer workbench. Built per app, never a module global."""

    model_config = SettingsConfigDict(env_prefix="PRIORAUTH_REVIEW_", extra="ignore")

    standard_hours: float = Field(default=72.0, gt=0)
    expedited_hours: float = Field(default=24.0, gt=0)
    #: Per line of business overrides, e.g. ``{"medicaid": {"standard": 72, "expedited": 24}}``.
    clock_hours: dict[str, dict[str, float]] = Field(default_factory=dict)
    due_soon_hours: float = Field(default=8.0, ge=0)
    session_hours: float = Field(default=10.0, gt=0)
    cookie_secure: bool = False
    denial_reason_codes: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_DENIAL_REASONS))
    denial_reason_system: str = "https://codesystem.x12.org/external/886"
    payer_name: str = "Centene health plan (priorauth demonstration)"
    appeal_address: str = "Appeals Department, the plan's address on the member ID card"
    appeal_days: int = 180
    rfi_days: int = 14

    def clock(self, line_of_business: str | None, urgency: str) -> float:
        """Hours allowed for a decision for this line of business and urgency (standard / expedited)."""
        per_lob = self.clock_hours.get(line_of_business or "", {})
        if urgency in per_lob:
            return float(per_lob[urgency])
        return self.expedited_hours if urgency == "expedited" else self.standard_hours
