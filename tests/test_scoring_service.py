"""Scoring end to end on the store: a synthetic practice in, tiers and likelihoods that match what was put in."""

import csv
import datetime as dt

import numpy as np
import pytest
from sqlalchemy import func, select

from receptionist.config.practice import load_practice
from receptionist.patients.cache import TierCache
from receptionist.patients.export import COLUMNS, export_scores
from receptionist.patients.scorer import run_scoring
from receptionist.simulation import synth
from receptionist.simulation.demo import load_demo
from receptionist.store import PatientScore, ScoreRun

AS_OF = dt.date(2026, 10, 1)


@pytest.fixture
def scored(store, redis_client, tmp_path):
    load_demo(store, tmp_path, patients=3000, seed=11, as_of=AS_OF, progress=False)
    summary = run_scoring(store, TierCache(redis_client), load_practice(), AS_OF)
    truth = synth.generate(n_patients=3000, seed=11, as_of=AS_OF)
    return summary, truth


def scores_by_patient(store, run_id):
    with store.engine.connect() as conn:
        rows = conn.execute(select(PatientScore).where(PatientScore.run_id == run_id)).all()
    return {r.patient_id: r for r in rows}


def test_scoring_finds_what_the_generator_put_in(scored, store):
    """Loyal big spenders come out high tier, churned patients lapsed with low P(alive), by and large."""
    summary, truth = scored
    rows = scores_by_patient(store, summary.run_id)
    assert len(rows) == 3000
    arche = np.asarray(truth.archetype)
    names = synth.ARCHETYPES

    def share(archetype: str, predicate) -> float:
        ids = [truth.patient_id[i] for i in np.flatnonzero(arche == names.index(archetype))]
        return sum(predicate(rows[p]) for p in ids) / len(ids)

    assert share("loyal_big_spender", lambda r: r.tier == "high") > 0.8
    assert share("new", lambda r: r.tier == "high") == 0.0
    assert share("stopped", lambda r: r.lapsed) > 0.8
    assert share("regular", lambda r: r.lapsed) < 0.2
    alive = np.asarray(truth.alive)
    p_alive = np.array([rows[p].p_alive for p in truth.patient_id])
    assert p_alive[alive].mean() > p_alive[~alive].mean() + 0.2
    assert rows["P000001"].tier == "high"
    assert "years" in rows["P000001"].reasons and "/yr" in rows["P000001"].reasons


def test_run_summary_and_history(scored, store, redis_client):
    """The run summary carries the model in days; a second run is kept beside the first, not over it."""
    summary, _ = scored
    body = summary.as_json()
    assert body["model"]["time_unit"] == "days"
    assert set(body["model"]["bgnbd"]) == {"r", "alpha", "a", "b", "log_likelihood"}
    assert all(v > 0 for k, v in body["model"]["bgnbd"].items() if k != "log_likelihood")
    assert body["model"]["bgnbd"]["log_likelihood"] < 0
    assert sum(body["tiers"].values()) == body["patients"] == 3000
    second = run_scoring(store, TierCache(redis_client), load_practice(), AS_OF + dt.timedelta(days=30))
    with store.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(ScoreRun)) == 2
        assert conn.scalar(select(func.count()).select_from(PatientScore)) == 6000
    assert TierCache(redis_client).current_run() == second.run_id


def test_cache_holds_every_phone_of_the_run(scored, redis_client):
    """Every patient phone (second phones too) is published with the patient's tier."""
    summary, truth = scored
    cache = TierCache(redis_client)
    phones = [p for p in truth.phone if p] + [p for p in truth.phone2 if p]
    assert cache.size() == len(set(phones))
    hit = cache.lookup("+12025550143")
    assert (hit.patient_id, hit.tier, hit.run_id) == ("P000001", "high", summary.run_id)
    second = next(i for i, p in enumerate(truth.phone2) if p)
    assert cache.lookup(truth.phone2[second]).patient_id == truth.patient_id[second]


def test_export_scores(scored, store, tmp_path):
    """The export has the contract's columns, one row a patient, phones in E.164, most valuable lapsed first."""
    out = tmp_path / "scores.csv"
    assert export_scores(store, out) == 3000
    with out.open() as fh:
        reader = csv.DictReader(fh)
        assert tuple(reader.fieldnames) == COLUMNS
        rows = list(reader)
    assert len(rows) == 3000
    by_id = {r["patient_id"]: r for r in rows}
    assert by_id["P000001"]["phone"] == "+12025550143"
    scores = [float(r["reactivation_score"]) for r in rows]
    assert scores == sorted(scores, reverse=True)
    assert {r["tier"] for r in rows} <= {"high", "mid", "low"}
    assert all(0.0 <= float(r["p_alive"]) <= 1.0 for r in rows)


def test_household_phone_names_the_most_valuable_patient(store, redis_client, tmp_path):
    """Two patients sharing a number: the cache names the higher tier one."""
    (tmp_path / "p.csv").write_text(
        "patient_id,first_name,last_name,phone,email,zip,consent_voice,consent_sms,opted_out\n"
        "A,Kid,Hill,2025550143,,20036,no,no,no\nB,Mom,Hill,2025550143,,20036,no,no,no\n"
    )
    lines = ["patient_id,date,amount,department"]
    for year in range(2020, 2026):
        lines += [f"B,{year}-03-01,900,restorative", f"B,{year}-09-01,150,hygiene"]
    lines += ["A,2026-03-01,90,hygiene"]
    (tmp_path / "v.csv").write_text("\n".join(lines) + "\n")
    from receptionist.patients.importer import import_patients, import_visits

    import_patients(store, tmp_path / "p.csv", progress=False, today=AS_OF)
    import_visits(store, tmp_path / "v.csv", progress=False, today=AS_OF)
    run_scoring(store, TierCache(redis_client), load_practice(), AS_OF)
    hit = TierCache(redis_client).lookup("+12025550143")
    assert (hit.patient_id, hit.tier) == ("B", "high")


def test_a_run_that_never_published_is_not_the_latest(scored, store, redis_client):
    """A score that stored its run but died before publishing the tier cache (here: Redis went away) leaves
    the phones on the earlier run; plans and exports stay on that run too."""
    import redis as redis_lib

    from receptionist.patients.cache import CacheUnavailable
    from receptionist.patients.export import latest_run_id

    summary, _ = scored
    dead = TierCache(redis_lib.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2))
    with pytest.raises(CacheUnavailable):
        run_scoring(store, dead, load_practice(), AS_OF + dt.timedelta(days=30))
    with store.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(ScoreRun)) == 2  # the dead run was stored
    assert latest_run_id(store) == summary.run_id == TierCache(redis_client).current_run()
