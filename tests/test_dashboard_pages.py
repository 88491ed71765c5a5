"""Every dashboard page on a practice with data: real content, forms that do what they say (through the same
code paths as the CLI and the webhooks), and bad input answered with a message."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from sqlalchemy import select

from receptionist.simulation.campaign import simulate_month
from receptionist.simulation.simulator import CallSimulator, FlaskTransport
from receptionist.store import Callback, OutcomeEvent, OutreachAttempt, Patient, PatientPhone
from receptionist.web import create_app
from tests.dashboard_helpers import csrf, sign_in
from tests.outreach_helpers import ALL, MONDAY_10AM, TOKEN, add_patient, phone_of, practice, start


@pytest.fixture
def staff_world(world, store):
    """Three high-tier lapsed patients on a staff call list, two others; a campaign started; signed in."""
    add_patient(store, "P1", 90, tier="high", **ALL)
    add_patient(store, "P2", 80, tier="high", **ALL)
    add_patient(store, "P3", 70, tier="high", **ALL)
    add_patient(store, "P4", 40, tier="low", **ALL)
    w = world(staff_call_list_size=3)
    start(w)
    w.client = sign_in(w.app.test_client(), store)
    return w


def _attempt(store, pid: str) -> OutreachAttempt:
    with store.sessions() as s:
        return s.scalar(select(OutreachAttempt).where(OutreachAttempt.patient_id == pid))


def _events(store, pid: str) -> dict[str, str]:
    with store.sessions() as s:
        return {e.key: e.kind for e in s.scalars(select(OutcomeEvent).where(OutcomeEvent.patient_id == pid))}


def test_today_lists_who_to_call_and_why(staff_world):
    """Today: the staff call list in order with names, reason codes, talking points and last contact."""
    html = staff_world.client.get("/").get_data(as_text=True)
    assert html.index("Pat1 Example") < html.index("Pat2 Example") < html.index("Pat3 Example")
    assert "Pat4 Example" not in html  # low tier: not a staff call
    assert "last visit 14 months ago" in html  # a reason code
    assert "(202) 555-0001" in html
    assert "never" in html  # last contact
    assert 'name="outcome"' in html and "Wrong number" in html and "Call now" in html


@pytest.mark.parametrize(
    "outcome, kinds",
    [
        ("booked", {"sent", "booked", "reached", "responded"}),
        ("reached", {"sent", "staff_reached", "reached"}),
        ("not_interested", {"sent", "not_interested", "reached"}),
    ],
)
def test_outcome_form_records_outcome_events(staff_world, store, outcome, kinds):
    """The outcome form writes the staff outcome through the outcome log (so /api/stats counts it), once."""
    w = staff_world
    a = _attempt(store, "P1")
    for _ in range(2):  # twice: counted once
        r = w.client.post(
            "/today/outcome", data={"attempt_id": a.id, "outcome": outcome, "csrf_token": csrf(w.client)}
        )
        assert r.status_code == 302
    assert set(_events(store, "P1").values()) == kinds
    after = _attempt(store, "P1")
    assert after.staff_outcome == outcome and after.status == "sent" and after.sent_at is not None
    stats = w.client.get("/api/stats").get_json()  # a signed-in manager
    row = next(r for r in stats["totals"] if r["tier"] == "high" and r["channel"] == "staff_call")
    assert row["attempts"] == 1 and row["reached"] == 1
    with store.sessions() as s:
        assert s.get(Patient, "P1").opted_out is False  # not interested is no opt-out
    assert "Recorded" in w.client.get("/").get_data(as_text=True)


def test_wrong_number_takes_the_number_off_the_patient(staff_world, store):
    """Wrong number: the phone is removed from the patient (and from the caller cache); not counted as reached."""
    w = staff_world
    w.services.cache.publish("R1", [(phone_of("P2"), "high", "P2", "R1", "Pat2")])
    assert w.services.cache.lookup(phone_of("P2")) is not None
    a = _attempt(store, "P2")
    w.client.post(
        "/today/outcome", data={"attempt_id": a.id, "outcome": "wrong_number", "csrf_token": csrf(w.client)}
    )
    with store.sessions() as s:
        assert s.scalars(select(PatientPhone).where(PatientPhone.patient_id == "P2")).all() == []
    assert w.services.cache.lookup(phone_of("P2")) is None
    kinds = set(_events(store, "P2").values())
    assert "wrong_number" in kinds and "reached" not in kinds


def test_call_back_queues_a_callback(staff_world, store):
    """Call back: a callback appears in Today's queue for the patient."""
    w = staff_world
    a = _attempt(store, "P3")
    w.client.post(
        "/today/outcome", data={"attempt_id": a.id, "outcome": "call_back", "csrf_token": csrf(w.client)}
    )
    with store.sessions() as s:
        cb = s.scalar(select(Callback).where(Callback.patient_id == "P3"))
    assert cb is not None and cb.priority == "high" and cb.status == "open"
    html = w.client.get("/").get_data(as_text=True)
    assert "asked to be called back" in html
    r = w.client.post(f"/today/callbacks/{cb.id}/done", data={"csrf_token": csrf(w.client)})
    assert r.status_code == 302
    with store.sessions() as s:
        assert s.get(Callback, cb.id).status == "done"
    again = w.client.post(f"/today/callbacks/{cb.id}/done", data={"csrf_token": csrf(w.client)})
    assert again.status_code == 404 and "already done" in again.get_data(as_text=True)


