"""Per-rule unit tests of the note extractor."""

from __future__ import annotations

import base64
from datetime import date

import pytest

from priorauth.notes import (
    EXTRACTOR_VERSION,
    AttachmentError,
    Mention,
    NoteExtraction,
    decode_attachment,
    extract_note,
    note_facts,
    ruleset_hash,
)
from priorauth.notes.pipeline import build_pipeline


def mentions(text: str) -> list[Mention]:
    extraction = extract_note(text, "DocumentReference/t")
    for mention in extraction.mentions:
        assert text[mention.start : mention.end] == mention.text
    return list(extraction.mentions)


def find(text: str, concept: str, literal: str | None = None) -> Mention:
    found = [m for m in mentions(text) if m.concept == concept and (literal is None or m.text == literal)]
    assert len(found) == 1, found
    return found[0]


def concepts(text: str) -> list[str]:
    return [m.concept for m in mentions(text)]


# Histology and stage -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Diagnosis: non-small cell lung cancer, adenocarcinoma.",
        "Non small cell carcinoma of the lung.",
        "Stage IV NSCLC on pembrolizumab.",
        "nonsmall cell lung cancer",
    ],
)
def test_non_small_cell_never_counts_as_small_cell(text: str) -> None:
    found = concepts(text)
    assert "NSCLC" in found
    assert not {"SCLC", "SCLC_EXTENSIVE", "SCLC_LIMITED"} & set(found)


@pytest.mark.parametrize(
    ("text", "concept"),
    [
        ("ES-SCLC diagnosed 03/2025.", "SCLC_EXTENSIVE"),
        ("extensive-stage small cell lung cancer", "SCLC_EXTENSIVE"),
        ("Small cell lung carcinoma, extensive disease.", "SCLC_EXTENSIVE"),
        ("stage IV small cell lung cancer", "SCLC_EXTENSIVE"),
        ("LS-SCLC treated with chemoradiation", "SCLC_LIMITED"),
        ("limited stage small cell carcinoma", "SCLC_LIMITED"),
        ("biopsy: small cell carcinoma", "SCLC"),
        ("Metastatic small cell carcinoma in a lymph node.", "SCLC"),
        ("Staging shows extensive stage disease.", "STAGE_EXTENSIVE"),
    ],
)
def test_histology_and_stage(text: str, concept: str) -> None:
    assert concept in concepts(text)


# ConText modifiers -----------------------------------------------------------------------------------


def test_negated_progression() -> None:
    assert find("Restaging CT shows no progression.", "PROGRESSION").modifiers == ("negated",)
    assert "negated" in find("Without evidence of disease progression.", "PROGRESSION").modifiers
    assert "negated" in find("MRI brain was negative for brain metastases.", "BRAIN_METASTASES").modifiers


def test_hypothetical_progression_and_plan() -> None:
    text = "If progression occurs, will consider tarlatamab."
    assert "hypothetical" in find(text, "PROGRESSION").modifiers
    assert "hypothetical" in find(text, "TARLATAMAB").modifiers


def test_uncertain() -> None:
    assert "uncertain" in find("Possible progression in the adrenal.", "PROGRESSION").modifiers
    assert "uncertain" in find("r/o SCLC", "SCLC").modifiers
    assert "uncertain" in find("possible pneumonia vs progression of disease", "PROGRESSION").modifiers


def test_family_history() -> None:
    mention = find("Family history: mother with small cell lung cancer.", "SCLC")
    assert "family" in mention.modifiers
    assert not mention.supports_met


def test_inline_header_does_not_leak_section_scope() -> None:
    text = "Family history: mother with small cell lung cancer.\nCT shows progression in the adrenal.\n"
    progression = find(text, "PROGRESSION")
    assert progression.section != "family_history"
    assert progression.modifiers == ()
    assert progression.supports_met
    assert find(text, "SCLC").section == "family_history"


def test_block_family_history_section_ends_at_blank_line() -> None:
    text = "FAMILY HISTORY:\nMother with lung cancer.\n\nUnrecognised Header Here:\nProgression in liver.\n"
    assert find(text, "PROGRESSION").modifiers == ()


