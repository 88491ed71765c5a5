"""Property tests of the send-time gates, through the real dispatcher, store, Redis and the Twilio stand-in.

Generated patients (numbers in five US time zones, any mix of consents and opt-outs) and generated sends at
generated instants over ten days, some calls still in progress when the next send comes. Whatever the mix,
nothing goes out outside 8:00-21:00 in the patient's own zone, to an opted-out or unconsented patient, more
than once in 24 hours or three times in 7 days, or through a second channel while a call is in progress; and
the provider saw exactly the contacts the log says went out.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from receptionist.store import Campaign, OutreachAttempt, Patient, PatientPhone
from receptionist.telephony.params import CallParams
from tests.outreach_helpers import make_world

ZONES = {
    "202": "America/New_York",
    "312": "America/Chicago",
    "415": "America/Los_Angeles",
    "907": "America/Anchorage",
    "808": "Pacific/Honolulu",
}
BASE = dt.datetime(2026, 11, 30, 0, 0, tzinfo=dt.UTC)

patients_st = st.lists(
    st.fixed_dictionaries(
        {
            "area": st.sampled_from(sorted(ZONES)),
            "voice": st.booleans(),
            "sms": st.booleans(),
            "written": st.booleans(),
            "opted_out": st.booleans(),
        }
    ),
    min_size=1,
    max_size=3,
)
sends_st = st.lists(
    st.tuples(
        st.integers(0, 2), st.sampled_from(["ai_call", "sms"]), st.integers(0, 10 * 24 * 60), st.booleans()
    ),
    min_size=1,
    max_size=12,
)


def _reset(store, redis_client) -> None:
    with store.session() as s:
        for table in (OutreachAttempt, Campaign, PatientPhone, Patient):
            s.execute(delete(table))
    redis_client.flushdb()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(patients=patients_st, sends=sends_st)
def test_nothing_is_sent_that_a_gate_forbids(
    tmp_path, database_url, redis_url, store, redis_client, patients, sends
):
    _reset(store, redis_client)
    w = make_world(tmp_path, database_url, redis_url, play=False)
    try:
        with store.session() as s:
            s.add(
                Campaign(id="C", run_id="R", status="running", holdout_share=0.0, created_at=BASE, summary={})
            )
            for i, p in enumerate(patients):
                s.add(
                    Patient(
                        id=f"P{i}",
                        first_name="Pat",
                        last_name="Example",
                        has_contact=True,
                        consent_voice=p["voice"],
                        consent_sms=p["sms"],
                        consent_written=p["written"],
                        opted_out=p["opted_out"],
                    )
                )
                s.flush()
                s.add(PatientPhone(patient_id=f"P{i}", phone=f"+1{p['area']}555{i:04d}", position=0))
        in_call: dict[str, str] = {}  # patient -> attempt id of a call not yet finished
        overlaps = []
        d = w.services.outreach
        for n, (who, channel, minute, finish_call) in enumerate(sorted(sends, key=lambda x: x[2])):
            pid = f"P{who % len(patients)}"
            w.clock[0] = BASE + dt.timedelta(minutes=minute)
            aid = f"C:{n}:{pid}"
            with store.session() as s:
                s.add(
                    OutreachAttempt(
                        id=aid,
                        campaign_id="C",
                        patient_id=pid,
                        tier="mid",
                        channel=channel,
                        rank=n,
                        status="queued",
                    )
                )
            outcome = d.send(aid)
            if outcome == "sent" and pid in in_call:
                overlaps.append((pid, aid))
            if outcome == "sent" and channel == "ai_call":
                in_call[pid] = aid
            if finish_call and pid in in_call:  # the call ends (its final status callback)
                done = in_call.pop(pid)
                with store.sessions() as s:
                    sid = s.get(OutreachAttempt, done).provider_id
                d.settle_call(done, CallParams.parse({"CallSid": sid, "CallStatus": "completed"}))
        assert not overlaps, "a second contact went out while a call was in progress"
        with store.sessions() as s:
            sent = s.scalars(select(OutreachAttempt).where(OutreachAttempt.status == "sent")).all()
        by_patient: dict[str, list[dt.datetime]] = {}
        for a in sent:
            p = patients[int(a.patient_id[1:])]
            assert not p["opted_out"]
            assert p["written"] and (p["voice"] if a.channel == "ai_call" else p["sms"])
            at = a.sent_at.replace(tzinfo=dt.UTC) if a.sent_at.tzinfo is None else a.sent_at
            local = at.astimezone(ZoneInfo(ZONES[p["area"]]))
            assert dt.time(8) <= local.time() < dt.time(21), (a.id, local)
            by_patient.setdefault(a.patient_id, []).append(at)
        for times in by_patient.values():
            times.sort()
            for i, t in enumerate(times):
                assert all(t - u >= dt.timedelta(days=1) for u in times[:i])
                assert sum(1 for u in times[: i + 1] if t - u < dt.timedelta(days=7)) <= 3
        # the provider saw exactly what the log says went out, each once
        provider = [c.sid for c in w.twilio.calls.values()] + [m.sid for m in w.twilio.messages.values()]
        assert sorted(provider) == sorted(a.provider_id for a in sent)
    finally:
        w.twilio.stop()
        w.services.close()