REFILL = (
    "Hi, it's Pat, Dr. Rivera put me on amoxicillin after my extraction last week and I'm almost out, could "
    "you send a refill to the CVS on P Street, the one by the Metro, not the one on 17th, because that one "
    "closes early and I work until six every day this week"
)


def _request(store, **fields) -> int:
    """A callback row as the AI's tools write one (a message: its reason, and the whole text as detail)."""
    with store.session() as s:
        cb = Callback(**{"priority": "normal", "kind": "callback", "location_id": "main", **fields})
        s.add(cb)
        s.flush()
        return cb.id


def _group(html: str, key: str) -> str:
    """The Today row of one callback group."""
    assert f'data-group="{key}"' in html, f"no group {key}"
    return html.split(f'data-group="{key}"')[1].split("</tr>")[0]


def _callback_world(staff_world, store) -> dict[str, int]:
    """Open requests: three from P1 (a refill message, an earlier callback, an urgent one), one from P2, two
    from a number not on file; all before the page's clock (Monday 30 November, 10 AM in New York)."""
    now = staff_world.clock[0]
    return {
        "refill": _request(
            store,
            patient_id="P1",
            phone=phone_of("P1"),
            call_sid="CArefill",
            reason=f"refill: {REFILL}"[:200],
            detail=REFILL,
            kind="refill",
            created_at=now - dt.timedelta(minutes=55),
        ),
        "earlier": _request(
            store,
            patient_id="P1",
            phone=phone_of("P1"),
            call_sid="CAearlier",
            reason="asked to be called back about a bill",
            priority="high",
            created_at=now - dt.timedelta(days=1, hours=2),
        ),
        "urgent": _request(
            store,
            patient_id="P1",
            phone=phone_of("P1"),
            call_sid="CAurgent",
            reason="urgent: swollen gum, breathing fine",
            priority="urgent",
            kind="urgent",
            created_at=now - dt.timedelta(minutes=30),
        ),
        "p2": _request(
            store,
            patient_id="P2",
            phone=phone_of("P2"),
            call_sid="CAp2",
            reason="message: please confirm my address change",
            detail="please confirm my address change",
            kind="message",
            created_at=now - dt.timedelta(days=2),
        ),
        "stranger1": _request(
            store, phone="+13125550123", reason="question: do you do implants", created_at=now
        ),
        "stranger2": _request(
            store,
            phone="+13125550123",
            reason="transfer failed",
            priority="high",
            created_at=now - dt.timedelta(minutes=5),
        ),
    }


