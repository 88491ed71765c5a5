"""Property tests of the send-time gates, through the real dispatcher, store, Redis and the Twilio stand-in.

Generated patients (numbers in five US time zones, any mix of consents and opt-outs) and generated sends at
generated instants over ten days, some calls still in progress when the next send comes. Whatever the mix,
nothing goes out outside 8:00-21:00 in the patient's own zone, to an opted-out or unconsented patient, more
than once in 24 hours or three times in 7 days, or through a second channel while a call is in progress; and
the provider saw exactly the contacts the log says went out.

The 2025 consent rules too: generated exempt and marketing sends, and generated replies and revocations in
free words (English and Spanish), to patients across zones and the states whose rules are stricter; no
sequence breaks a rule (see the last test).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from receptionist.store import (
    Campaign,
    ConsentConfirmation,
    ConsentEvent,
    OutreachAttempt,
    Patient,
    PatientPhone,
)
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
        for table in (ConsentConfirmation, ConsentEvent, OutreachAttempt, Campaign, PatientPhone, Patient):
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


# -- the 2025 consent rules: any sequence of sends, replies and revocations, across zones and states -------
# area code -> the zones its numbers may be in (the oracle's own table, not the product's lookup)
AREAS = {
    "202": ("America/New_York",),  # DC
    "305": ("America/New_York",),  # Florida: 8-20 and 3 a day for marketing, presumed resident
    "405": ("America/Chicago",),  # Oklahoma: the same
    "410": ("America/New_York",),  # Maryland: 8-20 and 3 a day, by address only
    "860": ("America/New_York",),  # Connecticut: 9-20, written consent for every sales call
    "206": ("America/Los_Angeles",),  # Washington: 8-20
    "312": ("America/Chicago",),  # Illinois: federal rules
    "907": ("America/Adak", "America/Anchorage"),
    "808": ("Pacific/Honolulu",),
}
ZIPS = {  # zip -> (its state, its zone)
    "": (None, None),
    "33101": ("FL", "America/New_York"),
    "73102": ("OK", "America/Chicago"),
    "21201": ("MD", "America/New_York"),
    "06103": ("CT", "America/New_York"),
    "98101": ("WA", "America/Los_Angeles"),
    "75001": ("TX", "America/Chicago"),
}
AREA_STATE = {"202": "DC", "305": "FL", "405": "OK", "410": "MD", "860": "CT", "206": "WA", "312": "IL"}
AREA_STATE |= {"907": "AK", "808": "HI"}
# what the rules file says (the spec this oracle checks against): hours, 24-hour cap, written consent for all
STATE_LAW = {
    "FL": ((8, 20), 3, False, True),
    "OK": ((8, 20), 3, False, True),
    "MD": ((8, 20), 3, False, False),
    "CT": ((9, 20), None, True, True),
    "WA": ((8, 20), None, False, False),
}
REVOKING = [
    "STOP",
    "please don't text me anymore",
    "leave me alone",
    "ya no me manden mensajes",
    "no me llamen",
    "remove me",
]
ORDINARY = ["yes, can I come Tuesday?", "1", "stop by tomorrow?", "what are your hours", "HELP"]
PRACTICE_DAY, PRACTICE_WEEK = 4, 8  # looser than the exemption and the states, so theirs are what bind

mostly = st.sampled_from([True, True, True, False])  # consents usually given, so the other gates are reached
# instants over four days, half of them in the UTC hours where some state's or zone's hours begin or end
# (01:xx UTC is 20:xx in New York in winter, 02:xx is 20:xx in Chicago, 14:xx is 9:xx in New York, ...)
instants_st = st.tuples(
    st.integers(0, 3),
    st.one_of(st.integers(0, 23), st.sampled_from([0, 1, 2, 3, 4, 13, 14, 15, 16, 17, 18, 19])),
    st.integers(0, 59),
).map(lambda x: x[0] * 24 * 60 + x[1] * 60 + x[2])
consent_patients_st = st.lists(
    st.fixed_dictionaries(
        {
            "area": st.sampled_from(sorted(AREAS)),
            "zip": st.sampled_from(sorted(ZIPS)),
            "voice": mostly,
            "sms": mostly,
            "written": mostly,
        }
    ),
    min_size=1,
    max_size=3,
)
sends_of = st.tuples(
    st.just("send"),
    st.integers(0, 2),
    instants_st,
    st.sampled_from(["ai_call", "sms"]),
    st.sampled_from(["exempt", "marketing"]),
    st.booleans(),
)
texts_of = st.tuples(
    st.just("text"),
    st.integers(0, 2),
    instants_st,
    st.sampled_from(ORDINARY + ORDINARY + REVOKING),  # a revocation in one text of three
    st.just(""),
    st.just(False),
)
events_st = st.lists(st.one_of(sends_of, sends_of, sends_of, texts_of), min_size=6, max_size=24)


def _states_of(p: dict) -> set[str]:
    """The oracle's states for a patient: the ZIP's; the area code's when no ZIP or when it presumes."""
    by_zip = ZIPS[p["zip"]][0]
    by_area = AREA_STATE[p["area"]]
    found = {by_zip} if by_zip else set()
    if not found or (by_area in STATE_LAW and STATE_LAW[by_area][3]):
        found.add(by_area)
    return found


