"""Service lines from raw department, procedure and encounter texts (`scoring/service_lines.py` and its data)."""

from __future__ import annotations

import numpy as np
import pytest

from scoring import ReactivationSignals, VisitArrays, compute_features, reasons_all
from scoring.service_lines import OTHER, classify, default_table, few, parse_table


@pytest.mark.parametrize(
    ("code", "line"),
    [
        ("D0100", "diagnostic"),
        ("D0150", "diagnostic"),
        ("D0999", "diagnostic"),
        ("D1000", "preventive"),
        ("D1110", "preventive"),
        ("D1999", "preventive"),
        ("D2000", "restorative"),
        ("D2740", "restorative"),
        ("D2999", "restorative"),
        ("D3000", "endodontics"),
        ("D3330", "endodontics"),
        ("D4000", "periodontics"),
        ("D4341", "periodontics"),
        ("D4999", "periodontics"),
        ("D5000", "prosthodontics (removable)"),
        ("D5110", "prosthodontics (removable)"),
        ("D5899", "prosthodontics (removable)"),
        ("D5900", "maxillofacial prosthetics"),
        ("D5999", "maxillofacial prosthetics"),
        ("D6000", "implants"),
        ("D6010", "implants"),
        ("D6199", "implants"),
        ("D6200", "prosthodontics (fixed)"),
        ("D6750", "prosthodontics (fixed)"),
        ("D6999", "prosthodontics (fixed)"),
        ("D7000", "oral surgery"),
        ("D7140", "oral surgery"),
        ("D7999", "oral surgery"),
        ("D8000", "orthodontics"),
        ("D8080", "orthodontics"),
        ("D8999", "orthodontics"),
        ("D9000", "adjunctive"),
        ("D9230", "adjunctive"),
        ("D9999", "adjunctive"),
        ("D0099", OTHER),  # below the first CDT category
    ],
)
def test_cdt_ranges(code: str, line: str) -> None:
    """Each CDT category's code range, both ends included, is its service line."""
    assert classify(code) == line
    assert classify(f"{code.lower()} some description") == line


@pytest.mark.parametrize(
    ("text", "line"),
    [
        # SNOMED CT codes and displays as Synthea's encounters carry them
        ("185349003 encounter for check up (procedure)", "check-up"),
        ("encounter for check up (procedure)", "check-up"),
        ("General examination of patient (procedure)", "check-up"),
        ("410620009", "check-up"),
        ("consultation for treatment (procedure)", "office visit"),
        ("50849002 emergency room admission (procedure)", "emergency"),
        ("emergency room admission (procedure)", "emergency"),
        ("424619006 prenatal visit (regime/therapy)", "maternity"),
        ("999999999 encounter for check up (procedure)", "check-up"),  # unknown code, known display
        ("999999999", OTHER),
        # CPT
        ("99213", "office visit"),
        ("99395 periodic preventive medicine", "check-up"),
        ("99283", "emergency"),
        ("90471", "immunization"),
        ("71046", "imaging"),
        ("80053", "laboratory"),
        ("27447", "surgery"),
        ("0001F", OTHER),  # Category II: no service line
        # departments as practice-management systems name them
        ("Hygiene", "preventive"),
        ("restorative", "restorative"),
        ("Prophylaxis - adult", "preventive"),
        ("root canal, molar", "endodontics"),
        ("Implant placement", "implants"),
        ("Invisalign aligners", "orthodontics"),
        ("orthopedic consult", "office visit"),  # not orthodontics
        ("periodic oral evaluation", "diagnostic"),  # not periodontics
        ("", OTHER),
        ("anything else", OTHER),
    ],
)
def test_codes_and_texts(text: str, line: str) -> None:
    """Codes first (CDT, SNOMED, CPT), then whole texts, then keywords; the rest is "other"."""
    assert classify(text) == line


def test_table_names_only_its_lines() -> None:
    """The shipped table is consistent; a table naming a line it does not list is refused."""
    table = default_table()
    assert OTHER in table.lines and len(table.lines) <= 31
    with pytest.raises(ValueError, match="not in `lines`"):
        parse_table({"lines": ["other"], "text": {"x": "made up"}})
    with pytest.raises(ValueError, match="other"):
        parse_table({"lines": ["a"]})


def test_few_names_at_most_three_without_commas() -> None:
    """One, two (joined by 'and') or three (joined by '+') names; never a comma."""
    assert few(["preventive"]) == "preventive"
    assert few(["preventive", "restorative"]) == "preventive and restorative"
    assert few(["a", "b", "c", "d"]) == "a + b + c"


def test_reasons_name_the_most_used_service_lines() -> None:
    """With names for the department bits, a reason names the patient's few most visited service lines."""
    names = ["preventive", "restorative", "implants", "orthodontics"]
    day = np.array([100, 200, 300, 400, 500, 600, 100], dtype=np.int64)
    patient = np.array([0, 0, 0, 0, 0, 0, 1], dtype=np.int64)
    bits = np.array([1, 1, 1, 2 | 4, 2, 8, 0], dtype=np.uint32)  # patient 1: no department known
    amount = np.full(7, 100.0)
    feats = compute_features(VisitArrays(patient, day, amount, amount, bits), 2, 700)
    assert feats.top_departments.tolist() == [[0, 1, 2], [-1, -1, -1]]
    text = reasons_all(
        feats, np.array([500.0, 100.0]), np.array([False, False]), ReactivationSignals.none(2), names
    )
    assert "seen for preventive + restorative + implants" in text[0]
    assert "seen for" not in text[1] and "department" not in text[1]
