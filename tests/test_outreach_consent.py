"""The 2025 consent rules (COMPLIANCE.md): revocation in any reasonable words, on texts and calls, on every
channel; one confirmation text; replies that cannot be acted on; the exempt and marketing tags; the state
rules kept as data; the AI calls' disclosure."""

from __future__ import annotations

import dataclasses
import datetime as dt
import xml.etree.ElementTree as ET
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from receptionist.config.practice import OutreachRules
from receptionist.conversation.revocation import by_wording, revokes, wordings
from receptionist.outreach import states
from receptionist.outreach.gates import (
    consent_for,
    exempt_text_problem,
    may_contact,
    rules_for,
)
from receptionist.simulation.simulator import CallSimulator, FlaskTransport
from receptionist.store import (
    Campaign,
    ConsentConfirmation,
    ConsentEvent,
    OutreachAttempt,
    Patient,
    PatientPhone,
)
from receptionist.wording import contacts
from tests.outreach_helpers import ALL, MONDAY_10AM, add_patient, attempts, phone_of, start, work

NOW = dt.datetime(2026, 11, 30, 15, tzinfo=dt.UTC)
NY = ZoneInfo("America/New_York")


# -- revocation in any reasonable words ------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "STOP",
        "Stop.",
        "unsubscribe",
        "please don't text me anymore",
        "Please don't text me anymore!",
        "leave me alone",
        "Leave me alone please",
        "remove me",
        "Remove me from your list!!",
        "stop texting",
        "stop calling me",
        "I don't want these texts",
        "lose my number",
        "ya no me manden mensajes",
        "Por favor ya no me envíen más mensajes",
        "no me llamen",
        "No me llamen más, gracias",
        "quítenme de la lista",
        "Déjenme en paz",
        "quiero darme de baja",
    ],
)
def test_revocation_in_any_reasonable_words(text):
    """Carrier keywords, free English wording and Spanish all revoke."""
    assert revokes(text, NOW)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "stop by tomorrow?",
        "I'll stop by tomorrow",
        "yes, can I come Tuesday?",
        "1",
        "the 10am",
        "text me instead of calling",
        "can you call me instead of texting",
        "stop texting me, call me instead",
        "cancel my appointment",
        "hola, quiero una cita el martes",
        "no, gracias",
        "what are your hours",
    ],
)
def test_ordinary_replies_do_not_revoke(text):
    """Bookings, preferences, questions and "stop by" are not revocations."""
    assert not revokes(text, NOW)


def test_the_wordings_are_data_in_both_languages():
    """The wording lists are per language files, loaded and normalised like the model's input."""
    table = wordings()
    assert {"en", "es"} <= set(table) and all(len(table[k]) >= 20 for k in ("en", "es"))
    assert ("leave", "me", "alone") in table["en"]
    assert ("quitenme", "de", "la", "lista") in table["es"]  # accents folded
    assert by_wording("QUÍTENME DE LA LISTA") and not by_wording("la lista de precios")


# -- texts: honoured at once on every channel, one confirmation, replies we cannot act on -----------------
def _text(w, frm: str, body: str, sid: str = "SM1") -> str:
    sim = CallSimulator(FlaskTransport(w.app), base_url="http://testserver", auth_token="test-auth-token")
    params = {
        "MessageSid": sid,
        "From": frm,
        "To": "+12025550100",
        "Body": body,
        "AccountSid": "AC" + "0" * 32,
    }
    url = "http://testserver/sms/inbound"
    status, xml = sim.transport.post(url, params, {"X-Twilio-Signature": sim.sign(url, params)})
    assert status == 200
    return xml


def _messages(xml: str) -> list[str]:
    return [m.text or "" for m in ET.fromstring(xml).iter("Message")]


