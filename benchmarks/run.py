#!/usr/bin/env python3
"""Benchmarks, each against a baseline measured in the same run; prints figures and ratios.

    .venv/bin/python benchmarks/run.py            # full size (scoring: 1,000,000 patients, ~9.4M visits)
    .venv/bin/python benchmarks/run.py --quick    # small sizes, as CI runs them
    .venv/bin/python benchmarks/run.py --only scoring

Every stage runs as its own process so its wall time and peak memory (max RSS, from the OS) are its own.
The `lifetimes` baseline runs in a virtualenv of its own (benchmarks/.venv-lifetimes, made on first use)
because it needs older pandas/numpy than the product.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
LIFETIMES_VENV = ROOT / "benchmarks" / ".venv-lifetimes"
LIFETIMES_PINS = [
    "lifetimes==0.11.3",
    "pandas==1.5.3",
    "numpy==1.26.4",
    "scipy==1.11.4",
    "autograd==1.6.2",
    "dill==0.3.8",
]


def run_stage(label: str, args: list[str], env: dict[str, str], results: list) -> str:
    """Run one stage as a child process; record its wall seconds and its own peak RSS (from wait4)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT
    )
    chunks: dict[str, str] = {}
    readers = [
        threading.Thread(target=lambda n, f: chunks.__setitem__(n, f.read()), args=(n, f))
        for n, f in (("out", proc.stdout), ("err", proc.stderr))
    ]
    for t in readers:
        t.start()
    _, status, usage = os.wait4(proc.pid, 0)
    for t in readers:
        t.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stdout.close()
    proc.stderr.close()
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.stderr.write(chunks.get("err", "")[-4000:])
        raise SystemExit(f"stage failed: {label}")
    results.append((label, wall, usage.ru_maxrss / 1024))
    return chunks.get("out", "")


def lifetimes_python() -> str | None:
    """The baseline's own environment; None (and a note) when it cannot be installed here."""
    py = LIFETIMES_VENV / "bin" / "python"
    if not py.exists():
        print("  (making the lifetimes baseline environment ...)", flush=True)
        subprocess.run([PY, "-m", "venv", "--clear", str(LIFETIMES_VENV)], check=True)
        r = subprocess.run(
            [str(py), "-m", "pip", "install", "--quiet", *LIFETIMES_PINS], capture_output=True, text=True
        )
        if r.returncode != 0:
            print("  lifetimes baseline unavailable (install failed):", r.stderr.strip().splitlines()[-1:])
            import shutil

            shutil.rmtree(LIFETIMES_VENV, ignore_errors=True)
            return None
    return str(py)


# Gamma-Gamma parameters of the CDNOW reference fit (Fader, Hardie & Lee 2005), spend scaled to dollars x5.
GG_TRUE = {"p": 6.25, "q": 3.74, "v": 15.44 * 5}


def simulate_spend(npz: str) -> None:
    """Replace the practice's repeat spend by spend drawn from the Gamma-Gamma model for the same patients.

    On the synthetic practice the Gamma-Gamma likelihood peaks at the boundary (p -> infinity): lifetimes
    does not converge and no two fits can agree to 3 digits, so the spend model is compared on data it fits.
    """
    import numpy as np

    data = dict(np.load(npz))
    rng = np.random.default_rng(7)
    x = data["frequency"]
    repeat = x > 0
    nu = rng.gamma(GG_TRUE["q"], 1.0 / GG_TRUE["v"], size=x.size)
    spend = np.zeros(x.size)
    spend[repeat] = rng.gamma(GG_TRUE["p"] * x[repeat], 1.0 / (nu[repeat] * x[repeat]))
    data["monetary"] = spend
    np.savez(npz, **data)


def bench_scoring(quick: bool) -> None:
    patients = 20_000 if quick else 1_000_000
    print(f"\n== scoring end to end: {patients:,} patients")
    results: list[tuple[str, float, float]] = []
    with tempfile.TemporaryDirectory(prefix="rcp-bench-") as tmp:
        home = Path(tmp) / "home"
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "PRACTICE_FILE")}
        env["RECEPTIONIST_HOME"] = str(home)
        env["OPENBLAS_NUM_THREADS"] = (
            "1"  # both fits single-threaded: threaded BLAS only adds noise at this size
        )
        as_of = dt.date(2026, 11, 1)
        gen = (
            "import datetime as dt, sys; from receptionist.simulation import synth; "
            f"p = synth.generate(n_patients={patients}, seed=7, as_of=dt.date(2026, 11, 1)); "
            f"synth.write_patients_csv(p, '{tmp}/patients.csv'); synth.write_visits_csv(p, '{tmp}/visits.csv'); "
            "print(len(p.visit_day))"
        )
        try:
            stages, ours, theirs = _scoring_stages(tmp, env, gen, as_of, results)
        finally:
            subprocess.run([PY, "-m", "receptionist.cli", "redis", "stop"], env=env, capture_output=True)
    _print_scoring(stages, ours, theirs, results)


