"""`receptionist call`: a simulated inbound call from the command line, in process or against a server."""

import json

import pytest

from tests.voice_helpers import MARGARET, STRANGER, TOM, load_small_practice

AT = "2026-11-30T10:00"  # a Monday morning in New York


@pytest.fixture
def call(run, store, redis_client, tmp_path):
    load_small_practice(store, redis_client, tmp_path)
    return lambda *args: run("call", *args, timeout=120)


def test_high_tier_call_reaches_staff(call):
    """A high-tier patient's call, staff answering and pressing 1, prints the contract's JSON outcome."""
    r = call("--from", MARGARET, "--at", AT, "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert set(out) >= {
        "call_sid",
        "route",
        "transfer",
        "appointment",
        "opted_out",
        "message_taken",
        "callback_queued",
        "turns",
    }
    assert out["call_sid"].startswith("CA") and (out["route"], out["transfer"]) == ("staff", "accepted")
    assert out["appointment"] is None and out["opted_out"] is False


def test_staff_decline_is_scripted(call):
    """--staff decline plays a staff member who does not take the call; the AI takes over."""
    r = call("--from", MARGARET, "--at", AT, "--staff", "decline", "--say", "bye", "--json")
    out = json.loads(r.stdout)
    assert (out["route"], out["transfer"], out["callback_queued"]) == ("staff", "declined", True)


def test_low_tier_books_a_cleaning(call):
    """A low-tier patient books a cleaning through the AI."""
    r = call(
        "--from",
        TOM,
        "--at",
        AT,
        "--say",
        "I need a cleaning",
        "--say",
        "the second one",
        "--say",
        "yes",
        "--say",
        "no that's it",
        "--json",
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["route"] == "ai" and out["appointment"]["action"] == "booked"
    assert out["appointment"]["start"].startswith("2026-")


def test_unknown_caller_transcript(call):
    """Without --json the transcript is printed line by line."""
    r = call("--from", STRANGER, "--at", AT, "--say", "what are your hours", "--say", "bye")
    assert r.returncode == 0, r.stderr
    assert "receptionist:" in r.stdout and "caller: what are your hours" in r.stdout
    assert "Monday to Friday" in r.stdout


def test_at_needs_in_process(call):
    """--at with --url is refused with a one-line message."""
    r = call("--from", TOM, "--at", AT, "--url", "http://127.0.0.1:9")
    assert r.returncode == 1 and "--at works only in process" in r.stderr


def test_unreachable_server_is_a_clear_error(call):
    """A --url nobody answers on is a one-line error."""
    r = call("--from", TOM, "--url", "http://127.0.0.1:9")
    assert r.returncode == 1 and "cannot reach http://127.0.0.1:9" in r.stderr and "Traceback" not in r.stderr
