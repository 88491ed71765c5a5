"""The suite's fixture practice, built only through public doors, and reset between calls.

The demo practice (Brightsmile Dental, Dupont Circle) with a handful of known patients, loaded through the
CSV importers (with `date_of_birth` and the family link `guarantor_id`), scored, with five weeks of schedule
from Monday 14 December 2026, and upcoming appointments put in through the integration API
(`PUT /api/v1/appointments`). `World.reset()` brings the store and Redis back to that state before each
call: the SQLite file is restored with SQLite's backup API and Redis from a DUMP of every key.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from receptionist.config.settings import Settings
from receptionist.integrations.apikeys import create_key
from receptionist.patients.cache import TierCache
from receptionist.patients.importer import import_patients, import_visits
from receptionist.patients.scorer import run_scoring
from receptionist.runtime.services import build_services
from receptionist.scheduling.schedule import ensure_schedule
from receptionist.simulation.simulator import CallSimulator, FlaskTransport
from receptionist.store import Appointment, Callback, Message, Patient, Slot
from receptionist.web import create_app

NY = ZoneInfo("America/New_York")
MAIN = "+12025550100"  # the practice's number
STAFF = ("+12025550111", "+12025550112")
ON_CALL = "+12025550199"  # the after-hours on-call dentist (the practice file's FAQ)
TOKEN = "calls-suite-auth-token-0123456789abcdef"
AS_OF = dt.date(2026, 12, 14)  # Monday: scores and schedule start here
SCHEDULE_WEEKS = 6
HOLIDAYS = (dt.date(2026, 12, 25), dt.date(2027, 1, 1), dt.date(2027, 1, 18))  # Christmas, New Year, MLK

# Named local times a call may be placed at (`at = "mon_open"`), or any "YYYY-MM-DDTHH:MM".
TIMES = {
    "mon_open": "2026-12-14T10:00",
    "mon_early": "2026-12-14T08:20",
    "mon_lunch": "2026-12-14T12:30",
    "tue_open": "2026-12-15T09:15",
    "tue_afternoon": "2026-12-15T15:40",
    "wed_open": "2026-12-16T11:00",
    "wed_late": "2026-12-16T16:30",
    "thu_open": "2026-12-17T08:45",
    "fri_open": "2026-12-18T13:30",
    "mon2_open": "2026-12-21T10:00",  # the Monday of Christmas week
    "tue_evening": "2026-12-15T19:30",  # after hours
    "wed_night": "2026-12-16T23:10",
    "thu_dawn": "2026-12-17T06:40",
    "fri_evening": "2026-12-18T17:45",
    "sat_morning": "2026-12-19T10:30",  # weekend
    "sun_afternoon": "2026-12-20T14:00",
    "christmas": "2026-12-25T10:00",  # a US holiday, a Friday
    "new_year": "2027-01-01T11:00",
}


@dataclass(frozen=True)
class Person:
    id: str
    first: str
    last: str
    phone: str  # E.164, "" for none
    dob: str  # YYYY-MM-DD, "" for none on file
    guarantor: str = ""
    consent: bool = True


# Callers by alias (`from = "linda"`): patients, and numbers the practice has never seen.
PEOPLE = {
    "margaret": Person("P100", "Margaret", "Ellison", "+12025550143", "1958-01-21"),  # high value
    "tom": Person("P101", "Tom", "Novak", "+12025550177", "1990-05-12"),  # had Hygienist Patel
    "linda": Person("P102", "Linda", "Park", "+12025550161", "1982-03-04"),  # appointment Thu 17 Dec
    "david": Person("P103", "David", "Okafor", "+12025550134", "1975-11-23"),  # two appointments
    "grace": Person("P104", "Grace", "Whitfield", "+12025550119", "1941-07-09"),  # elderly, Tue 22 Dec
    "walter": Person("P105", "Walter", "Brooks", "+12025550126", ""),  # no date of birth on file
    "priya": Person("P106", "Priya", "Shah", "+12025550158", "1988-12-22"),  # born on a date in the schedule
    "carlos": Person("P107", "Carlos", "Mendez", "+12025550192", "1979-02-14"),
    "sarah": Person("P108", "Sarah", "Johnson", "+12025550145", "1984-06-15"),  # the family's account
    "mike": Person("P109", "Mike", "Johnson", "+12025550146", "1983-10-02", guarantor="P108"),
    "emma": Person("P110", "Emma", "Johnson", "", "2019-04-02", guarantor="P108"),  # 7, no phone
    "noah": Person("P111", "Noah", "Johnson", "", "2014-08-20", guarantor="P108"),  # 12, no phone
    "kevin": Person("P112", "Kevin", "Brennan", "+12025550181", "1970-04-18"),  # outreach target
    "helen": Person("P113", "Helen", "Zhou", "+12025550170", "1962-12-01"),
    "rosa": Person("P114", "Rosa", "Alvarez", "+12025550153", "1966-12-18"),  # Spanish speaker
    "nadia": Person("P115", "Nadia", "Haddad", "+12025550165", "1979-12-29"),  # appointment Wed 23 Dec
    "harold": Person("P116", "Harold", "Becker", "+12025550127", "1938-02-11"),  # elderly, nothing booked
}
UNKNOWN = {
    "stranger": "+13125550123",  # Chicago
    "newcomer": "+12405550177",  # Maryland
    "vendor": "+18005550142",
    "pizza": "+12025550999",
    "abroad": "+447700900123",
}
ALIASES = {**{k: p.phone for k, p in PEOPLE.items() if p.phone}, **UNKNOWN}
PATIENT_IDS = {k: p.id for k, p in PEOPLE.items()}

# Upcoming appointments on file (local times), put in through the integration API.
APPOINTMENTS = [
    # (id, patient alias, local start, provider, kind)
    ("PMS-2001", "linda", "2026-12-17T14:00", "Hygienist Patel", "cleaning"),
    ("PMS-2002", "david", "2026-12-18T09:00", "Dr. Chen", "exam"),
    ("PMS-2003", "david", "2027-01-06T10:00", "Hygienist Moore", "cleaning"),
    ("PMS-2004", "grace", "2026-12-22T11:00", "Dr. Rivera", "exam"),
    ("PMS-2005", "walter", "2026-12-16T15:00", "Hygienist Moore", "cleaning"),
    ("PMS-2006", "emma", "2026-12-23T15:00", "Dr. Rivera", "child_visit"),
    ("PMS-2007", "margaret", "2026-12-21T08:00", "Dr. Chen", "exam"),
    ("PMS-2008", "nadia", "2026-12-23T09:00", "Hygienist Patel", "cleaning"),
]


def _visits() -> list[str]:
    rows = ["patient_id,date,amount,department,provider"]
    for year in range(2014, 2027):  # Margaret: twelve years, crowns and cleanings: high value
        rows += [
            f"P100,{year}-02-10,1400,restorative,Dr. Chen",
            f"P100,{year}-08-12,160,hygiene,Hygienist Moore",
        ]

    def twice_a_year(pid: str, years: range, amount: int, provider: str, months=("03", "09")) -> None:
        for year in years:
            for month in months:
                if dt.date(year, int(month), 15) < AS_OF:
                    rows.append(f"{pid},{year}-{month}-15,{amount},hygiene,{provider}")

    twice_a_year("P101", range(2024, 2027), 85, "Hygienist Patel", ("01", "06"))
    twice_a_year("P102", range(2023, 2027), 90, "Hygienist Patel")
    twice_a_year("P103", range(2022, 2027), 80, "Hygienist Moore", ("04", "10"))
    twice_a_year("P104", range(2021, 2027), 75, "Dr. Rivera", ("05", "11"))
    twice_a_year("P105", range(2024, 2027), 70, "Hygienist Moore", ("02", "08"))
    twice_a_year("P106", range(2025, 2027), 95, "Hygienist Moore")
    twice_a_year("P107", range(2023, 2026), 85, "Hygienist Patel", ("02", "07"))
    twice_a_year("P108", range(2022, 2027), 90, "Hygienist Patel", ("05", "11"))
    twice_a_year("P109", range(2023, 2027), 90, "Hygienist Moore", ("05", "11"))
    twice_a_year("P110", range(2023, 2027), 60, "Dr. Rivera", ("06", "12"))
    twice_a_year("P111", range(2020, 2027), 60, "Dr. Rivera", ("06", "12"))
    twice_a_year("P112", range(2019, 2024), 80, "Hygienist Moore", ("01", "07"))  # lapsed
    twice_a_year("P113", range(2024, 2027), 90, "Dr. Chen", ("04", "10"))
    twice_a_year("P114", range(2022, 2027), 85, "Hygienist Patel", ("03", "10"))
    twice_a_year("P115", range(2023, 2027), 90, "Hygienist Patel", ("06", "11"))
    twice_a_year("P116", range(2018, 2027), 70, "Dr. Rivera", ("04", "10"))
    return rows


def _patients_csv() -> str:
    cols = "patient_id,first_name,last_name,phone,email,zip,consent_voice,consent_sms,opted_out,date_of_birth,guarantor_id"
    lines = [cols]
    for p in PEOPLE.values():
        yes = "yes" if p.consent else "no"
        email = f"{p.first.lower()}.{p.last.lower()}@example.com" if p.phone else ""
        lines.append(
            f"{p.id},{p.first},{p.last},{p.phone},{email},20009,{yes},{yes},no,{p.dob},{p.guarantor}"
        )
    return "\n".join(lines) + "\n"


def local(text: str) -> dt.datetime:
    """A call time: an alias of TIMES or "YYYY-MM-DDTHH:MM", local to the practice."""
    value = dt.datetime.fromisoformat(TIMES.get(text, text))
    return value.replace(tzinfo=NY) if value.tzinfo is None else value.astimezone(NY)


def _aware(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def _copy_database(source: Path, target: Path) -> None:
    """SQLite's online backup: the target becomes a page-for-page copy of the source."""
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