def _scoring_stages(tmp: str, env: dict[str, str], gen: str, as_of: dt.date, results: list) -> tuple:
    lines = run_stage("generate the practice's CSV exports (not product code)", [PY, "-c", gen], env, results)
    print(f"  {int(lines):,} visit lines generated")
    cli = [PY, "-m", "receptionist.cli"]
    run_stage("import patients", [*cli, "import", "patients", f"{tmp}/patients.csv"], env, results)
    run_stage("import visits", [*cli, "import", "visits", f"{tmp}/visits.csv"], env, results)
    npz = f"{tmp}/features.npz"
    out = run_stage(
        "score: load + features..tiers + publish (one process)",
        [PY, "benchmarks/score_stages.py", as_of.isoformat(), npz],
        env,
        results,
    )
    stages = json.loads(out)
    simulate_spend(npz)
    ours = json.loads(
        run_stage("model fit + predict, ours", [PY, "benchmarks/model_fit.py", "ours", npz], env, results)
    )
    lt_py = lifetimes_python()
    theirs = None
    if lt_py:
        env_lt = {**env, "PYTHONWARNINGS": "ignore"}  # lifetimes/autograd warn on every overflow they survive
        theirs = json.loads(
            run_stage(
                "model fit + predict, lifetimes",
                [lt_py, "benchmarks/model_fit.py", "lifetimes", npz],
                env_lt,
                results,
            )
        )
    return stages, ours, theirs


def _print_scoring(stages: dict, ours: dict, theirs: dict | None, results: list) -> None:
    print(
        f"  patients {stages['patients']:,}, visit days {stages['visit_days']:,}, "
        f"phones published {stages['published']:,}"
    )
    print(f"  {'process':58s} {'wall s':>8s} {'peak MB':>9s}")
    for label, wall, peak in results:
        print(f"  {label:58s} {wall:8.2f} {peak:9.0f}")
    print("  inside the score process:")
    for label, seconds in stages["times"].items():
        print(f"    {label:56s} {seconds:8.2f}")
    if theirs:
        o = ours["fit"] + ours["predict"]
        t = theirs["fit"] + theirs["predict"]
        print(
            f"  model fit+predict: ours {o:.2f} s, lifetimes {t:.2f} s, ratio lifetimes/ours = {t / o:.1f}x"
        )
        if theirs.get("note"):
            print(f"  note: {theirs['note']}")
        print(
            "  (BG/NBD on the practice's visits; Gamma-Gamma on repeat spend simulated from the model with "
            f"p={GG_TRUE['p']}, q={GG_TRUE['q']}, v={GG_TRUE['v']:.1f} for the same patients: see simulate_spend)"
        )
        print(f"  {'param':6s} {'ours':>12s} {'lifetimes':>12s}  same to 3 significant digits")
        for k in ("r", "alpha", "a", "b", "p", "q", "v"):
            a, b = ours["params"][k], theirs["params"][k]
            same = f"{a:.3g}" == f"{b:.3g}"
            print(f"  {k:6s} {a:12.5g} {b:12.5g}  {'yes' if same else 'NO'}")
    else:
        print(f"  model fit+predict: ours {ours['fit'] + ours['predict']:.2f} s (no lifetimes baseline)")


