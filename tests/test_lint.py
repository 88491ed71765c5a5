"""The code style the project holds itself to: ruff on everything, mypy strict on the scoring maths."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_finds_nothing():
    """ruff (configured in pyproject.toml) reports no problems."""
    r = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "receptionist", "scoring", "tests", "benchmarks", "dev.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stdout + r.stderr


def test_ruff_format_leaves_everything_as_it_is():
    """The code is laid out by `ruff format` (run it before committing)."""
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "format",
            "--check",
            "receptionist",
            "scoring",
            "tests",
            "benchmarks",
            "dev.py",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stdout + r.stderr


def test_mypy_strict():
    """mypy in strict mode accepts scoring/ and receptionist/ (but the short list of modules pyproject.toml
    still exempts, each with its reason)."""
    r = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
