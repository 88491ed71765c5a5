"""The dashboard in a real headless Chromium (Debian's `chromium` and `chromium-driver`), against a real HTTP
server on the demo practice: sign in, open every page, record a call outcome, talk to the receptionist in Try
it. Every page is checked for console errors and for requests to any other host; a screenshot of each page is
saved under tests/output/screenshots/ for review."""

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
            ("campaigns", "/campaigns"),
            ("results", "/results"),
            ("calls", "/calls"),
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