def test_callbacks_merge_per_patient_with_each_request_in_the_callers_words(staff_world, store):
    """Today lists one row per patient (else per number): its count, each request's reason and the caller's
    whole words, its time in words in the practice's zone and a link to its call; most urgent first."""
    _callback_world(staff_world, store)
    html = staff_world.client.get("/").get_data(as_text=True)
    assert "6 waiting, 1 urgent" in html
    assert html.count('class="priority-urgent callback-group"') == 1
    assert html.count("callback-group") == 3  # P1, P2 and the number not on file
    order = [html.index(f'data-group="{k}"') for k in ("patient:P1", "phone:+13125550123", "patient:P2")]
    assert order == sorted(order)  # urgent first, then high (waiting longest first), then normal
    p1 = _group(html, "patient:P1")
    assert "3 requests" in p1 and "Pat1 Example" in p1
    assert "urgent: swollen gum, breathing fine" in p1 and "asked to be called back about a bill" in p1
    assert REFILL.replace("'", "&#39;") in p1  # the whole message, longer than the reason's 200 characters
    assert p1.count("amoxicillin") == 1 and '<div class="request-reason">refill</div>' in p1  # said once
    assert all(f"/calls/{sid}" in p1 for sid in ("CArefill", "CAearlier", "CAurgent"))
    # times in words in New York (the clock is 10 AM there, 3 PM UTC)
    assert "today at 9:05 AM" in p1 and "today at 9:30 AM" in p1 and "yesterday at 8 AM" in p1
    assert p1.index("swollen gum") < p1.index("called back about a bill") < p1.index("amoxicillin")
    stranger = _group(html, "phone:+13125550123")
    assert "Unknown caller" in stranger and "2 requests" in stranger and "(312) 555-0123" in stranger
    p2 = _group(html, "patient:P2")
    assert "1 request<" in p2 and "Saturday November 28th at 10 AM" in p2


def test_done_closes_the_whole_group_and_nothing_else(staff_world, store):
    """Done beside a patient closes every request listed for them, at once; the other groups stay open, and
    a request that arrived after the page was shown stays open too."""
    ids = _callback_world(staff_world, store)
    w = staff_world
    html = w.client.get("/").get_data(as_text=True)
    form = _group(html, "patient:P1").split("<form")[1]
    posted = [int(v) for v in re.findall(r'name="id" value="(\d+)"', form)]
    assert sorted(posted) == sorted(ids[k] for k in ("refill", "earlier", "urgent"))
    late = _request(store, patient_id="P1", phone=phone_of("P1"), reason="asked about parking")
    r = w.client.post("/today/callbacks/done", data={"id": posted, "csrf_token": csrf(w.client)})
    assert r.status_code == 302
    with store.sessions() as s:
        status = {cb.id: cb.status for cb in s.scalars(select(Callback))}
    assert all(status[i] == "done" for i in posted)
    assert status[late] == "open" and status[ids["p2"]] == "open" and status[ids["stranger1"]] == "open"
    after = w.client.get("/").get_data(as_text=True)
    assert "4 waiting, 0 urgent" in after and "1 request<" in _group(after, "patient:P1")
    assert "amoxicillin" not in after
    again = w.client.post("/today/callbacks/done", data={"id": posted, "csrf_token": csrf(w.client)})
    assert again.status_code == 404 and "already done" in again.get_data(as_text=True)


def test_take_it_puts_a_group_in_progress_with_its_owner_on_today_and_in_the_inbox(staff_world, store):
    """ "Take it" beside a patient's requests makes them the signed-in staff member's, in progress: both Today
    and the Inbox show the owner and no second Take it; Done still closes them; from the Inbox it returns
    to the Inbox."""
    ids = _callback_world(staff_world, store)
    w = staff_world
    inbox = w.client.get("/inbox").get_data(as_text=True)
    group = _group(inbox, "patient:P1")
    assert "New" in group and "Take it" in group
    posted = sorted(ids[k] for k in ("refill", "earlier", "urgent"))
    r = w.client.post(
        "/today/callbacks/take", data={"id": posted, "back": "inbox", "csrf_token": csrf(w.client)}
    )
    assert r.status_code == 302 and r.headers["Location"].endswith("/inbox")
    with store.sessions() as s:
        owners = {cb.id: cb.owner for cb in s.scalars(select(Callback))}
    assert all(owners[i] for i in posted) and owners[ids["p2"]] is None
    for page in ("/", "/inbox"):
        group = _group(w.client.get(page).get_data(as_text=True), "patient:P1")
        assert f"In progress · {owners[posted[0]]}" in group and "Take it" not in group
    done = w.client.post(
        "/today/callbacks/done", data={"id": posted, "back": "inbox", "csrf_token": csrf(w.client)}
    )
    assert done.headers["Location"].endswith("/inbox")
    refused = w.client.post("/today/callbacks/take", data={"id": posted, "csrf_token": csrf(w.client)})
    assert refused.status_code == 302
    assert "already done" in w.client.get("/").get_data(as_text=True)


