"""One scoring run on the configured store, stage by stage; prints JSON. Run by benchmarks/run.py."""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
import uuid

import numpy as np

import scoring
from receptionist.config.settings import load_settings
from receptionist.patients.scorer import EPOCH, RunSummary, _store_run, load_practice_data, publish
from receptionist.runtime.services import build_services


def main(as_of: str, npz_out: str) -> None:
    services = build_services(load_settings())
    day = dt.date.fromisoformat(as_of)
    times: dict[str, float] = {}
    t = time.perf_counter()
    data = load_practice_data(services.store, day)
    times["load from store"] = time.perf_counter() - t
    n = len(data.patient_ids)
    as_of_day = (day - EPOCH).days

    t0 = t = time.perf_counter()
    feats = scoring.compute_features(data.visits, n, as_of_day)
    times["features"] = time.perf_counter() - t
    active = feats.has_visits
    x, t_x, age = feats.frequency[active], feats.recency[active], feats.T[active]
    t = time.perf_counter()
    bg = scoring.bgnbd.fit(x, t_x, age)
    gg = scoring.gamma_gamma.fit(feats.frequency, feats.monetary)
    times["fit (BG/NBD + Gamma-Gamma)"] = time.perf_counter() - t
    t = time.perf_counter()
    p_alive = scoring.bgnbd.p_alive(bg, x, t_x, age)
    visits = scoring.bgnbd.expected_visits(bg, 365.0, x, t_x, age)
    spend = scoring.gamma_gamma.expected_spend(gg, feats.frequency[active], feats.monetary[active])
    times["predict"] = time.perf_counter() - t
    t = time.perf_counter()
    result = scoring.score_patients(
        data.visits,
        n,
        as_of_day,
        rules=services.practice.tiers,
        lapsed_after_days=services.practice.lapsed_after_days,
        signals=data.signals,
    )
    times["full score_patients (features to tiers and reasons)"] = time.perf_counter() - t
    times["scoring total (features to tiers, as above)"] = time.perf_counter() - t0
    np.savez(npz_out, frequency=x, recency=t_x, T=age, monetary=feats.monetary[active])
    run_id = uuid.uuid4().hex
    tiers = {name: int(np.count_nonzero(result.tier == code)) for code, name in enumerate(scoring.TIERS)}
    summary = RunSummary(run_id, day, n, result, tiers, int(result.lapsed.sum()), 0.0, 0)
    t = time.perf_counter()
    _store_run(services.store, summary, data, np.asarray(scoring.TIERS)[result.tier])
    times["store the run (one row a patient)"] = time.perf_counter() - t
    t = time.perf_counter()
    published = publish(services.store, services.publish_cache, run_id, data.patient_ids, result)
    times["cache publish"] = time.perf_counter() - t
    print(
        json.dumps(
            {
                "patients": n,
                "visit_days": int(data.visits.patient.size),
                "published": published,
                "times": times,
                "params": {
                    "r": bg.r,
                    "alpha": bg.alpha,
                    "a": bg.a,
                    "b": bg.b,
                    "p": gg.p,
                    "q": gg.q,
                    "v": gg.v,
                },
                "mean_p_alive": float(p_alive.mean()),
                "mean_visits": float(visits.mean()),
                "mean_spend": float(spend.mean()),
            }
        )
    )
    services.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
