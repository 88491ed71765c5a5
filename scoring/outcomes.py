"""Outcome statistics and learning, as pure maths: Wilson intervals, Beta-Binomial posteriors, Thompson draws.

No I/O: the product hands in counts and a seeded generator. The formulas are in docs/outcomes.md.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import betaincinv

Z95 = 1.959963984540054  # the standard normal's 97.5% quantile: a two-sided 95% interval


def wilson_interval(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval for a binomial proportion; (0, 1) when there are no trials.

    centre = (k + z^2/2) / (n + z^2), half width = z / (n + z^2) * sqrt(k (n - k) / n + z^2 / 4).
    """
    if trials <= 0:
        return 0.0, 1.0
    k = min(max(successes, 0), trials)
    n = float(trials)
    z2 = z * z
    centre = (k + z2 / 2.0) / (n + z2)
    half = z / (n + z2) * math.sqrt(k * (n - k) / n + z2 / 4.0)
    # exact at the edges: rounding must not put the bound on the wrong side of 0/n or n/n
    low = 0.0 if k == 0 else max(0.0, min(centre - half, k / n))
    high = 1.0 if k == trials else min(1.0, max(centre + half, k / n))
    return low, high


def rate(successes: int, trials: int) -> float | None:
    """successes / trials, or None when there were no trials."""
    return successes / trials if trials > 0 else None


@dataclass(frozen=True)
class Beta:
    """A Beta(alpha, beta) distribution over a response probability."""

    alpha: float
    beta: float

    @classmethod
    def prior(cls, mean: float, strength: float) -> Beta:
        """A prior worth `strength` pseudo-attempts centred on `mean` (clipped into (0, 1))."""
        m = min(max(mean, 1e-4), 1.0 - 1e-4)
        s = max(strength, 1e-6)
        return cls(m * s, (1.0 - m) * s)

    def update(self, successes: int, trials: int) -> Beta:
        """The Beta-Binomial posterior after `successes` out of `trials`."""
        k = min(max(successes, 0), max(trials, 0))
        return Beta(self.alpha + k, self.beta + max(trials, 0) - k)

    @property
    def mean(self) -> float:
        return self.alpha / (self.alpha + self.beta)

    def interval(self, mass: float = 0.95) -> tuple[float, float]:
        """The equal-tailed credible interval holding `mass` of the probability."""
        tail = (1.0 - mass) / 2.0
        low = float(betaincinv(self.alpha, self.beta, tail))
        high = float(betaincinv(self.alpha, self.beta, 1.0 - tail))
        return low, high


def expected_recovered_value(value: float, p_response: float, cost: float) -> float:
    """What one contact is worth: the patient's value times the chance they respond, less the contact's cost."""
    return value * p_response - cost


def thompson_choices(
    rng: np.random.Generator,
    values: Sequence[float],
    options: Sequence[Sequence[str]],
    posteriors: Mapping[str, Beta],
    costs: Mapping[str, float],
    floor: float,
) -> list[str]:
    """One channel per patient, by Thompson sampling with an exploration floor.

    For each patient, each channel open to them gets a response probability drawn from its posterior, and the
    channel with the highest drawn value x p - cost wins. Before that, with probability floor x (number of
    options) the patient goes to a uniformly chosen open channel instead, so every open channel keeps at least
    `floor` of the patients who could take it, however poor its first results look. Patients with no option
    get "". Deterministic for a given generator state.
    """
    out: list[str] = []
    for value, opts in zip(values, options, strict=True):
        if not opts:
            out.append("")
            continue
        if len(opts) == 1:
            out.append(opts[0])
            continue
        u = float(rng.random())
        explore = floor * len(opts)
        if u < explore:
            out.append(opts[min(int(u / floor), len(opts) - 1)])
            continue
        best, best_score = opts[0], -math.inf
        for ch in opts:
            post = posteriors[ch]
            score = value * float(rng.beta(post.alpha, post.beta)) - costs.get(ch, 0.0)
            if score > best_score:
                best, best_score = ch, score
        out.append(best)
    return out


def probability_best(
    rng: np.random.Generator,
    value: float,
    posteriors: Mapping[str, Beta],
    costs: Mapping[str, float],
    draws: int = 4000,
) -> dict[str, float]:
    """For a patient worth `value`, how often each channel has the highest value x p - cost under the posteriors."""
    names = sorted(posteriors)
    if not names:
        return {}
    samples = np.stack(
        [
            value * rng.beta(posteriors[ch].alpha, posteriors[ch].beta, size=draws) - costs.get(ch, 0.0)
            for ch in names
        ]
    )
    winners = np.bincount(np.argmax(samples, axis=0), minlength=len(names))
    return {ch: float(winners[i]) / draws for i, ch in enumerate(names)}
