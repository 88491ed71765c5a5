"""The acceptance suite: every call of `tests/calls/en/*.toml` played whole against the fixture practice.

One test per call, named by the call's id (its `what` line says what it checks). The practice is built and
scored once for the module; each call starts from that state (`World.reset`). `python -m tests.calls.report`
runs them all and prints the pass rate per theme.
"""

from __future__ import annotations

import shutil
from types import SimpleNamespace

import pytest

from tests.calls.harness import SpecError, load_calls, load_file, matches, normalize
from tests.calls.practice import build_world, scratch_dir
from tests.calls.run import run_one

CALLS = load_calls()  # a malformed data file fails the collection, loudly


@pytest.fixture(scope="module")
def world(redis_url):
    home = scratch_dir()
    try:
        built = build_world(redis_url, home)
        yield built
        built.services.close()
    finally:
        shutil.rmtree(home, ignore_errors=True)


@pytest.mark.parametrize("spec", [pytest.param(c, id=c.id) for c in CALLS])
def test_call(world, spec):
    """The call meets every expectation of its data file (see its `what`)."""
    result = run_one(world, spec)
    if not result.passed:
        pytest.fail(result.explain(), pytrace=False)


# --- the data files themselves ---------------------------------------------------------------------------

GOOD = """
theme = "t"
[[call]]
id = "a"
what = "a minimal call"
from = "tom"
at = "mon_open"
says = ["hi"]
[call.expect]
route = "ai"
"""


def _write(tmp_path, text, name="t.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_good_file_loads(tmp_path):
    """The minimal call loads with its alias resolved to a number and its time to the practice's zone."""
    (spec,) = load_file(_write(tmp_path, GOOD))
    assert spec.caller == "+12025550177" and spec.at.hour == 10 and spec.expect == {"route": "ai"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('route = "ai"', 'rout = "ai"'), "unknown expectation"),
        (('says = ["hi"]', 'say = ["hi"]'), "unknown key"),
        (('[call.expect]\nroute = "ai"', ""), "needs expectations"),
        (('route = "ai"', 'route = "robot"'), "expected one of"),
        (('from = "tom"', 'from = "nobody"'), "not one of"),
        (('at = "mon_open"', 'at = "someday"'), "not one of"),
        (('theme = "t"', 'theme = "t"\nthem = 1'), "unknown key"),
        (('what = "a minimal call"', 'what = ""'), "what"),
        (('route = "ai"', "hour_from = 30"), "hour"),
        (('route = "ai"', 'patient = "zelda"'), "patient alias"),
        (('route = "ai"', 'appointment = "none"\nkind = "exam"'), "appointment = 'none'"),
        (('route = "ai"', 'one_of = [{route = "ai"}]'), "at least two"),
        (('route = "ai"', "heard_any = []"), "non-empty"),
    ],
)
def test_a_bad_file_fails_loudly(tmp_path, change, message):
    """Unknown keys, calls without expectations, bad values: the loader names the file, call and key."""
    old, new = change
    assert old in GOOD
    with pytest.raises(SpecError, match=message) as caught:
        load_file(_write(tmp_path, GOOD.replace(old, new)))
    assert "t.toml" in str(caught.value)


def test_duplicate_ids_fail_loudly(tmp_path):
    """Two calls with one id, in one file or across files, are refused."""
    _write(tmp_path, GOOD, "one.toml")
    _write(tmp_path, GOOD, "two.toml")
    with pytest.raises(SpecError, match="already used"):
        load_calls(tmp_path)


def test_the_suite_is_whole():
    """At least 320 calls, every theme file holding 15 to 40 of them, each with expectations."""
    assert len(CALLS) >= 320
    by_file: dict[str, int] = {}
    for c in CALLS:
        by_file[c.file] = by_file.get(c.file, 0) + 1
    assert all(15 <= n <= 40 for n in by_file.values()), by_file


# --- the harness's own reading of what was said ----------------------------------------------------------


def test_phrases_match_where_words_start_and_digits_anywhere():
    """'ppo' is not found in 'appointment', 'x-ray' is in 'x-rays', '911' in 'dial 9 1 1', a number in a phone."""
    text = normalize("Your appointment is set. Bring your X-rays. Dial 9 1 1 now, or call +1 202-555-0199.")
    assert not matches("ppo", text) and matches("x-ray", text) and matches("911", text)
    assert matches("0199", text) and matches("re:dial \\d+", text) and not matches("medicaid", text)


def test_an_appointment_read_out_is_recognised_every_way():
    """Date with time, weekday with time and provider, 'today at 2 PM': each reads out the appointment."""
    import datetime as dt

    from tests.calls.harness import reveals
    from tests.calls.practice import NY

    row = SimpleNamespace(
        start=dt.datetime(2026, 12, 17, 14, 0, tzinfo=NY), provider="Hygienist Patel", kind="cleaning"
    )
    monday, thursday = dt.date(2026, 12, 14), dt.date(2026, 12, 17)
    for said in (
        "you have a cleaning on thursday december 17th at 2 pm with hygienist patel.",
        "your appointment is the 17th of december at 2:00.",
        "it's on thursday at 2 pm with patel.",
        "december seventeenth at two pm.",
    ):
        assert reveals(row, said, monday), said
    assert reveals(row, "i see your cleaning today at 2 pm.", thursday)
    for said in (
        "i have thursday december 17th at 9 am with hygienist moore.",
        "we open at 8 am on thursday.",
    ):
        assert not reveals(row, said, monday), said


def test_the_outcome_carries_the_new_fields(world):
    """A booked call's outcome names the visit type, provider, patient and length, and carries the messages,
    callbacks, triage, identity check and language the rebuilt engine reports."""
    spec = load_file(_write_outcome_call(world.home))[0]
    outcome = run_one(world, spec).played.outcome
    assert outcome.get("appointment", {}).get("action") == "booked", outcome
    missing = [k for k in ("kind", "provider", "patient_id", "minutes") if k not in outcome["appointment"]]
    missing += [k for k in ("messages", "callbacks", "triage", "identity", "language") if k not in outcome]
    assert not missing, f"the outcome lacks {missing}"
    assert outcome["appointment"]["patient_id"] == "P101" and outcome["language"] == "en"


def _write_outcome_call(folder):
    path = folder / "outcome_call.toml"
    path.write_text(
        'theme = "outcome"\n[[call]]\nid = "outcome"\nwhat = "a booking"\nfrom = "tom"\nat = "mon_open"\n'
        'says = ["I need a cleaning", "the first one", "yes", "no, thanks"]\n'
        '[call.expect]\nappointment = "booked"\n'
    )
    return path


def test_the_readme_documents_every_expectation():
    """Each key of the vocabulary has a line in tests/calls/README.md."""
    from tests.calls.harness import EXPECTATIONS, HERE

    readme = (HERE / "README.md").read_text()
    assert [k for k in EXPECTATIONS if f"`{k}`" not in readme] == []
