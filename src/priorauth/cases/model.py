"""Policy cases: readable YAML scenarios (OpenFisca style) with the determination a pharmacist expects.

A case file is a YAML list of cases. Each case has a ``name`` (a sentence), a ``request_date``, an
``input`` (the clinical picture and the request, in pharmacist terms; :mod:`priorauth.cases.builder`
turns it into a real PAS request Bundle) and an ``output`` (the expected determination and the
expected status of each criterion it names). Unknown fields are errors: :func:`load_case_file` raises
:class:`~priorauth.errors.CaseError` naming the file, the case and the field.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from priorauth.errors import CaseError

LineOfBusiness = Literal["commercial", "marketplace", "medicaid"]
Histology = Literal["small_cell", "non_small_cell"]
Stage = Literal["extensive", "limited"]
Status = Literal["met", "not_met", "unknown"]
Determination = Literal["approved", "pended", "referred", "clinical_review", "recommend_denial", "no_policy"]
DoseTemplate = Literal["label_initial", "label_continued"]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Diagnosis(_Strict):
    """One documented diagnosis (a Condition, and a staging Observation when a stage is given)."""

    histology: Histology | None = None
    stage: Stage | None = None


class PlatinumDose(_Strict):
    """One administration of a platinum agent."""

    agent: Literal["carboplatin", "cisplatin"]
    date: dt.date


class Response(_Strict):
    """A disease-status assessment (mCODE CancerDiseaseStatus, LOINC 97509-4)."""

    kind: Literal["progression", "response", "stable"]
    date: dt.date


class Administration(_Strict):
    """A tarlatamab administration already given."""

    date: dt.date
    mg: float = Field(gt=0)


class PriorAuthorization(_Strict):
    """An earlier approval of ours for the same member and drug."""

    number: str
    start: dt.date
    end: dt.date


class Dose(_Strict):
    """One requested administration (MedicationRequest.dosageInstruction)."""

    date: dt.date | None = None
    mg: float | None = Field(default=None, gt=0)
    cycle: int | None = Field(default=None, ge=1)
    day: int | None = Field(default=None, ge=1, le=28)


class ServicePeriod(_Strict):
    """Claim.item.servicedPeriod, both dates inclusive."""

    start: dt.date
    end: dt.date


class CaseInput(_Strict):
    """The request, in pharmacist terms. Omitted means "not documented" unless a default is stated."""

    line_of_business: LineOfBusiness | None = None
    renewal_date: dt.date | None = None
    on_formulary: bool = True
    member_state: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    # Plan configuration: state → the state Medicaid provisions that take precedence (policy Note).
    medicaid_state_overrides: dict[str, str] = Field(default_factory=dict)
    birth_date: dt.date | None = None
    diagnosis: Diagnosis | list[Diagnosis] | None = None
    prescriber_taxonomy: str | None = None
    oncology_consult: bool = False
    platinum: list[PlatinumDose] = Field(default_factory=list)
    platinum_naive: bool = False
    progression: list[dt.date] = Field(default_factory=list)
    responses: list[Response] = Field(default_factory=list)
    tarlatamab_given: list[Administration] = Field(default_factory=list)
    prior_authorizations: list[PriorAuthorization] = Field(default_factory=list)
    doses: DoseTemplate | list[Dose] | None = None
    units: float | None = Field(default=None, ge=0)
    service_period: ServicePeriod | None = None
    hcpcs: str = "J9026"
    ndc: str | None = "55513-0077-01"
    literature: bool = False
    answers: dict[str, bool | None] = Field(default_factory=dict)
    answer_origin: Literal["manual", "auto", "override"] = "manual"

    @property
    def diagnoses(self) -> list[Diagnosis]:
        """The documented diagnoses as a list (one Condition each)."""
        if self.diagnosis is None:
            return []
        return list(self.diagnosis) if isinstance(self.diagnosis, list) else [self.diagnosis]


class CaseOutput(_Strict):
    """What the policy says the engine must answer. Only the fields given are checked."""

    determination: Determination
    path: Literal["initial", "continued"] | None = None
    window_start: dt.date | None = None
    window_end: dt.date | None = None
    approvable_units: int | None = None
    referred_to: str | None = None
    missing: list[str] | None = None
    criteria: dict[str, Status] = Field(default_factory=dict)

    @field_validator("criteria", mode="before")
    @classmethod
    def _normalise_status(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): (v.replace(" ", "_") if isinstance(v, str) else v) for k, v in value.items()}
        return value


class Case(_Strict):
    """One scenario."""

    name: str = Field(min_length=10)
    request_date: dt.date
    input: CaseInput
    output: CaseOutput
    note: str | None = None

    @model_validator(mode="after")
    def _check(self) -> Case:
        if self.output.determination == "referred" and self.output.referred_to is None:
            raise ValueError("a referred case must say referred_to")
        return self


class LoadedCase(BaseModel):
    """A validated case and where it came from."""

    model_config = ConfigDict(frozen=True)

    case: Case
    file: Path
    index: int

    @property
    def name(self) -> str:
        return self.case.name

    @property
    def location(self) -> str:
        return f"{self.file}: case {self.index + 1} ({self.case.name!r})"


def _field(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(case)"


def parse_cases(data: Any, file: Path) -> list[LoadedCase]:
    """Validate the parsed YAML of one case file; the first problem raises :class:`CaseError`."""
    if not isinstance(data, list):
        raise CaseError(f"{file}", "a case file is a YAML list of cases")
    loaded: list[LoadedCase] = []
    names: set[str] = set()
    for index, raw in enumerate(data):
        label = raw.get("name") if isinstance(raw, dict) else None
        where = f"{file}: case {index + 1}" + (f" ({label!r})" if label else "")
        if not isinstance(raw, dict):
            raise CaseError(where, "a case is a mapping with name, request_date, input and output")
        try:
            case = Case.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
            raise CaseError(f"{where}: {_field(first['loc'])}", f"{first['msg']}{more}") from None
        if case.name in names:
            raise CaseError(f"{where}: name", "two cases in one file have the same name")
        names.add(case.name)
        loaded.append(LoadedCase(case=case, file=file, index=index))
    return loaded


def load_case_file(file: Path) -> list[LoadedCase]:
    """Read and validate one YAML case file."""
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CaseError(str(file), "file not found") from None
    except yaml.YAMLError as exc:
        raise CaseError(str(file), f"not valid YAML: {exc}") from None
    return parse_cases(data, file)


def case_files(path: Path) -> list[Path]:
    """The case files at ``path``: the file itself, or every ``*.yaml`` / ``*.yml`` in a ``cases`` folder
    at or under ``path`` (so ``policies/``, ``policies/CP.PHAR.685`` and its ``cases/`` all work)."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise CaseError(str(path), "no such case file or folder")
    found = [path / p.name for p in path.iterdir()] if path.name == "cases" else list(path.rglob("*"))
    return sorted(
        p
        for p in found
        if p.suffix in (".yaml", ".yml") and p.is_file() and "cases" in p.relative_to(path.parent).parts
    )


def load_cases(path: Path) -> list[LoadedCase]:
    """Every case under ``path`` (a file or a folder), in file order; names must be unique overall."""
    loaded: list[LoadedCase] = []
    seen: dict[str, LoadedCase] = {}
    for file in case_files(path):
        for item in load_case_file(file):
            if item.name in seen:
                raise CaseError(f"{item.location}: name", f"the same name is used by {seen[item.name].location}")
            seen[item.name] = item
            loaded.append(item)
    return loaded
