"""Campaign runs end to end: RQ workers (burst), the real twilio client against the local stand-in, the app
answering the calls it places, a local SMTP server; every attempt once, every gate at send time."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from receptionist.simulation.localtwilio import Callee
from receptionist.store import Call, OutreachAttempt, Patient
from receptionist.telephony.params import CallParams
from tests.outreach_helpers import ALL, MONDAY_10AM, add_patient, attempts, phone_of, start, work


def test_calls_and_texts_go_out_once_and_follow_the_callee(world, store):
    """A person books through the outbound conversation; a machine gets the voicemail; a text goes out."""
    add_patient(store, "P1", 90, **ALL)
    add_patient(store, "P2", 80, **ALL)
    add_patient(store, "P3", 70, consent_sms=True, consent_written=True)
    w = world(
        callees={
            phone_of("P1"): Callee("human", ("yes please", "the first one", "yes", "no thanks")),
            phone_of("P2"): Callee("machine"),
        }
    )
    from receptionist.scheduling.schedule import ensure_schedule

    ensure_schedule(store, w.services.practice, MONDAY_10AM.date(), weeks=2)
    started = start(w)
    assert started.enqueued == 3
    work(w)
    got = attempts(store)
    assert {pid: (a.channel, a.status) for pid, a in got.items()} == {
        "P1": ("ai_call", "sent"),
        "P2": ("ai_call", "sent"),
        "P3": ("sms", "sent"),
    }
    assert got["P1"].result == "answered" and got["P2"].result == "voicemail"
    assert got["P3"].result == "delivered"
    assert len(w.twilio.calls) == 2 and len(w.twilio.messages) == 1
    # the voicemail says the voice is automated, names the practice and its number first, and says how to opt out
    vm = " ".join(w.twilio.calls[got["P2"].provider_id].transcript)
    name = w.services.practice.name
    assert f"Hello, this is an automated message from {name}, at (202) 555-0100." in vm
    assert "stop calling me" in vm
    assert len(vm.split()) < 110
    # the person was offered slots and booked one; the call record keeps the outbound call
    with store.sessions() as s:
        call = s.get(Call, got["P1"].provider_id)
        assert call.direction == "outbound" and call.patient_id == "P1"
        assert (call.facts.get("appointment") or {}).get("action") == "booked", w.twilio.calls[
            call.sid
        ].transcript
    text = next(iter(w.twilio.messages.values())).body
    assert text.startswith(f"{name}:") and len(text) <= 160 and "STOP" in text
    # locks and call slots are free again
    assert w.services.limits.active_calls() == 0
    assert w.services.limits.patient_holder("P1") is None
    # a second worker pass, and a doubled job, change nothing
    from receptionist.jobs import send_attempt_job

    for pid in ("P1", "P3"):
        w.services.outreach_queue.enqueue(send_attempt_job, got[pid].id)
    work(w)
    assert len(w.twilio.calls) == 2 and len(w.twilio.messages) == 1


def test_gates_skip_unconsented_and_opted_out_and_defer_outside_hours(world, store):
    add_patient(store, "P1", 90, **ALL)
    add_patient(store, "P2", 80, **ALL)
    w = world()
    start(w)
    # between planning and sending: P2 opts out, and P1 withdraws written consent
    with store.session() as s:
        s.get(Patient, "P2").opted_out = True
        s.get(Patient, "P1").consent_written = False
    work(w)
    got = attempts(store)
    assert got["P1"].status == "skipped" and "consent" in got["P1"].reason
    assert got["P2"].status == "skipped" and "opted out" in got["P2"].reason
    assert not w.twilio.calls and not w.twilio.messages


def test_outside_calling_hours_is_rescheduled_not_dropped(world, store, redis_client):
    add_patient(store, "P1", 90, **ALL)
    w = world()
    w.clock[0] = dt.datetime(2026, 12, 1, 3, 0, tzinfo=dt.UTC)  # 22:00 in Washington
    start(w)
    work(w)
    a = attempts(store)["P1"]
    assert a.status == "deferred" and a.reason == "outside calling hours"
    assert a.not_before.replace(tzinfo=dt.UTC) == dt.datetime(
        2026, 12, 1, 13, 0, tzinfo=dt.UTC
    )  # 8:00 next day
    from rq.registry import ScheduledJobRegistry

    assert len(ScheduledJobRegistry("outreach", connection=w.services.queue_redis)) >= 1
    assert not w.twilio.calls
    # at 8:00 the rescheduled job sends it
    w.clock[0] = dt.datetime(2026, 12, 1, 13, 0, 1, tzinfo=dt.UTC)
    from receptionist.jobs import send_attempt_job

    w.services.outreach_queue.enqueue(send_attempt_job, a.id)  # what the scheduler does when the time comes
    work(w)
    assert attempts(store)["P1"].status == "sent" and len(w.twilio.calls) == 1


def test_daily_and_weekly_limits_across_campaigns(world, store):
    """A patient contacted today is not contacted again today by another campaign's attempt."""
    add_patient(store, "P1", 90, **ALL)
    w = world()
    first = start(w)
    work(w)
    assert attempts(store)["P1"].status == "sent"
    # a second campaign an hour later leaves P1 out: contacted within the cool-down
    w.clock[0] = MONDAY_10AM + dt.timedelta(hours=1)
    from receptionist.outreach.campaigns import CampaignError

    with pytest.raises(CampaignError):
        start(w)
    # even a hand-made second attempt is held by the daily limit at send time
    with store.session() as s:
        s.add(
            OutreachAttempt(
                id="X:P1",
                campaign_id=first.campaign_id,
                patient_id="P1",
                tier="mid",
                channel="sms",
                rank=1,
                status="queued",
            )
        )
    from receptionist.jobs import send_attempt_job

    w.services.outreach_queue.enqueue(send_attempt_job, "X:P1")
    work(w)
    with store.sessions() as s:
        x = s.get(OutreachAttempt, "X:P1")
        assert x.status == "deferred" and x.reason == "daily attempt limit reached"
    assert not w.twilio.messages


