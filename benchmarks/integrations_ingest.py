#!/usr/bin/env python3
"""The integrations benchmark's body: N visits through the API in batches, through a FHIR bundle, and (the
baseline) through the CSV importer, each into a fresh SQLite store. Prints JSON. Usage: integrations_ingest.py N
HOME [BATCH]"""

from __future__ import annotations

import csv
import datetime as dt
import json
import sys
import time
from pathlib import Path


def visits(n: int) -> list[dict]:
    patients = max(1, n // 5)
    first = dt.date(2020, 1, 1)
    return [
        {
            "id": f"V{i}",
            "patient_id": f"P{i % patients}",
            "date": (first + dt.timedelta(days=i % 2000)).isoformat(),
            "amount": float(60 + (i * 37) % 900),
            "department": ("hygiene", "restorative", "ortho")[i % 3],
            "provider": "Dr. Rivera",
        }
        for i in range(n)
    ]


def bundle(rows: list[dict]) -> dict:
    entries = []
    for pid in sorted({r["patient_id"] for r in rows}):
        entries.append(
            {
                "fullUrl": f"urn:uuid:{pid}",
                "resource": {
                    "resourceType": "Patient",
                    "id": pid,
                    "name": [{"family": "Example", "given": ["Pat"]}],
                    "telecom": [{"system": "phone", "value": f"+1202{int(pid[1:]) % 10_000_000:07d}"}],
                    "address": [{"postalCode": "20001"}],
                },
            }
        )
    for r in rows:
        eid = f"E{r['id']}"
        entries.append(
            {
                "fullUrl": f"urn:uuid:{eid}",
                "resource": {
                    "resourceType": "Encounter",
                    "id": eid,
                    "status": "finished",
                    "class": {"code": "AMB"},
                    "serviceType": {"text": r["department"]},
                    "subject": {"reference": f"urn:uuid:{r['patient_id']}"},
                    "period": {"start": r["date"] + "T09:00:00Z"},
                },
            }
        )
        entries.append(
            {
                "resource": {
                    "resourceType": "Claim",
                    "id": f"C{r['id']}",
                    "status": "active",
                    "use": "claim",
                    "type": {"coding": [{"code": "professional"}]},
                    "patient": {"reference": f"urn:uuid:{r['patient_id']}"},
                    "created": r["date"],
                    "provider": {"display": "Benchmark Dental"},
                    "priority": {"coding": [{"code": "normal"}]},
                    "insurance": [{"sequence": 1, "focal": True, "coverage": {"display": "Acme"}}],
                    "item": [
                        {
                            "sequence": 1,
                            "productOrService": {"text": "visit"},
                            "encounter": [{"reference": f"urn:uuid:{eid}"}],
                        }
                    ],
                    "total": {"value": r["amount"], "currency": "USD"},
                }
            }
        )
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def main() -> None:
    n, home = int(sys.argv[1]), Path(sys.argv[2])
    batch = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    from receptionist.config.settings import Settings
    from receptionist.integrations.apikeys import create_key
    from receptionist.integrations.fhir import import_bundle
    from receptionist.patients.importer import import_visits
    from receptionist.runtime.services import build_services
    from receptionist.web import create_app

    rows = visits(n)
    out: dict = {"visits": n, "batch": batch}

    def fresh(name: str):
        return build_services(
            Settings(receptionist_home=home, database_url=f"sqlite:///{home / name}.sqlite3")
        )

    # baseline: the CSV importer on the same visits
    path = home / "visits.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["patient_id", "date", "amount", "department", "visit_id", "provider"])
        for r in rows:
            w.writerow(
                [r["patient_id"], r["date"], f"{r['amount']:.2f}", r["department"], r["id"], r["provider"]]
            )
    s = fresh("csv")
    t = time.perf_counter()
    report = import_visits(s.store, path, progress=False, today=s.practice.today(s.now()))
    out["csv_s"] = time.perf_counter() - t
    assert report.added == n, report.summary()
    s.close()

    # the API: PUT /api/v1/visits in batches, in process (WSGI), with a real key, JSON, validation and SQL
    s = fresh("api")
    key = create_key(s.store, "bench", sealer=s.sealer)
    app = create_app(services=s)
    app.config["API_RATE_PER_MINUTE"] = 10**9
    client = app.test_client()
    headers = {"Authorization": f"Bearer {key.token}", "Content-Type": "application/json"}
    bodies = [json.dumps({"visits": rows[i : i + batch]}).encode() for i in range(0, n, batch)]
    t = time.perf_counter()
    added = 0
    for body in bodies:
        got = client.put("/api/v1/visits", data=body, headers=headers)
        assert got.status_code == 200, got.get_data(as_text=True)[:300]
        added += got.get_json()["added"]
    out["api_s"] = time.perf_counter() - t
    assert added == n
    t = time.perf_counter()
    for body in bodies[: max(1, len(bodies) // 5)]:  # a repeated delivery of a fifth of the batches
        assert client.put("/api/v1/visits", data=body, headers=headers).get_json()["added"] == 0
    out["api_repeat_s"] = time.perf_counter() - t
    out["api_repeat_records"] = min(n, max(1, len(bodies) // 5) * batch)
    s.close()

    # FHIR: one bundle of patients, encounters and claims, validated and imported in process
    data = bundle(rows)
    out["fhir_resources"] = len(data["entry"])
    s = fresh("fhir")
    t = time.perf_counter()
    report = import_bundle(s, data, today=dt.date(2026, 11, 1))
    out["fhir_s"] = time.perf_counter() - t
    assert report.visits["added"] == n and not report.invalid, report.as_json()
    s.close()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
