"""Two-way texting (issue 16): a reply to a practice text is a conversation with the call's understanding and
policies, in SMS-sized written lines; hand-overs reach the staff inbox; staff reply through the Twilio
stand-in within the gates; STOP and HELP keep working first."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import select

from receptionist.scheduling.schedule import ensure_schedule
from receptionist.simulation.simulator import CallSimulator, FlaskTransport
from receptionist.store import Appointment, Callback, ConsentConfirmation, Patient, TextMessage, TextThread
from receptionist.texting import sms
from receptionist.texting.replies import reply_problem
from tests.dashboard_helpers import csrf, sign_in
from tests.outreach_helpers import ALL, MONDAY_10AM, add_patient, attempts, phone_of, start, work

PRACTICE_NUMBER = "+12025550100"
DOB = dt.date(1980, 3, 4)


class Texter:
    """Signed form posts to /sms/inbound, as Twilio makes them; each returns the reply texts."""

    def __init__(self, w, frm: str) -> None:
        self.w = w
        self.frm = frm
        self.n = 0
        self.sim = CallSimulator(
            FlaskTransport(w.app), base_url="http://testserver", auth_token="test-auth-token"
        )

    def __call__(self, body: str) -> list[str]:
        self.n += 1
        params = {
            "MessageSid": f"SM{self.frm[-4:]}{self.n:04d}",
            "From": self.frm,
            "To": PRACTICE_NUMBER,
            "Body": body,
            "AccountSid": "AC" + "0" * 32,
        }
        url = "http://testserver/sms/inbound"
        status, xml = self.sim.transport.post(url, params, {"X-Twilio-Signature": self.sim.sign(url, params)})
        assert status == 200
        replies = [m.text or "" for m in ET.fromstring(xml).iter("Message")]
        for r in replies:
            assert 0 < len(r) <= 160, r
        return replies


def _joined(replies: list[str]) -> str:
    return " ".join(replies)


@pytest.fixture
def texting_world(world, store):
    """Two patients on file with dates of birth, a schedule of open slots, the clock on a Monday at 10:00."""
    add_patient(store, "P1", 90, **ALL)
    add_patient(store, "P2", 80, **ALL)
    with store.session() as s:
        s.get(Patient, "P1").date_of_birth = DOB
        s.get(Patient, "P2").date_of_birth = dt.date(1975, 6, 1)
    w = world()
    ensure_schedule(store, w.services.practice, MONDAY_10AM.date(), weeks=3)
    return w


def _sms_invited(store, w, pid: str) -> None:
    """The reactivation campaign texts the patient (texts only: no consent to AI calls)."""
    with store.session() as s:
        s.get(Patient, pid).consent_voice = False
    start(w)
    work(w)
    assert attempts(store)[pid].channel == "sms" and attempts(store)[pid].status == "sent"


def _thread(store, pid: str | None = None, phone: str | None = None) -> TextThread:
    with store.sessions() as s:
        q = select(TextThread)
        q = q.where(TextThread.patient_id == pid) if pid else q.where(TextThread.phone == phone)
        return s.scalars(q).one()


def test_a_patient_books_by_replying_to_a_reactivation_text(texting_world, store):
    """ "yes can I come Tuesday?" to the reactivation text offers Tuesday's times, numbered, with the practice
    named first and no provider or visit kind; "1" books the first of them; both sides are on the thread."""
    w = texting_world
    _sms_invited(store, w, "P1")
    t = Texter(w, phone_of("P1"))
    offered = _joined(t("yes can I come Tuesday?"))
    assert offered.startswith(w.services.practice.name + ":")
    assert "1) tomorrow at" in offered and "2) " in offered and "Reply with the number" in offered
    assert "Dr." not in offered and "Hygienist" not in offered and "cleaning" not in offered
    booked = _joined(t("1"))
    assert "You're booked tomorrow at" in booked
    with store.sessions() as s:
        appt = s.scalars(select(Appointment).where(Appointment.patient_id == "P1")).one()
        assert appt.status == "booked" and appt.start.date() == dt.date(2026, 12, 1)
        assert (appt.call_sid or "").startswith("SM")
        assert appt.booked_via == "text"  # the schedule says the AI booked it by text
    thread = _thread(store, "P1")
    assert thread.inbox_state == ""  # the assistant handled it: nothing for the team
    with store.sessions() as s:
        bodies = [(m.author, m.body) for m in s.scalars(select(TextMessage).order_by(TextMessage.id))]
    assert bodies[0] == ("patient", "yes can I come Tuesday?") and ("patient", "1") in bodies
    assert any(a == "ai" and "You're booked" in b for a, b in bodies)


def test_the_10am_picks_an_offered_time_by_its_clock(texting_world, store):
    """A texter names an offered time ("the 8:30 one") instead of its number."""
    t = Texter(texting_world, phone_of("P1"))
    assert "1) " in _joined(t("I'd like to book a cleaning on Tuesday"))
    assert "You're booked tomorrow at 8:30 AM" in _joined(t("the 8:30 one please"))


def test_appointment_details_wait_for_the_date_of_birth(texting_world, store):
    """Asking about a booked visit by text asks for the date of birth first; a wrong one reveals nothing; the
    right one reads the visit out; a later cancel by text works on the verified record."""
    w = texting_world
    t = Texter(w, phone_of("P1"))
    t("book me a cleaning Tuesday")
    t("1")
    asked = _joined(t("when is my appointment?"))
    assert "date of birth" in asked and "8:00" not in asked
    wrong = _joined(t("January 1, 1990"))
    assert "doesn't match" in wrong and "8:00" not in wrong
    right = _joined(t("March 4, 1980"))
    assert "tomorrow at 8:00 AM" in right
    confirm = _joined(t("please cancel it"))
    assert "Cancel" in confirm and "YES" in confirm
    assert "cancelled" in _joined(t("yes"))
    with store.sessions() as s:
        assert (
            s.scalars(select(Appointment).where(Appointment.patient_id == "P1")).one().status == "cancelled"
        )


def test_faq_by_text(texting_world, store):
    """The hours and the insurance questions are answered from the practice file, each message one segment."""
    t = Texter(texting_world, phone_of("P2"))
    assert "Monday to Friday" in _joined(t("what are your hours?"))
    assert "Delta Dental" in _joined(t("do you take my insurance?"))
    assert _thread(store, "P2").inbox_state == ""


def test_asking_for_a_person_hands_the_thread_to_the_inbox_and_staff_reply(texting_world, store):
    """ "can I talk to a person" puts the thread in the inbox (not a callback on Today); more texts merge into
    the same thread; a signed-in staff member sees it, takes it, and replies through the Twilio stand-in."""
    w = texting_world
    t = Texter(w, phone_of("P2"))
    said = _joined(t("can I talk to a real person please"))
    assert "passed your text to our team" in said
    t("I need to talk about my bill")
    thread = _thread(store, "P2")
    assert thread.inbox_state == "new" and thread.handovers >= 1
    with store.sessions() as s:
        assert not s.scalars(select(Callback)).all()
    client = sign_in(w.app.test_client(), store)
    page = client.get("/inbox").get_data(as_text=True)
    assert "Pat2 Example" in page and "Page 1 of 1" in page and f"/inbox/{thread.id}" in page
    assert '>Inbox <span class="count">1</span>' in page  # the navigation counts new threads
    patient = client.get("/patients/P2").get_data(as_text=True)
    assert f'href="/inbox/{thread.id}">Text conversation' in patient
    html = client.get(f"/inbox/{thread.id}").get_data(as_text=True)
    assert "can I talk to a real person please" in html and "passed your text to our team" in html
    r = client.post(
        f"/inbox/{thread.id}/state", data={"state": "in_progress", "take": "1", "csrf_token": csrf(client)}
    )
    assert r.status_code == 302
    r = client.post(
        f"/inbox/{thread.id}/reply",
        data={
            "body": "Hi, this is Alice at the front desk. I can help with your bill.",
            "csrf_token": csrf(client),
        },
    )
    assert r.status_code == 302
    sent = [m for m in w.twilio.messages.values() if m.to == phone_of("P2")]
    assert len(sent) == 1 and "Alice at the front desk" in sent[0].body
    thread = _thread(store, "P2")
    assert thread.owner == "alice" and thread.inbox_state == "in_progress"
    with store.sessions() as s:
        staff = s.scalars(select(TextMessage).where(TextMessage.author == "staff")).one()
        assert staff.staff_user == "alice" and staff.provider_id == sent[0].sid
    r = client.post(f"/inbox/{thread.id}/state", data={"state": "done", "csrf_token": csrf(client)})
    assert _thread(store, "P2").inbox_state == "done"
    assert "Nothing here" in client.get("/inbox").get_data(as_text=True)
    from receptionist.store import AuditEvent

    with store.sessions() as s:
        actions = {e.action for e in s.scalars(select(AuditEvent))}
    assert {"inbox.list", "inbox.view"} <= actions


def test_a_staff_reply_needs_a_signed_in_user_and_csrf(texting_world, store):
    """Signed out: sent to sign in; signed in without the CSRF token: refused; nothing goes out either way."""
    w = texting_world
    Texter(w, phone_of("P2"))("can I talk to a person")
    thread = _thread(store, "P2")
    anon = w.app.test_client()
    assert anon.post(f"/inbox/{thread.id}/reply", data={"body": "hello"}).status_code in (302, 400, 401)
    client = sign_in(w.app.test_client(), store)
    assert client.post(f"/inbox/{thread.id}/reply", data={"body": "hello"}).status_code == 400
    assert not w.twilio.messages


def test_a_staff_reply_to_an_opted_out_number_is_refused(texting_world, store):
    """After STOP (first, with its one confirmation) a staff reply is refused and nothing reaches Twilio."""
    w = texting_world
    t = Texter(w, phone_of("P2"))
    t("can I talk to a person")
    (confirmation,) = t("STOP")
    assert "opted out of all our calls, texts and emails" in confirmation
    thread = _thread(store, "P2")
    client = sign_in(w.app.test_client(), store)
    client.post(f"/inbox/{thread.id}/reply", data={"body": "Hello?", "csrf_token": csrf(client)})
    page = client.get(f"/inbox/{thread.id}").get_data(as_text=True)
    assert "opted out of texts" in page
    assert not w.twilio.messages
    # later texts from the number get no conversation, only how to reach the practice
    (paused,) = t("can I book a cleaning?")
    assert "opted out of our texts" in paused and "(202) 555-0100" in paused
    with store.sessions() as s:
        assert len(s.scalars(select(ConsentConfirmation)).all()) == 1


def test_stop_comes_first_even_in_the_middle_of_a_booking(texting_world, store):
    """With times on offer, "stop texting me" opts out at once (never read as a choice) with one confirmation."""
    w = texting_world
    t = Texter(w, phone_of("P1"))
    assert "1) " in _joined(t("can I book a cleaning Tuesday?"))
    (confirmation,) = t("stop texting me")
    assert "opted out" in confirmation
    assert t("STOP") == []
    with store.sessions() as s:
        assert s.get(Patient, "P1").opted_out
        assert not s.scalars(select(Appointment)).all()


def test_help_still_answers_with_the_help_text(texting_world):
    """HELP keeps its fixed answer: the number and how to opt out."""
    (reply,) = Texter(texting_world, phone_of("P1"))("HELP")
    assert "(202) 555-0100" in reply and "STOP" in reply


def test_an_unknown_sender_asking_to_book_is_told_how_to_reach_the_practice(texting_world, store):
    """A number not on file may ask the FAQ, but a booking needs a record: it is told so, with the number, no
    patient is created, and the thread (per number) goes to the inbox."""
    t = Texter(texting_world, "+12025559876")
    assert "Monday to Friday" in _joined(t("what are your hours"))
    said = _joined(t("I want to book a cleaning"))
    assert "can't find a record for this number" in said and "(202) 555-0100" in said
    with store.sessions() as s:
        assert s.scalar(select(Patient).where(Patient.id.like("N%"))) is None
    thread = _thread(store, phone="+12025559876")
    assert thread.patient_id is None and thread.inbox_state == "new"


def test_garbage_says_so_and_how_else_to_reach_the_practice(texting_world):
    """A text the assistant cannot act on says it did not understand, and gives the number and the opt-out."""
    said = _joined(Texter(texting_world, phone_of("P1"))("zxqv blorp wibble"))
    assert "didn't get that" in said and "(202) 555-0100" in said and "STOP" in said


def test_the_inbox_pages_and_puts_urgent_first(texting_world, store):
    """Thirty handed-over threads page by 25 (nothing capped), and an urgent one is first on page one."""
    w = texting_world
    now = MONDAY_10AM
    with store.session() as s:
        for i in range(30):
            s.add(TextThread(phone=f"+1202555{9000 + i}", practice_phone=PRACTICE_NUMBER, inbox_state="new",
                             priority="urgent" if i == 3 else "normal", reason=f"reason {i}", handovers=1,
                             language="en", created_at=now, last_message_at=now + dt.timedelta(minutes=i)))  # fmt: skip
    client = sign_in(w.app.test_client(), store)
    first = client.get("/inbox").get_data(as_text=True)
    assert "Page 1 of 2" in first and first.count('href="/inbox/') == 25
    assert first.index("reason 3") < first.index("reason 29")
    second = client.get("/inbox?page=2").get_data(as_text=True)
    assert "Page 2 of 2" in second and second.count('href="/inbox/') == 5


@pytest.mark.parametrize(
    "hours_ago, opted_out, consent, local_hour, allowed",
    [
        (1, False, False, 23, True),  # a reply within 24 h: no hours, no consent gate
        (1, True, True, 12, False),  # an opt-out always binds
        (30, False, True, 12, True),  # later: a new text, inside the hours, with consent
        (30, False, True, 22, False),  # ... outside the hours
        (30, False, False, 12, False),  # ... without consent to texts
    ],
)
def test_the_staff_reply_rule(hours_ago, opted_out, consent, local_hour, allowed):
    """The staff reply rule (texting/replies.py) as a table."""
    from zoneinfo import ZoneInfo

    ny = ZoneInfo("America/New_York")
    now = dt.datetime(2026, 12, 1, local_hour, tzinfo=ny)
    problem = reply_problem(
        now=now,
        last_inbound_at=now - dt.timedelta(hours=hours_ago),
        opted_out=opted_out,
        revoked=False,
        known=True,
        consent_sms=consent,
        zones=(ny,),
        calling_hours=(dt.time(8), dt.time(21)),
    )
    assert (problem is None) == allowed


@pytest.mark.parametrize(
    "text",
    [
        "Short.",
        "One sentence. " * 30,
        "A" * 400,
        "Sí, mañana a las diez está bien. " * 6,
        "It’s fine — thanks.",
    ],
)
def test_every_message_fits_one_segment(text):
    """Split texts keep every character of words and sentences and fit a segment (70 when not GSM)."""
    parts = sms.split(text)
    assert parts and all(len(p) <= sms.limit_for(p) for p in parts)
    assert all(sms.is_gsm(p) or len(p) <= 70 for p in parts)
    assert " ".join(parts).replace(" ", "") == sms.plain(text).replace(" ", "")


def test_one_thread_per_patient_across_their_numbers(texting_world, store):
    """A patient texting from a second number on file lands in the same thread (merged per patient)."""
    from receptionist.store import PatientPhone

    with store.session() as s:
        s.add(PatientPhone(patient_id="P2", phone="+12025550777", position=1))
    Texter(texting_world, phone_of("P2"))("what are your hours?")
    Texter(texting_world, "+12025550777")("can I talk to a person")
    with store.sessions() as s:
        threads = s.scalars(select(TextThread)).all()
        assert len(threads) == 1 and threads[0].patient_id == "P2" and threads[0].inbox_state == "new"
        assert {m.phone for m in s.scalars(select(TextMessage))} == {phone_of("P2"), "+12025550777"}


def test_the_conversation_survives_a_redis_loss_and_ends_after_its_expiry(texting_world, store, redis_client):
    """Times on offer are still on offer after Redis lost its copy (the store's is read); four hours later a
    new conversation starts: "1" is no longer a choice, and nothing is booked."""
    w = texting_world
    t = Texter(w, phone_of("P1"))
    assert "1) " in _joined(t("can I book a cleaning on Tuesday?"))
    redis_client.flushdb()
    assert "You're booked" in _joined(t("2"))
    t("can I book another cleaning on Wednesday?")
    w.clock[0] = MONDAY_10AM + dt.timedelta(hours=5)
    redis_client.flushdb()
    again = _joined(t("1"))
    assert "You're booked" not in again and again.startswith(w.services.practice.name)
    with store.sessions() as s:
        assert len(s.scalars(select(Appointment).where(Appointment.status == "booked")).all()) == 1


def test_a_spanish_text_is_answered_in_spanish_and_handed_to_the_team(texting_world, store):
    """A text in Spanish gets a Spanish written line (fitting its segments) and reaches the inbox."""
    replies = Texter(texting_world, phone_of("P2"))("Hola, quiero hacer una cita para mi hijo por favor")
    said = _joined(replies)
    assert "Gracias por escribir" in said and all(len(r) <= sms.limit_for(r) for r in replies)
    thread = _thread(store, "P2")
    assert thread.inbox_state == "new" and thread.language == "es"


def test_a_staff_reply_delivery_status_is_recorded(texting_world, store):
    """The stand-in's delivery callback to /sms/status (no attempt) settles the staff reply's status."""
    w = texting_world
    Texter(w, phone_of("P2"))("can I talk to a person")
    thread = _thread(store, "P2")
    sent = w.services.staff_texts.send(thread.id, "alice", "Hi! Alice here. How can I help?")
    assert sent.ok and sent.parts == 1
    w.twilio.wait_idle()
    with store.sessions() as s:
        staff = s.scalars(select(TextMessage).where(TextMessage.author == "staff")).one()
    assert staff.status in ("sent", "delivered") and staff.provider_id


def _filled(key: str) -> str:
    from receptionist.wording.lines import lines

    values = {
        "practice": "Brightsmile Family Dental and Orthodontics",
        "hours": "Monday to Friday, 8 AM to 5 PM",
        "options": "1) Tue Dec 15 at 10:30 AM, 2) Tue Dec 15 at 11:30 AM, 3) Wed Dec 16 at 10:30 AM",
        "when": "Wed Dec 16 at 10:30 AM",
        "on_when": "on Wed Dec 16 at 10:30 AM",
        "provider": "Hygienist Patel",
        "what": "your cleaning",
        "name": "Alexandra",
        "visit": "cleaning",
        "phone": "(202) 555-0100",
        "on_call": "(202) 555-0199",
        "grace": "15",
        "minutes": "20",
        "relation": "daughter",
        "holiday": "Thanksgiving",
        "yes": "texts",
        "no": "calls",
        "count": "two",
        "list": "a cleaning on Tue Dec 15 and an exam on Wed Dec 16",
        "address": "1600 Connecticut Avenue NW",
        "question": "What day would suit you?",
        "opens": "8 AM",
        "closes": "5 PM",
        "names": "Emma or Liam",
        "visit_for": "a cleaning",
    }
    return lines("en").write(key, **values)


def _text_keys() -> list[str]:
    from receptionist.wording.lines import lines

    return sorted(k[len("text.") :] for k in lines("en").table if k.startswith("text."))


@pytest.mark.parametrize("key", _text_keys())
def test_every_written_line_fits_a_text(key):
    """Every written line, filled with long values, fits one segment and says no "press" or spoken numbers."""
    line = _filled(key)
    assert len(line) <= 160 and sms.is_gsm(line), line
    assert "press" not in line.lower() and "9 1 1" not in line


def test_tuesday_works_picks_the_offered_tuesday(texting_world, store):
    """With today's times on offer, "Tuesday works" lists Tuesday's (a new search, not a pick) and "2" books
    the second of them."""
    t = Texter(texting_world, phone_of("P1"))
    offered = _joined(t("I'd like a cleaning, when is your earliest?"))
    assert "1) today at" in offered
    tuesday = _joined(t("Tuesday works"))
    assert "1) tomorrow at" in tuesday and "today" not in tuesday  # tomorrow is Tuesday December 1st
    assert "You're booked tomorrow at" in _joined(t("2"))
    with store.sessions() as s:
        appt = s.scalars(select(Appointment).where(Appointment.patient_id == "P1")).one()
        assert appt.start.date() == dt.date(2026, 12, 1)


def test_after_hours_a_person_is_promised_for_opening_time_and_the_thread_waits(texting_world, store):
    """At 22:00 "can I talk to someone" says the team replies when the practice opens, and the thread (not
    Today's callbacks) holds the request."""
    w = texting_world
    w.clock[0] = MONDAY_10AM + dt.timedelta(hours=12)
    said = _joined(Texter(w, phone_of("P2"))("can I talk to someone at the office"))
    assert "closed now" in said and "reply when we open" in said
    assert _thread(store, "P2").inbox_state == "new"
    with store.sessions() as s:
        assert not s.scalars(select(Callback)).all()


def test_a_medical_emergency_by_text_says_call_911_and_alerts_today_and_the_inbox(texting_world, store):
    """Chest pain by text: "call 911" (written, not "9 1 1"), an urgent callback on Today and an urgent thread."""
    w = texting_world
    said = _joined(Texter(w, phone_of("P2"))("I have crushing chest pain and can't breathe"))
    assert "call 911" in said
    thread = _thread(store, "P2")
    assert thread.inbox_state == "new" and thread.priority == "urgent"
    with store.sessions() as s:
        assert [c.priority for c in s.scalars(select(Callback))] == ["urgent"]


def test_no_phone_number_or_text_reaches_the_logs(texting_world, store, caplog):
    """A whole conversation, a hand-over and a staff reply log ids only: no number, no words of the texts."""
    import logging

    w = texting_world
    caplog.set_level(logging.DEBUG)
    t = Texter(w, phone_of("P1"))
    t("can I book a cleaning on Tuesday?")
    t("1")
    t("can I talk to a person about my crown")
    w.services.staff_texts.send(_thread(store, "P1").id, "alice", "Hi, Alice here about your crown.")
    w.twilio.wait_idle()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for secret in (phone_of("P1"), phone_of("P1")[2:], "555-0001", "crown", "Tuesday"):
        assert secret not in logged


def test_the_front_desk_sees_the_inbox_in_the_navigation(texting_world, store):
    """Front-desk staff (not only managers) have the Inbox in the navigation and may open it."""
    client = sign_in(texting_world.app.test_client(), store, "bob", role="front_desk")
    home = client.get("/").get_data(as_text=True)
    assert 'href="/inbox"' in home
    assert client.get("/inbox").status_code == 200


def test_the_twilio_stand_in_plays_a_patient_who_books_by_text(texting_world, store):
    """Local mode: the stand-in's patient answers the reactivation text ("yes can I come Tuesday?", then "1")
    through the signed Messaging webhook, and is booked."""
    from receptionist.simulation.localtwilio import Callee

    w = texting_world
    w.twilio.callees[phone_of("P1")] = Callee("human", texts=("yes can I come Tuesday?", "1"))
    _sms_invited(store, w, "P1")
    (first, second) = w.twilio.conversations[phone_of("P1")]
    assert first[0] == "yes can I come Tuesday?" and "1) tomorrow at" in " ".join(first[1])
    assert "You're booked tomorrow at" in " ".join(second[1])
    with store.sessions() as s:
        assert s.scalars(select(Appointment).where(Appointment.patient_id == "P1")).one().status == "booked"