def test_pause_and_resume(world, store):
    add_patient(store, "P1", 90, **ALL)
    w = world()
    started = start(w)
    campaigns = w.services.campaigns
    campaigns.pause(started.campaign_id)
    work(w)
    assert attempts(store)["P1"].status == "deferred" and not w.twilio.calls
    cid, n = campaigns.resume(None)
    assert (cid, n) == (started.campaign_id, 1)
    work(w)
    assert attempts(store)["P1"].status == "sent" and len(w.twilio.calls) == 1


def test_email_by_smtp_and_unsubscribe_link(world, store):
    from aiosmtpd.controller import Controller

    class Inbox:
        def __init__(self) -> None:
            self.messages: list = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append(envelope)
            return "250 OK"

    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    try:
        add_patient(store, "P1", 90, email="pat@example.com", phone=False)
        w = world(smtp_url=f"smtp://127.0.0.1:{port}?tls=none")
        start(w)
        work(w)
        assert attempts(store)["P1"].status == "sent"
        assert len(inbox.messages) == 1
        import email
        import email.policy

        mail = email.message_from_bytes(inbox.messages[0].content, policy=email.policy.default)
        assert mail["Subject"] == f"{w.services.practice.name}: we'd love to see you again"
        body = mail.get_content()
        link = body.split("To stop these emails, open ")[1].split()[0]
        assert mail["List-Unsubscribe"].strip() == f"<{link}>"
        path = link.replace("http://testserver", "")
        client = w.app.test_client()
        assert client.get(path).status_code == 200
        assert client.post(path).status_code == 200
        with store.sessions() as s:
            assert s.get(Patient, "P1").opted_out
        assert client.post(path[:-3] + "xyz").status_code == 404
    finally:
        smtp.stop()


