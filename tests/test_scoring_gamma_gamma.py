"""Gamma-Gamma spend model: published CDNOW estimates, recovery, and the conditional expected spend."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring import GammaGammaParams, gamma_gamma
from tests.strategies import simulate_gamma_gamma

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def cdnow() -> tuple[np.ndarray, np.ndarray]:
    table = np.loadtxt(DATA / "cdnow_customers_summary_with_transactions.csv", delimiter=",", skiprows=1)
    return table[:, 1], table[:, 4]


@pytest.fixture(scope="module")
def cdnow_fit(cdnow: tuple[np.ndarray, np.ndarray]) -> GammaGammaParams:
    return gamma_gamma.fit(*cdnow)


def test_cdnow_parameters_match_the_paper(cdnow_fit: GammaGammaParams) -> None:
    """CDNOW repeat buyers give p=6.25, q=3.74, v=15.44 (zbar in the file is rounded to cents: v=15.448)."""
    assert round(cdnow_fit.p, 2) == 6.25
    assert round(cdnow_fit.q, 2) == 3.74
    assert cdnow_fit.v == pytest.approx(15.44, abs=0.01)


def test_cdnow_parameters_match_lifetimes(cdnow_fit: GammaGammaParams) -> None:
    """The fit agrees with lifetimes 0.11.3 GammaGammaFitter on the same file to 1e-4."""
    assert [cdnow_fit.p, cdnow_fit.q, cdnow_fit.v] == pytest.approx([6.248802, 3.744588, 15.447748], abs=1e-4)


def test_fit_uses_only_repeat_buyers_with_spend(
    cdnow: tuple[np.ndarray, np.ndarray], cdnow_fit: GammaGammaParams
) -> None:
    """Rows with frequency 0 or monetary <= 0 are ignored: the same 946 patients give the same fit."""
    x, m = cdnow
    assert int(((x > 0) & (m > 0)).sum()) == 946
    noisy = gamma_gamma.fit(np.concatenate([x, [0, 3, 5]]), np.concatenate([m, [50.0, 0.0, -10.0]]))
    assert noisy == cdnow_fit
    per_patient = gamma_gamma.log_likelihood_per_patient(cdnow_fit, x[x > 0], m[x > 0])
    assert float(per_patient.sum()) == pytest.approx(cdnow_fit.log_likelihood, rel=1e-12)


def test_recovers_simulated_parameters() -> None:
    """Fitting 20,000 simulated repeat patients recovers p, q, v (tolerances ~4 sampling SDs)."""
    rng = np.random.default_rng(11)
    x = rng.integers(1, 10, 20_000).astype(np.float64)
    m = simulate_gamma_gamma(rng, x, p=6.0, q=4.0, v=150.0)
    fitted = gamma_gamma.fit(x, m)
    assert fitted.p == pytest.approx(6.0, rel=0.25)
    assert fitted.q == pytest.approx(4.0, rel=0.06)
    assert fitted.v == pytest.approx(150.0, rel=0.3)
    # p and v trade off along a ridge; the population mean spend p v / (q - 1) = 300 is sharp
    assert fitted.p * fitted.v / (fitted.q - 1) == pytest.approx(300.0, rel=0.02)


def test_q_stays_above_one_for_heavy_tailed_spend() -> None:
    """Spend simulated with q=0.6 (no finite mean) still fits q >= 1.01 and a finite population mean."""
    rng = np.random.default_rng(3)
    x = rng.integers(1, 6, 5000).astype(np.float64)
    fitted = gamma_gamma.fit(x, simulate_gamma_gamma(rng, x, p=2.0, q=0.6, v=50.0))
    assert fitted.q >= gamma_gamma.Q_MIN
    population = gamma_gamma.expected_spend(fitted, [0.0], [0.0])
    assert np.all(np.isfinite(population)) and population[0] > 0


def test_fit_without_usable_patients_raises() -> None:
    """No repeat buyer with positive spend: ValueError."""
    with pytest.raises(ValueError):
        gamma_gamma.fit([0, 0, 2], [10.0, 20.0, 0.0])


def test_expected_spend_of_new_patient_is_population_mean(cdnow_fit: GammaGammaParams) -> None:
    """Frequency 0 gets p v / (q - 1) whatever monetary says."""
    expected = cdnow_fit.p * cdnow_fit.v / (cdnow_fit.q - 1)
    got = gamma_gamma.expected_spend(cdnow_fit, [0, 0], [0.0, 500.0])
    assert got.tolist() == pytest.approx([expected, expected], rel=1e-12)
    assert expected == pytest.approx(35.17, abs=0.01)


def test_expected_spend_cdnow_example(cdnow_fit: GammaGammaParams) -> None:
    """Known example: x=2 repeat purchases averaging $30 -> (p v + p x zbar)/(p x + q - 1) = 30.93."""
    assert gamma_gamma.expected_spend(cdnow_fit, [2], [30.0])[0] == pytest.approx(30.93, abs=0.01)


@settings(max_examples=200, deadline=None)
@given(
    x=st.integers(min_value=1, max_value=1000),
    m=st.floats(min_value=0.0, max_value=1e5),
    p=st.floats(min_value=0.05, max_value=50.0),
    q=st.floats(min_value=1.01, max_value=50.0),
    v=st.floats(min_value=0.01, max_value=1e5),
)
def test_expected_spend_between_population_mean_and_own_mean(
    x: int, m: float, p: float, q: float, v: float
) -> None:
    """The conditional expectation is a weighted average of the population mean and the patient's mean."""
    params = GammaGammaParams(p=p, q=q, v=v, log_likelihood=0.0)
    population = p * v / (q - 1)
    got = float(gamma_gamma.expected_spend(params, [x], [m])[0])
    assert min(population, m) * (1 - 1e-9) <= got <= max(population, m) * (1 + 1e-9)


def test_expected_spend_moves_towards_own_mean_with_more_visits(cdnow_fit: GammaGammaParams) -> None:
    """With more repeat visits the estimate trusts the patient's own average more."""
    got = gamma_gamma.expected_spend(cdnow_fit, [1, 10, 100, 1000], [200.0] * 4)
    assert np.all(np.diff(got) > 0) and got[-1] == pytest.approx(200.0, rel=0.01)
