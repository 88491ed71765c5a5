"""BG/NBD: published CDNOW estimates, parameter recovery, and numerical safety of the predictions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special

from scoring import BGNBDParams, bgnbd
from tests.strategies import bgnbd_params, histories, simulate_bgnbd

DATA = Path(__file__).parent / "data"
# CDNOW estimates in days (alpha in weeks * 7): a realistic parameter set for day-unit data
CDNOW_DAYS = BGNBDParams(r=0.243, alpha=4.414 * 7, a=0.793, b=2.426, log_likelihood=0.0)


@pytest.fixture(scope="module")
def cdnow() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    table = np.loadtxt(DATA / "cdnow_customers_summary.csv", delimiter=",", skiprows=1)
    return table[:, 1], table[:, 2], table[:, 3]


@pytest.fixture(scope="module")
def cdnow_fit(cdnow: tuple[np.ndarray, np.ndarray, np.ndarray]) -> BGNBDParams:
    return bgnbd.fit(*cdnow)


def eq10_direct(params: BGNBDParams, t: float, x: float, t_x: float, T: float) -> float:
    """Paper eq. 10 evaluated literally with scipy's hyp2f1 (fine for moderate inputs)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    z = t / (alpha + T + t)
    hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, z)
    num = (a + b + x - 1) / (a - 1) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp)
    den = 1 + (x > 0) * a / (b + max(x, 1) - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x)
    return float(num / den)


def test_cdnow_parameters_match_the_paper(cdnow_fit: BGNBDParams) -> None:
    """CDNOW (weeks) gives r=0.243, alpha=4.414, a=0.793, b=2.426 as in Fader, Hardie & Lee (2005)."""
    assert round(cdnow_fit.r, 3) == 0.243
    assert round(cdnow_fit.alpha, 3) == 4.414
    assert round(cdnow_fit.a, 3) == 0.793
    assert round(cdnow_fit.b, 3) == 2.426


def test_cdnow_log_likelihood_matches_the_paper(cdnow_fit: BGNBDParams) -> None:
    """The total log-likelihood at the CDNOW optimum is -9582.4."""
    assert cdnow_fit.log_likelihood == pytest.approx(-9582.4, abs=0.1)


def test_cdnow_parameters_match_lifetimes(cdnow_fit: BGNBDParams) -> None:
    """The fit agrees with lifetimes 0.11.3 BetaGeoFitter on CDNOW to 1e-5."""
    got = [cdnow_fit.r, cdnow_fit.alpha, cdnow_fit.a, cdnow_fit.b]
    assert got == pytest.approx([0.242593, 4.413532, 0.792886, 2.425752], abs=1e-5)


def test_log_likelihood_is_sum_of_individual_terms(
    cdnow: tuple[np.ndarray, ...], cdnow_fit: BGNBDParams
) -> None:
    """log_likelihood equals the sum of log_likelihood_per_patient at the fitted parameters."""
    per_patient = bgnbd.log_likelihood_per_patient(cdnow_fit, *cdnow)
    assert per_patient.shape == (2357,)
    assert float(per_patient.sum()) == pytest.approx(cdnow_fit.log_likelihood, rel=1e-12)


def test_fit_is_a_maximum(cdnow: tuple[np.ndarray, ...], cdnow_fit: BGNBDParams) -> None:
    """Moving any parameter 1% away from the optimum lowers the log-likelihood."""
    best = float(bgnbd.log_likelihood_per_patient(cdnow_fit, *cdnow).sum())
    for name in ("r", "alpha", "a", "b"):
        for factor in (0.99, 1.01):
            moved = BGNBDParams(**{**cdnow_fit.__dict__, name: getattr(cdnow_fit, name) * factor})
            assert float(bgnbd.log_likelihood_per_patient(moved, *cdnow).sum()) < best


def test_fit_from_initial_guess_reaches_same_optimum(
    cdnow: tuple[np.ndarray, ...], cdnow_fit: BGNBDParams
) -> None:
    """Starting from a different initial guess ends at the same parameters."""
    start = BGNBDParams(r=2.0, alpha=50.0, a=3.0, b=10.0, log_likelihood=0.0)
    refit = bgnbd.fit(*cdnow, initial=start)
    assert [refit.r, refit.alpha, refit.a, refit.b] == pytest.approx(
        [cdnow_fit.r, cdnow_fit.alpha, cdnow_fit.a, cdnow_fit.b], rel=1e-5
    )


def test_fit_is_unit_consistent(cdnow: tuple[np.ndarray, ...], cdnow_fit: BGNBDParams) -> None:
    """Fitting the same data in days instead of weeks multiplies alpha by 7 and keeps r, a, b."""
    x, t_x, T = cdnow
    days = bgnbd.fit(x, t_x * 7, T * 7)
    assert [days.r, days.alpha / 7, days.a, days.b] == pytest.approx(
        [cdnow_fit.r, cdnow_fit.alpha, cdnow_fit.a, cdnow_fit.b], rel=1e-5
    )