def test_grouping_is_per_patient_then_per_number_and_loses_nothing():
    """Pure: a patient's requests merge whatever number they came from; a number's requests merge when no
    patient is known; a request with neither stands alone; every request lands in exactly one group."""
    from receptionist.dashboard.queries import group_callbacks

    at = dt.datetime(2026, 11, 30, 15, 0, tzinfo=dt.UTC)

    def item(i, patient=None, phone=None, priority="normal", minutes=0):
        return {
            "id": i,
            "patient_id": patient,
            "phone": phone,
            "name": "Pat" if patient else "",
            "priority": priority,
            "created_at": at - dt.timedelta(minutes=minutes),
        }

    items = [
        item(1, "P1", "+12025550001", minutes=10),
        item(2, "P1", "+12025550009", priority="urgent"),
        item(3, None, "+12025550009", priority="high"),  # the same number, no patient: a group of its own
        item(4, None, "+13125550123", minutes=50),
        item(5, None, "+13125550123", minutes=5),
        item(6),
        item(7),
    ]
    groups = group_callbacks(items)
    assert [g.key for g in groups] == [
        "patient:P1",
        "phone:+12025550009",
        "phone:+13125550123",
        "callback:6",
        "callback:7",
    ]
    assert [g.ids for g in groups] == [[2, 1], [3], [4, 5], [6], [7]]
    assert groups[0].priority == "urgent" and groups[0].phone == "+12025550009" and len(groups[0]) == 2
    assert sorted(i for g in groups for i in g.ids) == [1, 2, 3, 4, 5, 6, 7]


@pytest.mark.parametrize("ids", [[], ["x1"], ["-3"]])
def test_done_without_requests_is_refused(staff_world, store, ids):
    """Done with no request ids, or ids that are not numbers: 400 and a message, nothing closed."""
    _callback_world(staff_world, store)
    w = staff_world
    r = w.client.post("/today/callbacks/done", data={"id": ids, "csrf_token": csrf(w.client)})
    assert r.status_code == 400 and "Nothing marked done" in r.get_data(as_text=True)
    with store.sessions() as s:
        assert all(cb.status == "open" for cb in s.scalars(select(Callback)))


@pytest.mark.parametrize(
    "form, message",
    [
        ({"outcome": "maybe"}, "Choose what happened"),
        ({"outcome": "booked", "attempt_id": "nope"}, "no staff call nope"),
    ],
)
def test_outcome_form_bad_input(staff_world, form, message):
    """A missing or unknown outcome, or an unknown call: 400 and a message, nothing recorded."""
    w = staff_world
    r = w.client.post("/today/outcome", data={**form, "csrf_token": csrf(w.client)})
    assert r.status_code == 400 and message in r.get_data(as_text=True)


def test_call_now_bridges_the_staff_phone(staff_world, store):
    """Call now rings the staff member's phone through Twilio (the local stand-in) and marks the call sent."""
    w = staff_world
    a = _attempt(store, "P1")
    r = w.client.post(
        "/today/call-now",
        data={"attempt_id": a.id, "staff_number": "(202) 555-0111", "csrf_token": csrf(w.client)},
    )
    assert r.status_code == 302
    w.twilio.wait_idle()
    after = _attempt(store, "P1")
    assert after.staff_number == "+12025550111" and after.provider_id and after.status == "sent"


def test_call_now_bad_number_and_repeat(staff_world, store):
    """A staff number that is no number, or a call already made: 400 with a message."""
    w = staff_world
    a = _attempt(store, "P1")
    r = w.client.post(
        "/today/call-now", data={"attempt_id": a.id, "staff_number": "call me", "csrf_token": csrf(w.client)}
    )
    assert r.status_code == 400 and "Your phone number" in r.get_data(as_text=True)
    w.client.post(
        "/today/call-now",
        data={"attempt_id": a.id, "staff_number": "2025550111", "csrf_token": csrf(w.client)},
    )
    w.twilio.wait_idle()
    r = w.client.post(
        "/today/call-now",
        data={"attempt_id": a.id, "staff_number": "2025550111", "csrf_token": csrf(w.client)},
    )
    assert r.status_code == 400 and "already sent" in r.get_data(as_text=True)


