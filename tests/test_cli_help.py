"""The command line's rough edges: help everywhere, `dev.py --help`, the sign-in URL of the server that really
runs, and an import row that reports every bad field."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click

from receptionist.cli import cli

ROOT = Path(__file__).resolve().parent.parent
PATIENTS = "patient_id,first_name,last_name,phone,email,zip,consent_voice,consent_sms,opted_out\n"


def _walk(group: click.Group, path: tuple[str, ...] = ()):
    for name, command in sorted(group.commands.items()):
        yield (*path, name), command
        if isinstance(command, click.Group):
            yield from _walk(command, (*path, name))


def test_every_command_has_help_text():
    """Each command and group in the tree has a help line, and so does each of its options."""
    missing = []
    commands = list(_walk(cli))
    assert len(commands) > 15  # the walk reaches the subcommands
    for path, command in commands:
        if not (command.help or command.short_help):
            missing.append(" ".join(path))
        for param in command.params:
            if isinstance(param, click.Option) and not param.help:
                missing.append(f"{' '.join(path)} {param.opts[0]}")
    assert missing == []


def test_dev_help_exits_0():
    """`python3 dev.py --help` prints the usage and exits 0; an unknown command is still an error."""
    ok = subprocess.run([sys.executable, "dev.py", "--help"], cwd=ROOT, capture_output=True, text=True)
    assert ok.returncode == 0 and "dev.py up" in ok.stdout and "dev.py test" in ok.stdout
    bad = subprocess.run([sys.executable, "dev.py", "nope"], cwd=ROOT, capture_output=True, text=True)
    assert bad.returncode == 2 and "dev.py up" in bad.stderr


def test_users_add_prints_the_running_servers_url(run, tmp_path):
    """`users add` names the sign-in URL of the server `receptionist up` runs (whatever its port), else
    PORT's; PUBLIC_BASE_URL wins over both."""
    home = tmp_path / "home"
    home.mkdir(parents=True, exist_ok=True)
    first = run("users", "add", "alice1", "--password-stdin", input="a long password 1\n")
    assert first.returncode == 0, first.stderr
    assert "http://127.0.0.1:8000/login" in first.stdout
    (home / "server_url").write_text("http://127.0.0.1:8123\n")
    second = run("users", "add", "bobby2", "--password-stdin", input="a long password 2\n")
    assert second.returncode == 0, second.stderr
    assert "http://127.0.0.1:8123/login" in second.stdout


def test_a_bad_row_reports_every_bad_field(run, tmp_path):
    """One patient row with a bad phone, zip, email and consent flag: all four are reported, line and field."""
    (tmp_path / "patients.csv").write_text(PATIENTS + "P1,Ann,Lee,nope,not-an-email,2003,maybe,no,no\n")
    r = run("import", "patients", "patients.csv")
    assert r.returncode == 1
    for field in ("phone", "email", "zip", "consent_voice"):
        assert f"patients.csv:2: {field}:" in r.stderr, (field, r.stderr)
    assert "Traceback" not in r.stderr


def test_a_bad_visit_row_reports_every_bad_field(run, tmp_path):
    """A visit row with a bad date, amount and no department reports each of them."""
    (tmp_path / "visits.csv").write_text("patient_id,date,amount,department\nP1,2020-13-01,ten,\n")
    r = run("import", "visits", "visits.csv")
    assert r.returncode == 1
    for field in ("date", "amount", "department"):
        assert f"visits.csv:2: {field}:" in r.stderr, (field, r.stderr)


def test_score_as_of_a_past_day_warns(run, tmp_path):
    """`score --as-of <past day>` publishes as the contract says, with a warning on stderr (the JSON on stdout
    stays clean); scoring as of today warns of nothing."""
    import json

    (tmp_path / "patients.csv").write_text(PATIENTS + "P1,Margaret,Hill,(202) 555-0143,,20036,yes,yes,no\n")
    lines = ["patient_id,date,amount,department"]
    lines += [f"P1,{year}-02-10,160,hygiene" for year in range(2019, 2026)]
    (tmp_path / "visits.csv").write_text("\n".join(lines) + "\n")
    assert run("import", "patients", "patients.csv").returncode == 0
    assert run("import", "visits", "visits.csv").returncode == 0
    past = run("score", "--as-of", "2026-01-05", "--json")
    assert past.returncode == 0, past.stderr
    assert json.loads(past.stdout)["as_of"] == "2026-01-05"
    assert "warning: scored as of 2026-01-05" in past.stderr and "live tiers" in past.stderr
    today = run("score")
    assert today.returncode == 0 and "warning" not in today.stderr


def test_a_one_shot_command_stops_the_embedded_redis_it_started(tmp_path):
    """Without REDIS_URL, a command that started the embedded Redis stops it when it ends; one that found it
    running leaves it running."""
    import os

    from receptionist.runtime.embedded_redis import EmbeddedRedis

    home = tmp_path / "var"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "PRACTICE_FILE")}
    env["RECEPTIONIST_HOME"] = str(home)

    def stats():
        return subprocess.run(
            [sys.executable, "-m", "receptionist.cli", "stats"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )

    server = EmbeddedRedis(home)
    first = stats()
    assert first.returncode == 0, first.stderr
    assert (home / "redis").is_dir()  # it did start one
    assert server.url is None  # and stopped it again
    try:
        url = server.ensure_running()
        again = stats()
        assert again.returncode == 0, again.stderr
        assert server.url == url  # found running: left running
    finally:
        server.stop()
