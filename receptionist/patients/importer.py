"""`receptionist import patients|visits`: validate the whole file, then load it in one transaction.

A file with bad rows imports nothing (every bad row is reported) unless `skip_invalid` is set; re-importing
a file adds nothing twice: patients are upserted by id, visit lines are keyed by `visit_id` or, without
one, by their content.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update

from receptionist.patients.cache import TierCache
from receptionist.patients.csvfiles import (
    CUT_SHORT,
    BadField,
    BadRow,
    FieldCheck,
    RowError,
    parse_bool,
    parse_cents,
    parse_date,
    parse_email,
    parse_id,
    parse_status,
    parse_zip,
    read_rows,
)
from receptionist.phones import InvalidPhone, parse_phone_list
from receptionist.store import Patient, PatientPhone, Store, VisitLine, store_now

PATIENT_COLUMNS = (
    "patient_id",
    "first_name",
    "last_name",
    "phone",
    "email",
    "zip",
    "consent_voice",
    "consent_sms",
    "opted_out",
)
VISIT_COLUMNS = ("patient_id", "date", "amount", "department")
CHUNK = 5_000


@dataclass
class ImportReport:
    kind: str
    file: str
    rows: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    patients_created: int = 0
    invalid: list[RowError] = field(default_factory=list)
    imported: bool = False

    def summary(self) -> str:
        name = Path(self.file).name
        if not self.imported:
            return (
                f"{name}: {len(self.invalid)} bad row(s), nothing imported "
                "(fix them, or use --skip-invalid to import the good rows)"
            )
        parts = [f"{self.rows} rows", f"{self.added} added"]
        if self.kind == "patients":
            parts.append(f"{self.updated} updated")
        parts.append(f"{self.unchanged} already present")
        if self.patients_created:
            parts.append(f"{self.patients_created} unknown patient id(s) created without contact data")
        if self.invalid:
            parts.append(f"{len(self.invalid)} bad row(s) skipped")
        return f"{name}: " + ", ".join(parts)


@dataclass(frozen=True)
class PatientRecord:
    id: str
    first_name: str
    last_name: str
    phones: tuple[str, ...]
    email: str
    zip: str
    consent_voice: bool
    consent_sms: bool
    consent_written: bool
    opted_out: bool
    date_of_birth: dt.date | None = None  # optional column, only for confirming identity on the phone
    guarantor_id: str | None = None  # optional column: the family's account holder ("" in the file: none)
    # optional: "active", "inactive" or "deceased"; None says nothing (what is known is kept). A recorded death
    # is never undone by an import, like an opt-out.
    status: str | None = None
    deceased_on: dt.date | None = None
    # optional: when the PMS says the next recall visit is due (`recall_due`); None says nothing (kept)
    recall_due_on: dt.date | None = None


@dataclass(frozen=True)
class VisitRecord:
    line_key: str
    patient_id: str
    day: dt.date
    amount_cents: int
    paid_cents: int
    department: str
    provider: str


def _phones(text: str) -> tuple[str, ...]:
    try:
        return tuple(parse_phone_list(text))
    except InvalidPhone as exc:
        raise BadField("phone", f"{exc} ({text!r})") from None


def _patient(row: dict[str, str], _line: int, seen: dict[str, int]) -> PatientRecord:
    """One patient row, every field checked: a bad row reports all its bad fields (`BadRow`)."""
    check = FieldCheck()
    pid = check(parse_id, row["patient_id"], "patient_id")
    if pid is not None and pid in seen:
        check.fail("patient_id", f"{pid} appears again (first on line {seen[pid]})")
    phones = check(_phones, row["phone"])
    for name in ("first_name", "last_name"):
        if len(row[name]) > 100:
            check.fail(name, "longer than 100 characters")
    email = check(parse_email, row["email"], "email")
    zip_code = check(parse_zip, row["zip"], "zip")
    flags = {
        name: check(parse_bool, row.get(name, ""), name)
        for name in ("consent_voice", "consent_sms", "consent_written", "opted_out")
    }
    dob = (row.get("date_of_birth") or "").strip()
    birth = check(parse_date, dob, "date_of_birth") if dob else None
    guarantor = check(_guarantor, row, pid) if pid is not None else None
    status = check(_status, row)
    recall_text = (row.get("recall_due") or "").strip()
    recall_due = check(parse_date, recall_text, "recall_due") if recall_text else None
    check.done()
    assert pid is not None and phones is not None and email is not None and zip_code is not None
    return PatientRecord(
        id=pid,
        first_name=row["first_name"],
        last_name=row["last_name"],
        phones=phones,
        email=email,
        zip=zip_code,
        consent_voice=bool(flags["consent_voice"]),
        consent_sms=bool(flags["consent_sms"]),
        consent_written=bool(flags["consent_written"]),
        opted_out=bool(flags["opted_out"]),
        date_of_birth=birth,
        guarantor_id=guarantor,
        recall_due_on=recall_due,
        **(status or {}),
    )


def _status(row: dict[str, str]) -> dict[str, Any]:
    """The optional `status` and `deceased_on` columns; a day of death alone says the patient died."""
    status = parse_status(row.get("status") or "", "status")
    died = (row.get("deceased_on") or "").strip()
    deceased_on = parse_date(died, "deceased_on") if died else None
    if deceased_on is not None:
        if status not in (None, "deceased"):
            raise BadField("deceased_on", f"given for a patient whose status is {status}")
        status = "deceased"
    return {"status": status, "deceased_on": deceased_on}


def _guarantor(row: dict[str, str], pid: str) -> str | None:
    """The family link, when the file has the column: the account holder's id (the patient's own or empty
    means they hold their own account)."""
    if "guarantor_id" not in row:
        return None
    text = (row.get("guarantor_id") or "").strip()
    if not text or text == pid:
        return ""
    return parse_id(text, "guarantor_id")


class _VisitParser:
    def __init__(self, today: dt.date) -> None:
        self.today = today
        self.occurrences: dict[bytes, int] = {}
        self.visit_ids: dict[str, int] = {}

    def __call__(self, row: dict[str, str], line: int, _seen: dict[str, int]) -> VisitRecord:
        """One visit row, every field checked: a bad row reports all its bad fields (`BadRow`)."""
        check = FieldCheck()
        pid = check(parse_id, row["patient_id"], "patient_id")
        day = check(lambda: parse_date(row["date"], "date", not_after=self.today))
        amount = check(parse_cents, row["amount"], "amount")
        paid_text = row.get("paid", "")
        paid = check(parse_cents, paid_text, "paid") if paid_text else amount
        department = row["department"].strip().lower()
        if not department:
            check.fail("department", "missing")
        if len(department) > 60:
            check.fail("department", "longer than 60 characters")
        provider = row.get("provider", "")[:100]
        visit_id = row.get("visit_id", "")
        vid = check(parse_id, visit_id, "visit_id") if visit_id else None
        check.done()
        assert pid is not None and day is not None and amount is not None and paid is not None
        if vid is not None:
            first = self.visit_ids.setdefault(vid, line)
            if first != line:
                raise BadField("visit_id", f"{vid} appears again (first on line {first})")
            key = "v:" + vid
        else:
            content = f"{pid}|{day}|{amount}|{paid}|{department}|{provider}".encode()
            digest = hashlib.sha1(content).digest()
            n = self.occurrences.get(digest, 0) + 1
            self.occurrences[digest] = n
            key = f"h:{digest.hex()}:{n}"
        return VisitRecord(key, pid, day, amount, paid, department, provider)


def _records(
    path: Path,
    required: tuple[str, ...],
    parse: Callable[..., Any],
    report: ImportReport,
    progress: bool,
    label: str,
) -> Iterator[Any]:
    seen: dict[str, int] = {}
    for line, row in read_rows(path, required, progress=progress, label=label):
        report.rows += 1
        if row.cut:
            report.invalid.append(RowError(line, "(row)", CUT_SHORT))
            continue
        try:
            record = parse(row, line, seen)
        except BadRow as bad:
            report.invalid.extend(RowError(line, b.field, b.why) for b in bad.fields)
            continue
        except BadField as bad:
            report.invalid.append(RowError(line, bad.field, bad.why))
            continue
        if isinstance(record, PatientRecord):
            seen[record.id] = line
        yield record


def _chunks(items: Iterator[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _validate(
    path: Path, required: tuple[str, ...], parse: Callable[..., Any], kind: str, progress: bool
) -> ImportReport:
    report = ImportReport(kind=kind, file=str(path))
    for _ in _records(path, required, parse, report, progress, f"checking {path.name}"):
        pass
    return report


def import_patients(
    store: Store,
    path: Path,
    *,
    today: dt.date,
    skip_invalid: bool = False,
    progress: bool = True,
    cache: TierCache | None = None,
) -> ImportReport:
    """`today`: the practice's day (a zip change is dated by it). `cache`: the live tier cache, told before and
    after the commit that phones change, so a number it does not hold is looked up in the store again (raises
    `CacheUnavailable`, importing nothing, if Redis cannot be told first)."""
    path = Path(path)
    check = _validate(path, PATIENT_COLUMNS, _patient, "patients", progress)
    if check.invalid and not skip_invalid:
        return check
    report = ImportReport(kind="patients", file=str(path))
    records = _records(path, PATIENT_COLUMNS, _patient, report, progress, f"importing {path.name}")
    if cache is not None:
        cache.phones_changed()
    with store.session() as session:
        conn = session.connection()
        for chunk in _chunks(records):
            added, updated, unchanged = upsert_patients(conn, chunk, today)
            report.added += added
            report.updated += updated
            report.unchanged += unchanged
    if cache is not None:
        cache.phones_changed()  # again: a publish that read the store before this commit is not complete
    report.imported = True
    report.invalid = check.invalid
    return report


def upsert_patients(conn, chunk: list[PatientRecord], today: dt.date) -> tuple[int, int, int]:
    """Insert or update these patients (by id) on an open connection: (added, updated, unchanged). Phones are
    replaced; a changed zip keeps the old one and is a move away when its first three digits change; an opt-out
    and a recorded death are never undone. The caller tells the tier cache, before and after its commit, that phones change."""
    unchanged = 0
    ids = [r.id for r in chunk]
    existing = {
        row.id: row
        for row in conn.execute(
            select(
                Patient.id,
                Patient.first_name,
                Patient.last_name,
                Patient.email,
                Patient.zip,
                Patient.consent_voice,
                Patient.consent_sms,
                Patient.consent_written,
                Patient.opted_out,
                Patient.has_contact,
                Patient.date_of_birth,
                Patient.guarantor_id,
                Patient.status,
                Patient.deceased_on,
                Patient.recall_due_on,
            ).where(Patient.id.in_(ids))
        )
    }
    old_phones: dict[str, list[str]] = {}
    for pid, phone in conn.execute(
        select(PatientPhone.patient_id, PatientPhone.phone)
        .where(PatientPhone.patient_id.in_(ids))
        .order_by(PatientPhone.patient_id, PatientPhone.position)
    ):
        old_phones.setdefault(pid, []).append(phone)
    now = store_now(conn)
    new_rows, changed_rows, phone_rows = [], [], []
    for r in chunk:
        values = {
            "first_name": r.first_name,
            "last_name": r.last_name,
            "email": r.email,
            "zip": r.zip,
            "consent_voice": r.consent_voice,
            "consent_sms": r.consent_sms,
            "consent_written": r.consent_written,
            "opted_out": r.opted_out,
            "has_contact": bool(r.phones or r.email),
        }
        if r.date_of_birth is not None:  # a file without the column keeps what is known
            values["date_of_birth"] = r.date_of_birth
        if r.guarantor_id is not None:
            values["guarantor_id"] = r.guarantor_id or None
        if r.recall_due_on is not None:  # likewise: a file without the column keeps the known due date
            values["recall_due_on"] = r.recall_due_on
        old = existing.get(r.id)
        if r.status is not None and not (old is not None and old.status == "deceased"):
            values["status"] = r.status
        if r.deceased_on is not None and (old is None or old.deceased_on is None):
            values["deceased_on"] = r.deceased_on
        phone_rows.extend({"patient_id": r.id, "phone": p, "position": i} for i, p in enumerate(r.phones))
        if old is None:
            new_rows.append(
                {
                    "id": r.id,
                    "date_of_birth": None,
                    "guarantor_id": None,
                    "status": "active",
                    "deceased_on": None,
                    "recall_due_on": None,
                    **values,
                    "previous_zip": "",
                    "moved_away": False,
                    "opted_out_at": now if r.opted_out else None,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            continue
        # An opt-out is never undone by an export: revoking consent is final until staff record new consent.
        values["opted_out"] = r.opted_out or old.opted_out
        same = all(getattr(old, k) == v for k, v in values.items()) and old_phones.get(r.id, []) == list(
            r.phones
        )
        if same:
            unchanged += 1
            continue
        extra = {"b_opted_out_at": now if (values["opted_out"] and not old.opted_out) else None}
        zip_changed = bool(old.zip and r.zip and old.zip != r.zip)
        extra.update(
            {
                "b_zip_changed": zip_changed,
                "b_previous_zip": old.zip,
                "b_moved_away": zip_changed and old.zip[:3] != r.zip[:3],
            }
        )
        changed_rows.append({"b_id": r.id, **{f"b_{k}": v for k, v in values.items()}, **extra})
    if new_rows:
        conn.execute(insert(Patient), new_rows)
    for row in changed_rows:
        _update_patient(conn, row, today, now)
    conn.execute(delete(PatientPhone).where(PatientPhone.patient_id.in_(ids)))
    if phone_rows:
        conn.execute(insert(PatientPhone), phone_rows)
    return len(new_rows), len(changed_rows), unchanged


def _update_patient(conn, row: dict[str, Any], today: dt.date, now: dt.datetime) -> None:
    values: dict[str, Any] = {
        k[2:]: v
        for k, v in row.items()
        if k not in ("b_id", "b_opted_out_at", "b_zip_changed", "b_previous_zip", "b_moved_away")
    }
    if row["b_opted_out_at"] is not None:
        values["opted_out_at"] = row["b_opted_out_at"]
    if row["b_zip_changed"]:
        values.update(
            previous_zip=row["b_previous_zip"], zip_changed_on=today, moved_away=row["b_moved_away"]
        )
    values["updated_at"] = now
    conn.execute(update(Patient).where(Patient.id == bindparam("pid")).values(**values), {"pid": row["b_id"]})


def import_visits(
    store: Store, path: Path, *, today: dt.date, skip_invalid: bool = False, progress: bool = True
) -> ImportReport:
    """`today`: the practice's day; a visit dated after it is refused."""
    path = Path(path)
    check = _validate(path, VISIT_COLUMNS, _VisitParser(today), "visits", progress)
    if check.invalid and not skip_invalid:
        return check
    report = ImportReport(kind="visits", file=str(path))
    records = _records(path, VISIT_COLUMNS, _VisitParser(today), report, progress, f"importing {path.name}")
    with store.session() as session:
        conn = session.connection()
        for chunk in _chunks(records):
            added, unchanged, created = insert_visits(conn, chunk)
            report.added += added
            report.unchanged += unchanged
            report.patients_created += created
    report.imported = True
    report.invalid = check.invalid
    return report