def test_trying_to_return_list(staff_world, store):
    """Patients who tried to book online lately are listed on Today; an old attempt is not."""
    w = staff_world
    with store.session() as s:
        s.get(Patient, "P4").booking_attempt_at = MONDAY_10AM - dt.timedelta(days=2)
        s.get(Patient, "P3").booking_attempt_at = MONDAY_10AM - dt.timedelta(days=400)
    html = w.client.get("/").get_data(as_text=True)
    section = html[html.index("Trying to return") :]
    assert "Pat4 Example" in section and "2 days ago" in section and "Pat3 Example" not in section


def test_patient_search_by_name_and_phone(staff_world):
    """Search by name (any case, any word order) or by phone in any format."""
    w = staff_world
    for q in ("pat2", "EXAMPLE pat2", "(202) 555-0002", "202.555.0002", "+1 202 555 0002", "P2"):
        html = w.client.post("/patients", data={"q": q, "csrf_token": csrf(w.client, "/patients")}).get_data(
            as_text=True
        )
        assert 'href="/patients/P2"' in html, q
        assert 'href="/patients/P1"' not in html, q
    none = w.client.post("/patients", data={"q": "zebra", "csrf_token": csrf(w.client, "/patients")})
    assert "No patient matches" in none.get_data(as_text=True)
    empty = w.client.post("/patients", data={"q": " ", "csrf_token": csrf(w.client, "/patients")})
    assert empty.status_code == 400 and "Type a name" in empty.get_data(as_text=True)


def test_patient_page_shows_value_visits_and_consent(staff_world):
    """A patient's value, tier, likelihood to return, reasons, visit chart data and table, contacts and consent."""
    w = staff_world
    r = w.client.get("/patients/P1")
    html = r.get_data(as_text=True)
    assert r.headers["Cache-Control"] == "no-store"
    for text in (
        "$1,000",
        "$500",
        "50%",
        "High",
        "last visit 14 months ago",
        "visits-data",
        "2025",
        "$160",
        "not opted out",
        "Staff call",
        "Record opt-out",
        "Record consent",
    ):
        assert text in html, text
    assert w.client.get("/patients/NOPE").status_code == 404


def test_staff_record_opt_out_and_consent(staff_world, store):
    """Staff record an opt-out (pending outreach is skipped, counted as an outcome) and later a consent."""
    w = staff_world
    unconfirmed = w.client.post("/patients/P1/opt-out", data={"csrf_token": csrf(w.client, "/patients/P1")})
    assert unconfirmed.status_code == 400 and "Tick the box" in unconfirmed.get_data(as_text=True)
    r = w.client.post(
        "/patients/P1/opt-out", data={"confirm": "yes", "csrf_token": csrf(w.client, "/patients/P1")}
    )
    assert r.status_code == 302
    with store.sessions() as s:
        assert s.get(Patient, "P1").opted_out is True
    a = _attempt(store, "P1")
    assert a.status == "skipped" and "opted out" in a.reason
    assert "opted_out" in _events(store, "P1").values()
    assert "opted out" in w.client.get("/patients/P1").get_data(as_text=True)
    none = w.client.post("/patients/P1/consent", data={"csrf_token": csrf(w.client, "/patients/P1")})
    assert none.status_code == 400 and "Choose which consent" in none.get_data(as_text=True)
    with store.session() as s:
        s.get(Patient, "P1").consent_sms = False
    r = w.client.post(
        "/patients/P1/consent", data={"consent": ["sms"], "csrf_token": csrf(w.client, "/patients/P1")}
    )
    assert r.status_code == 302
    with store.sessions() as s:
        p = s.get(Patient, "P1")
    assert p.consent_sms is True and p.opted_out is False


def _place_call(w, says: list[str]):
    sim = CallSimulator(
        FlaskTransport(w.app, base_url="http://testserver"),
        base_url="http://testserver",
        auth_token=TOKEN,
        account_sid=w.settings.account_sid,
    )
    return sim.call(from_=phone_of("P4"), to=w.services.practice.main.phone, says=says)