def _zones_of(p: dict) -> set[str]:
    zone = ZIPS[p["zip"]][1]
    return set(AREAS[p["area"]]) | ({zone} if zone else set())


def _post_text(w, frm: str, body: str, n: int) -> list[str]:
    import xml.etree.ElementTree as ET

    from receptionist.simulation.simulator import CallSimulator, FlaskTransport

    sim = CallSimulator(FlaskTransport(w.app), base_url="http://testserver", auth_token="test-auth-token")
    params = {
        "MessageSid": f"SM{n}",
        "From": frm,
        "To": "+12025550100",
        "Body": body,
        "AccountSid": "AC" + "0" * 32,
    }
    url = "http://testserver/sms/inbound"
    status, xml = sim.transport.post(url, params, {"X-Twilio-Signature": sim.sign(url, params)})
    assert status == 200
    return [m.text or "" for m in ET.fromstring(xml).iter("Message")]


FL_PATIENT = {"area": "305", "zip": "", "voice": True, "sms": True, "written": True}
OK_BY_ZIP = {"area": "202", "zip": "73102", "voice": True, "sms": True, "written": True}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(patients=consent_patients_st, events=events_st)
# the edges, always tried: a Florida number at 20:30 Eastern (marketing waits, a recall may go) ...
@example(
    patients=[FL_PATIENT],
    events=[("send", 0, 90, "sms", "marketing", False), ("send", 0, 95, "sms", "exempt", False)],
)
# ... four marketing texts in a day to Florida (the state allows three) and a second recall text that day ...
@example(
    patients=[FL_PATIENT],
    events=[("send", 0, m, "sms", p, False) for m, p in ((810, "marketing"), (900, "marketing"),
            (960, "marketing"), (1020, "marketing"), (1030, "exempt"), (1040, "exempt"))],
)  # fmt: skip
# ... and a revocation in Spanish from an Oklahoma address, then a call and a text
@example(
    patients=[OK_BY_ZIP],
    events=[
        ("text", 0, 840, "ya no me manden mensajes", "", False),
        ("text", 0, 842, "no me llamen", "", False),
        ("send", 0, 900, "ai_call", "exempt", False),
        ("send", 0, 960, "sms", "marketing", False),
    ],
)
def test_no_sequence_of_sends_replies_and_revocations_breaks_a_consent_rule(
    tmp_path, database_url, redis_url, store, redis_client, patients, events
):
    """Whatever the mix of patients (zones, states, consents), of exempt and marketing sends and of replies
    and revocations: nothing goes to a number after it revoked (in any words, on any channel); every send has
    its purpose's consent, its states' hours in every zone the patient may be in, and its purpose's and
    states' caps; every exempt text qualifies for the exemption and every exempt call is limited to a minute;
    a revoking number gets at most one confirmation, at once, with no marketing; a reply we cannot act on
    says how to reach the practice and how to opt out; the provider saw exactly what the log says went out."""
    from receptionist.outreach.gates import exempt_text_problem
    from receptionist.wording import contacts

    _reset(store, redis_client)
    w = make_world(
        tmp_path,
        database_url,
        redis_url,
        play=False,
        max_attempts_per_day=PRACTICE_DAY,
        max_attempts_per_week=PRACTICE_WEEK,
    )
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
                        has_contact=True,
                        zip=p["zip"],
                        consent_voice=p["voice"],
                        consent_sms=p["sms"],
                        consent_written=p["written"],
                    )
                )
                s.flush()
                s.add(PatientPhone(patient_id=f"P{i}", phone=f"+1{p['area']}55502{i:02d}", position=0))
        d = w.services.outreach
        revoked_at: dict[str, dt.datetime] = {}
        confirmations: dict[str, list[dt.datetime]] = {}
        in_call: dict[str, str] = {}
        overlaps = []
        for n, (kind, who, minute, what, purpose, finish) in enumerate(sorted(events, key=lambda e: e[2])):
            i = who % len(patients)
            pid, phone = f"P{i}", f"+1{patients[i]['area']}55502{i:02d}"
            now = BASE + dt.timedelta(minutes=minute)
            w.clock[0] = now
            if kind == "text":
                replies = _post_text(w, phone, what, n)
                if what in REVOKING:
                    revoked_at.setdefault(phone, now)
                    confirmations.setdefault(phone, []).extend(now for _ in replies)
                    for r in replies:
                        assert len(r) <= 160 and not contacts.has_marketing(r), r
                else:
                    # every reply one segment, no marketing; HELP and a number that revoked get the fixed
                    # line with the practice's number; the rest is the two-way conversation
                    assert replies and all(len(r) <= 160 for r in replies), (what, replies)
                    assert not any(contacts.has_marketing(r) for r in replies), (what, replies)
                    if what == "HELP" or phone in revoked_at:
                        assert len(replies) == 1 and "(202) 555-0100" in replies[0], (what, replies)
                continue
            aid = f"C:{n}:{pid}"
            with store.session() as s:
                s.add(
                    OutreachAttempt(
                        id=aid,
                        campaign_id="C",
                        patient_id=pid,
                        tier="mid",
                        channel=what,
                        purpose=purpose,
                        rank=n,
                        status="queued",
                    )
                )
            outcome = d.send(aid)
            if outcome == "sent" and pid in in_call:
                overlaps.append(aid)
            if outcome == "sent" and what == "ai_call":
                in_call[pid] = aid
            if finish and pid in in_call:
                done = in_call.pop(pid)
                with store.sessions() as s:
                    sid = s.get(OutreachAttempt, done).provider_id
                d.settle_call(done, CallParams.parse({"CallSid": sid, "CallStatus": "completed"}))
        assert not overlaps, "a second contact went out while a call was in progress"
        # at most one confirmation per revoking number, sent in the reply to a revocation (at once)
        for phone, sent in confirmations.items():
            assert len(sent) <= 1 and all(t - revoked_at[phone] <= dt.timedelta(minutes=5) for t in sent)
        with store.sessions() as s:
            sent = s.scalars(select(OutreachAttempt).where(OutreachAttempt.status == "sent")).all()
        at = {
            a.id: (a.sent_at.replace(tzinfo=dt.UTC) if a.sent_at.tzinfo is None else a.sent_at) for a in sent
        }
        name = w.services.practice.name
        for a in sent:
            i = int(a.patient_id[1:])
            p, phone, t = patients[i], f"+1{patients[i]['area']}55502{i:02d}", at[a.id]
            assert phone not in revoked_at or t < revoked_at[phone], (a.id, "sent after a revocation")
            voice_or_sms = p["voice"] if a.channel == "ai_call" else p["sms"]
            assert voice_or_sms and (a.purpose == "exempt" or p["written"]), (a.id, "no consent")
            law = [STATE_LAW[x] for x in _states_of(p) if x in STATE_LAW] if a.purpose == "marketing" else []
            start = max([8] + [rule[0][0] for rule in law])
            end = min([21] + [rule[0][1] for rule in law])
            for zone in _zones_of(p):
                local = t.astimezone(ZoneInfo(zone))
                assert dt.time(start) <= local.time() < dt.time(end), (a.id, zone, local)
            day_cap = min([PRACTICE_DAY] + [r[1] for r in law if r[1] is not None])
            week_cap = PRACTICE_WEEK
            if a.purpose == "exempt":
                day_cap, week_cap = min(day_cap, 1), min(week_cap, 3)
            others = [
                at[b.id] for b in sent if b.patient_id == a.patient_id and b.id != a.id and at[b.id] <= t
            ]
            assert sum(1 for u in others if t - u < dt.timedelta(days=1)) < day_cap, (a.id, "daily cap")
            assert sum(1 for u in others if t - u < dt.timedelta(days=7)) < week_cap, (a.id, "weekly cap")
            if a.purpose == "exempt" and a.channel == "sms":
                body = w.twilio.messages[a.provider_id].body
                assert exempt_text_problem(body, name, "+12025550100") is None, body
            if a.purpose == "exempt" and a.channel == "ai_call":
                assert w.twilio.calls[a.provider_id].time_limit == 60
        provider = [c.sid for c in w.twilio.calls.values()] + [m.sid for m in w.twilio.messages.values()]
        assert sorted(provider) == sorted(a.provider_id for a in sent)
    finally:
        w.twilio.stop()
        w.services.close()
