"""Frozen pydantic models of a policy, as written in ``policies/<id>/``.

Criterion leaves are a discriminated union on ``kind`` (one kind per check the engine knows); groups
carry ``logic`` and ``children``. Unknown fields are errors, so a typo in the YAML fails at load time.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

LineOfBusiness = Literal["commercial", "marketplace", "medicaid"]
LINES_OF_BUSINESS: tuple[LineOfBusiness, ...] = ("commercial", "marketplace", "medicaid")
_CRITERION_ID = re.compile(r"^(I|II|III|IV|V)(\.[A-Z](\.\d+(\.[a-z](\.[ivx]+)?)?)?)?(\.[a-z]+)?$")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _CriterionBase(_Frozen):
    id: str
    text: str
    needed: str | None = None
    question: str | None = None
    documentation: str | None = None

    @model_validator(mode="after")
    def _check_id(self) -> _CriterionBase:
        if not _CRITERION_ID.match(self.id):
            raise ValueError(f"criterion id {self.id!r} does not follow the policy's numbering (e.g. I.A.5.a.i)")
        return self


UseKind = Literal["diagnosis", "age", "line_of_therapy", "dosing_regimen"]


class DiagnosisCriterion(_CriterionBase):
    """I.A.1: histology and stage."""

    kind: Literal["diagnosis"]
    histology: Literal["small_cell"]
    stage: Literal["extensive"]
    use: UseKind | None = None


class OncologistCriterion(_CriterionBase):
    """I.A.2: prescribed by or in consultation with an oncologist."""

    kind: Literal["oncologist"]
    use: UseKind | None = None


class AgeCriterion(_CriterionBase):
    """I.A.3: age on the request date."""

    kind: Literal["age"]
    min_years: int = Field(ge=0, le=120)
    use: UseKind | None = None


class ProgressionAfterTherapyCriterion(_CriterionBase):
    """I.A.4: progressed on or after a therapy from a code set."""

    kind: Literal["progression_after_therapy"]
    agents_code_set: Literal["platinum_agents"]
    use: UseKind | None = None


class DoseScheduleCriterion(_CriterionBase):
    """I.A.5.a.i / ii, II.A.3.a: requested doses within the schedule phase."""

    kind: Literal["dose_schedule"]
    phase: Literal["cycle_1", "later_cycles"]


class LiteratureSupportCriterion(_CriterionBase):
    """I.A.5.b, II.A.3.b: off-label dose supported by literature (always a clinical review)."""

    kind: Literal["literature_support"]


class CurrentTherapyCriterion(_CriterionBase):
    """II.A.1: currently receiving the drug via our benefit, or for at least ``min_days``."""

    kind: Literal["current_therapy"]
    min_days: int = Field(ge=1)


class ResponseCriterion(_CriterionBase):
    """II.A.2: responding positively."""

    kind: Literal["response"]


class DoseIncreaseCriterion(_CriterionBase):
    """II.A.3 antecedent: the request is for a dose increase."""

    kind: Literal["dose_increase"]


Leaf = Annotated[
    DiagnosisCriterion
    | OncologistCriterion
    | AgeCriterion
    | ProgressionAfterTherapyCriterion
    | DoseScheduleCriterion
    | LiteratureSupportCriterion
    | CurrentTherapyCriterion
    | ResponseCriterion
    | DoseIncreaseCriterion,
    Field(discriminator="kind"),
]


def _node_kind(value: Any) -> str:
    """Groups carry ``logic``; leaves carry ``kind`` (so errors point into the right model)."""
    if isinstance(value, dict):
        return "group" if "logic" in value else "leaf"
    return "group" if isinstance(value, Group) else "leaf"


class Group(_CriterionBase):
    """A composite: ``all_of`` ("must meet all"), ``any_of`` ("one of (a or b)"), ``implies`` ("if ..., ...")."""

    logic: Literal["all_of", "any_of", "implies"]
    children: tuple[
        Annotated[Annotated[Group, Tag("group")] | Annotated[Leaf, Tag("leaf")], Discriminator(_node_kind)], ...
    ]

    @model_validator(mode="after")
    def _check_children(self) -> Group:
        if not self.children:
            raise ValueError(f"group {self.id} has no children")
        if self.logic == "implies" and len(self.children) != 2:
            raise ValueError(f"group {self.id}: 'implies' takes exactly two children (if, then)")
        return self


Node = Group | Leaf


class UnitsRule(_Frozen):
    """Units requested vs. the schedule (Section V)."""

    id: str
    text: str
    needed: str
    documentation: str | None = None


class LobPolicies(_Frozen):
    """A policy id per line of business."""

    commercial: str
    marketplace: str
    medicaid: str

    def for_lob(self, lob: LineOfBusiness) -> str:
        """The policy id for one line of business."""
        return str(getattr(self, lob))


class ReferralRow(_Frozen):
    id: str
    text: str
    policies: LobPolicies


class LabelChangeReferral(_Frozen):
    id: str
    text: str
    window_months: int = Field(ge=1)
    on_formulary: ReferralRow
    off_formulary: ReferralRow


class OtherDiagnoses(_Frozen):
    """Section I.B: where a request for another use is referred."""

    id: str
    text: str
    label_change: LabelChangeReferral
    off_label: ReferralRow
    documentation: str | None = None


class NotCovered(_Frozen):
    id: str
    text: str
    documentation: str | None = None


class Provision(_Frozen):
    """A sentence of the policy outside the numbered criteria (e.g. the Medicaid state note)."""

    id: str
    text: str
    documentation: str | None = None


class Criteria(_Frozen):
    """Sections I–III of the policy."""

    preamble: str
    regimen_footnote: str
    initial: Group
    continued: Group
    units: UnitsRule
    other_diagnoses: OtherDiagnoses
    not_covered: NotCovered
    medicaid_state_note: Provision


class Duration(_Frozen):
    """An approval duration: ``months``, or (Commercial) the later of that and the renewal date."""

    months: int = Field(ge=1, le=24)
    or_renewal_date: bool = False


class DurationTable(_Frozen):
    """Approval duration by line of business for one path (initial or continued)."""

    text: str
    commercial: Duration
    marketplace: Duration
    medicaid: Duration
    inferred: bool = False
    documentation: str | None = None

    def for_lob(self, lob: LineOfBusiness) -> Duration:
        """The duration for one line of business."""
        value: Duration = getattr(self, lob)
        return value


class ApprovalDurations(_Frozen):
    initial: DurationTable
    continued: DurationTable


class BillingCode(_Frozen):
    """A HCPCS code that bills the drug; unclassified codes need a tarlatamab NDC beside them."""

    code: str = Field(pattern=r"^[A-Z]\d{4}$")
    description: str
    mg_per_unit: float | None = None
    requires_ndc: bool = False
    accepted_through: date | None = None


class VersionFile(_Frozen):
    """One ``versions/<date>.yaml`` file as written."""

    version: str
    effective_from: date
    revision: str
    criteria: str
    reflects_label_changes: tuple[date, ...]
    billing_codes: tuple[BillingCode, ...] = Field(min_length=1)
    approval_duration: ApprovalDurations


class DoseStep(_Frozen):
    day: int = Field(ge=1, le=28)
    mg: float = Field(gt=0)


class Dosing(_Frozen):
    """Section V dosing as data."""

    text: str
    cycle_days: int = Field(ge=7)
    max_single_dose_mg: float = Field(gt=0)
    step_up_dose_mg: float = Field(gt=0)
    cycle_1: tuple[DoseStep, ...]
    later_cycles: tuple[DoseStep, ...]
    restart_step_up_allowed: bool
    documentation: str | None = None

    def cycle_units(self, first: bool) -> float:
        """mg (= J9026 units) in one cycle of the schedule."""
        return sum(s.mg for s in (self.cycle_1 if first else self.later_cycles))


class Coding(_Frozen):
    system: str
    code: str
    display: str | None = None


class CodeSet(_Frozen):
    source: str
    codes: tuple[Coding, ...]


class Agent(_Frozen):
    hcpcs: tuple[str, ...] = ()
    rxnorm: tuple[str, ...] = ()


class AgentSet(_Frozen):
    source: str
    agents: dict[str, Agent]


class TaxonomyCode(_Frozen):
    code: str
    display: str


class TaxonomySet(_Frozen):
    source: str
    system: str
    codes: tuple[TaxonomyCode, ...]


class Codes(_Frozen):
    """``codes.yaml``: the code sets, each with its source."""

    hcpcs_system: str
    ndc_system: str
    rxnorm_system: str
    small_cell_lung_cancer: CodeSet
    non_small_cell_lung_cancer: CodeSet
    other_cancer_not_sclc: CodeSet
    staging_observations: CodeSet
    stage_terms: dict[Literal["extensive", "limited"], tuple[str, ...]]
    disease_status_observations: CodeSet
    disease_status_values: dict[Literal["progression", "response", "stable"], tuple[Coding, ...]]
    disease_status_terms: dict[Literal["progression", "response", "stable"], tuple[str, ...]]
    platinum_agents: AgentSet
    partner_agents: AgentSet
    tarlatamab: AgentSet
    oncology_taxonomies: TaxonomySet


class Ndc(_Frozen):
    code: str = Field(pattern=r"^\d{5}-\d{4}-\d{2}$")
    vial_mg: float


class Drug(_Frozen):
    name: str
    brand: str
    description: str
    fda_indication: str
    boxed_warning: str
    contraindications: str
    vials_mg: tuple[float, ...]
    product_availability: str
    ndc: tuple[Ndc, ...]
    rxnorm: tuple[str, ...] = ()
    rxnorm_documentation: str | None = None


class LabelChange(_Frozen):
    """A dated label change and the kinds of use it touched (I.B.1 refers only a matching use)."""

    date: date
    change: str
    uses: tuple[UseKind, ...] = Field(min_length=1)
    documentation: str | None = None


class RevisionEntry(_Frozen):
    date: date
    version: str
    text: str
    pt_approval: str | None = None


class Source(_Frozen):
    title: str
    document: str
    last_review_date: str


class PolicyFile(_Frozen):
    """``policy.yaml`` as written."""

    policy_id: str
    title: str
    owner: str
    lines_of_business: tuple[LineOfBusiness, ...]
    source: Source
    drug: Drug
    label_changes: tuple[LabelChange, ...]
    revision_log: tuple[RevisionEntry, ...]
    versions: tuple[str, ...] = Field(min_length=1)


class PolicyVersion(_Frozen):
    """A complete, self-contained snapshot: everything the engine needs to decide under one version."""

    policy_id: str
    title: str
    version: str
    effective_from: date
    effective_to: date | None
    revision: str
    content_hash: str
    drug: Drug
    label_changes: tuple[LabelChange, ...]
    reflects_label_changes: tuple[date, ...]
    billing_codes: tuple[BillingCode, ...]
    approval_duration: ApprovalDurations
    criteria: Criteria
    dosing: Dosing
    codes: Codes

    def in_force(self, on: date) -> bool:
        """Whether this version is the one in force on a date."""
        return self.effective_from <= on and (self.effective_to is None or on < self.effective_to)


Group.model_rebuild()
