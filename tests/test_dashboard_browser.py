"""The dashboard in a real headless Chromium (Debian's `chromium` and `chromium-driver`), against a real HTTP
server on the demo practice: sign in, open every page, record a call outcome, talk to the receptionist in Try
it, and a front desk's day with the live parts updating while staff watch. Every page is checked for console
errors and for requests to any other host; a screenshot of each page (every page also at 1366x768 and
1024x768) is saved under tests/output/screenshots/ for review."""

from __future__ import annotations

import json
import os
import shutil
import threading
import urllib.parse
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from receptionist.dashboard.accounts import add_user
from receptionist.patients.scorer import run_scoring
from receptionist.simulation.campaign import simulate_month
from receptionist.simulation.demo import load_demo
from tests.outreach_helpers import MONDAY_10AM, start

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOTS = Path(__file__).resolve().parent / "output" / "screenshots"
PASSWORD = "correct horse battery staple"
WAIT = 20


@pytest.fixture
def demo(world, store, tmp_path):
    """The demo practice (`receptionist demo`: 2,000 patients, scored), a simulated month of outcomes
    (`campaign simulate`), and a campaign started today (`campaign run`)."""
    w = world(staff_call_list_size=8, holdout_share=0.1, ai_contact_list_size=60)
    load_demo(
        store, tmp_path / "demo", progress=False, as_of=MONDAY_10AM.date(), cache=w.services.publish_cache
    )
    run_scoring(store, w.services.publish_cache, w.services.practice, as_of=MONDAY_10AM.date())
    simulate_month(w.services, seed=7)
    start(w)
    add_user(store, "frontdesk", PASSWORD, role="manager")
    return w


@pytest.fixture
def server(demo):
    """The app on a real threaded HTTP server on the loopback."""
    httpd = make_server("127.0.0.1", 0, demo.app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=10)


@pytest.fixture
def browser():
    if not CHROMIUM.exists() or not CHROMEDRIVER.exists() or not shutil.which(str(CHROMEDRIVER)):
        pytest.fail(
            "the browser tests need Debian's Chromium and its driver: "
            "`apt-get install -y chromium chromium-driver` (.ci/run installs them when missing)"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,1000",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-default-apps",
        "--disable-sync",
        "--mute-audio",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    # The browser runs on the real clock even when the suite runs under libfaketime (CI's year-ahead run):
    # Chromium's processes do not start with the library preloaded. The clock under test is the server's.
    real_clock = {
        k: v
        for k, v in os.environ.items()
        if k != "LD_PRELOAD" and not k.startswith(("FAKETIME", "DONT_FAKE"))
    }
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER), env=real_clock), options=options)
    driver.set_page_load_timeout(WAIT)
    try:
        yield driver
    finally:
        driver.quit()


class Page:
    """One browser session on the server: open pages, check each for console errors and foreign requests."""

    def __init__(self, driver, base: str) -> None:
        self.d = driver
        self.base = base
        self.host = urllib.parse.urlsplit(base).netloc
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def open(self, path: str) -> None:
        self.d.get(self.base + path)

    def wait(self, condition):
        from selenium.webdriver.support.ui import WebDriverWait

        return WebDriverWait(self.d, WAIT).until(condition)

    def css(self, selector: str):
        from selenium.webdriver.common.by import By

        return self.d.find_element(By.CSS_SELECTOR, selector)

    def click(self, selector: str) -> None:
        """Click the element, found again if a live part swapped it out meanwhile (the page refreshes its
        lists every few seconds)."""
        from selenium.common.exceptions import StaleElementReferenceException

        for _ in range(5):
            try:
                self.css(selector).click()
                return
            except StaleElementReferenceException:
                continue
        self.css(selector).click()

    def click_last(self, selector: str) -> None:
        """Click the last of these elements, found again if a live part swapped them out meanwhile."""
        from selenium.common.exceptions import StaleElementReferenceException

        for _ in range(5):
            try:
                self.all(selector)[-1].click()
                return
            except StaleElementReferenceException:
                continue
        self.all(selector)[-1].click()

    def all(self, selector: str) -> list:
        from selenium.webdriver.common.by import By

        return self.d.find_elements(By.CSS_SELECTOR, selector)

    def check(self, name: str, expected_status: int | None = None) -> None:
        """No console errors (but the refused page's own status, when one is expected), every request on this
        server, and a screenshot."""
        errors = [
            e
            for e in self.d.get_log("browser")
            if e["level"] == "SEVERE"
            and not (
                expected_status
                and e["source"] == "network"
                and f"status of {expected_status}" in e["message"]
            )
        ]
        assert errors == [], f"{name}: console errors {errors}"
        foreign = []
        for entry in self.d.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message["method"] != "Network.requestWillBeSent":
                continue
            url = message["params"]["request"]["url"]
            parts = urllib.parse.urlsplit(url)
            if parts.scheme in ("data", "blob", "about", "chrome-extension"):
                continue
            if parts.netloc != self.host:
                foreign.append(url)
        assert foreign == [], f"{name}: requests to other hosts {foreign}"
        self.d.save_screenshot(str(SCREENSHOTS / f"{name}.png"))
        assert (SCREENSHOTS / f"{name}.png").stat().st_size > 1000


