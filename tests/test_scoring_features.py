"""Per-patient features from visit-day arrays: exact numbers on hand-built tables, plus properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings

from scoring import Features, TierRules, VisitArrays, assign_tiers, compute_features, duration_factor
from tests.strategies import AS_OF, VisitTable, visit_tables

D0, D1, D2 = 1, 2, 4  # department bits

# (patient, day, amount, paid, departments)
ROWS = [
    (0, AS_OF - 800, 100.0, 100.0, D0),
    (0, AS_OF - 400, 200.0, 150.0, D1),
    (0, AS_OF - 100, 50.0, 50.0, D0 | D2),
    (0, AS_OF + 10, 999.0, 999.0, D1),  # after as_of: ignored
    (2, AS_OF, -30.0, 0.0, 8),  # refund only, on the as-of day
    (3, AS_OF - 500, 400.0, 400.0, D0),
    (3, AS_OF - 300, 100.0, 0.0, D0),
    (4, AS_OF + 1, 70.0, 70.0, D0),  # only after as_of
    (5, AS_OF - 365, 80.0, 80.0, D1),  # exactly on the year-0/year-1 boundary
]


def table(rows: list[tuple[int, int, float, float, int]]) -> VisitArrays:
    columns = list(zip(*rows, strict=True)) if rows else [[], [], [], [], []]
    return VisitArrays(
        patient=np.array(columns[0], dtype=np.int64),
        day=np.array(columns[1], dtype=np.int64),
        amount=np.array(columns[2], dtype=np.float64),
        paid=np.array(columns[3], dtype=np.float64),
        departments=np.array(columns[4], dtype=np.uint32),
    )


@pytest.fixture(scope="module")
def features() -> Features:
    return compute_features(table(ROWS), 6, AS_OF)


def test_counts_recency_and_ages(features: Features) -> None:
    """Visit days, repeat visits, recency, T and days since last visit, in days, up to as_of only."""
    assert features.n_visits.tolist() == [3, 0, 1, 2, 0, 1]
    assert features.frequency.tolist() == [2, 0, 0, 1, 0, 0]
    assert features.recency.tolist() == [700, 0, 0, 200, 0, 0]
    assert features.T.tolist() == [800, 0, 0, 500, 0, 365]
    assert features.days_since_last.tolist() == [100, 0, 0, 300, 0, 365]
    assert features.has_visits.tolist() == [True, False, True, True, False, True]


def test_tenure_is_the_span_of_the_relationship(features: Features) -> None:
    """Tenure = first to last visit + at most one usual interval (own mean gap; for a one-visit patient the
    practice's median gap), never past as_of: patient 3 (gap 200, last seen 300 days ago) has 400 days, not
    T = 500; the one-visit patient 5 gets the median gap of 350 and 200, 275 days, not 365."""
    assert features.tenure_days.tolist() == pytest.approx([800, 0, 0, 400, 0, 275])
    assert features.years_active.tolist() == pytest.approx(
        [800 / 365.25, 0, 0, 400 / 365.25, 0, 275 / 365.25]
    )


def test_annual_spend_by_trailing_year(features: Features) -> None:
    """Spend falls in year k when as_of - 365(k+1) < day <= as_of - 365k; refunds count as 0."""
    assert features.annual_spend.shape == (6, 3)
    assert features.annual_spend.tolist() == [
        [50.0, 200.0, 100.0],
        [0.0, 0.0, 0.0],
        [0.0, 0.0, 0.0],
        [100.0, 400.0, 0.0],
        [0.0, 0.0, 0.0],
        [0.0, 80.0, 0.0],
    ]


def test_annual_value_weights_only_years_of_the_relationship(features: Features) -> None:
    """Weights 3, 2, 1 over the trailing years the relationship reaches; 0 without visits."""
    assert features.annual_value.tolist() == pytest.approx(
        [
            (3 * 50 + 2 * 200 + 1 * 100) / 6,  # all three years counted
            0.0,
            0.0,  # a visit, but nothing billed
            (3 * 100 + 2 * 400) / 5,  # first visit in year 1: years 0 and 1
            0.0,
            (2 * 80) / 5,  # first visit on year 1's last day: years 0 and 1
        ]
    )


def test_departments_paid_share_and_monetary(features: Features) -> None:
    """Distinct departments, paid/billed (1.0 when nothing billed), mean spend of repeat visit days."""
    assert features.departments.tolist() == [3, 0, 1, 1, 0, 1]
    assert features.paid_share.tolist() == pytest.approx([300 / 350, 1.0, 1.0, 400 / 500, 1.0, 1.0])
    assert features.monetary.tolist() == pytest.approx([125.0, 0.0, 0.0, 100.0, 0.0, 0.0])


def test_as_of_before_everything_gives_empty_features() -> None:
    """With as_of before every visit no patient has visits and all features are zero (paid_share 1)."""
    got = compute_features(table(ROWS), 6, AS_OF - 10_000)
    assert not got.has_visits.any()
    for name in ("n_visits", "frequency", "recency", "T", "days_since_last", "departments"):
        assert getattr(got, name).tolist() == [0] * 6
    assert got.annual_value.tolist() == [0.0] * 6 and got.monetary.tolist() == [0.0] * 6
    assert got.paid_share.tolist() == [1.0] * 6


def test_no_rows_at_all() -> None:
    """An empty table gives n_patients empty histories."""
    got = compute_features(table([]), 3, AS_OF)
    assert got.n_visits.tolist() == [0, 0, 0] and got.annual_spend.shape == (3, 3)


def test_long_absence_and_heavy_visitor() -> None:
    """A 20-year history with 501 visit days and a patient gone 20 years give exact, finite features."""
    heavy_days = AS_OF - np.arange(0, 501 * 14, 14)[::-1]
    rows = [(0, int(d), 10.0, 10.0, D0) for d in heavy_days] + [(1, AS_OF - 7305, 500.0, 500.0, D1)]
    got = compute_features(table(rows), 2, AS_OF)
    assert got.frequency.tolist() == [500, 0]
    assert got.recency.tolist() == [7000, 0] and got.T.tolist() == [7000, 7305]
    assert got.days_since_last.tolist() == [0, 7305]
    assert got.monetary.tolist() == pytest.approx([10.0, 0.0])
    assert got.annual_value[1] == 0.0  # nothing in the last three years
    assert np.all(np.isfinite(got.annual_value))


def test_same_day_duplicates_count_once() -> None:
    """Two rows on one day (not merged by the caller) count as one visit day with both amounts."""
    got = compute_features(
        table([(0, AS_OF - 10, 30.0, 30.0, D0), (0, AS_OF - 10, 20.0, 20.0, D1)]), 1, AS_OF
    )
    assert got.n_visits.tolist() == [1] and got.frequency.tolist() == [0]
    assert got.annual_spend[0].tolist() == [50.0, 0.0, 0.0] and got.departments.tolist() == [2]


def test_unsorted_input_is_rejected() -> None:
    """Rows out of (patient, day) order raise ValueError."""
    with pytest.raises(ValueError, match="sorted"):
        compute_features(table([(0, AS_OF, 1.0, 1.0, D0), (0, AS_OF - 1, 1.0, 1.0, D0)]), 1, AS_OF)
    with pytest.raises(ValueError, match="sorted"):
        compute_features(table([(1, AS_OF, 1.0, 1.0, D0), (0, AS_OF, 1.0, 1.0, D0)]), 2, AS_OF)


def test_patient_index_out_of_range_is_rejected() -> None:
    """A patient index >= n_patients raises ValueError."""
    with pytest.raises(ValueError, match="range"):
        compute_features(table([(3, AS_OF, 1.0, 1.0, D0)]), 2, AS_OF)


@settings(max_examples=150, deadline=None)
@given(data=visit_tables())
def test_invariants_on_random_tables(data: VisitTable) -> None:
    """recency <= tenure <= T, tenure <= recency + own gap after a repeat, frequency = n_visits - 1,
    years_active = tenure / 365.25, spend sums match the rows."""
    got = compute_features(data.visits, data.n_patients, data.as_of_day)
    has = got.has_visits
    assert np.all(got.recency <= got.T) and np.all(got.recency + got.days_since_last == got.T)
    assert np.array_equal(got.frequency, np.maximum(got.n_visits - 1, 0))
    assert np.all(got.recency <= got.tenure_days + 1e-9) and np.all(got.tenure_days <= got.T + 1e-9)
    rep = got.frequency > 0
    own = got.recency[rep] * (1 + 1 / got.frequency[rep])
    assert np.all(got.tenure_days[rep] <= own + 1e-9)
    assert np.allclose(got.years_active, got.tenure_days / 365.25)
    assert np.all(got.T[~has] == 0) and np.all(got.annual_value[~has] == 0)
    v = data.visits
    recent = (v.day <= data.as_of_day) & (v.day > data.as_of_day - 3 * 365)
    expected = np.bincount(
        v.patient[recent], weights=np.maximum(v.amount[recent], 0.0), minlength=data.n_patients
    )
    assert np.allclose(got.annual_spend.sum(axis=1), expected)
    assert np.all(got.annual_value <= got.annual_spend.max(axis=1) + 1e-9)
    assert np.all((got.departments >= 0) & (got.departments <= 8))


def _visits(rows: list[tuple[int, int]]) -> VisitArrays:
    patient = np.array([r[0] for r in rows], dtype=np.int64)
    day = np.array([r[1] for r in rows], dtype=np.int64)
    amount = np.full(len(rows), 150.0)
    return VisitArrays(patient, day, amount, amount, np.ones(len(rows), dtype=np.uint32))


def test_long_lapsed_two_visit_patient_is_not_a_long_standing_one() -> None:
    """Two visits six years ago is about half a year of relationship (no 4+ years duration factor, not
    high tier); a patient seen every six months for six years, last a month ago, has six years and gets it."""
    as_of = 20_000
    six_years = round(6 * 365.25)
    lapsed = [(0, as_of - six_years), (0, as_of - six_years + 180)]
    steady = [(1, as_of - 30 - 182 * k) for k in range(12, -1, -1)]  # from 6.06 years ago to a month ago
    feats = compute_features(_visits(lapsed + steady), 2, as_of)
    assert feats.T[0] / 365.25 == pytest.approx(6.0, abs=0.01)  # the model's T is unchanged
    assert feats.years_active[0] == pytest.approx(360 / 365.25)
    assert feats.years_active[1] == pytest.approx((12 * 182 + 30) / 365.25)  # the whole span, to as_of
    assert duration_factor(feats.years_active).tolist() == [1.0, 1.3]
    rules = TierRules(high_min_annual=0.0, high_min_years=3.0, mid_min_annual=0.0, mid_min_years=1.0)
    assert assign_tiers(feats, rules).tolist() == [2, 0]