def test_calls_page_and_transcript(staff_world):
    """Calls lists a finished call with its route and duration; its transcript is on its own page."""
    w = staff_world
    call = _place_call(w, ["what are your hours", "bye"])
    html = w.client.get("/calls").get_data(as_text=True)
    assert f"/calls/{call.call_sid}" in html and "Pat4 Example" in html and "ai" in html
    page = w.client.get(f"/calls/{call.call_sid}").get_data(as_text=True)
    assert "what are your hours" in page and "Receptionist:" in page
    assert w.client.get("/calls/CAnope").status_code == 404
    assert w.app.test_client().get(f"/calls/{call.call_sid}").status_code == 302  # transcript: staff only


def test_live_parts_are_304_when_unchanged_and_sent_and_audited_when_changed(staff_world, store):
    """Calls' live part: the page carries its part's ETag; asking again with it is a 304 with no body and no
    audit entry; after a new call the part comes back with the call, a new ETag and one `calls.refresh`
    entry. Today, the Inbox and the schedule answer their live URLs the same way."""
    import re

    from receptionist.store.staff import AuditEvent

    w = staff_world

    def refreshes() -> int:
        with store.sessions() as s:
            return len(s.scalars(select(AuditEvent).where(AuditEvent.action.like("%.refresh"))).all())

    html = w.client.get("/calls").get_data(as_text=True)
    tag = re.search(r'data-live-etag="([^"]+)"', html).group(1).replace("&#34;", '"')
    assert 'data-live="/calls/live"' in html and "live.js" in html
    same = w.client.get("/calls/live", headers={"If-None-Match": tag})
    assert same.status_code == 304 and same.data == b"" and refreshes() == 0
    call = _place_call(w, ["what are your hours", "bye"])
    changed = w.client.get("/calls/live", headers={"If-None-Match": tag})
    assert changed.status_code == 200 and f"/calls/{call.call_sid}" in changed.get_data(as_text=True)
    assert changed.headers["ETag"] != tag and "<html" not in changed.get_data(as_text=True)
    assert refreshes() == 1
    assert w.client.get("/calls/live", headers={"If-None-Match": changed.headers["ETag"]}).status_code == 304
    for page, live in (("/", "/today/live"), ("/inbox", "/inbox/live"), ("/schedule", "/schedule/grid")):
        html = w.client.get(page).get_data(as_text=True)
        tag = re.search(r'data-live-etag="([^"]+)"', html).group(1).replace("&#34;", '"')
        url = re.search(r'data-live="([^"]+)"', html).group(1).replace("&amp;", "&")
        assert url.startswith(live), (page, url)
        assert w.client.get(url, headers={"If-None-Match": tag}).status_code == 304, page
    assert w.app.test_client().get("/calls/live").status_code == 302  # staff only


def test_campaigns_page_start_pause_resume(world, store):
    """Campaigns shows the plan (tier x channel) and starts, pauses and resumes a campaign."""
    add_patient(store, "P1", 90, tier="high", **ALL)
    add_patient(store, "P2", 50, tier="mid", **ALL)
    w = world(staff_call_list_size=1)
    client = sign_in(w.app.test_client(), store)
    html = client.get("/campaigns").get_data(as_text=True)
    assert "Current plan" in html and "Expected cost" in html and "No campaign yet" in html
    r = client.post("/campaigns/start", data={"csrf_token": csrf(client, "/campaigns")})
    assert r.status_code == 302
    html = client.get("/campaigns").get_data(as_text=True)
    assert "running" in html and "Staff call" in html and "listed" in html
    cid = html.split('name="campaign_id" value="')[1].split('"')[0]
    client.post("/campaigns/pause", data={"campaign_id": cid, "csrf_token": csrf(client, "/campaigns")})
    assert 'id="resume"' in client.get("/campaigns").get_data(as_text=True)
    client.post("/campaigns/resume", data={"campaign_id": cid, "csrf_token": csrf(client, "/campaigns")})
    assert 'id="pause"' in client.get("/campaigns").get_data(as_text=True)
    bad = client.post(
        "/campaigns/pause", data={"campaign_id": "C404", "csrf_token": csrf(client, "/campaigns")}
    )
    assert bad.status_code == 400 and "no campaign C404" in bad.get_data(as_text=True)
    missing = client.post("/campaigns/resume", data={"csrf_token": csrf(client, "/campaigns")})
    assert missing.status_code == 400 and "Which campaign" in missing.get_data(as_text=True)


