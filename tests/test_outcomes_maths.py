"""Pure outcome maths: Wilson intervals against published values, Beta posteriors, Thompson draws' floor."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.outcomes import (
    Beta,
    expected_recovered_value,
    probability_best,
    thompson_choices,
    wilson_interval,
)


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        (0, 10, 0.0, 0.2775),  # Newcombe (1998), table I: 0/10
        (1, 29, 0.0061, 0.1718),  # 1/29
        (81, 263, 0.2553, 0.3662),  # 81/263
        (15, 148, 0.0624, 0.1605),  # 15/148
    ],
)
def test_wilson_matches_published_values(k, n, low, high):
    """The Wilson score interval reproduces Newcombe's worked examples to 4 places."""
    lo, hi = wilson_interval(k, n)
    assert lo == pytest.approx(low, abs=1e-4) and hi == pytest.approx(high, abs=1e-4)


def test_wilson_without_trials_is_uninformative():
    """No attempts: the interval is all of [0, 1]."""
    assert wilson_interval(0, 0) == (0.0, 1.0)


@given(st.integers(1, 5000), st.data())
def test_wilson_contains_the_rate_and_narrows(n, data):
    """The interval holds the observed rate, stays in [0, 1], and is narrower with 4x the data."""
    k = data.draw(st.integers(0, n))
    lo, hi = wilson_interval(k, n)
    assert 0.0 <= lo <= k / n <= hi <= 1.0
    lo4, hi4 = wilson_interval(4 * k, 4 * n)
    assert hi4 - lo4 < hi - lo


@given(st.floats(0.01, 0.99), st.floats(1, 100), st.integers(0, 1000), st.data())
def test_beta_posterior_moves_toward_the_data(mean, strength, n, data):
    """The posterior mean lies between the prior mean and the observed rate; its interval holds the mean."""
    k = data.draw(st.integers(0, n))
    prior = Beta.prior(mean, strength)
    post = prior.update(k, n)
    assert post.alpha == pytest.approx(prior.alpha + k) and post.beta == pytest.approx(prior.beta + n - k)
    if n:
        lo_m, hi_m = sorted((prior.mean, k / n))
        assert lo_m - 1e-9 <= post.mean <= hi_m + 1e-9
    lo, hi = post.interval()
    assert lo <= post.mean <= hi


def test_expected_recovered_value():
    """value x P(response) - cost."""
    assert expected_recovered_value(400.0, 0.25, 6.0) == pytest.approx(94.0)


@settings(max_examples=25, deadline=None)
@given(st.floats(0.01, 0.1))
def test_exploration_floor_is_kept_even_for_a_hopeless_channel(floor):
    """A channel whose posterior says it never works still gets at least the floor's share of patients."""
    rng = np.random.default_rng(3)
    posts = {"good": Beta(500, 500), "bad": Beta(1, 10_000)}
    n = 20_000
    got = thompson_choices(rng, [100.0] * n, [("good", "bad")] * n, posts, {}, floor)
    share_bad = got.count("bad") / n
    assert share_bad >= floor * 0.85 and share_bad <= floor * 1.15


def test_thompson_respects_options_and_prefers_value_net_of_cost():
    """Only open channels are chosen; a cheap channel that responds as well beats an expensive one."""
    rng = np.random.default_rng(1)
    posts = {"cheap": Beta(300, 700), "dear": Beta(300, 700), "other": Beta(900, 100)}
    got = thompson_choices(rng, [50.0] * 2000, [("cheap", "dear")] * 2000, posts, {"dear": 10.0}, 0.02)
    assert set(got) <= {"cheap", "dear"} and got.count("cheap") > 0.9 * len(got)
    assert thompson_choices(rng, [1.0, 1.0], [(), ("other",)], posts, {}, 0.05) == ["", "other"]
    best = probability_best(rng, 50.0, posts, {"dear": 10.0})
    assert best["other"] > 0.99 and sum(best.values()) == pytest.approx(1.0)