def test_dashboard_in_a_real_browser(server, browser, demo):
    """Sign in, every page, the outcome form, the charts drawn, and a Try it conversation, in Chromium."""
    from selenium.webdriver.support.ui import Select

    p = Page(browser, server)
    p.open("/")
    assert "/login" in browser.current_url  # strangers go to sign-in
    p.check("01-sign-in")
    p.css("#username").send_keys("frontdesk")
    p.css("#password").send_keys("not the password")
    p.css("#sign-in").click()
    assert "Wrong username or password." in p.css("#login-error").text
    p.check("01b-sign-in-refused", expected_status=401)
    p.css("#password").send_keys(PASSWORD)
    p.css("#sign-in").click()
    p.wait(lambda d: d.find_elements("css selector", "#call-list"))

    rows = p.all("#call-list tbody tr")
    assert len(rows) >= 3
    first = rows[0].get_attribute("data-attempt")
    p.check("02-today")
    Select(p.css(f'tr[data-attempt="{first}"] select[name="outcome"]')).select_by_value("booked")
    p.css(f'tr[data-attempt="{first}"] .outcome-form button').click()
    p.wait(lambda d: "Recorded: Booked." in d.page_source)
    assert p.css(f'tr[data-attempt="{first}"] .outcome-recorded').text == "Booked"
    p.check("03-today-outcome-recorded")

    patient = p.css(f'tr[data-attempt="{first}"] td a').get_attribute("href")
    p.open("/patients")
    p.css("#q").send_keys("P000001")
    p.css("#search-form button").click()
    p.wait(lambda d: d.find_elements("css selector", "#results, #no-results"))
    p.check("04-patients-search")
    browser.get(patient)
    p.wait(lambda d: d.find_elements("css selector", "#value"))
    p.wait(lambda d: d.execute_script("return !!(window.Chart && Chart.getChart('chart-visits'))"))
    p.check("05-patient")

    p.open("/campaigns")
    assert "running" in p.css("#campaign-state").text
    p.check("06-campaigns")

    p.open("/results")
    for name in ("tiers", "expected", "monthly", "funnel", "lift", "money"):
        assert p.wait(lambda d, n=name: d.execute_script(f"return !!Chart.getChart('chart-{n}')")), name
    assert p.all("#table-funnel tbody tr")
    p.check("07-results")

    p.open("/try")
    Select(p.css("#caller")).select_by_value("unknown")
    p.css("#start-call").click()
    p.wait(lambda d: d.find_element("id", "tryit-status").get_attribute("data-ended") == "no")
    greeting = len(p.all("#conversation li.receptionist"))
    assert greeting >= 1
    p.css("#say").send_keys("what are your hours")
    p.css("#send").click()
    p.wait(lambda d: len(d.find_elements("css selector", "#conversation li.receptionist")) > greeting)
    assert "what are your hours" in p.css("#conversation").text
    assert p.css("#tryit-status").get_attribute("data-route") == "ai"
    p.check("08-try-it")
    p.css("#hangup").click()
    p.wait(lambda d: d.find_element("id", "tryit-status").get_attribute("data-ended") == "yes")

    # Try it plays on its sandbox: its call is not the practice's. A real (simulated) call is.
    from receptionist.simulation.simulator import CallSimulator, FlaskTransport

    base = demo.services.settings.base_url
    CallSimulator(
        FlaskTransport(demo.app, base_url=base),
        base_url=base,
        auth_token=demo.services.settings.auth_token,
        account_sid=demo.services.settings.account_sid,
    ).call(from_="+13125550123", to=demo.services.practice.main.phone, says=["what are your hours", "bye"])
    p.open("/calls")
    assert len(p.all("#recent-calls a[href^='/calls/CA']")) == 1
    link = p.css("#recent-calls a[href^='/calls/CA']")
    link_href = link.get_attribute("href")
    p.check("09-calls")
    link.click()
    p.wait(lambda d: d.find_elements("css selector", "#transcript"))
    assert "what are your hours" in p.css("#transcript").text
    p.check("10-call-transcript")

    # a laptop and a tablet: no page is wider than the window, no table wider than its card; one cost figure
    for width, height in ((1366, 768), (1024, 768)):
        browser.set_window_size(width, height)
        for name, path in (
            ("today", "/"),
            ("schedule-day", "/schedule"),
            ("schedule-week", "/schedule?view=week"),
            ("inbox", "/inbox"),
            ("patients", "/patients"),
            ("patient", urllib.parse.urlsplit(patient).path),
            ("campaigns", "/campaigns"),
            ("results", "/results"),
            ("calls", "/calls"),
            ("call", urllib.parse.urlsplit(link_href).path),
            ("try-it", "/try"),
            ("audit", "/audit"),
        ):
            p.open(path)
            p.wait(lambda d: d.execute_script("return document.readyState") == "complete")
            inner = browser.execute_script("return window.innerWidth")
            page_width = browser.execute_script("return document.documentElement.scrollWidth")
            assert page_width <= inner, (name, width, page_width, inner)
            cut = browser.execute_script(
                "return [...document.querySelectorAll('table.list')].filter(t => {"
                " const card = t.closest('.card'); return card && t.getBoundingClientRect().right >"
                " card.getBoundingClientRect().right + 1; }).map(t => t.id || t.className)"
            )
            assert cut == [], (name, width, cut)
            p.check(f"11-{name}-{width}x{height}")
    browser.set_window_size(1280, 1000)
    p.open("/campaigns")
    assert "per-attempt charges plus call minutes" in p.css("#campaign-state").text

    p.css(".signout button").click()
    p.wait(lambda d: "/login" in d.current_url)
    assert "You are signed out." in browser.page_source


