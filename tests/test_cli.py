"""The console script as a user runs it: exit codes, one-line errors, JSON output."""

import csv
import json
import os
import subprocess
import sys

import pytest

PATIENTS = "patient_id,first_name,last_name,phone,email,zip,consent_voice,consent_sms,opted_out\n"


def test_import_score_export_round_trip(run, tmp_path):
    """import patients + visits, score --json and export scores work on CSV files as the contract says."""
    (tmp_path / "patients.csv").write_text(
        PATIENTS + "P1,Margaret,Hill,(202) 555-0143,,20036,yes,yes,no\n"
        "P2,Tom,Reed,202-555-0177,,20036,no,yes,no\n"
    )
    lines = ["patient_id,date,amount,department"]
    for year in range(2019, 2026):
        lines += [f'P1,{year}-02-10,"$1,200.00",restorative', f"P1,{year}-08-10,160,hygiene"]
    lines += ["P2,2021-05-01,90,hygiene", "P2,2022-05-01,95,hygiene"]
    (tmp_path / "visits.csv").write_text("\n".join(lines) + "\n")
    r = run("import", "patients", "patients.csv")
    assert r.returncode == 0, r.stderr
    assert "2 added" in r.stdout
    r = run("import", "visits", "visits.csv")
    assert r.returncode == 0 and "16 added" in r.stdout, r.stderr
    r = run("score", "--as-of", "2026-06-01", "--json")
    assert r.returncode == 0, r.stderr
    body = json.loads(r.stdout)
    assert body["as_of"] == "2026-06-01" and body["patients"] == 2
    assert body["tiers"]["high"] == 1 and body["lapsed"] == 1
    assert body["model"]["time_unit"] == "days"
    r = run("export", "scores", "--out", "scores.csv")
    assert r.returncode == 0, r.stderr
    text = (tmp_path / "scores.csv").read_text().splitlines()
    assert text[0].startswith("patient_id,phone,tier,plv")
    assert any(line.startswith("P1,+12025550143,high,") for line in text)


def test_bad_rows_exit_1_with_lines_and_no_traceback(run, tmp_path):
    """A file with bad rows exits 1, names file, line and field for each, and prints no traceback."""
    (tmp_path / "patients.csv").write_text(
        PATIENTS + "P1,Ann,Lee,nope,,20036,yes,no,no\nP2,Bo,Li,2025550100,,2003,yes,no,no\n"
    )
    r = run("import", "patients", "patients.csv")
    assert r.returncode == 1
    assert "patients.csv:2: phone:" in r.stderr and "patients.csv:3: zip:" in r.stderr
    assert "nothing imported" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("import", "visits", "missing.csv"), "missing.csv: cannot open"),
        (("export", "scores", "--out", "out.csv"), "no score run yet"),
        (("export", "scores", "--out", "no/such/dir/out.csv"), "does not exist"),
        (("score",), "import visits first"),
        (("call", "--from", "not a number"), "--from/--to"),
        (("score", "--as-of", "yesterday"), "Invalid value"),
    ],
)
def test_user_errors_are_one_line(run, args, message):
    """User errors exit 1 with a one-line message."""
    r = run(*args)
    assert r.returncode == 1
    assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_unreachable_database_is_a_clear_error(tmp_path, redis_url):
    """A DATABASE_URL that cannot be reached is a one-line error, not a traceback."""
    env = {
        **os.environ,
        "RECEPTIONIST_HOME": str(tmp_path),
        "REDIS_URL": redis_url,
        "DATABASE_URL": "postgresql://nobody:secret@127.0.0.1:1/none",
    }
    r = subprocess.run(
        [sys.executable, "-m", "receptionist.cli", "score"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 1 and "cannot open the store" in r.stderr
    assert "secret" not in r.stderr and "Traceback" not in r.stderr


def test_bad_practice_file_is_a_clear_error(tmp_path, redis_url, database_url):
    """A broken PRACTICE_FILE is named in a one-line error."""
    bad = tmp_path / "practice.toml"
    bad.write_text("[[locations]]\nphone='nope'\n")
    env = {
        **os.environ,
        "RECEPTIONIST_HOME": str(tmp_path),
        "REDIS_URL": redis_url,
        "DATABASE_URL": database_url,
        "PRACTICE_FILE": str(bad),
    }
    r = subprocess.run(
        [sys.executable, "-m", "receptionist.cli", "score"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 1 and "locations[0].phone" in r.stderr and "Traceback" not in r.stderr


def test_no_repeat_visits_scores_on_each_patients_own_mean_spend(run, tmp_path):
    """A practice where nobody has come back for a paid visit yet is still scored: the spend per visit is each
    patient's own mean, and the run summary says so (text and --json); the run is stored and exported."""
    (tmp_path / "visits.csv").write_text(
        "patient_id,date,amount,department\n"
        "P1,2025-01-02,90,hygiene\nP1,2025-03-02,0,hygiene\nP1,2025-09-02,0,hygiene\n"  # free follow-ups
        "P2,2025-02-03,120,hygiene\nP2,2025-02-03,30,hygiene\n"  # one visit day of $150
        "P3,2025-04-01,200,hygiene\nP3,2025-10-01,0,hygiene\nP4,2025-05-05,120,hygiene\n"
        "P4,2025-11-20,0,hygiene\nP5,2025-06-01,80,hygiene\n"
    )
    assert run("import", "visits", "visits.csv").returncode == 0
    r = run("score", "--as-of", "2026-01-01")
    assert r.returncode == 0, r.stderr
    assert "note: nobody has a repeat visit yet" in r.stdout and "own mean spend" in r.stdout
    r = run("score", "--as-of", "2026-01-01", "--json")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["patients"] == 5 and summary["model"]["spend_model"] == "own_mean"
    assert summary["model"]["gamma_gamma"] is None
    assert summary["notes"] and "own mean spend" in summary["notes"][0]
    assert run("export", "scores", "--out", "scores.csv").returncode == 0
    with (tmp_path / "scores.csv").open() as fh:
        rows = {row["patient_id"]: row for row in csv.DictReader(fh)}
    # expected value = expected visits x the patient's own mean spend per visit day
    for pid, mean in (("P1", 30.0), ("P2", 150.0), ("P3", 100.0), ("P5", 80.0)):
        visits, value = float(rows[pid]["expected_visits_12m"]), float(rows[pid]["expected_value_12m"])
        assert visits > 0.1
        assert value == pytest.approx(visits * mean, rel=0.01)


def test_demo_refuses_a_store_with_patients(run, tmp_path):
    """demo loads a practice, and refuses to mix itself into a store that already has patients."""
    r = run("demo", "--patients", "50", "--seed", "3")
    assert r.returncode == 0, r.stderr
    assert "50 added" in r.stdout
    r = run("demo", "--patients", "50")
    assert r.returncode == 1 and "already holds 50 patients" in r.stderr


@pytest.mark.parametrize("command", [["up"], ["stats"], ["call", "--from", "+12025550177"]])
def test_an_unusable_data_folder_is_one_line(tmp_path, command):
    """A data folder that cannot be created or written (here a file is in the way; a read-only mount is the
    same) stops any command with one line naming RECEPTIONIST_HOME, exit status 1, never a traceback."""
    (tmp_path / "file").write_text("")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["RECEPTIONIST_HOME"] = str(tmp_path / "file" / "var")
    done = subprocess.run(
        [sys.executable, "-m", "receptionist.cli", *command],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        f"receptionist: RECEPTIONIST_HOME: the data folder {tmp_path / 'file' / 'var'} cannot be used "
        "(Not a directory); point RECEPTIONIST_HOME at a folder this account can write"
    ]
