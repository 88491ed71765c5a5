"""The ASAP list: an opened slot is texted to the best-ranked patients in batches within every outreach gate,
the first yes books it once, later yeses hear it is taken, and offers expire."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import threading
import xml.etree.ElementTree as ET

import pytest
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select, update

from receptionist import jobqueue
from receptionist.conversation.store_tools import StoreTools
from receptionist.outreach import asap as asap_mod
from receptionist.outreach import optout
from receptionist.outreach.asap import Candidate, likelihood, offer_text, rank, reply_kind
from receptionist.outreach.gates import exempt_text_problem
from receptionist.scheduling.schedule import Wanted, book, ensure_schedule, find_openings
from receptionist.simulation.simulator import CallSimulator, FlaskTransport
from receptionist.store import Appointment, AsapOffer, AsapRequest, Patient, PatientScore, Slot
from receptionist.wording.contacts import SMS_LIMIT
from tests.api_helpers import make_api
from tests.outreach_helpers import ALL, MONDAY_10AM, add_patient, attempts, phone_of, work

TUESDAY = dt.date(2026, 12, 1)
VALUES = {"P1": 900.0, "P2": 800.0, "P3": 700.0, "P4": 600.0, "P5": 500.0, "P6": 400.0}


# -- pure decisions -------------------------------------------------------------------------------------------
def test_rank_is_value_times_likelihood_one_entry_per_patient():
    """Best first by value x P(accept); a patient listed twice keeps the better entry; the limit holds."""
    cands = [
        Candidate("A", None, 1000.0, 0.05),  # 50
        Candidate("B", 7, 150.0, 0.6),  # 90: asked
        Candidate("C", None, 2000.0, 0.15),  # 300
        Candidate("A", 3, 1000.0, 0.6),  # 600: A asked too
    ]
    assert [c.patient_id for c in rank(cands, 10)] == ["A", "C", "B"]
    assert rank(cands, 10)[0].request_id == 3
    assert [c.patient_id for c in rank(cands, 2)] == ["A", "C"]


@pytest.mark.parametrize(
    ("asked", "lapsed", "p_alive", "hours", "expected"),
    [
        (True, False, 0.1, 2, asap_mod.P_ASKED),
        (False, False, 1.0, 48, asap_mod.P_DUE),
        (False, True, 1.0, 48, asap_mod.P_LAPSED),
        (False, False, 0.0, 48, asap_mod.P_DUE / 2),
        (False, False, 1.0, 3, asap_mod.P_DUE / 2),  # short notice halves it
    ],
)
def test_likelihood_table(asked, lapsed, p_alive, hours, expected):
    """Who asked is likeliest; due beats lapsed; p_alive and short notice scale the rest."""
    got = likelihood(asked=asked, lapsed=lapsed, p_alive=p_alive, notice=dt.timedelta(hours=hours))
    assert got == pytest.approx(expected)


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        ("yes", "accept"),
        ("YES!", "accept"),
        ("1", "accept"),
        ("I'll take it", "accept"),
        ("I\u2019ll take it, thanks", "accept"),
        ("Sí", "accept"),
        ("si por favor", "accept"),
        ("no thanks", "decline"),
        ("2", "decline"),
        ("no puedo", "decline"),
        ("can I come Tuesday instead?", None),
        ("help", None),
    ],
)
def test_reply_words(body, kind):
    """The words of both languages' files; anything else is not an answer to an offer."""
    assert reply_kind(body) == kind


@pytest.mark.parametrize("language", ["en", "es"])
def test_offer_text_keeps_to_the_exemption(language):
    """Practice name and number first, one segment, STOP, no marketing, in each language."""
    start = dt.datetime(2026, 12, 1, 10, 30, tzinfo=dt.UTC)
    name = "A Very Long Practice Name Family and Cosmetic Dentistry"
    text = offer_text(name, "+12025550100", start, language)
    assert len(text) <= SMS_LIMIT
    assert exempt_text_problem(text, name, "+12025550100") is None
    assert "10:30" in text