def test_cdnow_predictions_match_the_paper(cdnow_fit: BGNBDParams) -> None:
    """For x=2, t_x=30.43, T=38.86: 1.226 expected purchases in 39 weeks and P(alive)=0.7266 (lifetimes)."""
    assert bgnbd.expected_visits(cdnow_fit, 39, 2, 30.43, 38.86)[()] == pytest.approx(1.2259, abs=1e-4)
    assert bgnbd.p_alive(cdnow_fit, 2, 30.43, 38.86)[()] == pytest.approx(0.72661, abs=1e-5)


def test_recovers_simulated_parameters() -> None:
    """Fitting 20,000 patients simulated from known parameters (days) recovers them."""
    rng = np.random.default_rng(7)
    T = rng.uniform(365.0, 3 * 365.0, 20_000)
    x, t_x = simulate_bgnbd(rng, T, r=1.5, alpha=250.0, a=1.2, b=6.0)
    fitted = bgnbd.fit(x, t_x, T)
    assert fitted.r == pytest.approx(1.5, rel=0.06)
    assert fitted.alpha == pytest.approx(250.0, rel=0.07)
    assert fitted.a == pytest.approx(1.2, rel=0.25)
    assert fitted.b == pytest.approx(6.0, rel=0.3)


def test_fit_rejects_inconsistent_histories() -> None:
    """Recency larger than T, negative frequency or no patient at all raise ValueError."""
    with pytest.raises(ValueError):
        bgnbd.fit([1, 2], [5.0, 30.0], [10.0, 20.0])
    with pytest.raises(ValueError):
        bgnbd.fit([-1], [0.0], [10.0])
    with pytest.raises(ValueError):
        bgnbd.fit([], [], [])


def test_p_alive_is_one_without_repeat_visits() -> None:
    """P(alive) is exactly 1 for frequency 0 whatever T is."""
    got = bgnbd.p_alive(CDNOW_DAYS, [0, 0, 0], [0.0, 0.0, 0.0], [0.0, 100.0, 7305.0])
    assert got.tolist() == [1.0, 1.0, 1.0]


def test_p_alive_falls_with_absence() -> None:
    """For the same visits, a longer time since the last visit means a lower P(alive)."""
    got = bgnbd.p_alive(CDNOW_DAYS, [5, 5, 5], [300.0, 300.0, 300.0], [300.0, 700.0, 3000.0])
    assert got[0] > got[1] > got[2] > 0.0


@settings(max_examples=200, deadline=None)
@given(params=bgnbd_params(), history=histories())
def test_p_alive_is_a_probability(params: BGNBDParams, history: tuple[np.ndarray, ...]) -> None:
    """P(alive) is in [0, 1] for any parameters and history."""
    got = bgnbd.p_alive(params, *history)
    assert np.all((got >= 0.0) & (got <= 1.0))


@settings(max_examples=200, deadline=None)
@given(params=bgnbd_params(), history=histories(), horizon=st.floats(min_value=0.0, max_value=3650.0))
def test_expected_visits_finite_nonnegative_and_growing(
    params: BGNBDParams, history: tuple[np.ndarray, ...], horizon: float
) -> None:
    """Expected visits are finite, >= 0, and do not decrease when the horizon doubles."""
    short = bgnbd.expected_visits(params, horizon, *history)
    long = bgnbd.expected_visits(params, 2 * horizon + 1.0, *history)
    assert np.all(np.isfinite(short)) and np.all(short >= 0.0)
    assert np.all(long >= short * (1 - 1e-7))


@pytest.mark.parametrize(
    "params", [CDNOW_DAYS, BGNBDParams(1.5, 250.0, 0.9, 6.0, 0.0), BGNBDParams(0.5, 2.0, 0.3, 150.0, 0.0)]
)
def test_expected_visits_at_extremes(params: BGNBDParams) -> None:
    """Frequency up to 1000, T up to 10,000 days, recency 0 or equal to T: finite, >= 0, no warning."""
    x = np.array([0, 1, 1, 500, 1000, 1000, 1000, 3, 0], dtype=np.float64)
    T = np.array([0, 1, 10_000, 7305, 10_000, 10_000, 1000, 10_000, 10_000], dtype=np.float64)
    t_x = np.array([0, 1, 0, 7305, 10_000, 0, 1000, 10_000, 0], dtype=np.float64)
    for horizon in (0.0, 1.0, 365.0, 3650.0):
        got = bgnbd.expected_visits(params, horizon, x, t_x, T)
        assert np.all(np.isfinite(got)) and np.all(got >= 0.0)
    alive = bgnbd.p_alive(params, x, t_x, T)
    assert np.all(np.isfinite(alive))


def test_expected_visits_zero_horizon_is_zero() -> None:
    """Nothing is expected in an empty horizon."""
    assert bgnbd.expected_visits(CDNOW_DAYS, 0.0, [0, 3], [0.0, 100.0], [50.0, 200.0]).tolist() == [0.0, 0.0]