def test_email_channel_off_without_smtp(world, store):
    add_patient(store, "P1", 90, email="pat@example.com", phone=False)
    w = world()
    start(w)
    work(w)
    a = attempts(store)["P1"]
    assert a.status == "skipped" and "SMTP_URL" in a.reason


def test_stop_reply_opts_out_everywhere(world, store):
    add_patient(store, "P1", 90, **ALL)
    add_patient(store, "P2", 80, **ALL)
    w = world()
    start(w)
    from receptionist.simulation.simulator import CallSimulator, FlaskTransport

    sim = CallSimulator(FlaskTransport(w.app), base_url="http://testserver", auth_token="test-auth-token")
    # the first revocation gets the one confirmation; later ones, however worded, get no second text
    for body, reply in (
        ("stop by tomorrow?", "Brightsmile Dental: "),  # two-way texting: a conversation, no opt-out
        ("Stop", "opted out of all our calls, texts and emails"),
        ("STOP ALL", None),
        ("unsubscribe", None),
        ("please don't text me anymore", None),
    ):
        params = {
            "MessageSid": "SM1",
            "From": phone_of("P2"),
            "To": "+12025550100",
            "Body": body,
            "AccountSid": "AC" + "0" * 32,
        }
        url = "http://testserver/sms/inbound"
        status, xml = sim.transport.post(url, params, {"X-Twilio-Signature": sim.sign(url, params)})
        assert status == 200 and "<Response" in xml
        if reply is None:
            assert "<Message" not in xml, (body, xml)
        else:
            assert reply in xml, (body, xml)
    forged = w.app.test_client().post(
        "/sms/inbound", data={"From": phone_of("P1"), "Body": "STOP"}, headers={"X-Twilio-Signature": "nope"}
    )
    assert forged.status_code == 403
    with store.sessions() as s:
        assert s.get(Patient, "P2").opted_out and not s.get(Patient, "P1").opted_out
    work(w)
    got = attempts(store)
    assert got["P2"].status == "skipped" and got["P1"].status == "sent"


def test_provider_refusal_fails_and_outage_is_retried(world, store):
    add_patient(store, "P1", 90, **ALL)
    w = world()
    with store.session() as s:  # a number Twilio will refuse
        from receptionist.store import PatientPhone

        s.get(PatientPhone, ("P1", phone_of("P1"))).phone = "12345"
    start(w)
    work(w)
    a = attempts(store)["P1"]
    assert a.status == "failed" and "refused" in a.reason


def _worker_env(w) -> dict[str, str]:
    env = {**os.environ, **w.env()}
    env.pop("PRACTICE_FILE", None)
    return env