def test_semicolon_and_consistent_with_terminate_negation() -> None:
    text = "Ruled out limited stage; staging consistent with extensive stage."
    assert "negated" in find(text, "STAGE_LIMITED").modifiers
    assert find(text, "STAGE_EXTENSIVE").modifiers == ()
    text = "No limited stage disease, findings consistent with extensive stage."
    assert find(text, "STAGE_EXTENSIVE").modifiers == ()


def test_platinum_for_another_cancer_is_other_indication() -> None:
    mention = find("History of cisplatin for head and neck cancer in 2010.", "PLATINUM")
    assert "other_indication" in mention.modifiers
    assert "historical" in mention.modifiers
    assert not mention.supports_met


def test_historical_platinum_still_supports_met() -> None:
    mention = find("History of carboplatin and etoposide for ES-SCLC in 2024.", "PLATINUM")
    assert "historical" in mention.modifiers
    assert mention.supports_met


def test_platinum_sensitive_relapse() -> None:
    text = "Assessment: platinum-sensitive relapse 7 months after therapy."
    assert find(text, "PLATINUM").supports_met
    assert find(text, "PROGRESSION", "relapse").supports_met


# Therapy rules --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "agents"),
    [
        ("s/p carbo/etop x4", ("carboplatin", "etoposide")),
        ("cis/etop with RT", ("cisplatin", "etoposide")),
        ("EP x 4 cycles with concurrent RT", ("cisplatin", "etoposide")),
        ("s/p CE x4 + atezo", ("carboplatin", "etoposide")),
        ("Received Paraplatin.", ("carboplatin",)),
        ("progressed after platinum-based chemotherapy", ("platinum",)),
    ],
)
def test_platinum_agents_and_abbreviations(text: str, agents: tuple[str, ...]) -> None:
    assert find(text, "PLATINUM").agents == agents


def test_regimen_abbreviation_needs_treatment_context() -> None:
    assert "PLATINUM" not in concepts("Cardiology EP study was normal.")
    assert "PLATINUM" not in concepts("CE MRI of the liver.")


def test_pd_l1_is_not_progression() -> None:
    assert "PROGRESSION" not in concepts("PD-L1 TPS 60%. PD-1 inhibitor.")
    assert "PROGRESSION" in concepts("PD per RECIST.")


@pytest.mark.parametrize(
    ("text", "agent"),
    [
        ("maintenance atezolizumab", "atezolizumab"),
        ("durvalumab 1500 mg", "durvalumab"),
        ("Imfinzi every 4 weeks", "durvalumab"),
    ],
)
def test_immunotherapy(text: str, agent: str) -> None:
    assert find(text, "IMMUNOTHERAPY").agents == (agent,)


def test_tarlatamab_dose_cycle_day_and_date() -> None:
    text = "11/10/2025 C1D8: Imdelltra 10 mg IV given."
    mention = find(text, "TARLATAMAB")
    assert mention.agents == ("tarlatamab",)
    assert mention.dose_mg == 10.0
    assert (mention.cycle, mention.day) == (1, 8)
    assert mention.date == date(2025, 11, 10)


def test_therapy_date_range() -> None:
    mention = find("Carboplatin 03/05/2025 to 05/21/2025.", "PLATINUM")
    assert mention.date == date(2025, 3, 5)
    assert mention.end_date == date(2025, 5, 21)


def test_progression_date_in_sentence() -> None:
    assert find("CT chest 10/2025 shows progression in liver.", "PROGRESSION").date == date(2025, 10, 1)
    assert find("Progression noted.\nCT 10/2025 clear.", "PROGRESSION").date is None


def test_plan_section_therapy_is_hypothetical_unless_continued() -> None:
    assert "hypothetical" in find("PLAN:\n1. Tarlatamab 1 mg C1D1.\n", "TARLATAMAB").modifiers
    assert find("PLAN:\nContinue tarlatamab 10 mg D1 and D15.\n", "TARLATAMAB").modifiers == ()


def test_unchecked_template_box_is_not_a_mention() -> None:
    text = "Response:\n  [ ] Progressive disease\n  [X] Partial response\n"
    assert concepts(text) == ["RESPONSE"]