@pytest.mark.parametrize(
    ("x", "t_x", "T", "t"),
    [(0, 0, 200, 365), (2, 100, 400, 365), (10, 900, 1000, 365), (30, 2000, 3650, 730), (1, 5, 5, 30)],
)
def test_expected_visits_equals_literal_eq10(x: float, t_x: float, T: float, t: float) -> None:
    """Where the literal eq. 10 is well conditioned, the stable evaluation agrees with it to 1e-9."""
    got = bgnbd.expected_visits(CDNOW_DAYS, t, x, t_x, T)[()]
    assert got == pytest.approx(eq10_direct(CDNOW_DAYS, t, x, t_x, T), rel=1e-9)


@pytest.mark.parametrize(
    ("params", "history", "expected"),
    [
        # z = 0.92: past the point where scipy's hyp2f1 is trusted (ODE continuation)
        (BGNBDParams(0.243, 30.9, 0.793, 2.426, 0.0), (0, 0, 0, 365), 1.44854105099749),
        # z = 0.9967 with b = 150: scipy's hyp2f1 returns nan here
        (BGNBDParams(0.5, 2.0, 0.3, 150.0, 0.0), (3, 5, 10, 3650), 685.672691770687),
        # C - A - B an exact integer: scipy's hyp2f1 returns a wrong finite value here
        (BGNBDParams(0.7166, 0.52, 1.7166, 118.5, 0.0), (2, 1, 1, 365), 115.153771198452),
        # heavy visitor long gone
        (BGNBDParams(1.5, 250.0, 0.9, 6.0, 0.0), (1000, 9000, 10_000, 365), 8.79644145254745e-41),
        # a == 1: removable singularity of eq. 10
        (BGNBDParams(1.2, 200.0, 1.0, 3.0, 0.0), (5, 300, 700, 365), 0.337028826509459),
        # tiny horizon: the bracket of eq. 10 cancels almost entirely
        (BGNBDParams(0.02, 2400.0, 0.999, 123.0, 0.0), (0, 0, 0.01, 1), 8.33328434469057e-6),
    ],
)
def test_expected_visits_matches_high_precision_reference(
    params: BGNBDParams, history: tuple[float, float, float, float], expected: float
) -> None:
    """Hard cases agree with eq. 10 evaluated by mpmath at 60 digits to 1e-9 relative."""
    x, t_x, T, t = history
    assert bgnbd.expected_visits(params, t, x, t_x, T)[()] == pytest.approx(expected, rel=1e-9)


def test_expected_visits_continuous_across_a_equal_one() -> None:
    """Values for a just below, at and just above 1 differ only by the smooth change in a."""
    x, t_x, T = np.array([0.0, 4.0, 40.0]), np.array([0.0, 200.0, 3000.0]), np.array([100.0, 500.0, 3650.0])
    values = [
        bgnbd.expected_visits(BGNBDParams(0.8, 120.0, a, 2.5, 0.0), 365.0, x, t_x, T)
        for a in (1 - 2e-3, 1 - 1e-9, 1.0, 1 + 1e-9, 1 + 2e-3)
    ]
    for middle in values[1:4]:
        assert middle == pytest.approx((values[0] + values[4]) / 2, rel=1e-4)
        assert middle == pytest.approx(values[2], rel=1e-8)


def test_expected_visits_broadcasts_shapes() -> None:
    """A scalar horizon with array histories gives an array of the histories' shape; scalars give 0-d."""
    assert bgnbd.expected_visits(
        CDNOW_DAYS, 365, np.zeros((2, 3)), np.zeros((2, 3)), np.ones((2, 3))
    ).shape == (2, 3)
    assert bgnbd.expected_visits(CDNOW_DAYS, 365, 1, 10.0, 20.0).shape == ()


@pytest.mark.parametrize(
    ("x", "t_x", "T"),
    [
        ([0, 0, 0], [0, 0, 0], [10, 20, 30]),
        ([3], [50], [100]),
        ([0, 0], [0, 0], [0, 0]),
        ([500] * 3, [7000] * 3, [7305] * 3),
    ],
)
def test_degenerate_data_fits_to_finite_values(x: list[int], t_x: list[int], T: list[int]) -> None:
    """No repeat visit at all, a single patient, T = 0, identical heavy visitors: finite fit and predictions."""
    fitted = bgnbd.fit(x, t_x, T)
    values = [fitted.r, fitted.alpha, fitted.a, fitted.b, fitted.log_likelihood]
    assert np.all(np.isfinite(values)) and min(values[:4]) > 0
    assert np.all(np.isfinite(bgnbd.expected_visits(fitted, 365.0, x, t_x, T)))
    assert np.all(np.isfinite(bgnbd.p_alive(fitted, x, t_x, T)))


def test_expected_visits_with_huge_parameters() -> None:
    """Parameters in the 1e10 range (a one-patient fit) still give eq. 10 to 1e-9 (mpmath: 0.588678029104)."""
    params = BGNBDParams(29246257007.891495, 567763279262.6173, 30335.17241978923, 78622.6062990165, 0.0)
    assert bgnbd.expected_visits(params, 365.0, 3, 50.0, 100.0)[()] == pytest.approx(
        0.588678029103952, rel=1e-9
    )
