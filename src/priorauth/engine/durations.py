"""Approval windows: start + N calendar months, or (Commercial) the later of that and the renewal date."""

from __future__ import annotations

from calendar import monthrange
from datetime import date

from dateutil.relativedelta import relativedelta

from priorauth.engine.context import Path
from priorauth.engine.determination import Window
from priorauth.policy.model import LineOfBusiness, PolicyVersion

LOB_NAMES = {"commercial": "Commercial", "marketplace": "Marketplace (HIM)", "medicaid": "Medicaid"}


def add_months(start: date, months: int) -> date:
    """``start + relativedelta(months=months)``: the same calendar month arithmetic (the day clamped
    to the target month's length), without building a relativedelta on every decision."""
    if type(months) is not int:
        return start + relativedelta(months=months)  # relativedelta's own error for a non-integer
    year, month0 = divmod(start.year * 12 + start.month - 1 + months, 12)
    month = month0 + 1
    return start.replace(year=year, month=month, day=min(start.day, monthrange(year, month)[1]))


def window_start(as_of: date, service_start: date | None) -> date:
    """Windows start on the request date, or the requested service start when that is later."""
    if service_start is not None and service_start > as_of:
        return service_start
    return as_of


def approval_window(
    version: PolicyVersion, path: Path, lob: LineOfBusiness, start: date, renewal: date | None
) -> tuple[Window, str | None]:
    """The window for this version, path and line of business, and a note when the renewal date was unknown."""
    table = version.approval_duration.initial if path == "initial" else version.approval_duration.continued
    duration = table.for_lob(lob)
    end = add_months(start, duration.months)
    inferred = " (inferred duration)" if table.inferred else ""
    basis = f"{LOB_NAMES[lob]}, {path}: {duration.months} months{inferred} under version {version.version}"
    note = None
    if duration.or_renewal_date:
        if renewal is None:
            note = (
                f"the member's renewal date is unknown (no Coverage.period.end): approved for "
                f"{duration.months} months, the shorter reading of 'whichever is longer'"
            )
            basis += "; renewal date unknown"
        elif renewal > end:
            end = renewal
            basis = (
                f"{LOB_NAMES[lob]}, {path}: to the member's renewal date {renewal}, later than "
                f"{duration.months} months (whichever is longer), version {version.version}"
            )
        else:
            basis += f"; renewal date {renewal} is earlier, so {duration.months} months (whichever is longer)"
    return Window(start=start, end=end, basis=basis), note