def test_two_workers_send_each_attempt_once(world, store, tmp_path):
    """Two worker processes on one campaign, every job enqueued twice: every attempt goes out exactly once."""
    for i in range(1, 31):
        add_patient(store, f"P{i}", 100 - i, consent_sms=True, consent_written=True)
    practice_file = tmp_path / "practice.toml"
    practice_file.write_text(_PRACTICE)
    w = world(play=False)
    started = start(w)
    from receptionist.jobs import send_attempt_job

    for a in attempts(store).values():  # every job twice
        w.services.outreach_queue.enqueue(send_attempt_job, a.id)
    env = {**_worker_env(w), "PRACTICE_FILE": str(practice_file)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "receptionist.cli", "worker", "--burst"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for p in procs:
        _, err = p.communicate(timeout=240)
        assert p.returncode == 0, err[-2000:]
    got = attempts(store)
    assert started.enqueued == 30
    assert all(a.status == "sent" for a in got.values()), {a.status for a in got.values()}
    to = [m.to for m in w.twilio.messages.values()]
    assert len(to) == 30 and len(set(to)) == 30


def test_worker_killed_mid_send_loses_nothing_and_duplicates_nothing(world, store, tmp_path):
    """The worker dies while Twilio is placing the call: reconciling records the call that went out (not a
    second one); an attempt claimed but never sent goes back in the queue and is sent once."""
    add_patient(store, "P1", 90, **ALL)
    add_patient(store, "P2", 80, **ALL)
    practice_file = tmp_path / "practice.toml"
    practice_file.write_text(_PRACTICE)
    w = world(play=False)
    start(w)
    w.twilio.gate = threading.Event()  # hold the first create response: the worker is mid-send
    env = {**_worker_env(w), "PRACTICE_FILE": str(practice_file)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "receptionist.cli", "worker", "--burst"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while not w.twilio.calls and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(w.twilio.calls) == 1
    # the worker and its work horse (rq puts the horse in a process group of its own)
    with open(f"/proc/{proc.pid}/task/{proc.pid}/children") as fh:
        horses = [int(x) for x in fh.read().split()]
    for pid in horses:
        os.kill(pid, signal.SIGKILL)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert horses
    w.twilio.gate.set()
    w.twilio.gate = None
    got = attempts(store)
    stuck = [a for a in got.values() if a.status == "sending"]
    assert len(stuck) == 1
    w.clock[0] = MONDAY_10AM + dt.timedelta(minutes=5)
    counts = w.services.outreach.reconcile()
    assert counts == {"recorded": 1, "requeued": 0, "failed": 0}
    # a claim whose worker died before it reached Twilio: queued again
    other = next(a for a in got.values() if a.status != "sending")
    with store.session() as s:
        row = s.get(OutreachAttempt, other.id)
        row.status, row.claimed_at = "sending", MONDAY_10AM
    assert w.services.outreach.reconcile()["requeued"] == 1
    work(w)
    got = attempts(store)
    assert {a.status for a in got.values()} == {"sent"}
    assert sorted(c.to for c in w.twilio.calls.values()) == sorted(phone_of(p) for p in ("P1", "P2"))


_PRACTICE = """
[practice]
name = "Demo Dental"
timezone = "America/New_York"

[[locations]]
id = "main"
name = "Demo Dental"
phone = "+12025550100"
timezone = "America/New_York"
staff_numbers = ["+12025550111"]

[locations.hours]
mon = "08:00-17:00"
tue = "08:00-17:00"

[outreach]
staff_call_list_size = 0
holdout_share = 0.0
calls_per_second = 50.0
calling_hours = "00:00-23:59"
"""


def test_staff_call_now_rings_staff_first_then_the_patient(world, store):
    add_patient(store, "P1", 90, tier="high")  # no AI consent needed: a person makes this call
    add_patient(store, "P2", 80, tier="high", opted_out=False)
    w = world(staff_call_list_size=2)
    start(w)
    campaigns = w.services.campaigns
    listed = campaigns.staff_list(None)
    assert [r["patient_id"] for r in listed] == ["P1", "P2"]
    assert listed[0]["talking_points"] and not any("$" in p for p in listed[0]["talking_points"])
    work(w, expect_jobs=False)  # workers have nothing to do with staff calls
    assert not w.twilio.calls
    sid = campaigns.call_now(listed[0]["attempt_id"], "+12025550111")
    w.twilio.wait_idle()
    call = w.twilio.calls[sid]
    assert call.to == "+12025550111"  # the staff leg first
    transcript = " ".join(call.transcript)
    assert "Reactivation call to Pat1" in transcript and f"[dial {phone_of('P1')}" in transcript
    a = attempts(store)["P1"]
    assert (a.status, a.result, a.staff_number) == ("sent", "answered", "+12025550111")
    from receptionist.outreach.campaigns import CampaignError

    with pytest.raises(CampaignError, match="already sent"):
        campaigns.call_now(a.id, "+12025550111")
    # the patient opts out on another channel: the list entry can no longer be called
    from receptionist.outreach.optout import opt_out

    opt_out(store, ["P2"], how="test", now=w.clock[0])
    with pytest.raises(CampaignError, match="already skipped"):
        campaigns.call_now(listed[1]["attempt_id"], "+12025550111")


def test_stop_calling_me_on_a_reactivation_call_drops_the_patients_other_attempts(world, store):
    add_patient(store, "P1", 90, **ALL)
    w = world(callees={phone_of("P1"): Callee("human", ("stop calling me", "bye"))})
    started = start(w)
    with store.session() as s:  # another attempt waiting for the same patient
        s.add(
            OutreachAttempt(
                id="X:P1",
                campaign_id=started.campaign_id,
                patient_id="P1",
                tier="mid",
                channel="sms",
                rank=2,
                status="deferred",
            )
        )
    work(w)
    with store.sessions() as s:
        assert s.get(Patient, "P1").opted_out
        assert s.get(OutreachAttempt, "X:P1").status == "skipped"


def test_campaign_commands(run, store):
    add_patient(store, "P1", 90, tier="high")
    add_patient(store, "P2", 80, **ALL)
    add_patient(store, "P3", 70, phone=False, email="p3@example.com")
    r = run("campaign", "status")
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "no campaign yet" in r.stderr
    r = run("campaign", "run", "--json")
    assert r.returncode == 0, r.stderr
    body = json.loads(r.stdout)
    assert (
        body["attempts"] == 3
        and body["staff_calls"] + body["enqueued"] + body["holdout"] + body["general"] == 3
    )
    r = run("campaign", "status", "--json")
    status = json.loads(r.stdout)
    assert status["campaign_id"] == body["campaign_id"] and status["status"] == "running"
    assert run("campaign", "pause").returncode == 0
    assert json.loads(run("campaign", "status", "--json").stdout)["status"] == "paused"
    r = run("campaign", "resume")
    assert r.returncode == 0 and "running" in r.stdout
    r = run("campaign", "calls")
    assert r.returncode == 0
    r = run("campaign", "call-now", "nope", "--staff", "+12025550111")
    assert r.returncode == 1 and "no staff call nope" in r.stderr and "Traceback" not in r.stderr
    r = run("campaign", "call-now", "x", "--staff", "12")
    assert r.returncode == 1 and "--staff" in r.stderr


def test_local_mode_finds_the_stand_in_that_up_started(tmp_path):
    """With no Twilio account, the REST client goes to the stand-in `receptionist up` runs (its URL is kept in the
    data folder while it runs); an explicit TWILIO_API_BASE_URL or a real account wins."""
    from receptionist.config.settings import Settings
    from receptionist.simulation.localtwilio import LOCAL_URL_FILE

    assert Settings(receptionist_home=tmp_path).twilio_api is None
    (tmp_path / LOCAL_URL_FILE).write_text("http://127.0.0.1:9999")
    assert Settings(receptionist_home=tmp_path).twilio_api == "http://127.0.0.1:9999"
    assert Settings(receptionist_home=tmp_path, twilio_api_base_url="http://x").twilio_api == "http://x"
    assert Settings(receptionist_home=tmp_path, twilio_account_sid="AC" + "1" * 32).twilio_api is None


def test_final_status_keeps_a_result_already_known(world, store):
    """The staff leg of a bridge completes even when the patient never answered: the bridge's own result
    (from its <Dial>) stands; a call with no result yet takes its final status."""
    w = world()
    with store.session() as s:
        s.add(
            OutreachAttempt(
                id="C:P1",
                campaign_id="C",
                patient_id="P1",
                tier="high",
                channel="staff_call",
                rank=1,
                status="sent",
                provider_id="CA1",
                result="no-answer",
                sent_at=MONDAY_10AM,
            )
        )
        s.add(
            OutreachAttempt(
                id="C:P2",
                campaign_id="C",
                patient_id="P2",
                tier="mid",
                channel="ai_call",
                rank=2,
                status="sent",
                provider_id="CA2",
                sent_at=MONDAY_10AM,
            )
        )
    d = w.services.outreach
    d.settle_call("C:P1", CallParams.parse({"CallSid": "CA1", "CallStatus": "completed"}))
    d.settle_call("C:P2", CallParams.parse({"CallSid": "CA2", "CallStatus": "busy"}))
    d.settle_call("C:P2", CallParams.parse({"CallSid": "CA-forged", "CallStatus": "completed"}))
    got = attempts(store)
    assert (got["P1"].result, got["P2"].result) == ("no-answer", "busy")


def test_a_calls_minutes_count_against_it(world, store):
    """A call's cost is its charge plus every started minute at the channel's rate, counted once."""
    from receptionist.outcomes.log import store_counts

    add_patient(store, "P1", 90, **ALL)
    w = world(callees={phone_of("P1"): Callee("human", ("no thank you", "bye"))})
    start(w)
    work(w)
    a = attempts(store)["P1"]
    rules = w.services.practice.outreach
    seconds = 10  # the simulator bills 5 s a turn: two turns
    w.services.outreach.settle_call(
        a.id,
        CallParams.parse({"CallSid": a.provider_id, "CallStatus": "completed", "CallDuration": str(seconds)}),
    )  # Twilio repeats the callback
    counts = store_counts(store)
    talk = {k: v for k, v in counts.items() if k[3] == "talk"}
    sent = {k: v for k, v in counts.items() if k[3] == "sent"}
    assert list(talk.values()) == [
        (1, round(rules.minute_costs["ai_call"] * 100))
    ]  # one started minute, once
    assert list(sent.values()) == [(1, round(rules.costs["ai_call"] * 100))]
    assert rules.talk_cost("staff_call", 61) == 2 * rules.minute_costs["staff_call"]
    assert rules.expected_cost("ai_call") == pytest.approx(0.35)


def test_one_cost_everywhere(world, store):
    """`campaign status`, the Campaigns page and stats/Results show one cost: the per-attempt charges plus the
    call minutes (outcomes/cost.py), and each says what it includes."""
    from receptionist.outcomes.cost import INCLUDES
    from receptionist.outcomes.log import store_counts
    from receptionist.outcomes.report import build_report, render

    add_patient(store, "P1", 90, **ALL)
    w = world(callees={phone_of("P1"): Callee("human", ("no thank you", "bye"))})
    start(w)
    work(w)
    a = attempts(store)["P1"]
    rules = w.services.practice.outreach
    w.services.outreach.settle_call(
        a.id, CallParams.parse({"CallSid": a.provider_id, "CallStatus": "completed", "CallDuration": "10"})
    )  # the simulator bills 5 s a turn: two turns, one started minute
    expected = round(rules.costs["ai_call"] + rules.talk_cost("ai_call", 10), 2)
    assert rules.talk_cost("ai_call", 10) > 0  # the minutes are part of it, not only the charge
    status = w.services.campaigns.status(None)
    assert status["cost"] == pytest.approx(expected)
    assert status["cost_parts"]["charges"] == pytest.approx(rules.costs["ai_call"])
    assert status["cost_includes"] == INCLUDES
    report = build_report(store_counts(store), rules)
    assert sum(r.cost for r in report.totals) == pytest.approx(expected)
    assert INCLUDES in render(report)


def test_deferred_contacts_say_when_they_go_out(world, store):
    """Contacts deferred to the patient's calling hours are counted in the status with the next send time in
    the location's zone, in words."""
    add_patient(store, "P1", 90, **ALL)
    w = world()
    w.clock[0] = MONDAY_10AM.replace(hour=3)  # 10 PM the evening before in New York: outside calling hours
    start(w)
    work(w)
    status = w.services.campaigns.status(None)
    deferred = status["deferred"]
    assert deferred["count"] == 1, status
    assert deferred["next_send_local"] == "Mon Nov 30, 8:00 AM EST"  # calling hours open at 08:00 local
