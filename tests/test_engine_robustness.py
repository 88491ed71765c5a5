"""The robustness benchmark's own parts: its scenario file loads whole, a bad one fails loudly, and one call
plays against both engines with every turn timed (benchmarks/engine_robustness.py)."""

from __future__ import annotations

import shutil

import pytest

from benchmarks import engine_robustness as bench
from receptionist.conversation import nlu
from tests.calls.harness import SpecError
from tests.calls.practice import build_world, scratch_dir

SCENARIOS = bench.load_scenarios()


def test_the_scenario_file_loads_whole():
    """At least 20 scenarios of distinct ids, each said at least four ways in known styles, every variant a
    call with its scenario's expectations; every style appears somewhere."""
    assert len(SCENARIOS) >= 20
    assert len({s.id for s in SCENARIOS}) == len(SCENARIOS)
    styles = set()
    for s in SCENARIOS:
        assert len(s.calls) >= bench.MIN_VARIANTS and len(s.calls) == len(s.styles)
        assert len({c.says for c in s.calls}) == len(s.calls), f"{s.id}: two variants say the same"
        assert all(c.expect == s.calls[0].expect for c in s.calls)
        styles.update(s.styles)
    assert styles == set(bench.STYLES)


def test_quick_plays_the_first_variant_and_a_different_pair_each_time():
    """--quick: the first variant and two others of each scenario; over the scenarios every variant is met."""
    assert bench.picked(5, 0, quick=False) == [0, 1, 2, 3, 4]
    chosen = [bench.picked(5, k, quick=True) for k in range(4)]
    assert all(len(c) == bench.QUICK_VARIANTS and c[0] == 0 and len(set(c)) == len(c) for c in chosen)
    assert {i for c in chosen for i in c} == {0, 1, 2, 3, 4}


GOOD = """
[[scenario]]
id = "s"
what = "a scenario"
from = "tom"
at = "mon_open"
[scenario.expect]
appointment = "booked"
[[scenario.variant]]
style = "plain"
says = ["book a cleaning", "yes"]
[[scenario.variant]]
style = "fillers"
says = ["um, book a cleaning", "yes"]
[[scenario.variant]]
style = "asr"
says = ["book a clean in", "yes"]
[[scenario.variant]]
style = "terse"
says = ["Cleaning.", "Yes."]
"""


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('style = "terse"', 'style = "shouting"'), "not one of"),
        (('appointment = "booked"', 'appointment = "maybe"'), "expected one of"),
        (('from = "tom"', 'from = "nobody"'), "not one of"),
        (('what = "a scenario"', 'wat = "a scenario"'), "unknown key"),
        (('[[scenario.variant]]\nstyle = "terse"\nsays = ["Cleaning.", "Yes."]', ""), "at least 4"),
    ],
)
def test_a_bad_scenario_file_fails_loudly(tmp_path, change, message):
    """Unknown styles, values and keys, too few variants: SpecError naming the file and the scenario."""
    old, new = change
    assert old in GOOD
    path = tmp_path / "bench.toml"
    path.write_text(GOOD.replace(old, new))
    with pytest.raises(SpecError, match=message) as caught:
        bench.load_scenarios(path)
    assert "bench.toml: scenario 1 (s)" in str(caught.value)


@pytest.fixture(scope="module")
def world(redis_url, tmp_path_factory):
    nlu.warm(cache=tmp_path_factory.mktemp("nlu"))
    home = scratch_dir()
    try:
        built = build_world(redis_url, home)
        yield built
        built.services.close()
    finally:
        shutil.rmtree(home, ignore_errors=True)


def test_one_scenario_plays_against_both_engines(world):
    """The 'after three' booking, said plainly: today's engine books Tom at 3 PM or later, and both engines
    answer every caller turn with the turn's CPU time recorded."""
    (scenario,) = [s for s in SCENARIOS if s.id == "after-three"]
    spec = scenario.calls[0]
    timed = bench.engines()
    new = bench.play(world, timed["new"], spec)
    assert new.passed, new.explain()
    booked = new.played.outcome["appointment"]
    assert booked["action"] == "booked" and booked["patient_id"] == "P101"
    old = bench.play(world, timed["old"], spec)
    for name, result in (("new", new), ("old", old)):
        said = [t for t in result.played.turns if t["caller"]]
        assert said and all(t["receptionist"] for t in said), result.explain()
        assert len(timed[name].times) == len(said) and all(t >= 0 for t in timed[name].times)
    assert bench.percentiles(timed["new"].times)["p50"] > 0
