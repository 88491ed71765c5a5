"""Patient lifetime value (PLV) and value tiers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from scoring.features import Features

FloatArray = npt.NDArray[np.float64]
ArrayLike = npt.ArrayLike

TIERS = ("high", "mid", "low")  # tier codes 0, 1, 2
HIGH, MID, LOW = 0, 1, 2


@dataclass(frozen=True)
class TierRules:
    """Minimum annual value (dollars) and years active for the high and mid tiers."""

    high_min_annual: float = 250.0
    high_min_years: float = 3.0
    mid_min_annual: float = 100.0
    mid_min_years: float = 1.0


def duration_factor(years_active: ArrayLike) -> FloatArray:
    """1.0 under 2 years active, 1.15 from 2 to under 4 years, 1.3 at 4 years or more."""
    years = np.asarray(years_active, dtype=np.float64)
    return np.where(years >= 4.0, 1.3, np.where(years >= 2.0, 1.15, 1.0))


def diversity_factor(departments: ArrayLike) -> FloatArray:
    """1 + 0.1 * (departments - 1), clipped to [1.0, 1.3]."""
    depts = np.asarray(departments, dtype=np.float64)
    return np.asarray(np.clip(1.0 + 0.1 * (depts - 1.0), 1.0, 1.3), dtype=np.float64)


def payment_factor(paid_share: ArrayLike) -> FloatArray:
    """0.8 + 0.2 * paid_share, with paid_share clipped to [0, 1]."""
    share = np.asarray(paid_share, dtype=np.float64)
    return np.asarray(0.8 + 0.2 * np.clip(share, 0.0, 1.0), dtype=np.float64)


def plv(features: Features) -> FloatArray:
    """PLV = annual_value * duration_factor * diversity_factor * payment_factor (0 without visits)."""
    return np.asarray(
        features.annual_value
        * duration_factor(features.years_active)
        * diversity_factor(features.departments)
        * payment_factor(features.paid_share),
        dtype=np.float64,
    )


def assign_tiers(features: Features, rules: TierRules = TierRules()) -> npt.NDArray[np.int8]:
    """Tier code per patient: 0 high, 1 mid, 2 low (thresholds inclusive, see TierRules)."""
    value, years = features.annual_value, features.years_active
    high = (value >= rules.high_min_annual) & (years >= rules.high_min_years)
    mid = (value >= rules.mid_min_annual) & (years >= rules.mid_min_years)
    return np.where(high, HIGH, np.where(mid, MID, LOW)).astype(np.int8)
