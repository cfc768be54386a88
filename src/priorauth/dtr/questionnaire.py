"""The policy's DTR Questionnaire and ValueSets, generated from the policy data of one version.

Items are the criteria that carry a ``question:`` (the criterion id is the ``linkId``, the policy's
words are the ``text``). Pre-population is SDC expression-based FHIRPath (no CQL Library): the
launch context gives ``%patient`` and ``%user``, ``x-fhir-query`` variables fetch the Conditions,
PractitionerRoles and medication records, and each ``initialExpression`` only ever proposes ``true``
when the record shows it (silence leaves the item empty for the clinician, never ``false``).
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from functools import lru_cache
from typing import Any

from priorauth.policy.model import Coding, Group, Node, PolicyVersion
from priorauth.policy.registry import load_registry

Json = dict[str, Any]
BASE = "https://priorauth.dev/fhir"
QUESTIONNAIRE_URL = f"{BASE}/Questionnaire/CP.PHAR.685"
SDC = "http://hl7.org/fhir/uv/sdc/StructureDefinition"
LAUNCH_CONTEXT = f"{SDC}/sdc-questionnaire-launchContext"
VARIABLE = f"{SDC}/sdc-questionnaire-variable"
INITIAL_EXPRESSION = f"{SDC}/sdc-questionnaire-initialExpression"
DTR_STD_PROFILE = "http://hl7.org/fhir/us/davinci-dtr/StructureDefinition/dtr-std-questionnaire"
LAUNCH_SYSTEM = "http://hl7.org/fhir/uv/sdc/CodeSystem/launchContext"


def valueset_url(policy_id: str, name: str) -> str:
    """Canonical of one of the policy's ValueSets."""
    return f"{BASE}/ValueSet/{policy_id}-{name}"


def questionnaire_canonical(version: PolicyVersion) -> str:
    """``url|version`` of the Questionnaire for a policy version."""
    return f"{BASE}/Questionnaire/{version.policy_id}|{version.version}"


def _value_sets_codes(version: PolicyVersion) -> dict[str, tuple[str, list[Coding]]]:
    codes = version.codes
    platinum: list[Coding] = []
    for name, agent in codes.platinum_agents.agents.items():
        platinum += [Coding(system=codes.hcpcs_system, code=c, display=name) for c in agent.hcpcs]
        platinum += [Coding(system=codes.rxnorm_system, code=c, display=name) for c in agent.rxnorm]
    taxonomies = [
        Coding(system=codes.oncology_taxonomies.system, code=t.code, display=t.display)
        for t in codes.oncology_taxonomies.codes
    ]
    return {
        "small-cell-lung-cancer": (
            "Small cell lung cancer (" + codes.small_cell_lung_cancer.source + ")",
            list(codes.small_cell_lung_cancer.codes),
        ),
        "platinum-agents": ("Platinum-based agents (" + codes.platinum_agents.source + ")", platinum),
        "oncology-taxonomies": ("Oncology provider taxonomies (" + codes.oncology_taxonomies.source + ")", taxonomies),
    }


def _value_set(version: PolicyVersion, name: str, title: str, codes: list[Coding]) -> Json:
    systems: dict[str, list[Coding]] = {}
    for coding in codes:
        systems.setdefault(coding.system, []).append(coding)

    def concept(c: Coding) -> Json:
        return {"code": c.code, "display": c.display} if c.display else {"code": c.code}

    stamp = datetime.combine(version.effective_from, time(), tzinfo=UTC).isoformat()
    return {
        "resourceType": "ValueSet",
        "id": f"{version.policy_id}-{name}-{version.version}",
        "url": valueset_url(version.policy_id, name),
        "version": version.version,
        "name": "".join(part.capitalize() for part in name.split("-")),
        "title": title,
        "status": "active",
        "compose": {
            "include": [{"system": s, "concept": [concept(c) for c in cs]} for s, cs in systems.items()],
        },
        "expansion": {
            "timestamp": stamp,
            "total": len(codes),
            "contains": [{"system": c.system, **concept(c)} for c in codes],
        },
    }


def build_value_sets(version: PolicyVersion) -> list[Json]:
    """The expanded ValueSets the Questionnaire's expressions use (from ``codes.yaml``)."""
    return [_value_set(version, name, title, codes) for name, (title, codes) in _value_sets_codes(version).items()]


def _questions(node: Node, out: dict[str, list[tuple[Node, Group | None]]], parent: Group | None = None) -> None:
    if isinstance(node, Group):
        for child in node.children:
            _questions(child, out, node)
    if node.question:
        out.setdefault(node.question, []).append((node, parent))


def _question_text(leaves: list[tuple[Node, Group | None]]) -> str:
    if len(leaves) == 1:
        return leaves[0][0].text
    parent = leaves[0][1]
    words = [parent.text] if parent is not None else []
    return " ".join(words + [leaf.text for leaf, _ in leaves])


def _expression(description: str, expression: str) -> Json:
    return {
        "url": INITIAL_EXPRESSION,
        "valueExpression": {"description": description, "language": "text/fhirpath", "expression": expression},
    }


def _variable(name: str, query: str) -> Json:
    return {
        "url": VARIABLE,
        "valueExpression": {"name": name, "language": "application/x-fhir-query", "expression": query},
    }


def _token_list(codes: list[Coding]) -> str:
    return ",".join(f"{c.system}|{c.code}" for c in codes)