def _simulator(demo):
    from receptionist.simulation.simulator import CallSimulator, FlaskTransport

    base = demo.services.settings.base_url
    return CallSimulator(
        FlaskTransport(demo.app, base_url=base),
        base_url=base,
        auth_token=demo.services.settings.auth_token,
        account_sid=demo.services.settings.account_sid,
    )


def _text_in(demo, sim, frm: str, body: str) -> None:
    """A patient's text to the practice number, posted as Twilio posts it."""
    base = demo.services.settings.base_url
    params = {
        "MessageSid": "SM" + "7" * 32,
        "From": frm,
        "To": demo.services.practice.main.phone,
        "Body": body,
        "AccountSid": demo.services.settings.account_sid,
    }
    url = base + "/sms/inbound"
    status, _ = sim.transport.post(url, params, {"X-Twilio-Signature": sim.sign(url, params)})
    assert status == 200


def _live_swap(p, selector: str, expect: str) -> None:
    """Wait until the live part `selector` was swapped in (no reload: the page's marker survives) and shows
    `expect`."""
    p.wait(
        lambda d: d.execute_script(
            "const el = document.querySelector(arguments[0]);"
            "return window.__noReload === 1 && el && el.hasAttribute('data-live-updated')"
            " && el.textContent.includes(arguments[1]);",
            selector,
            expect,
        )
    )