@dataclass
class AppointmentRow:
    id: int
    patient_id: str
    start: dt.datetime  # aware, UTC
    status: str
    kind: str
    provider: str
    minutes: int
    call_sid: str | None

    def key(self) -> tuple:
        return (self.patient_id, self.start, self.status, self.kind, self.provider, self.minutes)


@dataclass
class World:
    """The fixture practice in a data folder of its own, the app in process, and a clock to place calls at."""

    home: Path
    services: Any
    app: Any
    clock: list[dt.datetime]
    pristine: Path
    redis_keys: list[tuple[bytes, bytes, int]] = field(default_factory=list)
    _open_slots: list[tuple[dt.datetime, str, str]] | None = None

    def __repr__(self) -> str:
        return f"World({self.home})"

    @property
    def store(self):
        return self.services.store

    def simulator(self, at: dt.datetime) -> CallSimulator:
        self.clock[0] = at
        base = self.services.settings.base_url
        return CallSimulator(
            FlaskTransport(self.app, base_url=base),
            base_url=base,
            auth_token=TOKEN,
            clock=lambda: self.clock[0],
        )

    # -- reset

    def _snapshot(self) -> None:
        self.store.engine.dispose()
        _copy_database(self.db_path, self.pristine)
        client = self.services.redis
        self.redis_keys = []
        for key in client.scan_iter(count=1000):
            ttl = client.pttl(key)
            self.redis_keys.append((key, client.dump(key), max(ttl, 0)))

    def reset(self) -> None:
        self.store.engine.dispose()
        _copy_database(self.pristine, self.db_path)
        client = self.services.redis
        client.flushdb()
        pipe = client.pipeline(transaction=False)
        for key, value, ttl in self.redis_keys:
            pipe.restore(key, ttl, value, replace=True)
        pipe.execute()

    @property
    def db_path(self) -> Path:
        return self.home / "calls.sqlite3"

    # -- reading what a call changed

    def appointments(self) -> dict[int, AppointmentRow]:
        with self.store.sessions() as s:
            return {
                a.id: AppointmentRow(
                    a.id, a.patient_id, _aware(a.start), a.status, a.kind, a.provider, a.minutes, a.call_sid
                )
                for a in s.scalars(select(Appointment))
            }

    def open_slots(self) -> list[tuple[dt.datetime, str, str]]:
        """The slots open in the fixture (start in UTC, provider, kind), read once."""
        if self._open_slots is None:
            with self.store.sessions() as s:
                rows = s.scalars(select(Slot).where(Slot.appointment_id.is_(None))).all()
                self._open_slots = sorted((_aware(r.start), r.provider, r.kind) for r in rows)
        return self._open_slots

    def callbacks(self, call_sid: str) -> list[dict[str, str]]:
        with self.store.sessions() as s:
            return [
                {"reason": c.reason or "", "priority": c.priority or ""}
                for c in s.scalars(select(Callback).where(Callback.call_sid == call_sid))
            ]

    def messages(self, call_sid: str) -> list[str]:
        with self.store.sessions() as s:
            return [m.text or "" for m in s.scalars(select(Message).where(Message.call_sid == call_sid))]

    def opted_out(self, patient_id: str) -> bool:
        with self.store.sessions() as s:
            p = s.get(Patient, patient_id)
            return bool(p and p.opted_out)


