"""score_patients: the whole features -> models -> PLV, tiers, reactivation pipeline."""

from __future__ import annotations

import numpy as np
import pytest

import scoring
from scoring import (
    ReactivationSignals,
    ScoreResult,
    TierRules,
    VisitArrays,
    bgnbd,
    compute_features,
    gamma_gamma,
    score_patients,
)
from tests.strategies import AS_OF, simulate_visits

N = 3000


@pytest.fixture(scope="module")
def visits() -> VisitArrays:
    return simulate_visits(np.random.default_rng(5), N)


@pytest.fixture(scope="module")
def result(visits: VisitArrays) -> ScoreResult:
    return score_patients(visits, N, AS_OF)


def test_shapes_and_types(result: ScoreResult) -> None:
    """Every per-patient output has one entry per patient; tiers are int8, lapsed bool, reasons str."""
    for name in ("plv", "p_alive", "expected_visits_12m", "expected_value_12m", "reactivation_score"):
        values = getattr(result, name)
        assert values.shape == (N,) and values.dtype == np.float64 and np.all(np.isfinite(values))
    assert result.tier.dtype == np.int8 and result.lapsed.dtype == np.bool_
    assert len(result.reasons) == N and all(isinstance(text, str) and text for text in result.reasons)


def test_patients_without_visits_score_nothing(result: ScoreResult) -> None:
    """No visit (or only visits after as_of): p_alive, expected values and PLV 0, tier low, not lapsed."""
    none = ~result.features.has_visits
    assert (
        none[::10].all()
        and none[::25].all()
        and none.sum() == len(set(range(0, N, 10)) | set(range(0, N, 25)))
    )
    for values in (result.p_alive, result.expected_visits_12m, result.expected_value_12m, result.plv):
        assert np.all(values[none] == 0.0)
    assert np.all(result.tier[none] == 2) and not result.lapsed[none].any()
    assert {result.reasons[i] for i in np.flatnonzero(none)} == {"no visits yet"}


def test_models_are_fitted_on_the_right_patients(visits: VisitArrays, result: ScoreResult) -> None:
    """BG/NBD on patients with visits (days), Gamma-Gamma on repeat visitors with spend; params match."""
    feats = compute_features(visits, N, AS_OF)
    has = feats.has_visits
    assert result.bgnbd == bgnbd.fit(feats.frequency[has], feats.recency[has], feats.T[has])
    assert result.gamma_gamma == gamma_gamma.fit(feats.frequency, feats.monetary)
    # simulated with r=1.5, alpha=250 days, a=0.9, b=6: alpha is in days
    assert 100.0 < result.bgnbd.alpha < 600.0


def test_predictions_combine_the_models(result: ScoreResult) -> None:
    """p_alive and expected visits come from BG/NBD; expected value = expected visits x expected spend."""
    f, has = result.features, result.features.has_visits
    args = (f.frequency[has], f.recency[has], f.T[has])
    assert np.array_equal(result.p_alive[has], bgnbd.p_alive(result.bgnbd, *args))
    assert np.array_equal(result.expected_visits_12m[has], bgnbd.expected_visits(result.bgnbd, 365.0, *args))
    spend = gamma_gamma.expected_spend(result.gamma_gamma, f.frequency, f.monetary)
    assert np.allclose(result.expected_value_12m[has], result.expected_visits_12m[has] * spend[has])
    assert np.all((result.p_alive >= 0) & (result.p_alive <= 1))


def test_longer_horizon_expects_more(visits: VisitArrays, result: ScoreResult) -> None:
    """Doubling horizon_days never lowers the expected visits."""
    longer = score_patients(visits, N, AS_OF, horizon_days=730)
    assert np.all(longer.expected_visits_12m >= result.expected_visits_12m)
    assert longer.expected_visits_12m.sum() > result.expected_visits_12m.sum()


def test_rules_signals_and_lapsed_window_are_used(visits: VisitArrays, result: ScoreResult) -> None:
    """Stricter tier rules demote patients, opted-out patients score 0, a shorter window lapses more."""
    strict = score_patients(visits, N, AS_OF, rules=TierRules(high_min_annual=10**9, mid_min_annual=10**9))
    assert set(strict.tier.tolist()) == {2} and (result.tier < 2).any()
    opted = ReactivationSignals.none(N)
    opted = ReactivationSignals(
        opted.zip_changed, opted.moved_away, opted.booking_attempt, np.ones(N, dtype=np.bool_)
    )
    assert not score_patients(visits, N, AS_OF, signals=opted).reactivation_score.any()
    assert (result.reactivation_score > 0).any()
    short = score_patients(visits, N, AS_OF, lapsed_after_days=90)
    assert short.lapsed.sum() > result.lapsed.sum()
    assert np.all(result.reactivation_score[~result.lapsed] == 0.0)


def test_no_visits_at_all_is_an_error() -> None:
    """With nothing on or before as_of there is nothing to fit: ValueError."""
    empty = VisitArrays(
        patient=np.zeros(0, np.int64),
        day=np.zeros(0, np.int64),
        amount=np.zeros(0),
        paid=np.zeros(0),
        departments=np.zeros(0, np.uint32),
    )
    with pytest.raises(ValueError):
        score_patients(empty, 5, AS_OF)


def test_no_paid_repeat_visit_falls_back_to_each_patients_own_mean_spend() -> None:
    """Nobody has a paid-for repeat visit (follow-ups free of charge): no Gamma-Gamma fit, and the expected
    value is the expected visits times the patient's own mean spend per visit day."""
    rows = [(0, 0, 90.0), (0, 59, 0.0), (0, 243, 0.0), (1, 32, 150.0), (2, 89, 200.0), (2, 272, 0.0)]
    rows += [(3, 123, 120.0), (3, 322, 0.0), (4, 150, 80.0)]
    amount = np.array([r[2] for r in rows])
    visits = VisitArrays(
        patient=np.array([r[0] for r in rows], dtype=np.int64),
        day=np.array([20_000 + r[1] for r in rows], dtype=np.int64),
        amount=amount,
        paid=amount,
        departments=np.ones(len(rows), dtype=np.uint32),
    )
    got = score_patients(visits, 5, 20_364)
    assert got.spend_model == scoring.OWN_MEAN and got.gamma_gamma is None
    assert got.features.mean_spend.tolist() == pytest.approx([30.0, 150.0, 100.0, 60.0, 80.0])
    assert np.all(got.expected_visits_12m > 0.1)
    assert got.expected_value_12m == pytest.approx(got.expected_visits_12m * got.features.mean_spend)