def test_a_free_text_revocation_stops_every_channel_with_one_confirmation(world, store):
    """ "please don't text me anymore" opts the sender out of calls, texts and email at once; the one
    confirmation carries no marketing and fits a segment; a second revocation gets no second text."""
    add_patient(store, "P1", 90, email="p1@example.com", **ALL)
    add_patient(store, "P2", 80, **ALL)
    w = world()
    start(w)
    replies = _messages(_text(w, phone_of("P1"), "please don't text me anymore"))
    assert len(replies) == 1
    confirmation = replies[0]
    assert "opted out of all our calls, texts and emails" in confirmation
    assert len(confirmation) <= 160 and not contacts.has_marketing(confirmation)
    assert w.services.practice.name in confirmation and "(202) 555-0100" in confirmation
    assert _messages(_text(w, phone_of("P1"), "leave me alone", sid="SM2")) == []
    assert _messages(_text(w, phone_of("P1"), "STOP", sid="SM3")) == []
    with store.sessions() as s:
        assert s.get(Patient, "P1").opted_out and not s.get(Patient, "P2").opted_out
        events = s.scalars(select(ConsentEvent).where(ConsentEvent.patient_id == "P1")).all()
        assert len(events) == 3 and {e.purposes for e in events} == {"exempt marketing"}
        assert {e.phone for e in events} == {phone_of("P1")}
        assert len(s.scalars(select(ConsentConfirmation)).all()) == 1
    work(w)
    got = attempts(store)
    assert got["P1"].status == "skipped" and got["P2"].status == "sent"
    assert all(m.to != phone_of("P1") for m in w.twilio.messages.values())
    assert all(c.to != phone_of("P1") for c in w.twilio.calls.values())


def test_a_revoked_number_is_never_contacted_even_for_a_patient_linked_later(world, store):
    """A stranger's number revokes; a patient imported later with that number is skipped."""
    w = world()
    assert _messages(_text(w, phone_of("P7"), "remove me"))  # no patient yet: still confirmed once
    add_patient(store, "P7", 90, **ALL)
    start(w)
    work(w)
    a = attempts(store)["P7"]
    assert a.status == "skipped" and a.reason == "opted out"
    assert not w.twilio.messages and not w.twilio.calls


def test_a_reply_the_product_cannot_act_on_says_how_to_reach_the_practice_and_opt_out(world, store):
    """A text the product cannot act on (two-way texting reads replies now: words it cannot understand) is
    answered with that, the practice's number and how to opt out; it is no revocation."""
    add_patient(store, "P1", 90, **ALL)
    w = world()
    replies = _messages(_text(w, phone_of("P1"), "zxqv blorp wibble"))
    reply = " ".join(replies)
    assert "didn't get that" in reply and "(202) 555-0100" in reply
    assert "STOP" in reply and "call us" in reply and all(len(r) <= 160 for r in replies)
    (help_reply,) = _messages(_text(w, phone_of("P1"), "HELP", sid="SM2"))
    assert "(202) 555-0100" in help_reply and "STOP" in help_reply
    with store.sessions() as s:
        assert not s.get(Patient, "P1").opted_out


@given(st.text(min_size=1, max_size=120), st.sampled_from(["+12025550100", "+13055550100", "+14055550123"]))
@settings(max_examples=200, deadline=None)
def test_every_reply_text_fits_one_segment(practice, phone):
    """Whatever the practice's name, the confirmation, help and cannot-read texts fit 160 characters and the
    confirmation carries no marketing (beyond what the practice's own name may say)."""
    assume(not contacts.has_marketing(practice))
    for text in (
        contacts.optout_confirmation(practice, phone),
        contacts.help_text(practice, phone),
        contacts.cannot_read_replies(practice, phone),
    ):
        assert 0 < len(text) <= 160
    assert not contacts.has_marketing(contacts.optout_confirmation(practice, phone))


# -- calls: the same understanding ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "words", ["leave me alone", "no me llamen", "please don't call me anymore", "stop calling me"]
)
def test_a_revocation_on_a_call_is_honoured_on_every_channel(services, store, redis_client, tmp_path, words):
    """On a call, the same wordings as texts opt the caller out, and the call ends with the apology."""
    from tests.voice_helpers import MAIN, TOM, load_small_practice, simulator_for

    load_small_practice(store, redis_client, tmp_path)
    call = simulator_for(services).call(from_=TOM, to=MAIN, says=[words, "bye"])
    assert call.outcome["opted_out"] is True, call.transcript
    assert "won't hear from us again" in " ".join(t["receptionist"] for t in call.turns)
    with store.sessions() as s:
        assert s.get(Patient, "P2").opted_out
        assert s.scalars(select(ConsentEvent).where(ConsentEvent.patient_id == "P2")).all()


# -- the AI call's disclosure, outbound included ---------------------------------------------------------
def _spoken(w, attempt: OutreachAttempt) -> str:
    """What the AI said on the call, from its first words."""
    lines = w.twilio.calls[attempt.provider_id].transcript
    return " ".join(x.removeprefix("receptionist: ") for x in lines if x.startswith("receptionist: "))