# -- a world: patients, a schedule, a booked visit that gets cancelled -----------------------------------------
def _setup(w, store, *, requester: bool = True) -> dict:
    """P0 has a Tuesday 10:00 cleaning; P1..P6 are lapsed with falling values; P7 asked for an earlier time;
    P8 opted out; P9 gave no consent to texts."""
    for pid in VALUES:
        add_patient(store, pid, 50, **ALL)
    add_patient(store, "P0", 10, **ALL)
    add_patient(store, "P7", 10, **ALL)
    add_patient(store, "P8", 99, opted_out=True, **ALL)
    add_patient(store, "P9", 99, consent_voice=True, consent_sms=False, consent_written=True)
    with store.session() as s:
        for pid, value in {**VALUES, "P8": 5000.0, "P9": 5000.0, "P7": 100.0, "P0": 100.0}.items():
            s.execute(
                update(PatientScore).where(PatientScore.patient_id == pid).values(expected_value_12m=value)
            )
    practice = w.services.practice
    ensure_schedule(store, practice, MONDAY_10AM.date(), weeks=2)
    visit = practice.visit_type("cleaning")
    location = practice.main
    opening = find_openings(
        store, location, visit, MONDAY_10AM, Wanted(days=frozenset({TUESDAY}), earliest_minute=600), limit=1
    )[0]
    with store.session() as s:
        appt = book(s, opening, "P0", "cleaning", location_id=location.id)
        appt_id = appt.id
    if requester:
        w.services.asap.request("P7", visit_type="cleaning", via="call")
    return {"appointment": appt_id, "opening": opening}


def _cancel_on_a_call(w, appointment_id: int) -> None:
    """P0 cancels on a call: the conversation's tool, wired as the call flow wires it."""
    tools = StoreTools(
        w.services.store,
        w.services.practice.main,
        call_sid="CA" + "1" * 32,
        caller_phone=phone_of("P0"),
        patient_id="P0",
        now=w.services.now,
        practice=w.services.practice,
        verified=["P0"],
        on_slot_opened=w.services.callflow.slot_opened,
    )
    tools.cancel(appointment_id)


def _offer(store) -> AsapOffer:
    with store.sessions() as s:
        return s.scalars(select(AsapOffer)).one()


def _texts(w) -> dict[str, str]:
    return {m.to: m.body for m in w.twilio.messages.values()}


def _reply(w, pid: str, body: str, sid: str = "SM1") -> str:
    sim = CallSimulator(FlaskTransport(w.app), base_url="http://testserver", auth_token="test-auth-token")
    params = {
        "MessageSid": sid,
        "From": phone_of(pid),
        "To": "+12025550100",
        "Body": body,
        "AccountSid": "AC" + "0" * 32,
    }
    url = "http://testserver/sms/inbound"
    status, xml = sim.transport.post(url, params, {"X-Twilio-Signature": sim.sign(url, params)})
    assert status == 200
    return " ".join(m.text or "" for m in ET.fromstring(xml).iter("Message"))


def _scheduled_batches(w) -> list[str]:
    registry = ScheduledJobRegistry("outreach", connection=w.services.queue_redis)
    jobs = [w.services.jobs.queue("outreach").fetch_job(j) for j in registry.get_job_ids()]
    return [j.func_name for j in jobs if j is not None and j.func_name == jobqueue.ASAP_BATCH]


def _booked_at(store, unit_id: int) -> list[str]:
    with store.sessions() as s:
        appt_ids = s.scalars(select(Slot.appointment_id).where(Slot.id == unit_id)).all()
        return [s.get(Appointment, a).patient_id for a in appt_ids if a is not None]


