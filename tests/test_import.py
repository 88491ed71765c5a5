import datetime as dt

import pytest
from sqlalchemy import func, select

from receptionist.patients.csvfiles import ImportFileError
from receptionist.patients.importer import import_patients, import_visits
from receptionist.store import Patient, PatientPhone, VisitLine

TODAY = dt.date(2026, 11, 1)
PATIENTS_HEADER = "patient_id,first_name,last_name,phone,email,zip,consent_voice,consent_sms,opted_out\n"


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def count(store, model):
    with store.engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(model))


def day_totals(store, patient_id):
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(VisitLine.day, func.sum(VisitLine.amount_cents))
            .where(VisitLine.patient_id == patient_id)
            .group_by(VisitLine.day)
            .order_by(VisitLine.day)
        ).all()
    return [(d, int(c)) for d, c in rows]


def test_patients_import_normalises_and_is_idempotent(store, tmp_path):
    """Patients load with E.164 phones and consent flags; importing the file again changes nothing."""
    path = write(
        tmp_path,
        "patients.csv",
        PATIENTS_HEADER
        + "P1,Margaret,Hill,(202) 555-0143,mh@example.com,20036,yes,no,no\n"
        + "P2,Tom,Reed,202.555.0177; 202-555-0178,,20009-1234,no,yes,no\n"
        + "P3,Ann,Lee,,,,no,no,yes\n",
    )
    report = import_patients(store, path, progress=False, today=TODAY)
    assert (report.imported, report.rows, report.added, report.updated) == (True, 3, 3, 0)
    again = import_patients(store, path, progress=False, today=TODAY)
    assert (again.added, again.updated, again.unchanged) == (0, 0, 3)
    with store.session() as s:
        p1 = s.get(Patient, "P1")
        assert (p1.first_name, p1.consent_voice, p1.consent_sms, p1.has_contact) == (
            "Margaret",
            True,
            False,
            True,
        )
        assert s.get(Patient, "P2").zip == "20009"
        p3 = s.get(Patient, "P3")
        assert p3.opted_out and p3.opted_out_at is not None and not p3.has_contact
        phones = s.execute(
            select(PatientPhone.patient_id, PatientPhone.phone).order_by(
                PatientPhone.patient_id, PatientPhone.position
            )
        ).all()
    assert [tuple(r) for r in phones] == [
        ("P1", "+12025550143"),
        ("P2", "+12025550177"),
        ("P2", "+12025550178"),
    ]


def test_patient_update_tracks_zip_change_and_keeps_opt_out(store, tmp_path):
    """A later export updates contact data, records a zip change, and never undoes an opt-out."""
    write(tmp_path, "a.csv", PATIENTS_HEADER + "P1,Margaret,Hill,2025550143,,20036,yes,yes,yes\n")
    import_patients(store, tmp_path / "a.csv", progress=False, today=TODAY)
    write(tmp_path, "b.csv", PATIENTS_HEADER + "P1,Margaret,Hill-Ross,2025550144,,94110,yes,yes,no\n")
    report = import_patients(store, tmp_path / "b.csv", progress=False, today=TODAY)
    assert report.updated == 1
    with store.session() as s:
        p = s.get(Patient, "P1")
        assert (p.last_name, p.zip, p.previous_zip, p.zip_changed_on, p.moved_away) == (
            "Hill-Ross",
            "94110",
            "20036",
            TODAY,
            True,
        )
        assert p.opted_out
        assert s.scalars(select(PatientPhone.phone)).all() == ["+12025550144"]


def test_bad_patient_rows_import_nothing_and_are_all_reported(store, tmp_path):
    """Every bad row is reported by line and field, and nothing is imported."""
    path = write(
        tmp_path,
        "patients.csv",
        PATIENTS_HEADER
        + "P1,Margaret,Hill,(202) 555-0143,,20036,yes,no,no\n"
        + "P2,Tom,Reed,call me,,20036,no,no,no\n"
        + ",No,Id,2025550100,,20036,no,no,no\n"
        + "P4,Bad,Zip,2025550101,,ABCDE,no,no,no\n"
        + "P5,Bad,Flag,2025550102,,20036,maybe,no,no\n"
        + "P1,Dup,Licate,2025550103,,20036,no,no,no\n"
        + "P6,Bad,Mail,2025550104,not-an-email,20036,no,no,no\n",
    )
    report = import_patients(store, path, progress=False, today=TODAY)
    assert not report.imported
    assert [(e.line, e.field) for e in report.invalid] == [
        (3, "phone"),
        (4, "patient_id"),
        (5, "zip"),
        (6, "consent_voice"),
        (7, "patient_id"),
        (8, "email"),
    ]
    assert "first on line 2" in report.invalid[4].why
    assert count(store, Patient) == 0
    assert "nothing imported" in report.summary()