@pytest.mark.parametrize("purpose", ["marketing", "exempt"])
def test_an_outbound_ai_call_says_it_is_automated_and_names_the_practice_first(world, store, purpose):
    """The first words of an answered AI call say the voice is automated and name the practice; an exempt
    call gives the practice's number first too and is limited to a minute."""
    from receptionist.simulation.localtwilio import Callee

    add_patient(store, "P1", 90, **ALL)
    w = world(callees={phone_of("P1"): Callee("human", ("no thanks",))})
    _campaign(store, purpose, [("P1", "ai_call")])
    assert w.services.outreach.send("C:P1") == "sent"
    w.twilio.wait_idle()
    a = attempts(store)["P1"]
    first = _spoken(w, a)
    name = w.services.practice.name
    assert "automated" in first.lower() and name in first
    call = w.twilio.calls[a.provider_id]
    if purpose == "exempt":
        assert first.startswith(f"Hello, this is an automated call from {name}, at (202) 555-0100.")
        assert call.time_limit == 60
    else:
        assert call.time_limit == 600


@pytest.mark.parametrize("purpose", ["marketing", "exempt"])
def test_an_ai_voicemail_says_it_is_automated(world, store, purpose):
    """A machine gets a voicemail that says it is automated, names the practice and its number first, says
    how to opt out and, when exempt, carries no marketing."""
    from receptionist.simulation.localtwilio import Callee

    add_patient(store, "P1", 90, **ALL)
    w = world(callees={phone_of("P1"): Callee("machine")})
    _campaign(store, purpose, [("P1", "ai_call")])
    assert w.services.outreach.send("C:P1") == "sent"
    w.twilio.wait_idle()
    vm = _spoken(w, attempts(store)["P1"])
    name = w.services.practice.name
    assert vm.startswith(f"Hello, this is an automated message from {name}, at (202) 555-0100.")
    assert "stop calling me" in vm and len(vm.split()) < 75
    assert contacts.has_marketing(vm) == (purpose == "marketing")


# -- exempt and marketing tags ----------------------------------------------------------------------------
def _campaign(store, purpose: str, rows: list[tuple[str, str]], cid: str = "C") -> None:
    with store.session() as s:
        if s.get(Campaign, cid) is None:
            s.add(
                Campaign(
                    id=cid,
                    run_id="R1",
                    status="running",
                    holdout_share=0.0,
                    created_at=MONDAY_10AM,
                    summary={},
                    purpose=purpose,
                )
            )
        for n, (pid, channel) in enumerate(rows):
            s.add(
                OutreachAttempt(
                    id=f"{cid}:{pid}",
                    campaign_id=cid,
                    patient_id=pid,
                    tier="mid",
                    channel=channel,
                    purpose=purpose,
                    rank=n,
                    status="queued",
                )
            )


def test_exempt_texts_need_only_prior_express_consent_and_keep_to_the_exemption(world, store):
    """A recall text goes to a patient who gave the number (no written consent) and names the practice and
    its number first, under 160 characters with STOP; a marketing text to the same patient is skipped."""
    add_patient(store, "P1", 90, consent_sms=True)
    add_patient(store, "P2", 80, consent_sms=True)
    w = world()
    _campaign(store, "exempt", [("P1", "sms")], cid="E")
    _campaign(store, "marketing", [("P2", "sms")], cid="M")
    assert w.services.outreach.send("E:P1") == "sent"
    assert w.services.outreach.send("M:P2") == "skipped: no prior express written consent to texts"
    (message,) = w.twilio.messages.values()
    name = w.services.practice.name
    assert message.body.startswith(f"{name} (202) 555-0100:") and len(message.body) <= 160
    assert exempt_text_problem(message.body, name, "+12025550100") is None


def test_reactivation_campaigns_are_tagged_marketing(world, store):
    """A reactivation plan's campaign and every attempt carry the marketing tag."""
    add_patient(store, "P1", 90, **ALL)
    w = world()
    started = start(w)
    with store.sessions() as s:
        assert s.get(Campaign, started.campaign_id).purpose == "marketing"
    assert {a.purpose for a in attempts(store).values()} == {"marketing"}
    assert w.services.campaigns.status(started.campaign_id)["purpose"] == "marketing"


@pytest.mark.parametrize(
    ("purpose", "channel", "voice", "sms", "written", "ok"),
    [
        ("exempt", "ai_call", True, False, False, True),
        ("exempt", "sms", False, True, False, True),
        ("exempt", "sms", False, False, True, False),
        ("marketing", "ai_call", True, False, False, False),
        ("marketing", "ai_call", True, False, True, True),
        ("marketing", "sms", False, True, False, False),
        ("marketing", "sms", False, True, True, True),
        ("marketing", "staff_call", False, False, False, True),
        ("exempt", "email", False, False, False, True),
    ],
)
def test_consent_by_purpose(purpose, channel, voice, sms, written, ok):
    """Exempt needs prior express consent; marketing AI calls and texts need it in writing."""
    assert consent_for(purpose, channel, voice=voice, sms=sms, written=written)[0] is ok


