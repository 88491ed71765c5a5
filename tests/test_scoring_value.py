"""PLV factors, the PLV formula and tier rules."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring import (
    TIERS,
    TierRules,
    VisitArrays,
    assign_tiers,
    compute_features,
    diversity_factor,
    duration_factor,
    payment_factor,
    plv,
)
from tests.strategies import VisitTable, make_features, visit_tables


@pytest.mark.parametrize(
    ("years", "factor"),
    [(0.0, 1.0), (1.99, 1.0), (2.0, 1.15), (3.99, 1.15), (4.0, 1.3), (25.0, 1.3)],
)
def test_duration_factor(years: float, factor: float) -> None:
    """1.0 under 2 years, 1.15 from 2 to under 4, 1.3 from 4 years."""
    assert duration_factor([years])[0] == factor


@pytest.mark.parametrize(
    ("departments", "factor"), [(0, 1.0), (1, 1.0), (2, 1.1), (3, 1.2), (4, 1.3), (9, 1.3)]
)
def test_diversity_factor(departments: int, factor: float) -> None:
    """1 + 0.1 per extra department, between 1.0 and 1.3."""
    assert diversity_factor([departments])[0] == pytest.approx(factor)


@pytest.mark.parametrize(("share", "factor"), [(-0.5, 0.8), (0.0, 0.8), (0.5, 0.9), (1.0, 1.0), (1.7, 1.0)])
def test_payment_factor(share: float, factor: float) -> None:
    """0.8 + 0.2 * paid share clipped to [0, 1]."""
    assert payment_factor([share])[0] == pytest.approx(factor)


def test_plv_multiplies_annual_value_by_the_factors() -> None:
    """PLV = annual_value x duration x diversity x payment."""
    feats = make_features(
        [1000.0, 500.0, 0.0], [5.0, 2.5, 10.0], departments=[3, 1, 4], paid_share=[1.0, 0.5, 1.0]
    )
    assert plv(feats).tolist() == pytest.approx([1000 * 1.3 * 1.2 * 1.0, 500 * 1.15 * 1.0 * 0.9, 0.0])


# (annual_value, years_active, tier) around the default boundaries 250/3 years and 100/1 year
TIER_TABLE = [
    (250.0, 3.0, 0),
    (249.99, 3.0, 1),
    (250.0, 2.99, 1),
    (10_000.0, 30.0, 0),
    (100.0, 1.0, 1),
    (99.99, 5.0, 2),
    (100.0, 0.99, 2),
    (5000.0, 0.5, 2),
    (0.0, 0.0, 2),
]


@pytest.mark.parametrize(("annual_value", "years", "tier"), TIER_TABLE)
def test_tier_boundaries(annual_value: float, years: float, tier: int) -> None:
    """Thresholds are inclusive: high needs both minimums, mid both of its own, else low."""
    assert assign_tiers(make_features([annual_value], [years]), TierRules()).tolist() == [tier]


def test_tier_rules_are_configurable() -> None:
    """Custom thresholds move patients between tiers."""
    feats = make_features([300.0, 150.0], [2.0, 0.5])
    assert assign_tiers(feats, TierRules()).tolist() == [1, 2]
    assert assign_tiers(
        feats, TierRules(high_min_annual=300, high_min_years=2, mid_min_annual=150, mid_min_years=0.5)
    ).tolist() == [0, 1]
    assert TIERS == ("high", "mid", "low")


@settings(max_examples=150, deadline=None)
@given(data=visit_tables())
def test_every_patient_gets_exactly_one_tier(data: VisitTable) -> None:
    """Tiers are int8 codes in {0, 1, 2}, one per patient; patients without visits are low."""
    feats = compute_features(data.visits, data.n_patients, data.as_of_day)
    tiers = assign_tiers(feats, TierRules())
    assert tiers.dtype == np.int8 and tiers.shape == (data.n_patients,)
    assert set(tiers.tolist()) <= {0, 1, 2}
    assert np.all(tiers[~feats.has_visits] == 2)
    assert np.all(plv(feats) >= 0.0) and np.all(plv(feats)[~feats.has_visits] == 0.0)


@settings(max_examples=200, deadline=None)
@given(
    data=visit_tables(), pick=st.integers(min_value=0), extra=st.floats(min_value=0.01, max_value=10_000.0)
)
def test_raising_a_visit_amount_never_lowers_plv(data: VisitTable, pick: int, extra: float) -> None:
    """Adding to one visit's billed amount (and the same to what was paid) never lowers any patient's PLV."""
    visits = data.visits
    if visits.patient.shape[0] == 0:
        return
    row = pick % visits.patient.shape[0]
    amount, paid = visits.amount.copy(), visits.paid.copy()
    amount[row] += extra
    paid[row] += extra
    bumped = dataclasses.replace(visits, amount=amount, paid=paid)
    before = plv(compute_features(visits, data.n_patients, data.as_of_day))
    after = plv(compute_features(bumped, data.n_patients, data.as_of_day))
    assert np.all(after >= before * (1 - 1e-12))


def test_raising_an_amount_raises_plv_example() -> None:
    """A concrete case: one more dollar billed and paid this year raises the PLV."""
    visits = VisitArrays(
        patient=np.array([0, 0]),
        day=np.array([19_000, 19_900]),
        amount=np.array([100.0, 100.0]),
        paid=np.array([50.0, 100.0]),
        departments=np.array([1, 2], dtype=np.uint32),
    )
    before = plv(compute_features(visits, 1, 20_000))[0]
    after = plv(
        compute_features(
            dataclasses.replace(visits, amount=np.array([100.0, 101.0]), paid=np.array([50.0, 101.0])),
            1,
            20_000,
        )
    )[0]
    assert after > before > 0
