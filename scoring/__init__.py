"""Pure, vectorised patient scoring: features, BG/NBD + Gamma-Gamma, PLV, tiers, reactivation.

numpy/scipy only; no I/O. Time is in days throughout. See docs/scoring.md for the formulas.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from scoring import bgnbd, gamma_gamma
from scoring.bgnbd import BGNBDParams
from scoring.features import Features, VisitArrays, compute_features
from scoring.gamma_gamma import GammaGammaParams
from scoring.reactivation import ReactivationSignals, lapsed, reactivation_score, reasons, reasons_all
from scoring.value import (
    TIERS,
    TierRules,
    assign_tiers,
    diversity_factor,
    duration_factor,
    payment_factor,
    plv,
)

__all__ = [
    "GAMMA_GAMMA",
    "OWN_MEAN",
    "TIERS",
    "BGNBDParams",
    "Features",
    "GammaGammaParams",
    "ReactivationSignals",
    "ScoreResult",
    "TierRules",
    "VisitArrays",
    "assign_tiers",
    "bgnbd",
    "compute_features",
    "diversity_factor",
    "duration_factor",
    "gamma_gamma",
    "lapsed",
    "payment_factor",
    "plv",
    "reactivation_score",
    "reasons",
    "reasons_all",
    "score_patients",
]

FloatArray = npt.NDArray[np.float64]
DEFAULT_TIER_RULES = TierRules()
GAMMA_GAMMA = "gamma_gamma"  # expected spend per visit from the fitted Gamma-Gamma model
OWN_MEAN = "own_mean"  # nobody has a paid-for repeat visit: each patient's own mean spend per visit


@dataclass(frozen=True)
class ScoreResult:
    """Everything scored for every patient (arrays of length n_patients) plus the fitted models."""

    features: Features
    bgnbd: BGNBDParams
    gamma_gamma: GammaGammaParams | None  # None when the spend model is OWN_MEAN
    spend_model: str  # GAMMA_GAMMA, or OWN_MEAN when nobody has a paid-for repeat visit yet
    plv: FloatArray
    tier: npt.NDArray[np.int8]
    p_alive: FloatArray
    expected_visits_12m: FloatArray
    expected_value_12m: FloatArray
    lapsed: npt.NDArray[np.bool_]
    reactivation_score: FloatArray
    reasons: list[str]


def score_patients(
    visits: VisitArrays,
    n_patients: int,
    as_of_day: int,
    rules: TierRules = DEFAULT_TIER_RULES,
    lapsed_after_days: int = 365,
    signals: ReactivationSignals | None = None,
    horizon_days: int = 365,
    department_names: Sequence[str] | None = None,
) -> ScoreResult:
    """Score every patient as of ``as_of_day``.

    BG/NBD is fitted on patients with visits, Gamma-Gamma on those with a repeat visit and positive
    repeat spend; patients without visits get p_alive 0, expected values 0, PLV 0 and the low tier. When no
    patient has a paid-for repeat visit yet, Gamma-Gamma has nothing to learn from: the expected spend per
    visit is each patient's own mean spend (``spend_model`` OWN_MEAN, ``gamma_gamma`` None).
    Deceased patients (``signals.deceased``) take part in the fits (their history is real) but get p_alive 0,
    expected values 0, are never lapsed and score 0 for reactivation. ``department_names`` (the name of each
    department bit, e.g. service lines) makes the reasons name a patient's few most used ones.
    Raises ValueError when no patient has a visit.
    """
    feats = compute_features(visits, n_patients, as_of_day)
    active = feats.has_visits
    if not active.any():
        raise ValueError("no patient has a visit on or before as_of_day: nothing to fit")
    x, t_x, age = feats.frequency[active], feats.recency[active], feats.T[active]
    bg = bgnbd.fit(x, t_x, age)
    repeaters = (feats.frequency > 0) & (feats.monetary > 0) & np.isfinite(feats.monetary)
    gg: GammaGammaParams | None = None
    if repeaters.any():
        gg = gamma_gamma.fit(feats.frequency, feats.monetary)
        spend = gamma_gamma.expected_spend(gg, feats.frequency, feats.monetary)
        spend_model = GAMMA_GAMMA
    else:  # a new practice: no spread inside any patient to learn from, so each patient's own mean stands
        spend = feats.mean_spend
        spend_model = OWN_MEAN

    p_alive = np.zeros(n_patients)
    p_alive[active] = bgnbd.p_alive(bg, x, t_x, age)
    visits_12m = np.zeros(n_patients)
    visits_12m[active] = bgnbd.expected_visits(bg, float(horizon_days), x, t_x, age)
    value_12m = np.where(active, visits_12m * spend, 0.0)

    sig = ReactivationSignals.none(n_patients) if signals is None else signals
    alive = ~sig.deceased_flags(n_patients)
    # the dead make no future visit: whatever their history says, nothing is expected of them
    p_alive = np.where(alive, p_alive, 0.0)
    visits_12m = np.where(alive, visits_12m, 0.0)
    value_12m = np.where(alive, value_12m, 0.0)

    plv_values = plv(feats)
    lapsed_flags = lapsed(feats, lapsed_after_days) & alive
    return ScoreResult(
        features=feats,
        bgnbd=bg,
        gamma_gamma=gg,
        spend_model=spend_model,
        plv=plv_values,
        tier=assign_tiers(feats, rules),
        p_alive=p_alive,
        expected_visits_12m=visits_12m,
        expected_value_12m=value_12m,
        lapsed=lapsed_flags,
        reactivation_score=reactivation_score(plv_values, p_alive, lapsed_flags, sig),
        reasons=reasons_all(feats, plv_values, lapsed_flags, sig, department_names),
    )