def test_exempt_caps_hold_whatever_the_practice_sets():
    """An exempt contact is at most 1 a day and 3 a week even when the practice allows more."""
    loose = dataclasses.replace(OutreachRules(), max_attempts_per_day=5, max_attempts_per_week=10)
    exempt = rules_for(loose, "exempt")
    assert (exempt.max_attempts_per_day, exempt.max_attempts_per_week) == (1, 3)
    assert rules_for(loose, "marketing").max_attempts_per_day == 5
    with pytest.raises(ValueError, match="purpose"):
        rules_for(loose, "promo")


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("Brightsmile Dental (202) 555-0100: Your check-up is due. Reply STOP to opt out.", None),
        ("Hi! Brightsmile Dental (202) 555-0100: due. Reply STOP to opt out.", "first"),
        ("Brightsmile Dental: Your check-up is due. Reply STOP to opt out.", "first"),
        ("Brightsmile Dental (202) 555-0100: Your check-up is due.", "opt out"),
        ("Brightsmile Dental (202) 555-0100: 20% off cleanings! Reply STOP to opt out.", "marketing"),
        ("Brightsmile Dental (202) 555-0100: " + "x" * 130 + " STOP", "160"),
    ],
)
def test_exempt_text_check(body, problem):
    """The exemption's wording rules, as a check the dispatcher runs before every exempt text."""
    found = exempt_text_problem(body, "Brightsmile Dental", "+12025550100")
    assert (found is None) if problem is None else (problem in (found or ""))


@given(st.text(max_size=80), st.text(max_size=40))
@settings(max_examples=200, deadline=None)
def test_every_reminder_text_qualifies_for_the_exemption(practice, first):
    """Whatever the names, the recall text names the practice and its number first, fits 160 characters,
    offers STOP and carries no marketing (or the dispatcher would refuse to send it)."""
    assume(not contacts.has_marketing(first))  # a patient named "Free" would be refused, not sent
    body = contacts.reminder_sms_text(practice, first, "+12025550100")
    name = body.split(" (202)")[0]
    assert exempt_text_problem(body, name, "+12025550100") is None or contacts.has_marketing(name)


# -- state rules as data ---------------------------------------------------------------------------------
def test_the_state_table_has_a_source_and_dates_for_every_row():
    """Every row names its source, when it took effect and when it was checked; FL and OK are 8-20, 3 a day."""
    table = states.rules()
    assert {"FL", "OK", "MD", "WA", "CT"} <= set(table)
    for rule in table.values():
        assert rule.source and rule.in_force[:4].isdigit() and rule.checked[:4].isdigit()
    for code in ("FL", "OK"):
        rule = table[code]
        assert (rule.hours, rule.max_per_24h, rule.applies_to) == ((dt.time(8), dt.time(20)), 3, "marketing")
        assert rule.written_consent == "automated" and rule.area_code


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("state,applies_to,start,end,max_per_24h,written_consent,area_code,source,in_force,checked\n"
         "XX,marketing,08:00,20:00,3,automated,yes,src,2021-07-01,2026-12-04", "unknown"),
        ("state,applies_to,start,end,max_per_24h,written_consent,area_code,source,in_force,checked\n"
         "FL,marketing,08:00,20:00,3,automated,yes,,2021-07-01,2026-12-04", "source"),
        ("state,applies_to,start,end,max_per_24h,written_consent,area_code,source,in_force,checked\n"
         "FL,marketing,20:00,08:00,3,automated,yes,src,2021-07-01,2026-12-04", "before"),
        ("state,applies_to,start,end,max_per_24h,written_consent,area_code,source,in_force,checked\n"
         "FL,sales,08:00,20:00,3,automated,yes,src,2021-07-01,2026-12-04", "applies_to"),
        ("state,applies_to,start,end,max_per_24h,written_consent,area_code,source,in_force,checked\n"
         "FL,marketing,08:00,20:00,3,automated,yes,src,July 2021,2026-12-04", "in_force"),
    ],
)  # fmt: skip
def test_a_bad_state_row_is_refused_with_its_row(text, error):
    """A malformed rules file fails loudly, naming the row and the field."""
    with pytest.raises(ValueError, match=error):
        states.parse_rules(text)


