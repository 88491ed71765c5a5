#!/usr/bin/env python3
"""Robustness: whole calls said several ways, played against today's offline engine and the old one; JSON.

    .venv/bin/python benchmarks/engine_robustness.py [--quick] [--explain new|old]

The calls are in benchmarks/engine_robustness.toml: base scenarios (booking with preferences, exclusions,
corrections and "yes"; family members; new patients; confirming, running late, cancelling and moving
behind the date of birth; urgent dental against 911; the practice's answers; messages; vendors; wrong
numbers; opt-outs; asking for a person), each said in several ways (fillers, word order, speech-recogniser
errors, numbers as words, ...) that must all meet the scenario's expectations. A call passes when every
expectation holds, checked by the calls suite's harness (tests/calls/harness.py) on the suite's fixture
practice (tests/calls/practice.py), reset before every call: behaviour, not wording (what was booked, for
whom, what was cancelled, the identity check, the triage, what reached staff).

Both engines play every call in the same run, through the whole app in process (signed Twilio webhooks,
`CallFlow`, the store's tools), in turn: today's `receptionist.conversation.offline.OfflineEngine` and the
old engine kept in benchmarks/baseline_engine/ (unchanged; it meets today's tools, which refuse to read or
change appointments before the date of birth is confirmed, so it can only fail those calls safely).
"behaves" also counts the calls that fail only for outcome fields the old engine never writes (triage,
identity, language). Time per turn is the CPU time (time.process_time) of each `respond` call of the
engine, the tools' store reads and writes included; the greeting is not a turn. The first call of each
engine is a warm-up, not counted. Today's engine must stay under 5 ms per turn at p50.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from benchmarks.baseline_engine.offline import OfflineEngine as BaselineEngine  # noqa: E402
from receptionist.conversation import nlu  # noqa: E402
from receptionist.conversation.offline import OfflineEngine  # noqa: E402
from receptionist.runtime.embedded_redis import EmbeddedRedis  # noqa: E402
from tests.calls.harness import CallSpec, SpecError, load_table  # noqa: E402
from tests.calls.practice import World, build_world, scratch_dir  # noqa: E402
from tests.calls.run import Result, run_one  # noqa: E402

DATA = ROOT / "benchmarks" / "engine_robustness.toml"
NLU_CACHE = ROOT / "benchmarks" / "out" / "nlu-cache"  # the intent model's arrays, keyed by the corpus
STYLES = ("plain", "fillers", "word-order", "asr", "numbers", "terse", "run-on", "correction")
SCENARIO_KEYS = {"id", "what", "from", "at", "staff", "expect", "variant"}
VARIANT_KEYS = {"style", "says"}
MIN_VARIANTS = 4
QUICK_VARIANTS = 3  # --quick: the first variant and two others of each scenario
P50_TARGET_MS = 5.0
ENGINES = ("new", "old")


@dataclass(frozen=True)
class Scenario:
    """One base call and its variants: one `CallSpec` per way of saying it, all with the same expectations."""

    id: str
    what: str
    calls: tuple[CallSpec, ...]
    styles: tuple[str, ...]


def load_scenarios(path: Path = DATA) -> list[Scenario]:
    """The scenarios of `path`, validated: each has an id, a `what`, expectations the harness accepts and at
    least MIN_VARIANTS variants in known styles; a bad file raises SpecError naming the file and scenario."""
    where = path.name
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise SpecError(f"{where}: not valid TOML: {error}") from error
    if set(data) != {"scenario"} or not isinstance(data["scenario"], list) or not data["scenario"]:
        raise SpecError(f"{where}: expected [[scenario]] entries and nothing else")
    out: list[Scenario] = []
    seen: set[str] = set()
    for n, raw in enumerate(data["scenario"], 1):
        sid = raw.get("id") if isinstance(raw, dict) else None
        here = f"{where}: scenario {n} ({sid or 'no id'})"
        if not isinstance(raw, dict) or not isinstance(sid, str):
            raise SpecError(f"{here}: needs an id")
        unknown = set(raw) - SCENARIO_KEYS
        if unknown:
            raise SpecError(f"{here}: unknown key {sorted(unknown)}; a scenario has {sorted(SCENARIO_KEYS)}")
        if sid in seen:
            raise SpecError(f"{here}: the id is already used")
        seen.add(sid)
        variants = raw.get("variant", [])
        if not isinstance(variants, list) or len(variants) < MIN_VARIANTS:
            raise SpecError(f"{here}: needs at least {MIN_VARIANTS} [[scenario.variant]] entries")
        calls, styles = [], []
        for i, variant in enumerate(variants):
            if not isinstance(variant, dict) or set(variant) != VARIANT_KEYS:
                raise SpecError(f"{here}: variant {i + 1} needs exactly {sorted(VARIANT_KEYS)}")
            if variant["style"] not in STYLES:
                raise SpecError(f"{here}: variant {i + 1} style {variant['style']!r} is not one of {STYLES}")
            styles.append(variant["style"])
            call = {k: raw[k] for k in ("what", "from", "at", "staff", "expect") if k in raw}
            calls.append({**call, "id": f"{sid}-{i + 1}-{variant['style']}", "says": variant["says"]})
        specs = load_table({"theme": "robustness", "call": calls}, here)
        out.append(Scenario(sid, " ".join(str(raw.get("what", "")).split()), tuple(specs), tuple(styles)))
    return out


class TimedEngine:
    """An engine whose turns are timed: `respond` is the engine's own, and its CPU time goes to `times`."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.slow = engine.slow
        self.times: list[float] = []

    def start(self, ctx: Any, tools: Any) -> Any:
        return self.engine.start(ctx, tools)

    def respond(self, ctx: Any, tools: Any, state: dict[str, Any], heard: Any, **kwargs: Any) -> Any:
        begin = time.process_time()
        try:
            return self.engine.respond(ctx, tools, state, heard, **kwargs)
        finally:
            self.times.append(time.process_time() - begin)

    def fallback_turn(self, ctx: Any, tools: Any, state: dict[str, Any], heard: Any) -> Any:
        return self.respond(ctx, tools, state, heard)

    def interrupted(self, state: dict[str, Any], heard_of_reply: str) -> dict[str, Any]:
        return self.engine.interrupted(state, heard_of_reply)