# -- the whole path -----------------------------------------------------------------------------------------
def test_a_cancellation_texts_the_ranked_patients_in_batches(world, store):
    """A visit cancelled on a call: its time goes to the patient who asked first, then the most valuable
    lapsed ones, three at a time; the next batch is scheduled minutes later; opted-out and no-consent
    patients are never candidates, nor the patient who cancelled."""
    w = world(play=False)
    made = _setup(w, store)
    _cancel_on_a_call(w, made["appointment"])
    work(w)
    offer = _offer(store)
    assert offer.status == "open" and offer.visit_type == "cleaning"
    ranked = [e["patient"] for e in offer.ranked]
    assert ranked == ["P7", "P1", "P2", "P3", "P4", "P5", "P6"]
    assert not {"P0", "P8", "P9"} & set(ranked)
    texts = _texts(w)
    assert set(texts) == {phone_of(p) for p in ("P7", "P1", "P2")}
    body = texts[phone_of("P1")]
    assert "Reply 1 to take it" in body and "Tue 12/1 at 10:00 AM" in body and len(body) <= SMS_LIMIT
    assert exempt_text_problem(body, w.services.practice.name, w.services.practice.main.phone) is None
    sent = attempts(store)
    assert {p: a.rank for p, a in sent.items()} == {"P7": 1, "P1": 2, "P2": 3}
    assert all(a.purpose == "exempt" and a.channel == "sms" and a.status == "sent" for a in sent.values())
    assert _scheduled_batches(w) == [jobqueue.ASAP_BATCH]
    # five minutes later, the scheduler runs the next batch
    w.clock[0] += dt.timedelta(minutes=5)
    assert w.services.asap.send_batch(offer.id) == "sent a batch of 3"
    work(w)
    assert set(_texts(w)) == {phone_of(p) for p in ("P7", "P1", "P2", "P3", "P4", "P5")}


def test_gates_refuse_an_opt_out_after_ranking_and_hold_texts_outside_calling_hours(world, store):
    """A patient who opts out after the offer was ranked is skipped at send time; at 22:30 in the patients'
    zone every text waits for the morning (deferred, not sent)."""
    w = world(play=False)
    made = _setup(w, store)
    with store.session() as s:
        s.get(Appointment, made["appointment"]).status = "cancelled"
        s.execute(update(Slot).where(Slot.appointment_id == made["appointment"]).values(appointment_id=None))
    offer_id = w.services.asap.opened(made["appointment"])
    assert offer_id is not None
    optout.opt_out(store, ["P1"], how="text", now=w.clock[0])
    work(w)
    sent = attempts(store)
    assert sent["P1"].status == "skipped" and sent["P1"].reason == "opted out"
    assert set(_texts(w)) == {phone_of("P7"), phone_of("P2")}

    # the same on another evening: nothing goes out after hours
    store_late = store
    with store_late.session() as s:
        s.execute(update(AsapOffer).values(status="expired"))
    w.clock[0] = dt.datetime(2026, 12, 1, 3, 30, tzinfo=dt.UTC)  # Monday 22:30 in Washington
    opening = find_openings(
        store,
        w.services.practice.main,
        w.services.practice.visit_type("cleaning"),
        w.clock[0],
        Wanted(days=frozenset({TUESDAY}), earliest_minute=14 * 60),
        limit=1,
    )[0]
    late = w.services.asap.open_slot(w.services.practice.main.id, opening.unit_id, "cleaning")
    before = len(w.twilio.messages)
    work(w)
    waiting = [a for a in attempts(store).values() if a.campaign_id == late]
    assert waiting and all(a.status == "deferred" and a.reason == "outside calling hours" for a in waiting)
    assert len(w.twilio.messages) == before


def test_first_yes_books_and_later_yeses_hear_it_is_taken(world, store):
    """P1's yes books the slot through the schedule; P7 (who asked) hears it is taken and stays on the list;
    P2 hears it is taken and how to book; the batch not yet sent is never sent."""
    w = world(play=False)
    made = _setup(w, store)
    _cancel_on_a_call(w, made["appointment"])
    work(w)
    offer = _offer(store)
    booked = _reply(w, "P1", "Yes")
    assert "you're booked for Tue 12/1 at 10:00 AM" in booked
    assert _booked_at(store, offer.unit_id) == ["P1"]
    assert _offer(store).status == "booked" and _offer(store).patient_id == "P1"
    taken = _reply(w, "P7", "1", sid="SM2")
    assert "just been taken. We'll text you if another time opens." in taken
    with store.sessions() as s:
        assert s.scalars(select(AsapRequest.status)).all() == ["open"]
    other = _reply(w, "P2", "I'll take it", sid="SM3")
    assert "just been taken. Call (202) 555-0100 to book." in other
    assert _booked_at(store, offer.unit_id) == ["P1"]
    # the next batch finds the offer closed: nobody else is texted
    assert w.services.asap.send_batch(offer.id) == "closed"
    # a text that is not an answer to the offer goes on to the texting conversation
    assert "Our hours are Monday to Friday" in _reply(w, "P3", "what are your hours", sid="SM4")