@pytest.mark.parametrize(
    ("phone", "zip_code", "expected"),
    [
        ("+13055550100", "", ("FL",)),  # Miami area code, no address
        ("+12025550100", "33101", ("FL",)),  # a Washington number, a Miami address
        ("+14055550100", "75001", ("OK", "TX")),  # an Oklahoma area code is presumed a resident
        ("+14105550100", "10001", ("NY",)),  # Maryland presumes nothing: the address decides
        ("+12065550100", "", ("WA",)),
        (None, "06390", ("CT", "NY")),  # a prefix that reaches into two states: both
        ("+18005550100", "", ()),  # toll-free: no state
        ("+442071234567", "not a zip", ()),
    ],
)
def test_patient_states_by_zip_else_by_number(phone, zip_code, expected):
    """The ZIP's state where known; the area code's when not, or when its state presumes residents."""
    assert states.patient_states(phone, zip_code) == expected


def test_florida_marketing_keeps_to_8_to_20_and_three_a_day():
    """A Florida patient: marketing waits for 8:00 and stops at 20:00 and 3 a day; exempt keeps the federal
    hours and its own cap."""
    loose = dataclasses.replace(OutreachRules(), max_attempts_per_day=5, max_attempts_per_week=20)
    fl = states.applicable(("FL",), "marketing")
    marketing = rules_for(loose, "marketing", fl)
    assert marketing.calling_hours == (dt.time(8), dt.time(20)) and marketing.max_attempts_per_day == 3
    exempt = rules_for(loose, "exempt", states.applicable(("FL",), "exempt"))
    assert exempt.calling_hours == (dt.time(8), dt.time(21)) and exempt.max_attempts_per_day == 1
    at_2030 = dt.datetime(2026, 11, 30, 20, 30, tzinfo=NY).astimezone(dt.UTC)
    assert not may_contact(at_2030, NY, [], True, False, marketing).allowed
    assert may_contact(at_2030, NY, [], True, False, exempt).allowed
    three = [at_2030 - dt.timedelta(hours=h) for h in (3, 5, 7)]
    noon = dt.datetime(2026, 11, 30, 19, 0, tzinfo=NY).astimezone(dt.UTC)
    assert not may_contact(
        noon, NY, three[1:] + [noon - dt.timedelta(hours=1)], True, False, marketing
    ).allowed


def test_connecticut_asks_written_consent_even_for_a_staff_sales_call():
    """Connecticut's rule covers every sales call: a staff call needs written consent there."""
    ct = states.applicable(("CT",), "marketing")
    assert not consent_for("marketing", "staff_call", voice=True, sms=True, written=False, state_rules=ct)[0]
    assert consent_for("marketing", "staff_call", voice=True, sms=True, written=True, state_rules=ct)[0]
    assert consent_for("exempt", "staff_call", voice=True, sms=True, written=False, state_rules=ct)[0]


def test_a_florida_patient_gets_no_marketing_text_after_8_pm(world, store):
    """Through the dispatcher: at 20:30 in Miami a reactivation text waits for the next morning at 8:00."""
    add_patient(store, "P1", 90, **ALL)
    w = world(max_attempts_per_day=5)
    with store.session() as s:
        s.get(PatientPhone, ("P1", phone_of("P1"))).phone = "+13055550142"
    w.clock[0] = dt.datetime(2026, 11, 30, 20, 30, tzinfo=NY).astimezone(dt.UTC)
    _campaign(store, "marketing", [("P1", "sms")])
    assert w.services.outreach.send("C:P1") == "deferred: outside calling hours"
    with store.sessions() as s:
        when = s.get(OutreachAttempt, "C:P1").not_before
    when = when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when
    assert when.astimezone(NY) == dt.datetime(2026, 12, 1, 8, 0, tzinfo=NY)


def test_a_connecticut_patient_without_written_consent_is_not_on_the_staff_list(world, store):
    """Connecticut asks written consent for every sales call: the planner leaves such a patient off the
    staff list (an AI contact or email instead), and "call now" would refuse."""
    from receptionist.outreach.planner import build_plan

    add_patient(store, "P1", 90, tier="high", zip="06103", consent_voice=True, consent_sms=True)
    add_patient(store, "P2", 80, tier="high", zip="06103", **ALL)
    w = world(staff_call_list_size=5)
    plan = build_plan(store, w.services.practice, w.clock[0])
    channels = {pc.patient_id: pc.channel for pc in plan.contacts}
    assert channels["P2"] == "staff_call" and channels["P1"] != "staff_call"
