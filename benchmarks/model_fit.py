"""Fit + predict BG/NBD and Gamma-Gamma on saved features, with ours or with `lifetimes`; prints JSON.

Runs under either environment: `python model_fit.py ours|lifetimes FEATURES.npz`. Both do the same work:
fit both models, then P(alive), expected visits over 365 days and expected spend per visit for everyone.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np


def ours(d: dict) -> dict:
    from scoring import bgnbd, gamma_gamma

    t = time.perf_counter()
    bg = bgnbd.fit(d["frequency"], d["recency"], d["T"])
    gg = gamma_gamma.fit(d["frequency"], d["monetary"])
    fit = time.perf_counter() - t
    t = time.perf_counter()
    bgnbd.p_alive(bg, d["frequency"], d["recency"], d["T"])
    bgnbd.expected_visits(bg, 365.0, d["frequency"], d["recency"], d["T"])
    gamma_gamma.expected_spend(gg, d["frequency"], d["monetary"])
    predict = time.perf_counter() - t
    return {
        "fit": fit,
        "predict": predict,
        "params": {"r": bg.r, "alpha": bg.alpha, "a": bg.a, "b": bg.b, "p": gg.p, "q": gg.q, "v": gg.v},
    }


def lifetimes(d: dict) -> dict:
    import pandas as pd
    from lifetimes import BetaGeoFitter, GammaGammaFitter

    x, tx, T, m = (pd.Series(d[k]) for k in ("frequency", "recency", "T", "monetary"))
    repeat = (x > 0) & (m > 0)
    t = time.perf_counter()
    bgf = BetaGeoFitter(penalizer_coef=0.0).fit(x, tx, T)
    note = ""
    try:
        ggf = GammaGammaFitter(penalizer_coef=0.0).fit(x[repeat], m[repeat])
    except Exception:  # noqa: BLE001 - lifetimes' ConvergenceError: from (1, 1, 1) it fails on dollar amounts
        note = (
            "Gamma-Gamma restarted from (p, q, v) = (1, 1, mean spend) after lifetimes' default start failed"
        )
        ggf = GammaGammaFitter(penalizer_coef=0.0).fit(
            x[repeat], m[repeat], initial_params=[1.0, 1.0, float(m[repeat].mean())]
        )
    fit = time.perf_counter() - t
    t = time.perf_counter()
    bgf.conditional_probability_alive(x, tx, T)
    bgf.conditional_expected_number_of_purchases_up_to_time(365.0, x, tx, T)
    ggf.conditional_expected_average_profit(x, m)
    predict = time.perf_counter() - t
    p = bgf.params_
    g = ggf.params_
    return {
        "fit": fit,
        "predict": predict,
        "note": note,
        "params": {
            "r": p["r"],
            "alpha": p["alpha"],
            "a": p["a"],
            "b": p["b"],
            "p": g["p"],
            "q": g["q"],
            "v": g["v"],
        },
    }


if __name__ == "__main__":
    which, path = sys.argv[1], sys.argv[2]
    data = dict(np.load(path))
    out = ours(data) if which == "ours" else lifetimes(data)
    out["params"] = {k: float(v) for k, v in out["params"].items()}
    print(json.dumps(out))