def engines() -> dict[str, TimedEngine]:
    return {"new": TimedEngine(OfflineEngine()), "old": TimedEngine(BaselineEngine())}


def play(world: World, engine: TimedEngine, spec: CallSpec) -> Result:
    """One call against one engine, from the fixture's state; the engine answers every webhook of it."""
    world.services.callflow.engine = engine
    return run_one(world, spec)


def picked(n: int, k: int, quick: bool) -> list[int]:
    """The variants played of the k-th scenario's n: all, or (quick) the first and QUICK_VARIANTS - 1 of the
    others, a different pair for each scenario so the quick run still meets every style."""
    if not quick or n <= QUICK_VARIANTS:
        return list(range(n))
    rest = n - 1
    return [0, *sorted(1 + (k * (QUICK_VARIANTS - 1) + j) % rest for j in range(QUICK_VARIANTS - 1))]


def percentiles(seconds: Iterable[float]) -> dict[str, float]:
    s = sorted(seconds)
    if not s:
        return {"p50": 0.0, "p95": 0.0}
    return {"p50": statistics.median(s) * 1000, "p95": s[min(len(s) - 1, int(len(s) * 0.95))] * 1000}


def run(world: World, scenarios: list[Scenario], quick: bool, explain: str | None = None) -> dict[str, Any]:
    """Every call (`quick`: the variants `picked` chooses) against both engines, alternating which goes
    first; the figures as a dict. `explain` names an engine whose failing calls are explained on stderr."""
    timed = engines()
    first = scenarios[0].calls[0]
    for engine in timed.values():  # warm-up: first-use costs (dateparser spans, statement caches)
        play(world, engine, first)
        engine.times.clear()
    tally = {name: {"passed": 0, "behaves": 0} for name in ENGINES}
    by_scenario, by_style = [], {}
    failing: dict[str, list[str]] = {name: [] for name in ENGINES}
    count = 0
    for k, scenario in enumerate(scenarios):
        chosen = [(scenario.calls[i], scenario.styles[i]) for i in picked(len(scenario.calls), k, quick)]
        row = {"id": scenario.id, "what": scenario.what, "calls": len(chosen), "new": 0, "old": 0}
        for spec, style in chosen:
            order = ENGINES if count % 2 == 0 else ENGINES[::-1]
            count += 1
            style_row = by_style.setdefault(style, {"calls": 0, "new": 0, "old": 0})
            style_row["calls"] += 1
            for name in order:
                result = play(world, timed[name], spec)
                tally[name]["passed"] += result.passed
                tally[name]["behaves"] += result.behaves
                row[name] += result.passed
                style_row[name] += result.passed
                if not result.passed:
                    failing[name].append(spec.id)
                    if name == explain:
                        print(result.explain(), file=sys.stderr)
        by_scenario.append(row)
    out: dict[str, Any] = {"scenarios": len(scenarios), "calls": count, "engines": {}}
    for name in ENGINES:
        t = tally[name]
        out["engines"][name] = {
            "passed": t["passed"],
            "behaves": t["behaves"],
            "pass_rate": t["passed"] / max(count, 1),
            "turns": len(timed[name].times),
            "turn_ms": percentiles(timed[name].times),
        }
    new_ms, old_ms = out["engines"]["new"]["turn_ms"], out["engines"]["old"]["turn_ms"]
    out["ratio_new_old"] = {k: new_ms[k] / max(old_ms[k], 1e-9) for k in ("p50", "p95")}
    out["p50_target_ms"] = P50_TARGET_MS
    out["p50_ok"] = new_ms["p50"] < P50_TARGET_MS
    out["by_scenario"] = by_scenario
    out["by_style"] = by_style
    out["failing"] = failing
    return out


def main() -> None:
    import json

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help=f"the first {QUICK_VARIANTS} variants of each")
    parser.add_argument("--explain", choices=ENGINES, help="explain this engine's failing calls on stderr")
    args = parser.parse_args()
    scenarios = load_scenarios()
    begin = time.perf_counter()
    home = scratch_dir()
    redis = EmbeddedRedis(home / "redis")
    try:
        world = build_world(redis.ensure_running(), home / "practice")
        try:
            nlu.warm(cache=NLU_CACHE)
            setup_s = time.perf_counter() - begin
            out = run(world, scenarios, args.quick, args.explain)
        finally:
            world.services.close()
    finally:
        redis.stop()
        shutil.rmtree(home, ignore_errors=True)
    out["setup_s"] = setup_s
    out["wall_s"] = time.perf_counter() - begin
    print(json.dumps(out))


if __name__ == "__main__":
    main()