def test_campaigns_page_without_scores(services, store):
    """Nothing scored: the page says what to run, and Start answers with a message."""
    app = create_app(services=services)
    client = sign_in(app.test_client(), store)
    assert "receptionist score" in client.get("/campaigns").get_data(as_text=True)
    r = client.post("/campaigns/start", data={"csrf_token": csrf(client, "/campaigns")})
    assert r.status_code == 400 and "Nothing is scored yet" in r.get_data(as_text=True)


def test_results_page_tables_charts_and_csv(services, store):
    """After a simulated month: tier mix, rates against expected ranges, funnel, lift, cost and ROI, each with a
    chart configuration, a table and a CSV whose numbers match the report."""
    for i in range(60):
        add_patient(
            store, f"P{i + 1}", 500 - i, tier=("high", "mid", "low")[i % 3], email=f"p{i}@example.org", **ALL
        )
    services.practice = practice(holdout_share=0.2, ai_contact_list_size=40, staff_call_list_size=5)
    services.now = lambda: MONDAY_10AM
    simulate_month(services, seed=3)
    app = create_app(services=services)
    client = sign_in(app.test_client(), store)
    html = client.get("/results").get_data(as_text=True)
    for name in ("tiers", "expected", "monthly", "funnel", "lift", "money"):
        assert (
            f'id="chart-{name}"' in html and f'id="table-{name}"' in html and f"/results/{name}.csv" in html
        )
    assert "chart.umd.min.js" in html and "Value at risk" not in html.split("<main>")[0]
    tiers = list(csv.DictReader(io.StringIO(client.get("/results/tiers.csv").get_data(as_text=True))))
    assert {r["tier"]: int(r["patients"]) for r in tiers} == {"high": 20, "mid": 20, "low": 20}
    assert all(int(r["lapsed"]) == 20 for r in tiers)
    stats = client.get("/api/stats").get_json()
    funnel = {
        r["tier"]: r
        for r in csv.DictReader(io.StringIO(client.get("/results/funnel.csv").get_data(as_text=True)))
    }
    for tier in ("high", "mid", "low"):
        sent = sum(r["attempts"] for r in stats["totals"] if r["tier"] == tier)
        assert int(funnel[tier]["contacted"]) == sent
    assert client.get("/results/nothing.csv").status_code == 404


def test_results_page_before_any_outcome(services, store):
    """No outcomes yet: the page renders and says so."""
    app = create_app(services=services)
    client = sign_in(app.test_client(), store)
    r = client.get("/results")
    assert r.status_code == 200 and "Nothing yet: run a campaign" in r.get_data(as_text=True)


def test_chart_library_is_served_locally(services):
    """Chart.js is served by the app, licence header intact; no page names another host."""
    app = create_app(services=services)
    r = app.test_client().get("/static/vendor/chart.umd.min.js")
    body = r.get_data(as_text=True)
    r.close()
    assert r.status_code == 200 and "Chart.js v4" in body[:200] and "MIT License" in body[:300]


def test_tier_mix_is_kept_per_run(services, store, redis_client):
    """The Results page's tier mix is computed once per score run and then read from Redis; a new run (a new
    id) is computed afresh, and without Redis it is computed from the store."""
    from receptionist.dashboard.queries import cached_tier_mix, tier_mix

    add_patient(store, "P1", 90, tier="high")
    first = cached_tier_mix(store, services.redis, "R1")
    assert first == tier_mix(store, "R1") and first[0]["patients"] == 1
    add_patient(store, "P2", 80, tier="high")  # same run id: the kept aggregate stands
    assert cached_tier_mix(store, services.redis, "R1") == first
    redis_client.flushdb()
    assert cached_tier_mix(store, services.redis, "R1")[0]["patients"] == 2

    import socket

    import redis

    with socket.socket() as sock:  # a port nothing listens on: a Redis that is down
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    down = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.2)
    try:
        assert cached_tier_mix(store, down, "R1")[0]["patients"] == 2
    finally:
        down.close()