def test_an_expired_offer_books_nothing(world, store):
    """Past its expiry the offer closes (its waiting texts dropped) and a late yes hears it is gone."""
    w = world(play=False)
    made = _setup(w, store)
    _cancel_on_a_call(w, made["appointment"])
    work(w)
    offer = _offer(store)
    assert offer.expires_at.replace(tzinfo=dt.UTC) == MONDAY_10AM + dt.timedelta(hours=4)
    assert w.services.asap.expire(offer.id) == "not expired"
    w.clock[0] = MONDAY_10AM + dt.timedelta(hours=4, minutes=1)
    w.services.asap.send_batch(offer.id)  # the next batch finds it expired
    assert _offer(store).status == "expired"
    late = _reply(w, "P1", "yes")
    assert "no longer available" in late
    assert _booked_at(store, offer.unit_id) == []
    assert w.services.asap.campaign_status(offer.id) == "done"


def test_two_simultaneous_yeses_book_the_slot_once(world, store):
    """Two patients answer yes at the same instant from two threads: one is booked, the other hears it is
    taken, and the slot holds one appointment."""
    w = world(play=False)
    made = _setup(w, store)
    _cancel_on_a_call(w, made["appointment"])
    work(w)
    offer = _offer(store)
    barrier = threading.Barrier(2)
    replies: dict[str, str | None] = {}

    def answer(pid: str) -> None:
        barrier.wait()
        replies[pid] = w.services.asap.answer(phone_of(pid), "yes")

    threads = [threading.Thread(target=answer, args=(p,)) for p in ("P1", "P2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    booked = [p for p, r in replies.items() if r and "you're booked" in r]
    taken = [p for p, r in replies.items() if r and "just been taken" in r]
    assert len(booked) == 1 and len(taken) == 1
    assert _booked_at(store, offer.unit_id) == booked
    with store.sessions() as s:
        assert len(s.scalars(select(Appointment).where(Appointment.booked_via == "asap")).all()) == 1


def test_a_requester_taking_an_earlier_time_moves_their_later_visit(world, store):
    """P7 asked with their later visit named: their yes books the earlier time, cancels the later one, and
    that time goes to the list in turn."""
    w = world(play=False)
    made = _setup(w, store, requester=False)
    practice = w.services.practice
    later = find_openings(
        store,
        practice.main,
        practice.visit_type("cleaning"),
        MONDAY_10AM,
        Wanted(days=frozenset({TUESDAY + dt.timedelta(days=7)})),
        limit=1,
    )[0]
    with store.session() as s:
        later_id = book(s, later, "P7", "cleaning", location_id=practice.main.id).id
    w.services.asap.request("P7", appointment_id=later_id, via="call")
    _cancel_on_a_call(w, made["appointment"])
    work(w)
    moved = _reply(w, "P7", "si")
    assert "you're booked for Tue 12/1 at 10:00 AM" in moved and "Tue 12/8" in moved
    with store.sessions() as s:
        assert s.get(Appointment, later_id).status == "cancelled"
        assert s.scalars(select(AsapRequest.status)).all() == ["filled"]
    opened = [j for j in w.services.jobs.queue("outreach").get_jobs() if j.func_name == jobqueue.ASAP_OPENED]
    assert [j.args for j in opened] == [(later_id, "moved")]


def test_the_api_and_the_cli(world, store, run):
    """POST /api/v1/asap-requests lists a patient; a PMS cancellation through PUT /appointments offers the
    time; `receptionist asap --json` shows the request and the offer in flight."""
    w = world(play=False)
    _setup(w, store, requester=False)
    api = make_api(w.services, w.app)
    got = api.send("POST", "/api/v1/asap-requests", {"patient_id": "P7", "visit_type": "cleaning"})
    assert got.status_code == 201, got.get_json()
    bad = api.send("POST", "/api/v1/asap-requests", {"patient_id": "P7", "visit_type": "nope"})
    assert bad.status_code == 422 and "visit_type" in bad.get_json()["error"]["message"]
    start = dt.datetime(2026, 12, 2, 15, 0, tzinfo=dt.UTC).isoformat()  # Wednesday 10:00 in Washington
    pms = {
        "id": "OD-1",
        "patient_id": "P0",
        "start": start,
        "minutes": 60,
        "provider": "Hygienist Moore",
        "kind": "cleaning",
    }
    assert api.send("PUT", "/api/v1/appointments", {"appointments": [pms]}).status_code == 200
    assert (
        api.send(
            "PUT", "/api/v1/appointments", {"appointments": [{**pms, "status": "cancelled"}]}
        ).status_code
        == 200
    )
    work(w)
    offer = _offer(store)
    assert offer.provider == "Hygienist Moore" and offer.ranked[0]["patient"] == "P7"
    assert phone_of("P7") in _texts(w)
    opened = api.send(
        "POST",
        "/api/v1/openings",
        {"location_id": "main", "provider": "Hygienist Patel", "start": start, "visit_type": "cleaning"},
    )
    assert opened.status_code == 201 and opened.get_json()["offer_id"].startswith("asap-")
    shown = run("asap", "--json")
    assert shown.returncode == 0, shown.stderr
    listed = json.loads(shown.stdout)
    assert [r["patient_id"] for r in listed["requests"]] == ["P7"]
    assert {o["id"] for o in listed["offers"]} == {offer.id, opened.get_json()["offer_id"]}
    assert any(o["texts_sent"] >= 1 for o in listed["offers"])
    text = run("asap")
    assert text.returncode == 0 and "open requests: 1" in text.stdout


def test_the_practice_file_sets_the_batches(world, store):
    """`[asap] batch_size` is the number texted at once."""
    w = world(play=False)
    w.services.practice = dataclasses.replace(
        w.services.practice, asap=dataclasses.replace(w.services.practice.asap, batch_size=2)
    )
    w.services.__dict__.pop("asap", None)
    w.services.__dict__.pop("outreach", None)
    made = _setup(w, store)
    _cancel_on_a_call(w, made["appointment"])
    work(w)
    assert set(_texts(w)) == {phone_of("P7"), phone_of("P1")}


# -- on a call ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("script", "listed"),
    [
        (["I'd like to book a cleaning", "do you have anything earlier", "ok then the first one"], True),
        (["I'd like to book a cleaning", "is there a waiting list if something opens", "ok book it"], True),
        (["I'd like to book a cleaning", "yes please"], False),
    ],
)
def test_a_caller_who_wanted_earlier_is_put_on_the_list(script, listed):
    """The offline engine: a caller who asked for an earlier time and booked one no earlier is put on the
    ASAP list for that visit (and told so); one who took the first time is not."""
    from tests.offline_helpers import Call

    call = Call()
    for said in script:
        call.say(said)
    asked = call.tools.called("asap_request")
    booked = call.tools.called("book")
    assert len(booked) == 1
    assert bool(asked) is listed
    said = " ".join(call.heard)
    assert ("if an earlier time opens up, we'll text you" in said) is listed
    if listed:
        assert asked[0]["kind"] == "cleaning" and asked[0]["appointment_id"] is not None


def test_after_booking_a_caller_can_ask_for_the_waiting_list():
    """ "Put me on the waiting list" right after a booking lists that visit; "no thanks" does not."""
    from tests.offline_helpers import Call

    call = Call()
    call.say("I'd like to book a cleaning")
    call.say("yes")
    reply = call.say("can you put me on the waiting list in case something earlier opens")
    (asked,) = call.tools.called("asap_request")
    assert asked["appointment_id"] is not None and asked["kind"] == ""
    assert "If an earlier time opens up, we'll text you." in reply.say
    other = Call()
    other.say("I'd like to book a cleaning")
    other.say("yes")
    assert other.say("no thanks, that's all").action == "hangup"
    assert other.tools.called("asap_request") == []


def test_the_call_tool_records_the_request_against_the_booked_visit(world, store):
    """`StoreTools.asap_request`: one open request (asking twice updates it) until the booked visit's time,
    and whether a text can reach the patient."""
    w = world(play=False)
    made = _setup(w, store, requester=False)
    tools = StoreTools(
        store,
        w.services.practice.main,
        call_sid="CA" + "2" * 32,
        caller_phone=phone_of("P0"),
        patient_id="P0",
        now=w.services.now,
        practice=w.services.practice,
    )
    assert tools.asap_request("cleaning", made["appointment"]) is True
    assert tools.asap_request("cleaning", made["appointment"]) is True
    with store.sessions() as s:
        (row,) = s.scalars(select(AsapRequest)).all()
        appt = s.get(Appointment, made["appointment"])
    assert (row.patient_id, row.visit_type, row.via, row.appointment_id) == (
        "P0",
        "cleaning",
        "call",
        appt.id,
    )
    assert row.until.replace(tzinfo=dt.UTC) == appt.start.replace(tzinfo=dt.UTC)
    no_texts = StoreTools(
        store,
        w.services.practice.main,
        call_sid="CA" + "3" * 32,
        caller_phone=phone_of("P9"),
        patient_id="P9",
        now=w.services.now,
        practice=w.services.practice,
    )
    assert no_texts.asap_request("exam") is False


def test_the_today_page_shows_the_asap_list(world, store):
    """Staff see the open requests and the offer in flight, with its texts, on Today."""
    from tests.dashboard_helpers import sign_in

    w = world(play=False)
    made = _setup(w, store)
    _cancel_on_a_call(w, made["appointment"])
    work(w)
    client = sign_in(w.app.test_client(), store)
    html = client.get("/").get_data(as_text=True)
    assert 'id="asap-offers"' in html and _offer(store).id in html
    assert "3 sent, 0 waiting, of 7" in html and "Tuesday December 1st at 10 AM" in html
    assert 'id="asap-requests"' in html and "/patients/P7" in html


def test_a_spanish_speaking_patient_is_offered_and_booked_in_spanish(world, store):
    """A patient whose language is Spanish gets the offer in Spanish and books with "sí"; "no" from another
    patient is answered, and books nothing."""
    w = world(play=False)
    made = _setup(w, store)
    with store.session() as s:
        s.get(Patient, "P1").contact_preferences = {"language": "es"}
    _cancel_on_a_call(w, made["appointment"])
    work(w)
    body = _texts(w)[phone_of("P1")]
    assert "Se abrio una cita mas temprano: mar 1/12 a las 10:00" in body and len(body) <= SMS_LIMIT
    assert exempt_text_problem(body, w.services.practice.name, w.services.practice.main.phone) is None
    assert _reply(w, "P2", "no thanks") == f"{w.services.practice.name}: no problem."
    assert _booked_at(store, _offer(store).unit_id) == []
    assert "su cita es el mar 1/12 a las 10:00" in _reply(w, "P1", "Sí", sid="SM2")
    assert _booked_at(store, _offer(store).unit_id) == ["P1"]


def test_only_requests_that_fit_the_time_and_type_are_offered(world, store):
    """A request for another visit type, or only for times before the opened one, is not a candidate; a
    patient who is not lapsed but past the type's recall interval is (due); one seen lately is not."""
    w = world(play=False)
    made = _setup(w, store, requester=False)
    asap = w.services.asap
    start = made["opening"].start
    asap.request("P7", visit_type="exam", via="api")
    asap.request("P6", visit_type="cleaning", until=start - dt.timedelta(hours=1), via="api")
    add_patient(store, "P10", 10, **ALL)
    add_patient(store, "P11", 10, **ALL)
    with store.session() as s:
        s.execute(
            update(PatientScore)
            .where(PatientScore.patient_id.in_(["P10", "P11"]))
            .values(lapsed=False, expected_value_12m=5000.0)
        )
        s.execute(
            update(PatientScore)
            .where(PatientScore.patient_id == "P11")
            .values(last_visit=MONDAY_10AM.date() - dt.timedelta(days=30))
        )
    practice = w.services.practice
    found = asap.candidates(practice.main, practice.visit_type("cleaning"), start, MONDAY_10AM)
    by_id = {c.patient_id: c for c in found}
    assert by_id["P7"].request_id is None and by_id["P6"].request_id is None  # listed as lapsed, not as asked
    assert "P10" in by_id and by_id["P10"].p_accept > by_id["P1"].p_accept  # due beats lapsed
    assert "P11" not in by_id
