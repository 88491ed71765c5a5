#!/usr/bin/env python3
"""`sync opendental` against a bare read of the same rows, on a MariaDB/MySQL Open Dental-shaped practice.

    .venv/bin/python benchmarks/opendental_sync.py                 # 50,000 patients, 1,000,000 procedures
    .venv/bin/python benchmarks/opendental_sync.py --quick         # 2,000 patients, 40,000 procedures
    OPENDENTAL_BENCH_URL=mysql+pymysql://root@127.0.0.1:3306/test  (the default)

Seeds a database of its own (dropped afterwards) with MariaDB's sequence tables, then times: the bare
`SELECT` of the rows the sync reads, the first full sync into a fresh SQLite store, and an incremental sync
after 500 changed rows (250 patients, 250 procedures) with the bare read of those rows. Targets: the full
sync within 3 times the bare read; the incremental sync under 2 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from receptionist.integrations.opendental import OPT_OUTS, PATIENTS, PROCEDURES, sync_opendental
from receptionist.store import Store

SCHEMA = [
    "CREATE TABLE patient (PatNum BIGINT PRIMARY KEY, LName VARCHAR(100), FName VARCHAR(100), Birthdate DATE, "
    "HmPhone VARCHAR(30), WkPhone VARCHAR(30), WirelessPhone VARCHAR(30), Email VARCHAR(100), Zip VARCHAR(10), "
    "PatStatus TINYINT, Guarantor BIGINT, TxtMsgOk TINYINT, PreferContactMethod TINYINT, "
    "DateTStamp TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP, KEY (DateTStamp))",
    "CREATE TABLE procedurecode (CodeNum BIGINT PRIMARY KEY, ProcCode VARCHAR(15), Descript VARCHAR(255))",
    "CREATE TABLE procedurelog (ProcNum BIGINT PRIMARY KEY, PatNum BIGINT, ProcDate DATE, ProcFee DOUBLE, "
    "ProcStatus TINYINT, CodeNum BIGINT, ClinicNum BIGINT, ProvNum BIGINT, "
    "DateTStamp TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP, KEY (DateTStamp))",
    "CREATE TABLE commoptout (CommOptOutNum BIGINT PRIMARY KEY AUTO_INCREMENT, PatNum BIGINT, "
    "OptOutSms INT, OptOutEmail INT)",
]
SEEDED = "'2026-01-01 00:00:00'"
CHANGED = "'2026-06-01 00:00:00'"


def seed(conn, patients: int, procedures: int) -> None:
    for statement in SCHEMA:
        conn.execute(text(statement))
    conn.execute(
        text(
            "INSERT INTO procedurecode VALUES (1,'D0120','periodic oral evaluation'),"
            "(2,'D1110','prophylaxis - adult'),(3,'D2740','crown - porcelain/ceramic'),"
            "(4,'D4341','periodontal scaling and root planing'),(5,'D7140','extraction, erupted tooth')"
        )
    )
    conn.execute(
        text(
            "INSERT INTO patient SELECT seq, CONCAT('L', seq), CONCAT('F', seq), "
            "'1960-01-01' + INTERVAL (seq % 20000) DAY, '', '', CONCAT('202555', LPAD(seq % 10000, 4, '0')), "
            f"CONCAT('p', seq, '@example.com'), LPAD(10000 + seq % 80000, 5, '0'), IF(seq % 97 = 0, 5, "
            "IF(seq % 31 = 0, 2, 0)), seq - seq % 3 + IF(seq % 3 = 0, 0, 0), seq % 3, 0, "
            f"{SEEDED} FROM seq_1_to_{patients}"
        )
    )
    conn.execute(
        text(
            f"INSERT INTO procedurelog SELECT seq, 1 + seq % {patients}, '2015-01-01' + INTERVAL (seq % 4000) DAY, "
            "40 + seq % 900, IF(seq % 20 = 0, 1, 2), 1 + seq % 5, seq % 2, 1 + seq % 4, "
            f"{SEEDED} FROM seq_1_to_{procedures}"
        )
    )
    conn.execute(
        text(
            f"INSERT INTO commoptout (PatNum, OptOutSms, OptOutEmail) SELECT seq, 1, 0 FROM seq_1_to_{patients} "
            "WHERE seq % 50 = 0"
        )  # fmt: skip
    )


def bare(engine, mark: dt.datetime) -> tuple[float, int]:
    start = time.perf_counter()
    n = 0
    with engine.connect() as conn:
        until = conn.execute(text("SELECT NOW()")).scalar_one()
        for query in (PATIENTS, PROCEDURES, OPT_OUTS):
            result = conn.execution_options(stream_results=True).execute(
                query, {"mark": mark, "until": until}
            )
            for part in result.partitions(5000):
                n += len(part)
    return time.perf_counter() - start, n


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--patients", type=int, default=None)
    parser.add_argument("--procedures", type=int, default=None)
    args = parser.parse_args()
    patients = args.patients or (2_000 if args.quick else 50_000)
    procedures = args.procedures or (40_000 if args.quick else 1_000_000)
    base = make_url(os.environ.get("OPENDENTAL_BENCH_URL", "mysql+pymysql://root@127.0.0.1:3306/test"))
    name = f"od_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base)
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    url = base.set(database=name).render_as_string(hide_password=False)
    engine = create_engine(url)
    today = dt.date(2026, 12, 1)
    try:
        with engine.begin() as conn:
            seed(conn, patients, procedures)
        with tempfile.TemporaryDirectory() as tmp:
            store = Store(f"sqlite:///{tmp}/store.db")
            store.migrate()
            read_s, rows = bare(engine, dt.datetime(1900, 1, 1))
            start = time.perf_counter()
            report = sync_opendental(store, url, today=today)
            full_s = time.perf_counter() - start
            print(f"{patients} patients, {procedures} procedures ({rows} rows read)")
            print(
                f"  bare SELECT {read_s:.2f} s; full sync {full_s:.2f} s = {full_s / read_s:.1f}x the bare read "
                f"(target <= 3x): {report.summary()}"
            )
            with engine.begin() as conn:
                conn.execute(
                    text(f"UPDATE patient SET Zip='30301', DateTStamp={CHANGED} WHERE PatNum <= 250")
                )
                conn.execute(text(f"UPDATE procedurelog SET ProcFee=ProcFee+1, DateTStamp={CHANGED} WHERE ProcNum <= 250"))  # fmt: skip
            read_s, rows = bare(engine, dt.datetime(2026, 1, 1))
            start = time.perf_counter()
            report = sync_opendental(store, url, today=today)
            inc_s = time.perf_counter() - start
            print(
                f"  incremental ({rows} rows read): bare SELECT {read_s:.3f} s; sync {inc_s:.3f} s "
                f"(target < 2 s): {report.summary()}"
            )
            store.dispose()
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE {name}"))
        admin.dispose()


if __name__ == "__main__":
    main()