def _prepopulation(version: PolicyVersion) -> tuple[list[Json], dict[str, Json]]:
    sets = _value_sets_codes(version)
    pid = version.policy_id
    extensive = " or ".join(f"lower().contains('{t}')" for t in version.codes.stage_terms["extensive"])
    variables = [
        _variable(
            "sclc", f"Condition?patient={{{{%patient.id}}}}&code={_token_list(sets['small-cell-lung-cancer'][1])}"
        ),
        _variable("roles", "PractitionerRole?practitioner={{%user.id}}"),
        _variable("statements", "MedicationStatement?patient={{%patient.id}}"),
        _variable("administrations", "MedicationAdministration?patient={{%patient.id}}"),
    ]
    expressions = {
        "I.A.1": _expression(
            "true when an active small cell lung cancer Condition records an extensive stage",
            "iif(%sclc.entry.resource.where(clinicalStatus.coding.code = 'active' and "
            f"stage.summary.select(text | coding.display).where({extensive}).exists()).exists(), true, {{}})",
        ),
        "I.A.2": _expression(
            "true when the ordering user's PractitionerRole has an oncology NUCC taxonomy",
            f"iif(%roles.entry.resource.specialty.coding.where(memberOf('{valueset_url(pid, 'oncology-taxonomies')}'))"
            ".exists(), true, {})",
        ),
        "platinum": _expression(
            "true when a platinum agent was given or taken (MedicationAdministration / MedicationStatement)",
            "iif((%administrations.entry.resource | %statements.entry.resource).medication.ofType(CodeableConcept)"
            f".coding.where(memberOf('{valueset_url(pid, 'platinum-agents')}')).exists(), true, {{}})",
        ),
        "birthDate": _expression("the member's date of birth", "%patient.birthDate"),
    }
    return variables, expressions


def _boolean_item(link_id: str, text: str, required: bool, extra: list[Json] | None = None) -> Json:
    item: Json = {"linkId": link_id, "text": text, "type": "boolean", "required": required}
    if extra:
        item["extension"] = extra
    return item


def build_questionnaire(version: PolicyVersion) -> Json:
    """The Questionnaire (``url|version``) for one policy version, from its criteria and codes."""
    criteria = version.criteria
    questions: dict[str, list[tuple[Node, Group | None]]] = {}
    _questions(criteria.initial, questions)
    _questions(criteria.continued, questions)
    variables, expressions = _prepopulation(version)
    age = next(
        (c for c in criteria.initial.children if getattr(c, "kind", None) == "age"),
        None,
    )

    def item(link_id: str, required: bool = True) -> Json:
        ext = [expressions[link_id]] if link_id in expressions else None
        return _boolean_item(link_id, _question_text(questions[link_id]), required, ext)

    initial_items: list[Json] = []
    for link_id in questions:
        if not link_id.startswith(criteria.initial.id + "."):
            continue
        entry = item(link_id)
        if link_id == "I.A.4":
            entry["item"] = [
                _boolean_item(
                    "I.A.4.platinum",
                    "Platinum-based therapy given (carboplatin, cisplatin or oxaliplatin)",
                    False,
                    [expressions["platinum"]],
                )
            ]
        initial_items.append(entry)
        if link_id == "I.A.2" and age is not None:
            initial_items.append(
                {
                    "linkId": "birthDate",
                    "text": f"Date of birth ({age.id}: {age.text})",
                    "type": "date",
                    "readOnly": True,
                    "extension": [expressions["birthDate"]],
                }
            )
    screen_id = criteria.continued.children[0].id
    continued_items = [item(screen_id)]
    for link_id in questions:
        if link_id.startswith(criteria.continued.id + ".") and link_id != screen_id:
            entry = item(link_id)
            entry["enableWhen"] = [{"question": screen_id, "operator": "=", "answerBoolean": True}]
            continued_items.append(entry)
    return {
        "resourceType": "Questionnaire",
        "id": f"{version.policy_id}-{version.version}",
        "meta": {"profile": [DTR_STD_PROFILE]},
        "extension": [
            {
                "url": LAUNCH_CONTEXT,
                "extension": [
                    {"url": "name", "valueCoding": {"system": LAUNCH_SYSTEM, "code": "patient"}},
                    {"url": "type", "valueCode": "Patient"},
                ],
            },
            {
                "url": LAUNCH_CONTEXT,
                "extension": [
                    {"url": "name", "valueCoding": {"system": LAUNCH_SYSTEM, "code": "user"}},
                    {"url": "type", "valueCode": "Practitioner"},
                ],
            },
            *variables,
        ],
        "url": f"{BASE}/Questionnaire/{version.policy_id}",
        "version": version.version,
        "name": version.policy_id.replace(".", "_"),
        "title": f"{version.title} — prior authorization documentation",
        "status": "active",
        "subjectType": ["Patient"],
        "date": version.effective_from.isoformat(),
        "publisher": "priorauth",
        "description": criteria.preamble,
        "effectivePeriod": {
            k: v
            for k, v in {
                "start": version.effective_from.isoformat(),
                "end": version.effective_to.isoformat() if version.effective_to else None,
            }.items()
            if v
        },
        "item": [
            {
                "linkId": criteria.continued.id,
                "text": f"Continued therapy — {criteria.continued.text}",
                "type": "group",
                "item": continued_items,
            },
            {
                "linkId": criteria.initial.id,
                "text": f"Initial approval — {criteria.initial.text}",
                "type": "group",
                "enableWhen": [{"question": screen_id, "operator": "!=", "answerBoolean": True}],
                "item": initial_items,
            },
        ],
    }


@lru_cache(maxsize=32)
def package_resources(policy_id: str, version_id: str) -> tuple[Json, tuple[Json, ...]]:
    """The Questionnaire and ValueSets of one version, built once per process (treat as read-only)."""
    version = next(v for v in load_registry().versions(policy_id) if v.version == version_id)
    return build_questionnaire(version), tuple(build_value_sets(version))
