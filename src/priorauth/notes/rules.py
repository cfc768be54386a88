"""The rule definitions of the note extractor, as plain data.

Three rule sets: target rules (what a mention is), ConText rules (what modifies it) and section
rules (which headers open a section). They are plain frozen dataclasses so that
:func:`ruleset_hash` can hash them and a stored extraction can name the exact rules that made it.

Target patterns are regular expressions over the note text, matched case-insensitively by medspaCy's
``RegexMatcher``; ``(?-i:...)`` marks the case-sensitive abbreviations (``PD``, ``EP``, ``CE``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from functools import lru_cache

EXTRACTOR_VERSION = "0.1.0"

# Concepts.
SCLC = "SCLC"
SCLC_EXTENSIVE = "SCLC_EXTENSIVE"
SCLC_LIMITED = "SCLC_LIMITED"
NSCLC = "NSCLC"
STAGE_EXTENSIVE = "STAGE_EXTENSIVE"
STAGE_LIMITED = "STAGE_LIMITED"
PLATINUM = "PLATINUM"
CHEMO = "CHEMO"
IMMUNOTHERAPY = "IMMUNOTHERAPY"
TARLATAMAB = "TARLATAMAB"
PROGRESSION = "PROGRESSION"
RESPONSE = "RESPONSE"
STABLE = "STABLE"
ONCOLOGY_CONSULT = "ONCOLOGY_CONSULT"
NO_ONCOLOGIST = "NO_ONCOLOGIST"
BRAIN_METASTASES = "BRAIN_METASTASES"

CONCEPTS: tuple[str, ...] = (
    SCLC,
    SCLC_EXTENSIVE,
    SCLC_LIMITED,
    NSCLC,
    STAGE_EXTENSIVE,
    STAGE_LIMITED,
    PLATINUM,
    CHEMO,
    IMMUNOTHERAPY,
    TARLATAMAB,
    PROGRESSION,
    RESPONSE,
    STABLE,
    ONCOLOGY_CONSULT,
    NO_ONCOLOGIST,
    BRAIN_METASTASES,
)
THERAPY_CONCEPTS: frozenset[str] = frozenset({PLATINUM, CHEMO, IMMUNOTHERAPY, TARLATAMAB})
ASSESSMENT_CONCEPTS: frozenset[str] = frozenset({PROGRESSION, RESPONSE, STABLE})
DIAGNOSIS_CONCEPTS: frozenset[str] = frozenset(
    {SCLC, SCLC_EXTENSIVE, SCLC_LIMITED, NSCLC, STAGE_EXTENSIVE, STAGE_LIMITED}
)

# Modifiers (our names); the first five come from ConText, OTHER_INDICATION from our own rule.
NEGATED = "negated"
HYPOTHETICAL = "hypothetical"
HISTORICAL = "historical"
FAMILY = "family"
UNCERTAIN = "uncertain"
OTHER_INDICATION = "other_indication"
MODIFIERS: tuple[str, ...] = (NEGATED, HYPOTHETICAL, HISTORICAL, FAMILY, UNCERTAIN, OTHER_INDICATION)
#: Modifiers that stop a mention from supporting "met" (historical alone does not).
BLOCKING_MODIFIERS: frozenset[str] = frozenset({NEGATED, HYPOTHETICAL, FAMILY, UNCERTAIN, OTHER_INDICATION})

CONTEXT_CATEGORY_TO_MODIFIER: dict[str, str] = {
    "NEGATED_EXISTENCE": NEGATED,
    "HYPOTHETICAL": HYPOTHETICAL,
    "HISTORICAL": HISTORICAL,
    "FAMILY": FAMILY,
    "POSSIBLE_EXISTENCE": UNCERTAIN,
    "OTHER_INDICATION": OTHER_INDICATION,
}


@dataclass(frozen=True, slots=True)
class TargetDef:
    """One target rule: a regex for a concept, with the normalised agents it names (therapies)."""

    rule_id: str
    concept: str
    pattern: str
    agents: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ContextDef:
    """One ConText modifier rule (medspaCy ``ConTextRule`` fields we use)."""

    literal: str
    category: str
    direction: str = "FORWARD"
    pattern: str | None = None
    allowed_types: tuple[str, ...] | None = None
    max_scope: int | None = None


@dataclass(frozen=True, slots=True)
class SectionDef:
    """One section header rule: a regex for the header (ending at its colon) and its category."""

    category: str
    pattern: str


_CANCER = r"(?:lung\s+)?(?:cancer|carcinoma|ca\b|neuroendocrine\s+carcinoma|histology)"
_SMALL_CELL = r"small[\s-]*cell"
_DASH = r"[\s-]*"
_ONC = r"(?:(?:medical|med|hematology\s*/|heme\s*/)\s*)?onc(?:ology)?"

TARGETS: tuple[TargetDef, ...] = (
    # Histology and stage. "non-small cell" is its own (longer) target, and matches of
    # small cell directly after "non" are dropped by the extractor as a second guard.
    TargetDef("dx.es_sclc.abbrev", SCLC_EXTENSIVE, r"\b(?:ES|ED)-?SCLC\b"),
    TargetDef(
        "dx.es_sclc.words",
        SCLC_EXTENSIVE,
        rf"\bextensive{_DASH}(?:stage|disease){_DASH}(?:{_SMALL_CELL}(?:\s+{_CANCER})?|SCLC)\b",
    ),
    TargetDef(
        "dx.es_sclc.stage4",
        SCLC_EXTENSIVE,
        rf"\bstage\s+(?:IV|4)[ABab]?\s+(?:{_SMALL_CELL}(?:\s+{_CANCER})?|SCLC)\b",
    ),
    TargetDef(
        "dx.es_sclc.postfix",
        SCLC_EXTENSIVE,
        rf"\b(?:{_SMALL_CELL}\s+{_CANCER}|SCLC)\s*,\s*extensive{_DASH}(?:stage|disease)\b",
    ),
    TargetDef("dx.ls_sclc.abbrev", SCLC_LIMITED, r"\bLS-?SCLC\b"),
    TargetDef(
        "dx.ls_sclc.words",
        SCLC_LIMITED,
        rf"\blimited{_DASH}(?:stage|disease){_DASH}(?:{_SMALL_CELL}(?:\s+{_CANCER})?|SCLC)\b",
    ),
    TargetDef(
        "dx.ls_sclc.postfix",
        SCLC_LIMITED,
        rf"\b(?:{_SMALL_CELL}\s+{_CANCER}|SCLC)\s*,\s*limited{_DASH}(?:stage|disease)\b",
    ),
    TargetDef("dx.nsclc.abbrev", NSCLC, r"\bNSCLC\b"),
    TargetDef("dx.nsclc.words", NSCLC, rf"\bnon[\s-]*{_SMALL_CELL}(?:\s+{_CANCER}(?:\s+of\s+the\s+lung)?)?"),
    TargetDef(
        "dx.nsclc.adeno",
        NSCLC,
        r"\b(?:lung\s+adenocarcinoma|adenocarcinoma\s+of\s+the\s+lung"
        r"|squamous\s+cell\s+carcinoma\s+of\s+the\s+lung)\b",
    ),
    TargetDef("dx.sclc.abbrev", SCLC, r"\bSCLC\b"),
    TargetDef("dx.sclc.words", SCLC, rf"\b{_SMALL_CELL}(?:\s+{_CANCER}(?:\s+of\s+the\s+lung)?)?\b"),
    TargetDef("dx.sclc.oat", SCLC, r"\boat[\s-]+cell\s+carcinoma\b"),
    TargetDef("stage.extensive", STAGE_EXTENSIVE, rf"\bextensive{_DASH}(?:stage|disease)\b"),
    TargetDef("stage.limited", STAGE_LIMITED, rf"\blimited{_DASH}(?:stage|disease)\b"),
    TargetDef("stage.extensive.box", STAGE_EXTENSIVE, r"\bstage\s*:\s*\[[xX]\]\s*extensive\b|(?<=\()extensive(?=\))"),
    TargetDef("stage.limited.box", STAGE_LIMITED, r"\bstage\s*:\s*\[[xX]\]\s*limited\b|(?<=\()limited(?=\))"),
    # Platinum agents, brands, generic platinum and regimen abbreviations.
    TargetDef("rx.carboplatin", PLATINUM, r"\b(?:carboplatin|paraplatin)\b", ("carboplatin",)),
    TargetDef("rx.cisplatin", PLATINUM, r"\b(?:cisplatin|platinol)\b", ("cisplatin",)),
    TargetDef("rx.oxaliplatin", PLATINUM, r"\b(?:oxaliplatin|eloxatin)\b", ("oxaliplatin",)),
    TargetDef("rx.carbo", PLATINUM, r"\bcarbo\b(?!\s*-?\s*platin)", ("carboplatin",)),
    TargetDef(
        "rx.carbo_etop",
        PLATINUM,
        r"\bcarbo\s*/\s*(?:etop(?:oside)?|VP-?16)\b",
        ("carboplatin", "etoposide"),
    ),
    TargetDef(
        "rx.cis_etop",
        PLATINUM,
        r"\bcis\s*[/-]\s*(?:etop(?:oside)?|VP-?16)\b",
        ("cisplatin", "etoposide"),
    ),
    TargetDef("rx.ep", PLATINUM, r"\b(?-i:EP)\b(?![-/]?\d)", ("cisplatin", "etoposide")),
    TargetDef("rx.ce", PLATINUM, r"\b(?-i:CE)\b(?![-/]?\d)", ("carboplatin", "etoposide")),
    TargetDef("rx.platinum", PLATINUM, r"\bplatinum\b", ("platinum",)),
    # Partner chemotherapy.
    TargetDef("rx.etoposide", CHEMO, r"\b(?:etoposide|etop|VP-?16)\b", ("etoposide",)),
    TargetDef("rx.irinotecan", CHEMO, r"\birinotecan\b", ("irinotecan",)),
    TargetDef("rx.topotecan", CHEMO, r"\btopotecan\b", ("topotecan",)),
    TargetDef("rx.lurbinectedin", CHEMO, r"\blurbinectedin\b", ("lurbinectedin",)),
    TargetDef("rx.paclitaxel", CHEMO, r"\bpaclitaxel\b", ("paclitaxel",)),
    TargetDef("rx.temozolomide", CHEMO, r"\btemozolomide\b", ("temozolomide",)),
    # Immunotherapy.
    TargetDef("rx.atezolizumab", IMMUNOTHERAPY, r"\b(?:atezolizumab|atezo|tecentriq)\b", ("atezolizumab",)),
    TargetDef("rx.durvalumab", IMMUNOTHERAPY, r"\b(?:durvalumab|durva|imfinzi)\b", ("durvalumab",)),
    TargetDef("rx.nivolumab", IMMUNOTHERAPY, r"\b(?:nivolumab|nivo|opdivo)\b", ("nivolumab",)),
    TargetDef("rx.pembrolizumab", IMMUNOTHERAPY, r"\b(?:pembrolizumab|pembro|keytruda)\b", ("pembrolizumab",)),
    TargetDef("rx.ipilimumab", IMMUNOTHERAPY, r"\b(?:ipilimumab|ipi|yervoy)\b", ("ipilimumab",)),
    TargetDef("rx.serplulimab", IMMUNOTHERAPY, r"\bserplulimab\b", ("serplulimab",)),
    # Tarlatamab.
    TargetDef(
        "rx.tarlatamab",
        TARLATAMAB,
        r"\b(?:tarlatamab(?:-dlle)?|imdelltra|AMG[\s-]?757)\b",
        ("tarlatamab",),
    ),
    # Disease assessments.
    TargetDef(
        "assess.progression",
        PROGRESSION,
        r"\b(?:(?:disease\s+)?progression|progressive\s+disease|progressed|progressing"
        r"|(?-i:PD)(?![-/]?\s*(?:L1|1|L-1)\b))\b",
    ),
    TargetDef(
        "assess.new_lesions",
        PROGRESSION,
        r"\bnew\s+(?!(?:brain|intracranial|CNS)\b)(?:[\w.]+\s+){0,3}?"
        r"(?:lesions?|metastas[ie]s|mets|nodules?|metastatic\s+disease)\b",
    ),
    TargetDef(
        "assess.increase",
        PROGRESSION,
        r"\b(?:(?:interval\s+)?increased?\s+in\s+(?:size|number)|interval\s+enlargement|enlarging"
        r"|interval\s+growth)\b",
    ),
    TargetDef(
        "assess.recurrence",
        PROGRESSION,
        r"\b(?:recurrence(?!\s+of\s+(?!(?:the\s+)?(?:disease|cancer|tumou?r|SCLC|small))\w)|relapsed?"
        r"|recurrent\s+disease)\b",
    ),
    TargetDef("assess.response", RESPONSE, r"\b(?:partial|complete|excellent|good|mixed)\s+response\b"),
    TargetDef(
        "assess.decrease",
        RESPONSE,
        r"\b(?:(?:interval\s+)?decreased?\s+in\s+(?:size|number)|interval\s+decrease|responding)\b",
    ),
    TargetDef(
        "assess.stable",
        STABLE,
        r"\b(?:stable\s+disease|disease\s+(?:is|remains|remained)\s+(?:stable|unchanged)"
        r"|no\s+significant\s+interval\s+change)\b",
    ),
    # Oncology involvement.
    TargetDef(
        "onc.consult",
        ONCOLOGY_CONSULT,
        rf"(?<!radiation\s)\b(?:{_ONC}\s+consult(?:ation|ed)?(?:\s+note)?"
        rf"|(?:seen|evaluated|followed)\s+(?:by|in)\s+(?:the\s+)?{_ONC}(?:\s+clinic)?"
        rf"|followed\s+by\s+(?:Dr\.?\s+[A-Z][\w'-]+\s+)?\((?:medical\s+)?onc(?:ology)?\)"
        rf"|consulted\s+{_ONC}|{_ONC}\s+(?:was|has\s+been)\s+consulted"
        rf"|per\s+{_ONC}|discussed\s+with\s+{_ONC}"
        rf"|(?:hematology\s*/\s*oncology|heme\s*/\s*onc)(?:\s+team)?\s+(?:followed|saw|evaluated|agreed|recommend\w*))(?!\w)",
    ),
    TargetDef(
        "onc.note_header",
        ONCOLOGY_CONSULT,
        r"(?<!radiation\s)\b(?:(?:medical|thoracic|hematology\s*(?:/|and)|heme\s*/)\s*)?oncology\s+"
        r"(?:[\w-]+\s+){0,2}?(?:note|visit|consult(?:ation)?|follow-?up|summary|template)\b"
        r"|\b(?:progress\s+note|clinic\s+note|visit|treatment\s+summary)\s*-\s*(?:medical\s+|thoracic\s+)?oncology\b",
    ),
    TargetDef(
        "onc.none",
        NO_ONCOLOGIST,
        r"\b(?:no\s+(?:established\s+)?(?:medical\s+)?oncologist|no\s+oncology\s+(?:involvement|follow-?up)"
        r"|not\s+(?:yet\s+)?established\s+with\s+(?:medical\s+)?oncology)\b",
    ),
    # Brain metastases.
    TargetDef(
        "mets.brain",
        BRAIN_METASTASES,
        r"\b(?:(?:brain|intracranial|cerebral|CNS|cerebellar)\s+(?:metastas[ie]s|mets|lesions?|metastatic\s+disease)"
        r"|intracranial\s+disease"
        r"|metastatic\s+disease\s+to\s+the\s+brain|metastas[ie]s\s+to\s+the\s+brain)\b",
    ),
)

_NEG = "NEGATED_EXISTENCE"
_HYP = "HYPOTHETICAL"
_UNC = "POSSIBLE_EXISTENCE"
_HIST = "HISTORICAL"
_FAM = "FAMILY"
_TERM = "TERMINATE"
_OTHER = "OTHER_INDICATION"
_THERAPY = tuple(sorted(THERAPY_CONCEPTS))
_PLANNABLE = (*_THERAPY, ONCOLOGY_CONSULT)

CONTEXT_RULES: tuple[ContextDef, ...] = (
    # Negation, forward.
    *(
        ContextDef(lit, _NEG, "FORWARD", max_scope=8)
        for lit in (
            "no",
            "not",
            "without",
            "negative for",
            "no evidence of",
            "no evidence",
            "no sign of",
            "no signs of",
            "free of",
            "absence of",
            "denies",
            "denied",
            "declined",
            "declines",
            "never",
            "never received",
            "did not receive",
            "has not",
            "have not",
            "not a candidate for",
            "ineligible for",
            "rules out",
            "ruled out",
            "resolution of",
        )
    ),
    # Negation, backward.
    *(
        ContextDef(lit, _NEG, "BACKWARD", max_scope=8)
        for lit in (
            "was ruled out",
            "has been ruled out",
            "is not seen",
            "are not seen",
            "not identified",
            "not seen",
            "is absent",
            "are absent",
            "has been excluded",
            "not present",
            "none",
        )
    ),
    # Hypothetical: conditions, plans, options.
    *(
        ContextDef(lit, _HYP, "FORWARD")
        for lit in ("if", "should there be", "in the event of", "in case of", "would", "risk of", "risks of")
    ),
    *(
        ContextDef(lit, _HYP, "FORWARD", allowed_types=_PLANNABLE)
        for lit in (
            "will consider",
            "consider",
            "considering",
            "plan to",
            "plan for",
            "plan is",
            "planned",
            "plan to start",
            "will start",
            "will begin",
            "to start",
            "start",
            "begin",
            "initiate",
            "proceed with",
            "candidate for",
            "eligible for",
            "recommend",
            "recommended",
            "will refer",
            "refer to",
            "referral to",
            "requesting",
            "request authorization for",
            "prior authorization for",
            "options include",
            "discussed",
            "scheduled",
            "cleared",
            "asking about",
            "interested in",
            "next",
            "recommendation",
            "consensus recommendation",
            "recommends",
            "recommending",
            "prefers",
            "prefer",
            "option at",
            "at the time of",
            "upon",
        )
    ),
    ContextDef("plan", _HYP, "FORWARD", pattern=r"\bplan\b(?!\s*:)", allowed_types=_PLANNABLE),
    *(
        ContextDef(lit, _HYP, "BACKWARD", allowed_types=_PLANNABLE, max_scope=4)
        for lit in ("would be an option", "is an option", "as an option", "to start", "to begin", "to be started")
    ),
    ContextDef("planned", _HYP, "BACKWARD", allowed_types=_PLANNABLE, max_scope=4),
    ContextDef("pending", _HYP, "BACKWARD", allowed_types=_PLANNABLE, max_scope=4),
    # Uncertain.
    *(
        ContextDef(lit, _UNC, "FORWARD")
        for lit in (
            "possible",
            "possibly",
            "probable",
            "likely",
            "concern for",
            "concerning for",
            "suspicious for",
            "suspected",
            "suspect",
            "questionable",
            "question of",
            "may represent",
            "may reflect",
            "could represent",
            "suggestive of",
            "worrisome for",
            "r/o",
            "rule out",
            "to rule out",
            "evaluate for",
            "assess for",
            "equivocal for",
            "cannot exclude",
            "differential includes",
        )
    ),
    *(
        ContextDef(lit, _UNC, "BACKWARD", max_scope=6)
        for lit in ("cannot be excluded", "not excluded", "is possible", "is suspected")
    ),
    *(ContextDef(lit, _UNC, "BIDIRECTIONAL", max_scope=4) for lit in ("versus", "vs", "vs.")),
    ContextDef("was negative", _NEG, "BACKWARD", pattern=r"\b(?:was|were)\s+negative\b(?!\s+for)", max_scope=8),
    # Historical (does not block "met").
    *(ContextDef(lit, _HIST, "FORWARD") for lit in ("history of", "h/o", "hx of", "remote", "previously")),
    # Family.
    *(
        ContextDef(lit, _FAM, "BIDIRECTIONAL")
        for lit in (
            "family history",
            "fhx",
            "mother",
            "father",
            "brother",
            "sister",
            "sibling",
            "aunt",
            "uncle",
            "grandmother",
            "grandfather",
            "cousin",
            "maternal",
            "paternal",
        )
    ),
    # Platinum (or other therapy) given for another cancer: "historical-other".
    *(
        ContextDef(lit, _OTHER, "BIDIRECTIONAL", allowed_types=_THERAPY)
        for lit in (
            "head and neck",
            "HNSCC",
            "oropharyngeal",
            "laryngeal",
            "tonsillar",
            "ovarian",
            "breast cancer",
            "testicular",
            "seminoma",
            "germ cell",
            "bladder cancer",
            "urothelial",
            "cervical cancer",
            "endometrial",
            "esophageal",
            "gastric",
            "colorectal",
            "colon cancer",
            "rectal cancer",
            "anal cancer",
            "pancreatic",
            "mesothelioma",
            "lymphoma",
            "NSCLC",
            "non-small cell",
            "lung adenocarcinoma",
        )
    ),
    # Terminators (market.md 3.2: ";" and "consistent with"). max_scope=1 works around medspaCy 1.3's
    # overlap test, which ignores a terminator whose scope (the whole sentence) contains the other's.
    *(
        ContextDef(lit, _TERM, "TERMINATE", max_scope=1)
        for lit in (
            ";",
            "consistent with",
            "but",
            "however",
            "although",
            "though",
            "except",
            "aside from",
            "apart from",
            "which",
            "now",
            "secondary to",
            "due to",
            "and then",
            "then",
            "subsequently",
            "after which",
            "with interval",
            "presents with",
            "currently",
            "not assessed",
            "not done",
            "not available",
            "not performed",
            "not tested",
        )
    ),
)

_H = r"[ \t]*:"

SECTION_RULES: tuple[SectionDef, ...] = (
    SectionDef("chief_complaint", rf"(?:chief\s+complaint|CC|reason\s+for\s+(?:visit|consult(?:ation)?)){_H}"),
    SectionDef("history_of_present_illness", rf"(?:history\s+of\s+(?:the\s+)?present\s+illness|HPI){_H}"),
    SectionDef(
        "oncologic_history",
        rf"(?:oncologic(?:al)?\s+history|oncology\s+history|treatment\s+history|cancer\s+history"
        rf"|prior\s+therapy|prior\s+treatment(?:s)?){_H}",
    ),
    SectionDef(
        "past_medical_history",
        rf"(?:past\s+medical\s+history|PMH(?:x)?|medical\s+history|past\s+history"
        rf"|past\s+surgical\s+history|PSH){_H}",
    ),
    SectionDef("family_history", rf"(?:family\s+history|FHx|FH){_H}"),
    SectionDef("social_history", rf"(?:social\s+history|SHx|SH){_H}"),
    SectionDef("medications", rf"(?:(?:current|home|outpatient|discharge)\s+)?medications?(?:\s+list)?{_H}"),
    SectionDef("allergies", rf"(?:allergies|drug\s+allergies|allergy){_H}"),
    SectionDef("review_of_systems", rf"(?:review\s+of\s+systems|ROS){_H}"),
    SectionDef(
        "physical_exam",
        rf"(?:physical\s+exam(?:ination)?(?:\s+[\w-]+){{0,3}}|exam|PE|vital\s+signs(?:\s+trend)?|vitals){_H}",
    ),
    SectionDef("labs", rf"(?:labs?|laboratory(?:\s+data|\s+results)?){_H}"),
    SectionDef("indication", rf"(?:clinical\s+)?(?:indication|history\s+for\s+exam|reason\s+for\s+exam){_H}"),
    SectionDef("technique", rf"(?:technique|comparison|procedure){_H}"),
    SectionDef("findings", rf"findings{_H}"),
    SectionDef("impression", rf"(?:impression|conclusion|interpretation){_H}"),
    SectionDef("imaging", rf"(?:imaging|radiology|studies|imaging\s+studies){_H}"),
    SectionDef(
        "pathology",
        rf"(?:final\s+(?:pathologic\s+)?diagnosis|microscopic\s+description|gross\s+description"
        rf"|immunohistochemistry|specimen|diagnosis|pathology){_H}",
    ),
    SectionDef(
        "diagnoses", rf"(?:(?:admission|discharge|primary|secondary)\s+diagnos[ie]s|diagnoses|problem\s+list){_H}"
    ),
    SectionDef("assessment_and_plan", rf"(?:assessment\s*(?:and|&|/)\s*plan|A\s*/\s*P|impression\s+and\s+plan){_H}"),
    SectionDef("assessment", rf"assessment{_H}"),
    SectionDef("plan", rf"(?:plan|recommendations?|disposition){_H}"),
    SectionDef(
        "hospital_course",
        rf"(?:(?:brief\s+)?hospital\s+course(?:\s+[\w-]+){{0,3}}|interval\s+history|interval\s+events"
        rf"|daily\s+summary){_H}",
    ),
    SectionDef("patient_instructions", rf"(?:discharge\s+instructions|patient\s+instructions|follow-?up){_H}"),
    SectionDef("signature", rf"(?:electronically\s+signed\s+by|signed\s+by|attestation){_H}"),
)

#: Every header starts a line (the Sectionizer checks this too, but slowly, for every candidate).
SECTION_RULES = tuple(SectionDef(rule.category, rf"(?m)^[ \t]*(?:{rule.pattern})") for rule in SECTION_RULES)

#: Sections in which a mention of the given concepts is not eligible to support "met".
INELIGIBLE_SECTIONS: dict[str, frozenset[str]] = {
    "family_history": frozenset(CONCEPTS),
    "social_history": frozenset(CONCEPTS),
    "allergies": frozenset(CONCEPTS),
    "patient_instructions": frozenset(CONCEPTS),
    "indication": frozenset(ASSESSMENT_CONCEPTS | {BRAIN_METASTASES}),
}
#: Sections where a therapy without a continuation or past-tense cue in its sentence is a plan.
PLAN_SECTIONS: frozenset[str] = frozenset({"plan"})
PLAN_REALISED_CUE = (
    r"\b(?:(?:dis)?continu\w*|received|receiving|given|completed|s/p|status\s+post|last\s+dose|hold|held"
    r"|on\s+(?:current|maintenance))\b"
)
#: Rules that only count on the first lines of a note (document titles).
TITLE_RULES: frozenset[str] = frozenset({"onc.note_header"})
TITLE_LINES = 3

#: Sections whose scope, when opened by a header on its own line, ends at the next blank line.
PARAGRAPH_SECTIONS: frozenset[str] = frozenset(INELIGIBLE_SECTIONS)


def section_eligible(section: str | None, concept: str) -> bool:
    """Whether a mention of ``concept`` in ``section`` may support "met"."""
    if section is None:
        return True
    return concept not in INELIGIBLE_SECTIONS.get(section, frozenset())


@lru_cache(maxsize=1)
def ruleset_hash() -> str:
    """SHA-256 over every rule definition, the eligibility table and the extractor version."""
    payload = {
        "version": EXTRACTOR_VERSION,
        "targets": [asdict(rule) for rule in TARGETS],
        "context": [asdict(rule) for rule in CONTEXT_RULES],
        "sections": [asdict(rule) for rule in SECTION_RULES],
        "ineligible": {key: sorted(value) for key, value in sorted(INELIGIBLE_SECTIONS.items())},
        "paragraph_sections": sorted(PARAGRAPH_SECTIONS),
        "plan_sections": sorted(PLAN_SECTIONS),
        "plan_realised_cue": PLAN_REALISED_CUE,
        "title_rules": sorted(TITLE_RULES),
        "title_lines": TITLE_LINES,
    }
    encoded = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return hashlib.sha256(encoded).hexdigest()
