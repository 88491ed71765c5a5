"""The faults benchmark (benchmarks/faults.py) on a small run: two scenarios, two callers each, against the
same calls with no fault. It starts a Redis and a SQLite store of its own (real ones, in a temporary folder)."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_two_fault_scenarios_drop_no_call_and_lose_no_outcome():
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "PRACTICE_FILE")}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "faults.py"), "--quick", "--callers", "2"]
        + ["--only", "sql_outage", "--only", "simultaneous_callbacks"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    record = json.loads(proc.stdout.strip().splitlines()[-1])
    assert record["ok"] is True and record["store"] == "sqlite"
    scenarios = record["scenarios"]
    assert set(scenarios) == {
        "no fault (baseline)",
        "SQL outage for status callbacks",
        "simultaneous in-progress + completed",
    }
    for name, r in scenarios.items():
        assert (r["calls"], r["booked"], r["dropped"], r["lost"]) == (2, 2, 0, 0), name
        assert r["p99_ms"] > 0 and r["p99_ratio"] is not None, name
