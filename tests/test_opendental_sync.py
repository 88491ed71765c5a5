"""`sync opendental` against a real MariaDB holding an Open Dental-shaped practice.

The database comes from OPENDENTAL_TEST_URL (default: the local MariaDB, root, database `test`); each test
works in a database of its own, dropped afterwards. Without MariaDB these tests fail, saying so: they are
never skipped.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from receptionist.config.practice import load_practice
from receptionist.integrations.opendental import OpenDentalUnavailable, sync_opendental
from receptionist.outreach.planner import build_plan
from receptionist.store import Patient, PatientPhone, PatientScore, SyncMark, VisitLine

BASE_URL = os.environ.get("OPENDENTAL_TEST_URL", "mysql+pymysql://root@127.0.0.1:3306/test")
TODAY = dt.date(2026, 12, 1)

SCHEMA = [
    """CREATE TABLE patient (
        PatNum BIGINT PRIMARY KEY, LName VARCHAR(100) NOT NULL DEFAULT '', FName VARCHAR(100) NOT NULL DEFAULT '',
        Birthdate DATE NOT NULL DEFAULT '0001-01-01', HmPhone VARCHAR(30) NOT NULL DEFAULT '',
        WkPhone VARCHAR(30) NOT NULL DEFAULT '', WirelessPhone VARCHAR(30) NOT NULL DEFAULT '',
        Email VARCHAR(100) NOT NULL DEFAULT '', Zip VARCHAR(10) NOT NULL DEFAULT '',
        PatStatus TINYINT NOT NULL DEFAULT 0, Guarantor BIGINT NOT NULL DEFAULT 0,
        TxtMsgOk TINYINT NOT NULL DEFAULT 0, PreferContactMethod TINYINT NOT NULL DEFAULT 0,
        DateTStamp TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP)""",
    """CREATE TABLE procedurecode (
        CodeNum BIGINT PRIMARY KEY, ProcCode VARCHAR(15) NOT NULL, Descript VARCHAR(255) NOT NULL DEFAULT '')""",
    """CREATE TABLE procedurelog (
        ProcNum BIGINT PRIMARY KEY, PatNum BIGINT NOT NULL, ProcDate DATE NOT NULL DEFAULT '0001-01-01',
        ProcFee DOUBLE NOT NULL DEFAULT 0, ProcStatus TINYINT NOT NULL DEFAULT 0, CodeNum BIGINT NOT NULL,
        ClinicNum BIGINT NOT NULL DEFAULT 0, ProvNum BIGINT NOT NULL DEFAULT 0,
        DateTStamp TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP)""",
    """CREATE TABLE commoptout (
        CommOptOutNum BIGINT PRIMARY KEY AUTO_INCREMENT, PatNum BIGINT NOT NULL,
        OptOutSms INT NOT NULL DEFAULT 0, OptOutEmail INT NOT NULL DEFAULT 0)""",
    """CREATE TABLE recall (
        RecallNum BIGINT PRIMARY KEY AUTO_INCREMENT, PatNum BIGINT NOT NULL, RecallTypeNum BIGINT NOT NULL,
        DateDue DATE NOT NULL DEFAULT '0001-01-01', IsDisabled TINYINT NOT NULL DEFAULT 0,
        DateTStamp TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP)""",
]

CODES = [(1, "D0120", "periodic oral evaluation"), (2, "D1110", "prophylaxis - adult"),
         (3, "D2740", "crown - porcelain/ceramic"), (4, "D7140", "extraction, erupted tooth")]  # fmt: skip

# PatNum, LName, FName, Birthdate, WirelessPhone, HmPhone, Email, Zip, PatStatus, Guarantor, TxtMsgOk, PreferContact
PATIENTS = [
    (1, "Rivera", "Ana", "1980-03-04", "(202) 555-0101", "", "ana@example.com", "20001", 0, 1, 1, 0),
    (2, "Rivera", "Luis", "1982-07-09", "202.555.0102", "", "", "20001", 0, 1, 0, 0),
    (3, "Rivera", "Sofia", "2012-01-15", "", "2025550103", "", "20001", 0, 1, 0, 0),
    (4, "Okafor", "Ben", "1950-02-02", "2025550104", "", "ben@example.com", "20002", 5, 4, 0, 0),
    (5, "Chen", "May", "1975-05-05", "2025550105", "", "may@example.com", "20003", 0, 5, 1, 0),
    (6, "Stone", "Al", "1990-06-06", "2025550106", "", "", "20004", 2, 6, 2, 1),
    (7, "Park", "Jo", "0001-01-01", "not a number", "", "bad-email", "2000", 3, 7, 0, 0),
]


def _procedures() -> list[tuple]:
    """Years of recall visits for the active patients, a crown or two, a planned (not done) procedure."""
    rows, num = [], 100
    for pat, since in ((1, 2019), (2, 2020), (3, 2021), (4, 2016), (5, 2018), (6, 2015)):
        for year in range(since, 2026 if pat not in (4, 6) else 2022):
            for month, code, fee in ((3, 1, 45.0), (3, 2, 95.5), (9, 2, 95.5)):
                num += 1
                rows.append((num, pat, f"{year}-{month:02d}-10", fee, 2, code, 1 if pat == 5 else 0, 1))
    rows.append((9001, 1, "2024-05-20", 1200.0, 2, 3, 0, 2))  # a crown
    rows.append((9002, 2, "2027-01-05", 150.0, 1, 4, 0, 2))  # treatment-planned: not a visit
    return rows


@pytest.fixture
def od_url():
    """A fresh database holding the Open Dental tables, on the MariaDB at OPENDENTAL_TEST_URL."""
    base = make_url(BASE_URL)
    name = f"od_sync_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base)
    try:
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
    except OperationalError as exc:
        admin.dispose()
        pytest.fail(
            f"these tests need MariaDB (or MySQL) at {base.render_as_string(hide_password=True)} "
            f"(set OPENDENTAL_TEST_URL): {exc.orig}",
            pytrace=False,
        )
    url = base.set(database=name).render_as_string(hide_password=False)
    engine = create_engine(url)
    with engine.begin() as conn:
        for statement in SCHEMA:
            conn.execute(text(statement))
        conn.execute(text("INSERT INTO procedurecode VALUES (:n, :c, :d)"), [
            {"n": n, "c": c, "d": d} for n, c, d in CODES])  # fmt: skip
        conn.execute(
            text(
                "INSERT INTO patient (PatNum, LName, FName, Birthdate, WirelessPhone, HmPhone, Email, Zip, "
                "PatStatus, Guarantor, TxtMsgOk, PreferContactMethod, DateTStamp) VALUES "
                "(:a, :b, :c, :d, :e, :f, :g, :h, :i, :j, :k, :l, '2026-11-01 08:00:00')"
            ),
            [dict(zip("abcdefghijkl", row, strict=True)) for row in PATIENTS],
        )
        conn.execute(
            text(
                "INSERT INTO procedurelog (ProcNum, PatNum, ProcDate, ProcFee, ProcStatus, CodeNum, ClinicNum, "
                "ProvNum, DateTStamp) VALUES (:a, :b, :c, :d, :e, :f, :g, :h, '2026-11-01 08:00:00')"
            ),
            [dict(zip("abcdefgh", row, strict=True)) for row in _procedures()],
        )
        conn.execute(text("INSERT INTO commoptout (PatNum, OptOutSms, OptOutEmail) VALUES (5, 1, 1)"))
    yield url, engine
    engine.dispose()
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE {name}"))
    admin.dispose()


def _patients(store) -> dict[str, Patient]:
    with store.session() as s:
        return {p.id: p for p in s.scalars(select(Patient))}


def test_first_sync_reads_the_practice(store, od_url):
    url, _ = od_url
    report = sync_opendental(store, url, today=TODAY, clinics={0: "main", 1: "north"})
    assert report.full and report.summary().startswith("open dental (full)")
    procs = _procedures()
    done = [p for p in procs if p[4] == 2]
    assert report.patients["added"] == len(PATIENTS)
    assert report.visits["read"] == len(procs) and report.visits["added"] == len(done)
    assert report.locations["north"] == sum(1 for p in done if p[6] == 1)
    got = _patients(store)
    assert {k: got[k].status for k in got} == {
        "1": "active", "2": "active", "3": "active", "4": "deceased", "5": "active",
        "6": "inactive", "7": "inactive"}  # fmt: skip
    # family links: the guarantor's own record has none, the members point at it
    assert got["1"].guarantor_id is None and got["2"].guarantor_id == "1" and got["3"].guarantor_id == "1"
    assert got["7"].date_of_birth is None and got["1"].date_of_birth == dt.date(1980, 3, 4)
    assert got["7"].email == "" and got["7"].zip == "" and not got["7"].has_contact
    assert got["1"].consent_sms and not got["2"].consent_sms
    # commoptout on both channels, TxtMsgOk = No, DoNotCall
    assert got["5"].contact_preferences == {"text": False, "email": False}
    assert got["6"].contact_preferences == {"text": False, "call": False}
    with store.session() as s:
        phones = dict(s.execute(select(PatientPhone.patient_id, PatientPhone.phone)).all())
        crown = s.scalars(select(VisitLine).where(VisitLine.line_key == "od:9001")).one()
        planned = s.scalars(select(VisitLine).where(VisitLine.line_key == "od:9002")).first()
        marks = dict(s.execute(select(SyncMark.table_name, SyncMark.mark)).all())
    assert phones["2"] == "+12025550102" and phones["3"] == "+12025550103" and "7" not in phones
    assert (crown.amount_cents, crown.paid_cents, crown.department) == (
        120000,
        120000,
        "d2740 crown - porcelain/ceramic",
    )
    assert planned is None
    assert marks == {"patient": dt.datetime(2026, 11, 1, 8), "procedurelog": dt.datetime(2026, 11, 1, 8)}


def test_incremental_sync_reads_only_the_changed_rows(store, od_url):
    url, engine = od_url
    sync_opendental(store, url, today=TODAY)
    again = sync_opendental(store, url, today=TODAY)
    # nothing changed since the mark: nothing read
    assert again.patients["read"] == again.visits["read"] == 0 and not again.full
    with engine.begin() as conn:
        later = "'2026-11-20 09:30:00'"
        conn.execute(
            text(
                f"UPDATE patient SET Zip='30301', WirelessPhone='2025550199', DateTStamp={later} WHERE PatNum=2"
            )
        )
        conn.execute(text(f"UPDATE patient SET PatStatus=5, DateTStamp={later} WHERE PatNum=5"))
        conn.execute(text(f"UPDATE procedurelog SET ProcFee=1350, DateTStamp={later} WHERE ProcNum=9001"))
        conn.execute(text(f"UPDATE procedurelog SET ProcStatus=6, DateTStamp={later} WHERE ProcNum=101"))
        conn.execute(
            text(f"INSERT INTO procedurelog VALUES (9100, 3, '2026-11-19', 95.5, 2, 2, 0, 1, {later})")
        )
        conn.execute(text("INSERT INTO commoptout (PatNum, OptOutSms, OptOutEmail) VALUES (1, 4, 0)"))
        # the PMS 'undoes' an opt-out and a death: neither is undone in the store
        conn.execute(text("DELETE FROM commoptout WHERE PatNum = 5"))
    report = sync_opendental(store, url, today=TODAY)
    assert report.patients["read"] == 2 and report.patients["updated"] == 2
    assert report.visits["read"] == 3
    assert (report.visits["added"], report.visits["updated"], report.visits["removed"]) == (1, 1, 1)
    got = _patients(store)
    assert got["2"].zip == "30301" and got["2"].previous_zip == "20001" and got["2"].moved_away
    assert got["5"].status == "deceased" and got["5"].contact_preferences == {"text": False, "email": False}
    assert got["1"].contact_preferences == {"text": False}
    with store.session() as s:
        lines = dict(s.execute(select(VisitLine.line_key, VisitLine.amount_cents)).all())
        mark = s.scalar(select(SyncMark.mark).where(SyncMark.table_name == "procedurelog"))
    assert lines["od:9001"] == 135000 and "od:101" not in lines and lines["od:9100"] == 9550
    assert mark == dt.datetime(2026, 11, 20, 9, 30)
    with engine.begin() as conn:
        conn.execute(text("UPDATE patient SET PatStatus=0, DateTStamp='2026-11-21 10:00:00' WHERE PatNum=5"))
    sync_opendental(store, url, today=TODAY)
    assert _patients(store)["5"].status == "deceased"
    full = sync_opendental(store, url, today=TODAY, full=True)
    assert full.patients["read"] == len(PATIENTS) and full.visits["read"] == len(_procedures()) + 1
    assert full.patients["added"] == full.visits["added"] == full.visits["updated"] == 0


def test_recall_due_dates_are_the_earliest_enabled_recall_incrementally(store, od_url):
    """A patient's recall due date is the earliest DateDue of their enabled recall rows; a later change to
    the rows is read by the next incremental sync, and a patient whose rows are all disabled has none."""
    url, engine = od_url
    stamp = "'2026-11-01 08:00:00'"
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO recall (PatNum, RecallTypeNum, DateDue, IsDisabled, DateTStamp) VALUES "
                f"(1, 1, '2026-12-20', 0, {stamp}), (1, 2, '2026-12-10', 0, {stamp}), "
                f"(2, 1, '2027-01-05', 0, {stamp}), (2, 2, '2026-11-01', 1, {stamp}), "
                f"(3, 1, '0001-01-01', 0, {stamp})"
            )
        )
    first = sync_opendental(store, url, today=TODAY)
    got = _patients(store)
    assert first.recalls == 3
    assert got["1"].recall_due_on == dt.date(2026, 12, 10)  # the earlier of its two types
    assert got["2"].recall_due_on == dt.date(2027, 1, 5)  # the disabled row does not count
    assert got["3"].recall_due_on is None and got["5"].recall_due_on is None
    assert sync_opendental(store, url, today=TODAY).recalls == 0  # nothing changed: nothing read
    with engine.begin() as conn:
        conn.execute(text("UPDATE recall SET IsDisabled=1, DateTStamp='2026-11-20 09:30:00' WHERE PatNum=1"))
    assert sync_opendental(store, url, today=TODAY).recalls == 1
    got = _patients(store)
    assert got["1"].recall_due_on is None and got["2"].recall_due_on == dt.date(2027, 1, 5)


def test_an_unreachable_database_syncs_nothing(store):
    with pytest.raises(OpenDentalUnavailable) as caught:
        sync_opendental(store, "mysql+pymysql://reader:secret@127.0.0.1:1/opendental", today=TODAY)
    assert "secret" not in str(caught.value) and "***" in str(caught.value)
    with pytest.raises(OpenDentalUnavailable):
        sync_opendental(store, "not a url", today=TODAY)
    assert _patients(store) == {}


def test_sync_then_score_ranks_the_patients(run, od_url, store):
    url, _ = od_url
    synced = run("sync", "opendental", "--url", url)
    assert synced.returncode == 0, synced.stderr
    assert f"patients {len(PATIENTS)} read, {len(PATIENTS)} added" in synced.stdout
    again = run("sync", "opendental", "--url", url)
    assert again.returncode == 0 and ", 0 added, 0 updated" in again.stdout
    scored = run("score", "--as-of", "2026-12-01", "--json")
    assert scored.returncode == 0, scored.stderr
    summary = json.loads(scored.stdout)
    assert summary["patients"] == len(PATIENTS)
    with store.session() as s:
        tiers = dict(s.execute(select(PatientScore.patient_id, PatientScore.tier)).all())
    # Ana: seven years of recalls and a crown; Jo has no visits at all
    assert tiers["1"] == "high" and tiers["7"] == "low"
    # the reactivation plan: the deceased (4) and the inactive (6) are never in it, however lapsed
    plan = build_plan(store, load_practice(), dt.datetime(2026, 12, 1, 15, tzinfo=dt.UTC))
    planned = {c.patient_id for c in plan.contacts}
    assert "1" in planned and not planned & {"4", "6"}


def test_without_a_url_the_command_says_what_is_needed(run):
    result = run("sync", "opendental")
    assert result.returncode != 0 and "[opendental]" in result.stderr


def test_the_practice_file_names_the_database_and_the_clinics(tmp_path):
    from importlib import resources

    from receptionist.config.practice import PracticeFileError

    demo = resources.files("receptionist.config").joinpath("demo_practice.toml").read_text()
    location = load_practice().main.id
    good = tmp_path / "good.toml"
    good.write_text(
        demo
        + f'\n[opendental]\ndatabase_url = "mysql+pymysql://reader@pms/od"\nclinics = {{ "0" = "{location}" }}\n'
    )
    link = load_practice(good).opendental
    assert link is not None and link.database_url == "mysql+pymysql://reader@pms/od"
    assert link.clinics == {0: location}
    assert load_practice().opendental is None
    bad = tmp_path / "bad.toml"
    bad.write_text(demo + '\n[opendental]\nclinics = { "3" = "nowhere" }\n')
    with pytest.raises(PracticeFileError, match="nowhere"):
        load_practice(bad)