# Oncology involvement and brain metastases ------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "He was seen by medical oncology on 10/14/2025.",
        "Hematology/Oncology consult appreciated.",
        "We consulted medical oncology.",
        "Per oncology, continue therapy.",
    ],
)
def test_oncology_consultation(text: str) -> None:
    assert find(text, "ONCOLOGY_CONSULT").supports_met


def test_radiation_oncology_is_not_a_medical_oncology_consult() -> None:
    assert "ONCOLOGY_CONSULT" not in concepts("RADIATION ONCOLOGY CONSULTATION\nPCI discussed.")


def test_no_oncologist() -> None:
    extraction = extract_note("She has not been seen by oncology and has no oncologist locally.", "DocumentReference/n")
    facts = note_facts(extraction)
    assert len(facts.no_oncologist) == 2
    assert facts.consultations == ()


def test_new_brain_metastases() -> None:
    mention = find("Impression: New brain metastases (3).", "BRAIN_METASTASES")
    assert mention.supports_met


# Facts ----------------------------------------------------------------------------------------------------


def test_note_facts() -> None:
    text = (
        "HPI: ES-SCLC. Received carboplatin/etoposide 03/2025 - 06/2025. CT 10/2025: progression.\n"
        "MRI: no brain metastases. Declined cisplatin.\n"
        "If progression occurs, will consider tarlatamab.\n"
        "Seen by medical oncology.\n"
    )
    extraction = extract_note(text, "DocumentReference/f", attachment=2)
    facts = note_facts(extraction)
    assert {(f.histology, f.stage, f.negated) for f in facts.diagnoses} == {("small_cell", "extensive", False)}
    agents = {(t.agent, t.negated) for t in facts.therapies}
    assert agents == {("carboplatin", False), ("etoposide", False), ("cisplatin", True)}
    carboplatin = next(t for t in facts.therapies if t.agent == "carboplatin")
    assert (carboplatin.start, carboplatin.end) == (date(2025, 3, 1), date(2025, 6, 1))
    assert [(a.kind, a.on, a.negated) for a in facts.assessments] == [("progression", date(2025, 10, 1), False)]
    assert len(facts.consultations) == 1
    assert facts.brain_metastases == ()
    for evidence in (carboplatin.evidence, *facts.consultations):
        assert evidence.document == "DocumentReference/f"
        assert evidence.attachment == 2
        assert text[evidence.start : evidence.end] == evidence.text


# Reproducibility, attachments, pipeline ------------------------------------------------------------------


def test_version_and_hash_are_recorded() -> None:
    digest = ruleset_hash()
    assert len(digest) == 64 and int(digest, 16) >= 0
    extraction = extract_note("ES-SCLC", "d")
    assert isinstance(extraction, NoteExtraction)
    assert extraction.ruleset_sha256 == digest
    assert extraction.extractor_version == EXTRACTOR_VERSION
    assert extraction.to_dict()["mentions"][0]["concept"] == "SCLC_EXTENSIVE"


def test_extraction_is_deterministic() -> None:
    text = "ES-SCLC s/p carbo/etop, PD 9/25 on CT; no brain mets."
    assert extract_note(text, "d") == extract_note(text, "d")


def test_pipeline_is_built_once() -> None:
    assert build_pipeline() is build_pipeline()


def test_decode_plain_text_attachment() -> None:
    data = base64.b64encode(b"ES-SCLC, progression on carboplatin.").decode()
    text = decode_attachment("text/plain; charset=utf-8", data)
    assert text == "ES-SCLC, progression on carboplatin."
    assert "PLATINUM" in concepts(text)


def test_decode_html_attachment() -> None:
    markup = "<html><head><style>p{}</style></head><body><h2>Impression:</h2><p>New liver lesions &amp; PD.</p></body></html>"
    text = decode_attachment("text/html", base64.b64encode(markup.encode()).decode())
    assert "Impression:" in text and "New liver lesions & PD." in text
    assert "<" not in text and "p{}" not in text


def test_decode_rejects_binary_types() -> None:
    with pytest.raises(AttachmentError):
        decode_attachment("application/pdf", base64.b64encode(b"%PDF").decode())