def test_a_front_desks_day_in_a_real_browser(server, browser, demo):
    """A front desk's day, in Chromium: sign in; the day's schedule; an AI booking appears on it live; a
    message from a call and a handed-over text appear in the inbox live; staff reply and close them; book and
    move a visit from the schedule; a campaign's progress with its next step; Results with one cost figure."""
    from selenium.webdriver.support.ui import Select
    from sqlalchemy import select

    from receptionist.runtime.up import example_phone
    from receptionist.store.schedule import Appointment

    store = demo.services.store
    caller = example_phone(store, "low")
    texter = example_phone(store, "mid")
    assert caller and texter and caller != texter
    p = Page(browser, server)
    p.open("/")
    p.css("#username").send_keys("frontdesk")
    p.css("#password").send_keys(PASSWORD)
    p.css("#sign-in").click()
    p.wait(lambda d: d.find_elements("css selector", "#today-live"))

    # 1-2. the day's schedule (the demo's Monday), by week so a booking on any day of it shows
    day = MONDAY_10AM.date().isoformat()
    p.open(f"/schedule?view=week&day={day}")
    p.wait(lambda d: d.find_elements("css selector", "#week-table"))
    p.check("20-day-schedule")
    browser.execute_script("window.__noReload = 1;")
    sim = _simulator(demo)
    # 3. an AI booking appears live
    booked = sim.call(
        from_=caller,
        to=demo.services.practice.main.phone,
        says=["I'd like to book a cleaning", "the first one", "yes", "no thanks"],
    )
    assert booked.outcome["appointment"]["action"] == "booked", booked.turns
    with store.sessions() as s:
        visit = s.scalars(select(Appointment).where(Appointment.call_sid == booked.call_sid)).one()
    _live_swap(p, "#schedule-grid", "booked by the AI receptionist")
    assert p.all(f"#schedule-grid a[href='/schedule/appointments/{visit.id}']")
    p.check("21-schedule-ai-booking-live")

    # 4. a message from a call and a handed-over text appear in the inbox, live
    p.open("/inbox")
    p.wait(lambda d: d.find_elements("css selector", "#inbox-live"))
    browser.execute_script("window.__noReload = 1;")
    message = sim.call(
        from_=caller,
        to=demo.services.practice.main.phone,
        says=["I'd like to leave a message", "please ask Dr Chen to call me about my crown", "no that's all"],
    )
    assert message.outcome["message_taken"] is True
    _live_swap(p, "#inbox-live", "about my crown")
    _text_in(demo, sim, texter, "can I talk to a real person please")
    p.wait(lambda d: d.find_elements("css selector", "#inbox-threads a[href^='/inbox/']"))  # swapped in
    assert browser.execute_script("return window.__noReload") == 1
    p.check("22-inbox-live")

    # 5. reply to the text and close it; close the call's message
    p.click("#inbox-threads a[href^='/inbox/']")
    p.wait(lambda d: d.find_elements("css selector", "#reply-body"))
    p.css("#reply-body").send_keys("Hi, this is the front desk. How can we help?")
    p.css("#thread-reply button[type='submit']").click()
    p.wait(lambda d: "this is the front desk" in d.find_element("id", "thread-messages").text)
    Select(p.css("select[name='state']")).select_by_value("done")
    p.css("select[name='state']").find_element("xpath", "./ancestor::form//button").click()
    p.wait(lambda d: "Marked done." in d.page_source)
    assert demo.twilio.messages, "the staff reply went out through Twilio"
    p.check("23-inbox-thread-replied")
    p.open("/inbox")
    p.click("#callbacks .take-form button")
    p.wait(lambda d: "in progress with you" in d.page_source)
    assert "In progress · frontdesk" in p.css("#callbacks").text
    p.click("#callbacks .done-form button")
    p.wait(lambda d: "Marked done:" in d.page_source)
    assert "about my crown" not in p.css("#inbox-live").text
    p.check("24-inbox-closed")

    # 6. book and move a visit from the schedule
    p.open(f"/schedule?day={day}")
    p.click("#schedule-table a.book-link")
    p.wait(lambda d: d.find_elements("css selector", "#patient-search"))
    p.css("#patient-search input[name='q']").send_keys(caller)
    p.css("#patient-search button").click()
    p.wait(lambda d: d.find_elements("css selector", "#results"))
    p.css("#results a").click()
    p.wait(lambda d: d.find_element("css selector", "#book-form button").is_enabled())
    Select(p.css("#book-form select[name='visit_type']")).select_by_value("exam")  # a dentist's time
    p.css("#book-form button").click()
    p.wait(lambda d: "Booked:" in d.page_source or d.find_elements("css selector", "#refused"))
    assert not p.all("#refused"), p.css("#refused").text
    with store.sessions() as s:
        mine = s.scalars(select(Appointment).where(Appointment.booked_via == "staff")).one()
        first_start = mine.start
    assert p.all(f"#schedule-table a[href='/schedule/appointments/{mine.id}']")
    p.check("25-staff-booked")
    p.open(f"/schedule/appointments/{mine.id}")
    p.css("#move-link").click()
    p.wait(lambda d: d.find_elements("css selector", "#moving"))
    p.click_last("#schedule-table button")  # "Move here" on the day's last open time
    p.wait(lambda d: "Moved:" in d.page_source or d.find_elements("css selector", "#refused"))
    assert not p.all("#refused"), p.css("#refused").text
    with store.sessions() as s:  # the visit moved: the old time given back, the new one booked by staff
        assert s.get(Appointment, mine.id).status != "booked"
        now_at = s.scalars(
            select(Appointment).where(Appointment.booked_via == "staff", Appointment.status == "booked")
        ).one()
        assert now_at.start != first_start and now_at.patient_id == mine.patient_id
    p.check("26-staff-moved")

    # 7. a campaign's progress with its next step and when it is due; 8. Results with one cost figure
    p.open("/campaigns")
    state = p.css("#campaign-state").text
    assert "spent (per-attempt charges plus call minutes)" in state
    assert p.all("#sequences tbody tr"), "each patient's step, the next step and when it is due"
    p.check("27-campaign-progress")
    p.open("/results")
    note = p.css("#section-money .muted.small").text
    assert "per-attempt charges plus call minutes (the figure the Campaigns page shows)" in note
    p.check("28-results-one-cost")
