"""A malformed case file fails with a CaseError naming the file, the case and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from priorauth.cases.model import load_case_file, load_cases
from priorauth.errors import CaseError

GOOD = """
- name: A well-formed case that is only here to be the first one
  request_date: 2026-03-02
  input: {line_of_business: medicaid}
  output: {determination: pended}
"""


def write(tmp_path: Path, text: str, name: str = "bad.yaml") -> Path:
    folder = tmp_path / "cases"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_unknown_input_field_names_file_case_and_field(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        GOOD
        + """
- name: A case with a misspelt input field
  request_date: 2026-03-02
  input: {line_of_busines: medicaid}
  output: {determination: approved}
""",
    )
    with pytest.raises(CaseError) as caught:
        load_case_file(path)
    message = str(caught.value)
    assert str(path) in message
    assert "case 2" in message and "A case with a misspelt input field" in message
    assert "input.line_of_busines" in message
    assert "Extra inputs are not permitted" in message


def test_bad_status_names_the_criterion(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
- name: A case expecting a status that does not exist
  request_date: 2026-03-02
  input: {}
  output: {determination: approved, criteria: {I.A.1: maybe}}
""",
    )
    with pytest.raises(CaseError, match=r"case 1 .*: output\.criteria\.I\.A\.1"):
        load_case_file(path)


def test_bad_determination_and_bad_date(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
- name: A case whose determination is a denial, which the engine never gives
  request_date: 2026-03-02
  input: {}
  output: {determination: denied}
""",
    )
    with pytest.raises(CaseError, match=r"output\.determination"):
        load_case_file(path)
    path = write(
        tmp_path,
        """
- name: A case whose request date is not a date
  request_date: next tuesday
  input: {}
  output: {determination: pended}
""",
        "date.yaml",
    )
    with pytest.raises(CaseError, match=r"request_date"):
        load_case_file(path)


def test_not_a_list_and_not_yaml(tmp_path: Path) -> None:
    with pytest.raises(CaseError, match="a YAML list of cases"):
        load_case_file(write(tmp_path, "name: just one mapping\n"))
    with pytest.raises(CaseError, match="not valid YAML"):
        load_case_file(write(tmp_path, "- name: [unclosed\n", "broken.yaml"))


def test_referred_case_must_name_the_policy(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
- name: A referral that forgets where to
  request_date: 2026-03-02
  input: {}
  output: {determination: referred}
""",
    )
    with pytest.raises(CaseError, match="referred_to"):
        load_case_file(path)


def test_duplicate_names_across_files(tmp_path: Path) -> None:
    write(tmp_path, GOOD, "a.yaml")
    write(tmp_path, GOOD, "b.yaml")
    with pytest.raises(CaseError, match="same name"):
        load_cases(tmp_path / "cases")
