"""`receptionist demo`: a synthetic practice, written as the practice-management exports and imported."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from receptionist.config.practice import Practice, load_practice
from receptionist.patients.cache import TierCache
from receptionist.patients.importer import ImportReport, import_patients, import_visits
from receptionist.scheduling.schedule import book, ensure_schedule, fill_demo_bookings, find_openings
from receptionist.simulation import synth
from receptionist.store import Appointment, Patient, Store


class StoreNotEmpty(RuntimeError):
    """The demo would be mixed into a real practice's data."""


@dataclass(frozen=True)
class DemoReport:
    patients: ImportReport
    visits: ImportReport
    folder: Path
    slots: int


def patient_count(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(Patient)) or 0)


def load_demo(
    store: Store,
    home: Path,
    *,
    as_of: dt.date,
    patients: int = 2000,
    years: float = 6.0,
    seed: int = 7,
    force: bool = False,
    progress: bool = True,
    practice_file: Path | None = None,
    cache: TierCache | None = None,
) -> DemoReport:
    existing = patient_count(store)
    if existing and not force:
        raise StoreNotEmpty(
            f"the store already holds {existing} patients; use --force to add the demo practice"
        )
    practice = synth.generate(n_patients=patients, years=years, seed=seed, as_of=as_of)
    folder = Path(home) / "demo"
    folder.mkdir(parents=True, exist_ok=True)
    synth.write_patients_csv(practice, folder / "patients.csv")
    synth.write_visits_csv(practice, folder / "visits.csv")
    today = practice.as_of
    p = import_patients(store, folder / "patients.csv", progress=progress, today=today, cache=cache)
    v = import_visits(store, folder / "visits.csv", progress=progress, today=today)
    slots = demo_schedule(store, load_practice(practice_file), practice.patient_id, today)
    return DemoReport(p, v, folder, slots)


def demo_schedule(store: Store, practice: Practice, patient_ids: list[str], today: dt.date) -> int:
    """Eight weeks of schedule, about 60% already booked, and an upcoming cleaning for the demo's Tom (P000002)."""
    created = ensure_schedule(store, practice, today, weeks=8)
    location = practice.main
    fill_demo_bookings(store, practice, list(patient_ids[2:]), share=0.6, seed=len(patient_ids))
    cleaning = practice.visit_type("cleaning")
    if "P000002" in patient_ids and cleaning is not None:
        with store.session() as session:
            has = session.scalar(
                select(Appointment.id).where(
                    Appointment.patient_id == "P000002", Appointment.status == "booked"
                )
            )
            if has is None:
                start = dt.datetime.combine(today + dt.timedelta(days=14), dt.time(0), location.zone)
                found = find_openings(store, location, cleaning, start, limit=1, lead=dt.timedelta(0))
                if found:
                    book(session, found[0], "P000002", cleaning.id, location_id=location.id, via="pms")
    return created