def test_skip_invalid_imports_the_good_rows(store, tmp_path):
    """With skip_invalid the good rows load and the bad ones are still reported."""
    path = write(
        tmp_path,
        "patients.csv",
        PATIENTS_HEADER
        + "P1,Margaret,Hill,(202) 555-0143,,20036,yes,no,no\n"
        + "P2,Tom,Reed,call me,,20036,no,no,no\n",
    )
    report = import_patients(store, path, skip_invalid=True, progress=False, today=TODAY)
    assert report.imported and report.added == 1 and [e.line for e in report.invalid] == [3]
    assert count(store, Patient) == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty"),
        ("patient_id,first_name\nP1,Ann\n", "missing column(s) last_name, phone"),
    ],
)
def test_unreadable_files_are_refused(store, tmp_path, content, message):
    """An empty file or one without the contract's columns is refused as a whole."""
    path = write(tmp_path, "patients.csv", content)
    with pytest.raises(ImportFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        import_patients(store, path, progress=False, today=TODAY)


def test_missing_file_is_refused(store, tmp_path):
    """A path that does not exist is a clear error, not a traceback."""
    with pytest.raises(ImportFileError, match="cannot open"):
        import_patients(store, tmp_path / "nope.csv", progress=False, today=TODAY)


def test_visits_merge_same_day_read_money_and_create_unknown_patients(store, tmp_path):
    """Same-day lines merge, currency and separators are read, refunds lower the day, unknown ids are created."""
    write(tmp_path, "p.csv", PATIENTS_HEADER + "P1,Margaret,Hill,2025550143,,20036,yes,no,no\n")
    import_patients(store, tmp_path / "p.csv", progress=False, today=TODAY)
    path = write(
        tmp_path,
        "visits.csv",
        "patient_id,date,amount,department,provider\nP1,2025-03-01,$1,234.50,restorative,Dr. Chen\n".replace(
            "$1,234.50", '"$1,234.50"'
        )
        + "P1,2025-03-01,120,hygiene,Hygienist Patel\n"
        + "P1,2025-03-01,-34.50,restorative,Dr. Chen\n"
        + "P1,2025-09-02,USD 99.99,Hygiene,\n"
        + "P9,2024-01-05,(20.00),hygiene,\n"
        + "P9,2024-01-05,220.00,hygiene,\n",
    )
    report = import_visits(store, path, progress=False, today=TODAY)
    assert (report.imported, report.added, report.patients_created) == (True, 6, 1)
    assert day_totals(store, "P1") == [(dt.date(2025, 3, 1), 132000), (dt.date(2025, 9, 2), 9999)]
    assert day_totals(store, "P9") == [(dt.date(2024, 1, 5), 20000)]
    with store.session() as s:
        unknown = s.get(Patient, "P9")
        assert not unknown.has_contact and unknown.first_name == ""


def test_visits_reimport_adds_nothing_twice(store, tmp_path):
    """A visits file without visit ids is keyed by content: importing it twice adds nothing the second time,
    while two identical lines in one file both count."""
    path = write(
        tmp_path,
        "visits.csv",
        "patient_id,date,amount,department\n"
        "P1,2025-03-01,50,hygiene\nP1,2025-03-01,50,hygiene\nP1,2025-04-01,80,hygiene\n",
    )
    first = import_visits(store, path, progress=False, today=TODAY)
    second = import_visits(store, path, progress=False, today=TODAY)
    assert (first.added, second.added, second.unchanged) == (3, 0, 3)
    assert day_totals(store, "P1") == [(dt.date(2025, 3, 1), 10000), (dt.date(2025, 4, 1), 8000)]


def test_visit_ids_identify_lines(store, tmp_path):
    """A visit_id names a line: the same id again in a later file is not added twice."""
    write(
        tmp_path,
        "a.csv",
        "visit_id,patient_id,date,amount,department,paid\nV1,P1,2025-03-01,100,hygiene,60\n",
    )
    write(
        tmp_path,
        "b.csv",
        "visit_id,patient_id,date,amount,department\nV1,P1,2025-03-01,100,hygiene\n"
        "V2,P1,2025-03-02,10,hygiene\n",
    )
    import_visits(store, tmp_path / "a.csv", progress=False, today=TODAY)
    report = import_visits(store, tmp_path / "b.csv", progress=False, today=TODAY)
    assert (report.added, report.unchanged) == (1, 1)
    with store.session() as s:
        line = s.scalars(select(VisitLine).where(VisitLine.line_key == "v:V1")).one()
        assert (line.amount_cents, line.paid_cents) == (10000, 6000)


def test_bad_visit_rows_are_reported_by_line_and_field(store, tmp_path):
    """Bad dates, amounts, departments and duplicate visit ids are each reported; nothing is imported."""
    path = write(
        tmp_path,
        "visits.csv",
        "visit_id,patient_id,date,amount,department\n"
        "V1,P1,2025-03-01,100,hygiene\n"
        "V2,P1,03/01/2025,100,hygiene\n"
        "V3,P1,2025-03-01,lots,hygiene\n"
        "V4,P1,2025-03-01,100,\n"
        "V1,P1,2025-03-02,100,hygiene\n"
        "V6,P1,2027-01-01,100,hygiene\n"
        "V7,P1,2025-03-01,1e12,hygiene\n",
    )
    report = import_visits(store, path, progress=False, today=TODAY)
    assert not report.imported
    assert [(e.line, e.field) for e in report.invalid] == [
        (3, "date"),
        (4, "amount"),
        (5, "department"),
        (6, "visit_id"),
        (7, "date"),
        (8, "amount"),
    ]
    assert count(store, VisitLine) == 0 and count(store, Patient) == 0


def test_odd_csv_shapes(store, tmp_path):
    """A BOM, upper-case headers, extra columns, blank lines and short rows are all read."""
    text = "\ufeffPatient_ID,DATE,Amount,Department,Notes\nP1,2025-03-01,100,hygiene,n/a\n\n,,,\nP1,2025-03-02,5,hygiene\n"
    path = write(tmp_path, "visits.csv", text)
    report = import_visits(store, path, progress=False, today=TODAY)
    assert report.imported and report.added == 2 and not report.invalid


def test_a_file_cut_mid_row_is_refused_not_guessed(store, tmp_path):
    """A copy that stopped inside the last row (no line end, fewer fields than the header) is a bad row: the
    import stores nothing and names the line; with skip_invalid the whole rows load and the cut one does not.
    A last row that is whole but has no line end is read as usual."""
    cut = PATIENTS_HEADER + "P1,Ann,Lee,202-555-0101,a@x.test,20001,yes,yes,no\nP2,Bob,Ray,202-555-01"
    report = import_patients(store, write(tmp_path, "patients.csv", cut), progress=False, today=TODAY)
    assert not report.imported and [(e.line, e.field) for e in report.invalid] == [(3, "(row)")]
    assert "cut short" in report.invalid[0].why and count(store, Patient) == 0
    report = import_patients(
        store, write(tmp_path, "patients.csv", cut), skip_invalid=True, progress=False, today=TODAY
    )
    assert report.added == 1 and count(store, PatientPhone) == 1
    with store.sessions() as s:
        assert s.get(Patient, "P2") is None
    whole = PATIENTS_HEADER + "P3,Cy,Day,202-555-0103,c@x.test,20001,yes,yes,no"
    report = import_patients(store, write(tmp_path, "whole.csv", whole), progress=False, today=TODAY)
    assert report.added == 1 and not report.invalid
    visits = "patient_id,date,amount,department\nP1,2025-03-01,100,hygiene\nP1,2025-03-02,1"
    report = import_visits(store, write(tmp_path, "visits.csv", visits), progress=False, today=TODAY)
    assert not report.imported and [(e.line, e.field) for e in report.invalid] == [(3, "(row)")]
