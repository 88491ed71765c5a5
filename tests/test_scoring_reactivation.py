"""Lapsed flags, reactivation score and the receptionist's reason text."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring import ReactivationSignals, lapsed, reactivation_score, reasons, reasons_all
from scoring.reactivation import last_visit_text, p_return
from tests.strategies import make_features


def signals(n: int, **set_flags: list[bool]) -> ReactivationSignals:
    base = ReactivationSignals.none(n)
    return ReactivationSignals(
        **{**base.__dict__, **{k: np.array(v, dtype=np.bool_) for k, v in set_flags.items()}}
    )


def test_none_has_no_signal() -> None:
    """ReactivationSignals.none(n) is five all-False arrays of length n."""
    empty = ReactivationSignals.none(3)
    assert empty.deceased is not None
    for flags in (
        empty.zip_changed,
        empty.moved_away,
        empty.booking_attempt,
        empty.opted_out,
        empty.deceased,
    ):
        assert flags.dtype == np.bool_ and flags.tolist() == [False] * 3


def test_lapsed_window_is_strict() -> None:
    """Lapsed means visits and more than lapsed_after_days since the last one; no-visit patients never lapse."""
    feats = make_features(
        [100.0] * 4, [3.0] * 4, days_since_last=[365, 366, 5000, 0], has_visits=[True, True, True, False]
    )
    assert lapsed(feats).tolist() == [False, True, True, False]
    assert lapsed(feats, lapsed_after_days=180).tolist() == [True, True, True, False]


@pytest.mark.parametrize(
    ("flags", "p_alive", "expected"),
    [
        ({}, 0.5, 0.5),
        ({"zip_changed": [True]}, 0.5, 0.3),
        ({"moved_away": [True]}, 0.5, 0.05),
        ({"zip_changed": [True], "moved_away": [True]}, 0.5, 0.03),
        ({"booking_attempt": [True]}, 0.5, 0.9),
        ({"booking_attempt": [True]}, 0.95, 0.95),
        ({"booking_attempt": [True], "moved_away": [True]}, 0.5, 0.9),
    ],
)
def test_p_return_formula(flags: dict[str, list[bool]], p_alive: float, expected: float) -> None:
    """p_return = p_alive x 0.6 (zip changed) x 0.1 (moved away), raised to 0.9 by a booking attempt."""
    assert p_return([p_alive], signals(1, **flags))[0] == pytest.approx(expected)


def test_reactivation_score_examples() -> None:
    """Score = PLV x p_return for lapsed patients who did not opt out, else 0."""
    plv = np.array([1000.0, 1000.0, 1000.0, 1000.0])
    p_alive = np.array([0.4, 0.4, 0.4, 0.4])
    is_lapsed = np.array([True, False, True, True])
    sig = signals(4, opted_out=[False, False, True, False], zip_changed=[False, False, False, True])
    assert reactivation_score(plv, p_alive, is_lapsed, sig).tolist() == pytest.approx(
        [400.0, 0.0, 0.0, 240.0]
    )


@settings(max_examples=200, deadline=None)
@given(
    n=st.integers(min_value=1, max_value=20),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_reactivation_zero_for_opted_out_and_not_lapsed(n: int, seed: int) -> None:
    """Whatever the other signals, opted-out or non-lapsed patients score 0; others score within [0, PLV]."""
    rng = np.random.default_rng(seed)
    plv = rng.uniform(0, 5000, n)
    p_alive = rng.uniform(0, 1, n)
    is_lapsed = rng.uniform(size=n) < 0.5
    sig = ReactivationSignals(*(rng.uniform(size=n) < 0.4 for _ in range(4)))
    score = reactivation_score(plv, p_alive, is_lapsed, sig)
    assert np.all(score[sig.opted_out | ~is_lapsed] == 0.0)
    assert np.all((score >= 0.0) & (score <= plv))


@pytest.mark.parametrize(
    ("days", "text"),
    [
        (0, "last visit today"),
        (1, "last visit yesterday"),
        (13, "last visit 13 days ago"),
        (14, "last visit 2 weeks ago"),
        (55, "last visit 8 weeks ago"),
        (56, "last visit 2 months ago"),
        (213, "last visit 7 months ago"),
        (365, "last visit 12 months ago"),
        (532, "last visit 17 months ago"),
        (540, "last visit 2 years ago"),
        (1100, "last visit 3 years ago"),
        (7305, "last visit 20 years ago"),
    ],
)
def test_last_visit_wording(days: int, text: str) -> None:
    """Days, then weeks, months and years, rounded to the nearest, never going backwards."""
    assert last_visit_text(days) == text


REASON_FEATURES = make_features(
    [0.0] * 6,
    [6.3, 0.4, 1.0, 0.0, 12.0, 0.0],
    departments=[3, 1, 2, 0, 0, 0],
    days_since_last=[213, 20, 800, 0, 400, 0],
    has_visits=[True, True, True, False, True, False],
)
REASON_PLV = np.array([2140.0, 350.4, 99.5, 0.0, 1234567.0, 0.0])
REASON_LAPSED = np.array([False, False, True, False, True, False])
REASON_SIGNALS = signals(
    6,
    moved_away=[False, False, True, False, False, False],
    booking_attempt=[False, False, True, False, False, True],
    zip_changed=[False, False, False, False, True, False],
    opted_out=[False, False, False, False, True, False],
)
REASON_TEXTS = [
    "6 years, $2,140/yr, 3 departments, last visit 7 months ago",
    "new patient, $350/yr, 1 department, last visit 3 weeks ago",
    "1 year, $100/yr, 2 departments, last visit 2 years ago, lapsed, moved away, tried to book online",
    "no visits yet",
    "12 years, $1,234,567/yr, last visit 13 months ago, lapsed, moved nearby, opted out",
    "no visits yet, tried to book online",
]


@pytest.mark.parametrize(("index", "text"), list(enumerate(REASON_TEXTS)))
def test_reason_examples(index: int, text: str) -> None:
    """Tenure, PLV per year, departments, last visit, then the tags that apply."""
    assert reasons(REASON_FEATURES, REASON_PLV, REASON_LAPSED, REASON_SIGNALS, index) == text


def test_reasons_all_matches_one_by_one() -> None:
    """reasons_all gives the same text as reasons for every patient."""
    assert reasons_all(REASON_FEATURES, REASON_PLV, REASON_LAPSED, REASON_SIGNALS) == REASON_TEXTS


def test_deceased_score_zero_and_read_deceased_only() -> None:
    """A deceased patient scores 0 whatever else holds, and their reason is 'deceased' and nothing else."""
    plv = np.array([1000.0, 1000.0])
    sig = signals(2, deceased=[True, False], booking_attempt=[True, False])
    assert reactivation_score(plv, [0.5, 0.5], [True, True], sig).tolist() == [0.0, 500.0]
    feats = make_features([500.0, 500.0], [6.0, 6.0], days_since_last=[800, 800])
    text = reasons_all(feats, plv, np.array([True, True]), sig)
    assert text[0] == "deceased" and text[1].startswith("6 years, $1,000/yr") and "lapsed" in text[1]
