"""Runs every call of the acceptance suite and prints the pass rate per theme and each failing call.

    python -m tests.calls.report                 # everything, failing calls with their transcripts
    python -m tests.calls.report --theme booking --brief
    python -m tests.calls.report -k dob          # calls whose id contains "dob"

Uses its own embedded Redis and SQLite in a temporary folder (or REDIS_URL's server, database 14); never
stops at a failure. Exit status 0 when every call passes, 1 otherwise.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from tests.calls.harness import EXPECTATIONS, load_calls
from tests.calls.practice import build_world, scratch_dir
from tests.calls.run import run_one


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.calls.report", description=__doc__.splitlines()[0])
    parser.add_argument("--theme", action="append", help="only this theme (or file stem); repeatable")
    parser.add_argument("-k", dest="keyword", help="only calls whose id contains this")
    parser.add_argument("--brief", action="store_true", help="failing calls without their transcripts")
    parser.add_argument("--vocabulary", action="store_true", help="print the expectation keys and stop")
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)  # the product's log lines would interleave with the report
    if args.vocabulary:
        for key, line in EXPECTATIONS.items():
            print(f"{key:24} {line}")
        return 0
    calls = load_calls()
    if args.theme:
        calls = [c for c in calls if c.theme in args.theme or Path(c.file).stem in args.theme]
    if args.keyword:
        calls = [c for c in calls if args.keyword in c.id]
    if not calls:
        print("no calls selected")
        return 1
    with tempfile.TemporaryDirectory(prefix="calls-report-") as tmp:
        home = Path(tmp)
        server = None
        url = os.environ.get("REDIS_URL")
        if url:
            url = url.rsplit("/", 1)[0] + "/14" if url.count("/") > 2 else url + "/14"
        else:
            from receptionist.runtime.embedded_redis import EmbeddedRedis

            server = EmbeddedRedis(home / "redis")
            url = server.ensure_running()
        try:
            started = time.monotonic()
            practice_home = scratch_dir()
            try:
                world = build_world(url, practice_home)
                results = [run_one(world, spec) for spec in calls]
                world.services.close()
            finally:
                shutil.rmtree(practice_home, ignore_errors=True)
            seconds = time.monotonic() - started
        finally:
            if server is not None:
                server.stop()
    by_theme: dict[str, list] = defaultdict(list)
    for r in results:
        by_theme[r.spec.theme].append(r)
    failing = [r for r in results if not r.passed]
    if failing:
        print("FAILING CALLS\n")
        for r in failing:
            print(r.explain(transcript=not args.brief))
            print()
    width = max(len(t) for t in by_theme)
    print(f"PASS RATE PER THEME\n  {'theme':{width}}  {'passed':>16}   {'behaviour only*':>16}")

    def line(name: str, rs: list) -> str:
        ok, behaves = sum(r.passed for r in rs), sum(r.behaves for r in rs)
        return (
            f"  {name:{width}}  {ok:3d}/{len(rs):3d} {100 * ok / len(rs):5.1f}%"
            f"     {behaves:3d}/{len(rs):3d} {100 * behaves / len(rs):5.1f}%"
        )

    for theme, rs in by_theme.items():
        print(line(theme, rs))
    print(line("all", results) + f"   ({seconds:.1f} s)")
    print(
        "  * counting failures that are only a missing new outcome field (triage, identity, language) as passes"
    )
    keys: dict[str, int] = defaultdict(int)
    for r in failing:
        for f in r.failures:
            keys[f.key] += 1
    if keys:
        print(
            "FAILED EXPECTATIONS BY KEY: "
            + ", ".join(f"{k} {n}" for k, n in sorted(keys.items(), key=lambda kv: -kv[1]))
        )
    return 0 if not failing else 1


if __name__ == "__main__":
    sys.exit(main())