def scratch_dir() -> Path:
    """A new folder for the practice's SQLite file: in memory (/dev/shm) where there is one, since every call
    restores and rewrites the file and disk syncs would be most of the suite's time."""
    shm = Path("/dev/shm")
    base = shm if shm.is_dir() and os.access(shm, os.W_OK) else None
    return Path(tempfile.mkdtemp(prefix="calls-", dir=base))


def build_world(redis_url: str, home: Path | None = None) -> World:
    """Build and score the fixture practice once in `home` (default: a new scratch folder, which the caller
    removes); `World.reset()` returns to this state."""
    home = Path(home) if home else scratch_dir()
    home.mkdir(parents=True, exist_ok=True)
    db = home / "calls.sqlite3"
    for leftover in (db, home / "pristine.sqlite3"):
        leftover.unlink(missing_ok=True)
    settings = Settings(
        receptionist_home=home,
        database_url=f"sqlite:///{db}",
        redis_url=redis_url,
        twilio_auth_token=TOKEN,
        twilio_account_sid=None,
        public_base_url="http://testserver",
        openai_api_key=None,  # the offline engine: the same words always get the same answer
        smtp_url=None,
    )
    services = build_services(settings, migrate=True)
    services.redis.flushdb()
    clock = [local("mon_open")]
    services.now = lambda: clock[0]
    (home / "patients.csv").write_text(_patients_csv())
    (home / "visits.csv").write_text("\n".join(_visits()) + "\n")
    cache = TierCache(services.redis)
    import_patients(services.store, home / "patients.csv", progress=False, today=AS_OF, cache=cache)
    import_visits(services.store, home / "visits.csv", progress=False, today=AS_OF)
    run_scoring(services.store, cache, services.practice, AS_OF)
    ensure_schedule(services.store, services.practice, AS_OF, weeks=SCHEDULE_WEEKS)
    app = create_app(services=services)
    key = create_key(services.store, "calls suite", sealer=services.sealer)
    body = {
        "appointments": [
            {
                "id": ext,
                "patient_id": PEOPLE[who].id,
                "start": local(start).isoformat(),
                "minutes": 60,
                "location_id": "main",
                "provider": provider,
                "kind": kind,
            }
            for ext, who, start, provider, kind in APPOINTMENTS
        ]
    }
    got = app.test_client().put(
        "/api/v1/appointments",
        data=json.dumps(body),
        headers={"Authorization": f"Bearer {key.token}", "Content-Type": "application/json"},
    )
    if got.status_code != 200 or got.get_json()["added"] != len(APPOINTMENTS):
        raise RuntimeError(f"fixture appointments refused: {got.status_code} {got.get_data(as_text=True)}")
    world = World(home=home, services=services, app=app, clock=clock, pristine=home / "pristine.sqlite3")
    world._snapshot()
    return world