ALWAYS_OPEN = """
[practice]
name = "Benchmark Dental"
timezone = "America/New_York"

[[locations]]
id = "main"
name = "Benchmark Dental"
phone = "+12025550100"
timezone = "America/New_York"
address = "1 Main Street"
staff_numbers = ["+12025550111", "+12025550112"]
providers = ["Dr. Rivera", "Hygienist Patel"]

[locations.hours]
mon = "00:00-23:59"
tue = "00:00-23:59"
wed = "00:00-23:59"
thu = "00:00-23:59"
fri = "00:00-23:59"
sat = "00:00-23:59"
sun = "00:00-23:59"
"""


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(app: str, env: dict[str, str], extra: list[str]) -> tuple[subprocess.Popen, str]:
    import urllib.error
    import urllib.request

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**env, "PUBLIC_BASE_URL": base, "PORT": str(port)}
    proc = subprocess.Popen(
        [PY, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", *GUNICORN, *extra, app],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(base + "/voice/inbound", data=b"", timeout=1).close()
            return proc, base
        except urllib.error.HTTPError:
            return proc, base  # it answers (the app's 403 for an unsigned request): up
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"{app} did not start")


GUNICORN = ["--workers", "2", "--threads", "4", "--worker-class", "gthread"]


def bench_inbound(quick: bool) -> None:
    seconds = 2.0 if quick else 5.0  # per round
    rounds = 5  # each a floor run then an app run, back to back: a pair shares the machine's mood
    concurrency = 16
    print(
        f"\n== inbound webhooks: gunicorn {' '.join(GUNICORN)}, concurrency {concurrency}, "
        f"{rounds} rounds of {seconds:.0f} s per server, alternating"
    )
    import csv

    with tempfile.TemporaryDirectory(prefix="rcp-bench-") as tmp:
        home = Path(tmp) / "home"
        practice = Path(tmp) / "practice.toml"
        practice.write_text(ALWAYS_OPEN)
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        env.update(RECEPTIONIST_HOME=str(home), PRACTICE_FILE=str(practice))
        cli = [PY, "-m", "receptionist.cli"]
        # enough patients that each number calls about once: the AI hands a third call in a day to staff
        for args in (
            ["demo", "--patients", "30000"],
            ["score"],
            ["export", "scores", "--out", f"{tmp}/s.csv"],
        ):
            subprocess.run([*cli, *args], env=env, check=True, capture_output=True)
        with open(f"{tmp}/s.csv") as fh:
            rows = list(csv.DictReader(fh))
        high = [r["phone"] for r in rows if r["tier"] == "high" and r["phone"]][:10_000]
        low = [r["phone"] for r in rows if r["tier"] == "low" and r["phone"]][:10_000]
        unknown = [f"+1312555{i:04d}" for i in range(10_000)]
        mix = [p for trio in zip(high, low, unknown, strict=False) for p in trio]
        Path(f"{tmp}/mix.json").write_text(json.dumps({"from": mix, "to": "+12025550100"}))
        redis_url = subprocess.run(
            [*cli, "redis", "url"], env=env, check=True, capture_output=True, text=True
        ).stdout.strip()
        env["REDIS_URL"] = redis_url
        from receptionist.config.settings import Settings

        token = Settings(receptionist_home=home).auth_token  # the local-mode token the servers will read
        servers: list[subprocess.Popen] = []
        results: dict[str, list[dict]] = {"app": [], "floor": []}
        try:
            app, app_base = _serve("receptionist.web:create_app()", env, [])
            servers.append(app)
            floor, floor_base = _serve(
                "floor_app:create_app()", env, ["--pythonpath", str(ROOT / "benchmarks")]
            )
            servers.append(floor)
            for base in (floor_base, app_base):  # warm-up, not counted
                _load(base, token, f"{tmp}/mix.json", concurrency, 1.0)
            for _ in range(rounds):
                for name, base in (("floor", floor_base), ("app", app_base)):
                    results[name].append(_load(base, token, f"{tmp}/mix.json", concurrency, seconds))
            single = {
                name: _load(base, token, f"{tmp}/mix.json", 1, seconds)
                for name, base in (("floor", floor_base), ("app", app_base))
            }
        finally:
            for proc in servers:
                proc.terminate()
                proc.wait(timeout=30)
            subprocess.run([*cli, "redis", "stop"], env=env, capture_output=True)

    def merged(rounds: list[dict]) -> dict:
        return {
            "requests": sum(r["requests"] for r in rounds),
            "errors": sum(r["errors"] for r in rounds),
            "rps": sum(r["rps"] for r in rounds) / len(rounds),
            "p50_ms": sorted(r["p50_ms"] for r in rounds)[len(rounds) // 2],
            "p99_ms": max(r["p99_ms"] for r in rounds),
        }

    a, f = merged(results["app"]), merged(results["floor"])
    print(f"  mix: {len(high)} high-tier, {len(low)} low-tier, {len(unknown)} unknown callers, in turn")
    print(f"  {'server':8s} {'requests':>9s} {'errors':>7s} {'req/s':>8s} {'p50 ms':>8s} {'p99 ms':>8s}")
    for name, r in (("floor", f), ("app", a)):
        print(
            f"  {name:8s} {r['requests']:9d} {r['errors']:7d} {r['rps']:8.0f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f}"
        )
    pairs = [
        (ra["p99_ms"] / rf["p99_ms"], ra["p50_ms"] / rf["p50_ms"], ra["rps"] / rf["rps"])
        for rf, ra in zip(results["floor"], results["app"], strict=True)
    ]
    print("  p99 ratio app/floor per round: " + ", ".join(f"{p[0]:.2f}x" for p in pairs))
    print(
        f"  ratios app/floor, median of the rounds: p50 {statistics.median(p[1] for p in pairs):.2f}x, "
        f"p99 {statistics.median(p[0] for p in pairs):.2f}x, throughput {statistics.median(p[2] for p in pairs):.2f}x "
        "(target: p99 within 1.5x, no errors)"
    )
    print(f"  worst round against worst round: p99 {a['p99_ms'] / f['p99_ms']:.2f}x")
    sf, sa = single["floor"], single["app"]
    print(
        f"  one request at a time (service time, no queueing): floor p50 {sf['p50_ms']:.2f} ms p99 "
        f"{sf['p99_ms']:.2f} ms; app p50 {sa['p50_ms']:.2f} ms p99 {sa['p99_ms']:.2f} ms; "
        f"ratio p50 {sa['p50_ms'] / sf['p50_ms']:.2f}x, p99 {sa['p99_ms'] / sf['p99_ms']:.2f}x"
    )


def _load(base: str, token: str, mix: str, concurrency: int, seconds: float) -> dict:
    out = subprocess.run(
        [PY, str(ROOT / "benchmarks" / "loadgen.py"), base, token, mix, str(concurrency), str(seconds)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out)


def bench_llm(quick: bool) -> None:
    turns = 60 if quick else 300
    print(f"\n== LLM engine overhead with an instant fake model: {turns} Gather turns, relay first tokens")
    out = json.loads(
        subprocess.run(
            [PY, str(ROOT / "benchmarks" / "llm_turn.py"), str(turns)],
            check=True,
            capture_output=True,
            text=True,
            cwd=ROOT,
        ).stdout
    )
    print(f"  {'server time per webhook':34s} {'p50 ms':>8s} {'p99 ms':>8s}")
    for name, label in (
        ("floor", "floor (one Redis read, fixed TwiML)"),
        ("offline", "offline engine turn"),
        ("llm", "LLM engine turn (incl. model HTTP)"),
        ("model_call", "bare model round trip"),
        ("relay_first_token", "relay: model first token -> text"),
    ):
        print(f"  {label:34s} {out[name]['p50_ms']:8.2f} {out[name]['p99_ms']:8.2f}")
    print(
        f"  server overhead per LLM turn (turn less the model round trip): p50 {out['llm_overhead_p50_ms']:.2f} ms, "
        f"p99 {out['llm_overhead_p99_ms']:.2f} ms (target p50 under 5 ms); relay first token p50 "
        f"{out['relay_first_token']['p50_ms']:.2f} ms (target 5 ms)"
    )


def bench_nlu(quick: bool) -> None:
    print("\n== understanding callers: trained NLU against the old weighted patterns (same turns, same run)")
    out = json.loads(
        subprocess.run(
            [PY, str(ROOT / "benchmarks" / "nlu.py"), *(["--quick"] if quick else [])],
            check=True,
            capture_output=True,
            text=True,
            cwd=ROOT,
        ).stdout
    )
    print(
        f"  intent model fitted on 80% of the corpus in {out['fit_s']:.1f} s CPU; times are understand() calls"
    )
    print(
        f"  {'set':34s} {'turns':>6s} {'ours acc':>9s} {'old acc':>8s} {'ours p50/p95 ms':>16s} {'old p50/p95 ms':>15s}"
    )
    for name, label in (("held_out", "corpus held-out 20%"), ("paraphrases", "hand-written paraphrases")):
        r = out[name]
        print(
            f"  {label:34s} {r['turns']:6d} {r['ours_accuracy']:9.3f} {r['old_accuracy']:8.3f} "
            f"{r['ours_ms']['p50']:7.3f}/{r['ours_ms']['p95']:<8.3f} {r['old_ms']['p50']:6.3f}/{r['old_ms']['p95']:<8.3f}"
        )
        print(
            f"    on the {r['covered_turns']} turns whose label the old engine has an intent for: ours "
            f"{r['ours_covered_accuracy']:.3f}, old {r['old_covered_accuracy']:.3f} "
            f"({r['ours_covered_accuracy'] / max(r['old_covered_accuracy'], 1e-9):.2f}x)"
        )
        print(
            f"    ratios ours/old: accuracy {r['ours_accuracy'] / max(r['old_accuracy'], 1e-9):.2f}x, "
            f"p50 time {r['ours_ms']['p50'] / r['old_ms']['p50']:.2f}x, p95 time {r['ours_ms']['p95'] / r['old_ms']['p95']:.2f}x"
        )
    print(
        f"  warm() (the process's model on the whole corpus, dateparser, lingua): {out['warm_s']:.1f} s CPU"
    )


def bench_robustness(quick: bool) -> None:
    print(
        "\n== robustness: whole calls said several ways, today's offline engine against the old one "
        "(benchmarks/baseline_engine), the same calls in the same run"
    )
    out = json.loads(
        subprocess.run(
            [PY, str(ROOT / "benchmarks" / "engine_robustness.py"), *(["--quick"] if quick else [])],
            check=True,
            capture_output=True,
            text=True,
            cwd=ROOT,
        ).stdout
    )
    new, old = out["engines"]["new"], out["engines"]["old"]
    print(
        f"  {out['scenarios']} scenarios, {out['calls']} calls per engine on the calls suite's fixture practice; "
        f"set-up {out['setup_s']:.1f} s, whole run {out['wall_s']:.1f} s"
    )
    print(
        f"  {'engine':8s} {'passed':>9s} {'rate':>6s} {'turns':>6s} {'p50 ms/turn':>12s} {'p95 ms/turn':>12s}"
    )
    for name, r in (("today", new), ("old", old)):
        print(
            f"  {name:8s} {r['passed']:4d}/{out['calls']:<4d} {r['pass_rate']:6.1%} {r['turns']:6d} "
            f"{r['turn_ms']['p50']:12.2f} {r['turn_ms']['p95']:12.2f}"
        )
    ratio = out["ratio_new_old"]
    print(
        f"  ratios today/old: pass rate {new['pass_rate'] / max(old['pass_rate'], 1e-9):.2f}x, "
        f"CPU per turn p50 {ratio['p50']:.2f}x, p95 {ratio['p95']:.2f}x (turn: the engine's respond, tools included)"
    )
    if old["behaves"] != old["passed"]:
        print(f"  old engine, ignoring the outcome fields it never writes: {old['behaves']}/{out['calls']}")
    verdict = "yes" if out["p50_ok"] else "NO"
    print(
        f"  today's engine per-turn CPU p50 under {out['p50_target_ms']:g} ms: {verdict} "
        f"({new['turn_ms']['p50']:.2f} ms)"
    )
    print(f"  {'style':12s} {'calls':>6s} {'today':>6s} {'old':>6s}")
    for style, r in out["by_style"].items():
        print(f"  {style:12s} {r['calls']:6d} {r['new']:6d} {r['old']:6d}")
    print(f"  {'scenario':24s} {'calls':>6s} {'today':>6s} {'old':>6s}")
    for r in out["by_scenario"]:
        print(f"  {r['id']:24s} {r['calls']:6d} {r['new']:6d} {r['old']:6d}")
    if out["failing"]["new"]:
        print("  today's engine fails: " + ", ".join(out["failing"]["new"]))


def bench_outreach(quick: bool) -> None:
    patients, attempts, workers, rate = (20_000, 200, 4, 20.0) if quick else (100_000, 10_000, 4, 25.0)
    print(
        f"\n== campaigns: plan over {patients:,} scored patients; dispatch {attempts:,} AI calls with {workers} "
        f"RQ workers against the local Twilio stand-in at {rate:g} calls/s"
    )
    out = json.loads(
        subprocess.run(
            [
                PY,
                str(ROOT / "benchmarks" / "outreach.py"),
                str(patients),
                str(attempts),
                str(workers),
                str(rate),
            ],
            check=True,
            capture_output=True,
            text=True,
            cwd=ROOT,
        ).stdout
    )
    print(
        f"  plan: {out['plan_s']:.2f} s for {out['contacts']:,} contacts (target under 2 s); the floor, reading "
        f"the same rows with one query: {out['plan_floor_s']:.2f} s; ratio {out['plan_s'] / out['plan_floor_s']:.1f}x"
    )
    print(
        f"  dispatch: {out['calls']:,} calls in {out['dispatch_s']:.1f} s, {out['achieved_rate']:.2f} calls/s "
        f"against {out['configured_rate']:g} configured (ratio {out['achieved_rate'] / out['configured_rate']:.3f}, "
        f"target within 5%), duplicates {out['duplicates']} (must be 0)"
    )


def bench_sequences(quick: bool) -> None:
    patients, slots, rate = (5_000, 150, 100.0) if quick else (100_000, 2_500, 100.0)
    print(
        f"\n== sequences: a day of a {patients:,}-patient practice's reactivation sequences against today's "
        f"single-step plan, in process (one dispatcher, every gate, the local Twilio stand-in) at {rate:g} sends/s"
    )
    out = json.loads(
        subprocess.run(
            [PY, str(ROOT / "benchmarks" / "sequences.py"), str(patients), str(slots), str(rate)],
            check=True,
            capture_output=True,
            text=True,
            cwd=ROOT,
        ).stdout
    )
    rate = out["configured_rate"]
    for label, d in (
        ("single step, day 0", out["single"]["day0"]),
        ("sequences, day 0", out["sequences"]["day0"]),
        ("sequences, day 7", out["sequences"]["day7"]),
    ):
        print(
            f"  {label:<19} planning {d['plan_s']:.2f} s, dispatch {d['sent']:,} sends in {d['dispatch_s']:.1f} s: "
            f"{d['sends_per_s']:.1f} sends/s against {rate:g} configured ({d['sends_per_s'] / rate:.2f})"
        )
    day7 = out["sequences"]["day7"]
    print(
        f"  day 7: {day7['created']:,} follow-up steps written, {day7['stopped']:,} sequences stopped "
        f"({out['sequences']['responded_before_day7']:,} patients responded after day 0)"
    )
    print(
        f"  ratio, sequences to single step: day 0 {out['ratio_day0']:.2f}x the time for the same sends; "
        f"day 7 {out['ratio_per_send_day7']:.2f}x the time per send (including the advance and its stop checks)"
    )


def _fresh_home_run(script: str, *args: object) -> dict:
    """Run `benchmarks/SCRIPT ARGS... HOME` in a fresh data folder on embedded defaults; its printed JSON."""
    with tempfile.TemporaryDirectory(prefix="rcp-bench-") as tmp:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "PRACTICE_FILE")}
        env["RECEPTIONIST_HOME"] = tmp
        try:
            return json.loads(
                subprocess.run(
                    [PY, str(ROOT / "benchmarks" / script), *map(str, args), tmp],
                    check=True,
                    capture_output=True,
                    text=True,
                    cwd=ROOT,
                    env=env,
                ).stdout
            )
        finally:
            subprocess.run(
                [PY, "-m", "receptionist.cli", "redis", "stop"], env=env, capture_output=True, cwd=ROOT
            )


def bench_stats(quick: bool) -> None:
    events = 100_000 if quick else 1_000_000
    print(f"\n== outcome statistics: {events:,} outcome events (SQLite store, embedded Redis)")
    out = _fresh_home_run("outcome_stats.py", events)
    print(
        f"  loading the events (set-up, not product code): {out['load_s']:.1f} s; {out['buckets']:,} "
        "tier/channel/month/kind buckets"
    )
    print(
        f"  dashboard live query (Redis counters -> report JSON): p50 {out['live_p50_ms']:.2f} ms, "
        f"max {out['live_max_ms']:.2f} ms (target under 50 ms)"
    )
    print(
        f"  baseline, the same report counted from the store: p50 {out['store_p50_ms']:.0f} ms; "
        f"ratio live/store {out['live_p50_ms'] / out['store_p50_ms']:.4f}x"
    )
    print(f"  full rebuild of the counters from the store: {out['rebuild_s']:.2f} s (target under 30 s)")
    print(f"  recording one event (insert once + live counters): {out['record_ms']:.2f} ms")


def bench_integrations(quick: bool) -> None:
    n = 20_000 if quick else 100_000
    print(
        f"\n== integrations: {n:,} visits through PUT /api/v1/visits (batches of 1,000, in process), a FHIR "
        "bundle, and the CSV importer (the baseline), each into a fresh SQLite store"
    )
    out = _fresh_home_run("integrations_ingest.py", n)
    csv_rate, api_rate = n / out["csv_s"], n / out["api_s"]
    print(f"  baseline, CSV importer: {csv_rate:,.0f} records/s ({out['csv_s']:.2f} s)")
    print(
        f"  API batches: {api_rate:,.0f} records/s ({out['api_s']:.2f} s; target 5,000 records/s or more); "
        f"ratio API/CSV {api_rate / csv_rate:.2f}x"
    )
    print(
        f"  API repeated delivery (nothing added): {out['api_repeat_records'] / out['api_repeat_s']:,.0f} records/s"
    )
    print(
        f"  FHIR import: {out['fhir_resources'] / out['fhir_s']:,.0f} resources/s, {n / out['fhir_s']:,.0f} visits/s "
        f"({out['fhir_resources']:,} resources: patients, encounters, claims; {out['fhir_s']:.2f} s, validation "
        f"with fhir.resources included); ratio FHIR/CSV {n / out['fhir_s'] / csv_rate:.2f}x"
    )


def bench_dashboard(quick: bool) -> None:
    patients, events, repeats = (20_000, 100_000, 50) if quick else (100_000, 1_000_000, 200)
    print(
        f"\n== dashboard: Today and Results rendered for a signed-in user, {patients:,} patients and {events:,} "
        f"outcome events (SQLite store, embedded Redis), {repeats} renders each, in process (no network)"
    )
    out = _fresh_home_run("dashboard.py", patients, events, repeats)
    print(f"  loading the practice and events (set-up, not product code): {out['load_s']:.1f} s")
    base = out["api_stats_p50_ms"]
    print(
        f"  baseline, GET /api/stats (the same counters as JSON, no page): p50 {base:.1f} ms, "
        f"p99 {out['api_stats_p99_ms']:.1f} ms"
    )
    for page in ("today", "results"):
        print(
            f"  {page.capitalize():<8} p50 {out[page + '_p50_ms']:.1f} ms, p99 {out[page + '_p99_ms']:.1f} ms "
            f"(target p99 under 200 ms); ratio p50 to the baseline {out[page + '_p50_ms'] / base:.1f}x"
        )


def bench_faults(quick: bool) -> None:
    print(
        "\n== calls under faults (issue 19): whole calls booking a cleaning, each fault injected mid-call, "
        "against the same calls with no fault in the same run"
    )
    proc = subprocess.run(
        [PY, str(ROOT / "benchmarks" / "faults.py"), *(["--quick"] if quick else [])],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    lines = proc.stdout.strip().splitlines()
    if not lines or not lines[-1].startswith("{"):
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit("stage failed: faults")
    out = json.loads(lines[-1])
    for line in lines[1:-1]:  # faults.py's own table, after its heading
        print(line)
    worst = max(r["p99_ratio"] or 0.0 for r in out["scenarios"].values())
    verdict = "yes" if out["ok"] else "NO"
    print(
        f"  store {out['store']}, {out['callers']} callers per scenario; baseline p99 {out['baseline_p99_ms']:.1f} ms, "
        f"worst ratio {worst:.2f}x; 0 dropped and 0 lost everywhere: {verdict}"
    )
    if not out["ok"]:
        raise SystemExit("faults: calls dropped or outcomes lost (see the table above)")


BENCHMARKS = {
    "scoring": bench_scoring,
    "inbound": bench_inbound,
    "llm": bench_llm,
    "nlu": bench_nlu,
    "robustness": bench_robustness,
    "outreach": bench_outreach,
    "sequences": bench_sequences,
    "stats": bench_stats,
    "integrations": bench_integrations,
    "dashboard": bench_dashboard,
    "faults": bench_faults,
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes (CI)")
    parser.add_argument("--only", choices=sorted(BENCHMARKS), action="append")
    args = parser.parse_args()
    for name in args.only or BENCHMARKS:
        BENCHMARKS[name](args.quick)


if __name__ == "__main__":
    main()