def test_forms_on_an_unknown_patient_are_not_found(staff_world):
    """Opt-out or consent for a patient id that does not exist: 404, nothing written."""
    w = staff_world
    for path, data in (
        ("/patients/NOPE/opt-out", {"confirm": "yes"}),
        ("/patients/NOPE/consent", {"consent": "sms"}),
        ("/patients/NOPE/consent", {}),
    ):
        assert (
            w.client.post(path, data={**data, "csrf_token": csrf(w.client, "/patients")}).status_code == 404
        )


def test_a_valuable_patients_reasons_and_values_read_right(staff_world, store):
    """A patient worth $1,000+ a year: "$4,709/yr" is one reason chip on Today and the patient page, and the
    values are labelled plainly (yearly spend, patient value per year, likely to return)."""
    from receptionist.store import PatientScore

    with store.session() as s:
        score = s.scalar(select(PatientScore).where(PatientScore.patient_id == "P1"))
        score.reasons = "6 years, $4,709/yr, 2 departments, last visit 14 months ago, lapsed"
        score.plv = 4709.0
    w = staff_world
    for page in ("/", "/patients/P1"):
        html = w.client.get(page).get_data(as_text=True)
        assert '<span class="reason">$4,709/yr</span>' in html, page
        assert '<span class="reason">$4</span>' not in html and "709/yr</span>" not in html.replace(
            "$4,709/yr</span>", ""
        )
    html = w.client.get("/patients/P1").get_data(as_text=True)
    assert "Likely to return" in html and "P(alive)" not in html
    assert "Lifetime value" not in html and "Patient value (PLV)" in html and "Yearly spend" in html
    assert re.search(r'id="plv">\$4,709/yr<', html)


def test_times_on_pages_are_in_words(staff_world):
    """The Campaigns page writes its start time in the location's zone and in words, never ISO or UTC."""
    html = staff_world.client.get("/campaigns").get_data(as_text=True)
    assert "started Mon Nov 30, 10:00 AM EST" in html
    assert not re.search(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d", html) and " UTC" not in html


def test_call_now_outside_hours_says_when_once(staff_world, store):
    """Call now outside the patient's calling hours: one "Not calling now", the reason, and when the patient
    can be called, in the location's zone and in words (no UTC, no stutter)."""
    w = staff_world
    a = _attempt(store, "P1")
    w.clock[0] = MONDAY_10AM.replace(hour=3)  # 10 PM Sunday in New York
    r = w.client.post(
        "/today/call-now",
        data={"attempt_id": a.id, "staff_number": "2025550111", "csrf_token": csrf(w.client)},
    )
    html = r.get_data(as_text=True)
    assert r.status_code == 400
    assert (
        "Not calling now: outside calling hours; the patient can be called from Mon Nov 30, 8:00 AM EST."
        in html
    )
    assert html.lower().count("not calling now") == 1 and "UTC" not in html


def test_outbound_call_records_say_what_happened_and_name_the_patient(staff_world, store):
    """A campaign call a machine answered reads "Voicemail left" with the message left; one nobody answered
    names the patient dialled and says "No answer" (no "Unknown caller · -")."""
    from receptionist.store import Call

    with store.session() as s:
        for pid, sid, result, status, patient in (
            ("P1", "CAvoicemail", "voicemail", "completed", "P1"),
            ("P2", "CAnoanswer", "no-answer", "no-answer", None),
        ):
            a = s.scalar(select(OutreachAttempt).where(OutreachAttempt.patient_id == pid))
            a.provider_id, a.result = sid, result
            s.add(
                Call(
                    sid=sid,
                    direction="outbound",
                    patient_id=patient,
                    status=status,
                    started_at=MONDAY_10AM,
                    ended_at=MONDAY_10AM,
                    facts={},
                )
            )
    w = staff_world
    html = w.client.get("/calls").get_data(as_text=True)
    assert "Voicemail left" in html and "No answer" in html and "Unknown caller" not in html
    assert "Pat2 Example" in html  # the no-answer call names whom it dialled
    page = w.client.get("/calls/CAvoicemail").get_data(as_text=True)
    assert 'id="call-happened">Voicemail left<' in page and 'id="voicemail"' in page
    assert "answered" not in page.split('id="call-happened">')[1].split("<")[0].lower()
    missed = w.client.get("/calls/CAnoanswer").get_data(as_text=True)
    assert "Pat2 Example" in missed and "(202) 555-0002" in missed and "No answer" in missed