def insert_visits(conn, chunk: list[VisitRecord]) -> tuple[int, int, int]:
    """Add the visit lines whose key is new, on an open connection: (added, already present, patients created).
    Unknown patient ids create patients without contact data."""
    created = 0
    pids = list({r.patient_id for r in chunk})
    known = set(conn.scalars(select(Patient.id).where(Patient.id.in_(pids))))
    unknown = [p for p in pids if p not in known]
    if unknown:
        # created_at and updated_at: the column default, the store's clock
        conn.execute(
            insert(Patient),
            [
                {
                    "id": p,
                    "first_name": "",
                    "last_name": "",
                    "email": "",
                    "zip": "",
                    "previous_zip": "",
                    "moved_away": False,
                    "consent_voice": False,
                    "consent_sms": False,
                    "consent_written": False,
                    "opted_out": False,
                    "has_contact": False,
                }
                for p in unknown
            ],
        )
        created = len(unknown)
    keys = [r.line_key for r in chunk]
    present = set(conn.scalars(select(VisitLine.line_key).where(VisitLine.line_key.in_(keys))))
    fresh = [r for r in chunk if r.line_key not in present]
    if fresh:
        conn.execute(insert(VisitLine), [r.__dict__ for r in fresh])
    return len(fresh), len(chunk) - len(fresh), created
