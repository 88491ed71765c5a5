"""`receptionist sync opendental`: read a practice's own Open Dental database (MySQL/MariaDB) into the store.

What is read (Open Dental's table and column names, `OpenDentBusiness/TableTypes`):
- `patient`: PatNum, LName, FName, Birthdate, HmPhone/WkPhone/WirelessPhone, Email, Zip, PatStatus, Guarantor,
  TxtMsgOk, PreferContactMethod, DateTStamp. PatStatus 0 (patient) is "active", 5 (deceased) "deceased", and
  every other status (non-patient, inactive, archived, deleted, prospective) "inactive": never contacted.
  Guarantor (another PatNum) is the family link, `guarantor_id`.
- `procedurelog` joined to `procedurecode`: the completed procedures (ProcStatus 2) are visit lines keyed
  `od:<ProcNum>`, with ProcFee as the amount and the CDT code (and its description) as the department, so the
  service lines come from the codes. A procedure no longer complete (or deleted from the chart as status 6)
  loses its line; a changed one is rewritten.
- `commoptout`: a patient's opt-out of automated texts (OptOutSms) or emails (OptOutEmail), any flag set.
- `recall`: PatNum, DateDue, IsDisabled, DateTStamp. A patient's recall due date (`recall_due_on`, which the
  recall reminders use before any date computed from the visits) is the earliest DateDue of their enabled
  recall rows (one per recall type); a patient whose rows changed and are all disabled or undated has none.

Invariants (the CSV importer's rules, through its own upsert functions): phones become E.164 (an unusable
number is left out), a changed zip keeps the old one, an opt-out and a recorded death are never undone, and a
"false" written into `contact_preferences` by a sync (commoptout, TxtMsgOk = No, PreferContactMethod =
DoNotCall) is never turned back to true by a later sync. The sync is incremental: each table's latest
DateTStamp is kept in `sync_marks`, and the next sync reads the rows stamped after it and before the
database's current second (a row stamped in the second the sync runs in is read by the next one, so none is
missed); `full` reads everything. Re-running it writes nothing twice (patients by id, lines by key). Everything of one sync,
marks included, is one store transaction: a failed sync leaves the store as it was.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, bindparam, create_engine, delete, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from receptionist.patients.cache import CacheUnavailable, TierCache
from receptionist.patients.csvfiles import BadField, parse_email
from receptionist.patients.importer import CHUNK, PatientRecord, VisitRecord, insert_visits, upsert_patients
from receptionist.phones import InvalidPhone, to_e164
from receptionist.store import Patient, Store, SyncMark, VisitLine

SOURCE = "opendental"
COMPLETE = 2  # ProcStat.C
STATUSES = {0: "active", 5: "deceased"}  # PatientStatus; every other value: "inactive"
TXT_YES, TXT_NO = 1, 2  # YN: 0 unknown
DO_NOT_CALL = 1  # ContactMethod.DoNotCall

PATIENTS = text(
    "SELECT PatNum, LName, FName, Birthdate, HmPhone, WkPhone, WirelessPhone, Email, Zip, PatStatus, "
    "Guarantor, TxtMsgOk, PreferContactMethod, DateTStamp FROM patient WHERE DateTStamp > :mark AND DateTStamp < :until "
    "ORDER BY PatNum"
)
PROCEDURES = text(
    "SELECT p.ProcNum, p.PatNum, p.ProcDate, p.ProcFee, p.ProcStatus, p.ClinicNum, p.ProvNum, p.DateTStamp, "
    "c.ProcCode, c.Descript FROM procedurelog p LEFT JOIN procedurecode c ON c.CodeNum = p.CodeNum "
    "WHERE p.DateTStamp > :mark AND p.DateTStamp < :until ORDER BY p.ProcNum"
)
OPT_OUTS = text("SELECT PatNum, OptOutSms, OptOutEmail FROM commoptout ORDER BY PatNum")
RECALLS_CHANGED = text(
    "SELECT PatNum, MAX(DateTStamp) AS DateTStamp FROM recall WHERE DateTStamp > :mark AND DateTStamp < :until "
    "GROUP BY PatNum ORDER BY PatNum"
)
RECALLS_DUE = text(
    "SELECT PatNum, MIN(DateDue) AS DateDue FROM recall WHERE PatNum IN :pats AND IsDisabled = 0 "
    "AND DateDue > '0001-01-01' GROUP BY PatNum"
).bindparams(bindparam("pats", expanding=True))
EPOCH = dt.datetime(1900, 1, 1)


class OpenDentalUnavailable(RuntimeError):
    """The Open Dental database cannot be read (unreachable, refused, not Open Dental-shaped, a bad URL)."""


@dataclass
class SyncReport:
    full: bool  # every row was read (--full, or the first sync)
    patients: Counter[str] = field(default_factory=Counter)  # read, added, updated, unchanged
    visits: Counter[str] = field(default_factory=Counter)  # read, added, updated, removed, unchanged, skipped
    opt_outs: int = 0  # patients whose preferences an opt-out changed now
    recalls: int = 0  # patients whose recall due date was read now
    locations: Counter[str] = field(default_factory=Counter)  # completed lines read, by location id
    marks: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        p, v = self.patients, self.visits
        text_ = (
            f"open dental ({'full' if self.full else 'incremental'}): patients {p['read']} read, "
            f"{p['added']} added, {p['updated']} updated, {p['unchanged']} unchanged; "
            f"procedures {v['read']} read, {v['added']} visit lines added, {v['updated']} updated, "
            f"{v['removed']} removed, {v['unchanged']} unchanged"
        )
        if v["skipped"]:
            text_ += f", {v['skipped']} completed with no usable date skipped"
        if self.opt_outs:
            text_ += f"; {self.opt_outs} opt-out(s) applied"
        if self.recalls:
            text_ += f"; {self.recalls} recall due date(s) read"
        if self.locations:
            text_ += "; by location: " + ", ".join(f"{k} {n}" for k, n in sorted(self.locations.items()))
        return text_


def safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(not a database URL)"


def _phones(row: Any) -> tuple[str, ...]:
    phones: list[str] = []
    for raw in (row.WirelessPhone, row.HmPhone, row.WkPhone):
        if not raw or not str(raw).strip():
            continue
        try:
            e164 = to_e164(str(raw))
        except InvalidPhone:
            continue  # an unusable number is left out, as no number
        if e164 not in phones:
            phones.append(e164)
    return tuple(phones)


def _email(raw: Any) -> str:
    value = str(raw or "").strip().lower()[:254]
    try:
        return parse_email(value, "Email")
    except BadField:
        return ""


def _day(value: Any) -> dt.date | None:
    """Open Dental writes 0001-01-01 for "no date" (or MySQL's zero date, read as None)."""
    if isinstance(value, dt.datetime):
        value = value.date()
    if not isinstance(value, dt.date) or value.year < 1880:
        return None
    return value


def patient_record(row: Any, kept: Any) -> PatientRecord:
    """One `patient` row as the importer's record. `kept`: what the store knows of the patient (consents the
    PMS does not hold are kept), or None."""
    pid = str(row.PatNum)
    zip_ = str(row.Zip or "").strip()
    guarantor = int(row.Guarantor or 0)
    txt = int(row.TxtMsgOk or 0)
    consent_sms = txt == TXT_YES or (txt != TXT_NO and bool(kept and kept.consent_sms))
    return PatientRecord(
        id=pid,
        first_name=str(row.FName or "").strip()[:100],
        last_name=str(row.LName or "").strip()[:100],
        phones=_phones(row)[:5],
        email=_email(row.Email),
        zip=zip_[:5] if zip_[:5].isdigit() and len(zip_) >= 5 else "",
        consent_voice=bool(kept and kept.consent_voice),
        consent_sms=consent_sms,
        consent_written=bool(kept and kept.consent_written),
        opted_out=bool(kept and kept.opted_out),
        date_of_birth=_day(row.Birthdate),
        guarantor_id=str(guarantor) if guarantor and guarantor != row.PatNum else "",
        status=STATUSES.get(int(row.PatStatus or 0), "inactive"),
    )


def refusals(row: Any) -> dict[str, bool]:
    """The contact preferences a `patient` row says no to (only ever false: a sync never grants one)."""
    said: dict[str, bool] = {}
    if int(row.TxtMsgOk or 0) == TXT_NO:
        said["text"] = False
    if int(row.PreferContactMethod or 0) == DO_NOT_CALL:
        said["call"] = False
    return said


def _department(row: Any) -> str:
    code = str(row.ProcCode or "").strip()
    words = str(row.Descript or "").strip()
    return (f"{code} {words}".strip() or "general").lower()[:60]


def visit_record(row: Any, today: dt.date) -> VisitRecord | None:
    """A `procedurelog` row as a visit line, or None when it is not a completed procedure of a known day."""
    if int(row.ProcStatus or 0) != COMPLETE:
        return None
    day = _day(row.ProcDate)
    if day is None or day > today:
        return None
    cents = int((Decimal(str(row.ProcFee or 0)) * 100).quantize(Decimal(1)))
    provider = str(row.ProvNum) if row.ProvNum else ""
    return VisitRecord(f"od:{row.ProcNum}", str(row.PatNum), day, cents, cents, _department(row), provider)


def _batches(
    conn: Connection, query: Any, mark: dt.datetime, until: dt.datetime | None = None
) -> Iterator[Sequence[Any]]:
    params = {"mark": mark, "until": until}
    result = conn.execution_options(stream_results=True, max_row_buffer=CHUNK).execute(query, params)
    yield from result.partitions(CHUNK)


def _marks(conn: Connection) -> dict[str, dt.datetime]:
    rows = conn.execute(select(SyncMark.table_name, SyncMark.mark).where(SyncMark.source == SOURCE))
    return {name: mark for name, mark in rows}


def _save_mark(conn: Connection, table: str, mark: dt.datetime, known: dict[str, dt.datetime]) -> None:
    if table in known:
        if mark > known[table]:
            conn.execute(
                update(SyncMark)
                .where(SyncMark.source == SOURCE, SyncMark.table_name == table)
                .values(mark=mark)
            )
    else:
        conn.execute(SyncMark.__table__.insert().values(source=SOURCE, table_name=table, mark=mark))


def _refuse(conn: Connection, refused: dict[str, dict[str, bool]]) -> int:
    """Write these refusals into `contact_preferences`; the number of patients whose preferences changed."""
    changed = 0
    ids = list(refused)
    for start in range(0, len(ids), CHUNK):
        part = ids[start : start + CHUNK]
        for pid, prefs in conn.execute(
            select(Patient.id, Patient.contact_preferences).where(Patient.id.in_(part))
        ).all():
            merged = {**(prefs or {}), **refused[pid]}
            if merged != (prefs or {}):
                conn.execute(update(Patient).where(Patient.id == pid).values(contact_preferences=merged))
                changed += 1
    return changed


def _sync_patients(
    od: Connection,
    conn: Connection,
    mark: dt.datetime,
    until: dt.datetime,
    today: dt.date,
    report: SyncReport,
):
    latest = None
    for batch in _batches(od, PATIENTS, mark, until):
        ids = [str(r.PatNum) for r in batch]
        kept = {
            r.id: r
            for r in conn.execute(
                select(
                    Patient.id,
                    Patient.consent_voice,
                    Patient.consent_sms,
                    Patient.consent_written,
                    Patient.opted_out,
                ).where(Patient.id.in_(ids))
            )
        }
        added, updated, unchanged = upsert_patients(
            conn, [patient_record(r, kept.get(str(r.PatNum))) for r in batch], today
        )
        report.patients.update(read=len(batch), added=added, updated=updated, unchanged=unchanged)
        refused = {str(r.PatNum): said for r in batch if (said := refusals(r))}
        report.opt_outs += _refuse(conn, refused)
        top = max(r.DateTStamp for r in batch)
        latest = top if latest is None or top > latest else latest
    return latest


def _sync_visits(
    od: Connection,
    conn: Connection,
    mark: dt.datetime,
    until: dt.datetime,
    today: dt.date,
    clinics: dict[int, str],
    report: SyncReport,
):
    latest = None
    for batch in _batches(od, PROCEDURES, mark, until):
        report.visits["read"] += len(batch)
        wanted: dict[str, VisitRecord | None] = {}
        for r in batch:
            record = visit_record(r, today)
            wanted[f"od:{r.ProcNum}"] = record
            if record is not None:
                report.locations[clinics.get(int(r.ClinicNum or 0), f"clinic {r.ClinicNum or 0}")] += 1
            elif int(r.ProcStatus or 0) == COMPLETE:
                report.visits["skipped"] += 1
        present = {
            row.line_key: VisitRecord(
                row.line_key,
                row.patient_id,
                row.day,
                row.amount_cents,
                row.paid_cents,
                row.department,
                row.provider,
            )
            for row in conn.execute(
                select(
                    VisitLine.line_key,
                    VisitLine.patient_id,
                    VisitLine.day,
                    VisitLine.amount_cents,
                    VisitLine.paid_cents,
                    VisitLine.department,
                    VisitLine.provider,
                ).where(VisitLine.line_key.in_(list(wanted)))
            )
        }
        stale, fresh = [], []
        for key, record in wanted.items():
            old = present.get(key)
            if old == record:
                report.visits["unchanged"] += record is not None
                continue
            if old is not None:
                stale.append(key)
                report.visits["updated" if record is not None else "removed"] += 1
            elif record is not None:
                report.visits["added"] += 1
            if record is not None:
                fresh.append(record)
        if stale:
            conn.execute(delete(VisitLine).where(VisitLine.line_key.in_(stale)))
        if fresh:
            insert_visits(conn, fresh)
        top = max(r.DateTStamp for r in batch)
        latest = top if latest is None or top > latest else latest
    return latest


def _sync_recalls(
    od: Connection, conn: Connection, mark: dt.datetime, until: dt.datetime, report: SyncReport
) -> dt.datetime | None:
    """The recall due dates of the patients whose recall rows changed (earliest enabled DateDue each)."""
    changed = od.execute(RECALLS_CHANGED, {"mark": mark, "until": until}).all()
    for i in range(0, len(changed), CHUNK):
        pats = [int(r.PatNum) for r in changed[i : i + CHUNK]]
        known = set(conn.scalars(select(Patient.id).where(Patient.id.in_([str(p) for p in pats]))))
        due = {str(r.PatNum): _day(r.DateDue) for r in od.execute(RECALLS_DUE, {"pats": pats})}
        rows = [{"pid": str(p), "due": due.get(str(p))} for p in pats if str(p) in known]
        if rows:
            conn.execute(
                update(Patient).where(Patient.id == bindparam("pid")).values(recall_due_on=bindparam("due")),
                rows,
            )
        report.recalls += len(rows)
    return max((r.DateTStamp for r in changed), default=None)


def _sync_opt_outs(od: Connection, conn: Connection, report: SyncReport) -> None:
    refused: dict[str, dict[str, bool]] = {}
    for batch in _batches(od, OPT_OUTS, EPOCH):
        for r in batch:
            said = {}
            if int(r.OptOutSms or 0):
                said["text"] = False
            if int(r.OptOutEmail or 0):
                said["email"] = False
            if said:
                refused.setdefault(str(r.PatNum), {}).update(said)
    report.opt_outs += _refuse(conn, refused)


def sync_opendental(
    store: Store,
    url: str,
    *,
    today: dt.date,
    full: bool = False,
    clinics: dict[int, str] | None = None,
    cache: TierCache | None = None,
) -> SyncReport:
    """Read the Open Dental database at `url` into the store (see the module's invariants). `today`: the
    practice's day (a zip change is dated by it; a procedure dated after it is not a visit yet). `cache`: the
    live tier cache, told before and after the commit that phones change (raises `CacheUnavailable`, syncing
    nothing, if Redis cannot be told first). Raises `OpenDentalUnavailable` when the database cannot be read."""
    report = SyncReport(full=full)
    try:
        engine = create_engine(url, pool_pre_ping=True)
    except (ArgumentError, NoSuchModuleError) as exc:
        raise OpenDentalUnavailable(f"not a usable database URL ({type(exc).__name__})") from None
    if cache is not None:
        cache.phones_changed()
    try:
        with engine.connect() as od, store.session() as session:
            conn = session.connection()
            known = _marks(conn)
            report.full = full or not known  # the first sync reads everything
            # The database's own clock: the rows stamped in this very second may still be being written, so
            # they wait for the next sync (which reads after the mark, this second included).
            until = od.execute(text("SELECT NOW()")).scalar_one()
            tables = ("patient", "procedurelog", "recall")
            start = {t: EPOCH if full else known.get(t, EPOCH) for t in tables}
            latest = {
                "patient": _sync_patients(od, conn, start["patient"], until, today, report),
                "procedurelog": _sync_visits(
                    od, conn, start["procedurelog"], until, today, clinics or {}, report
                ),
                "recall": _sync_recalls(od, conn, start["recall"], until, report),
            }
            _sync_opt_outs(od, conn, report)
            for table, mark in latest.items():
                if mark is not None:
                    _save_mark(conn, table, mark, known)
                    report.marks[table] = str(max(mark, known.get(table, mark)))
    except DBAPIError as exc:
        if exc.connection_invalidated or not isinstance(exc.orig, Exception):
            raise OpenDentalUnavailable(f"{safe_url(url)}: the connection was lost") from None
        raise OpenDentalUnavailable(
            f"{safe_url(url)}: {exc.orig.args[-1] if exc.orig.args else exc.orig}"
        ) from None
    finally:
        engine.dispose()
        if cache is not None:
            try:
                cache.phones_changed()  # again: a publish that read the store before this commit is not complete
            except CacheUnavailable:
                pass  # the first telling stands; the store is already committed
    return report
