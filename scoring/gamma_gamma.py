"""Gamma-Gamma model of spend per visit (Fader, Hardie & Lee 2005, "RFM and CLV"; Fader & Hardie's note).

Each visit's spend z ~ Gamma(p, nu) with nu ~ Gamma(q, v) across patients, so the mean repeat-visit
spend zbar of a patient with x repeat visits has x * zbar ~ Gamma(p x, nu). Parameters are named as in
the ``lifetimes`` package. The model is fitted on patients with x > 0 and zbar > 0 only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import optimize, special

FloatArray = npt.NDArray[np.float64]
ArrayLike = npt.ArrayLike

Q_MIN = 1.01  # q is kept above 1 so that the population mean spend p v / (q - 1) exists
_LOG_BOUND = 25.0


def _dot(u: FloatArray, w: FloatArray) -> float:
    """Sum of products without BLAS (threaded BLAS on small vectors is slow and not reproducible)."""
    return float(np.sum(u * w))


@dataclass(frozen=True)
class GammaGammaParams:
    """Fitted Gamma-Gamma parameters and the total log-likelihood at the optimum."""

    p: float
    q: float
    v: float
    log_likelihood: float


def log_likelihood_per_patient(
    params: GammaGammaParams, frequency: ArrayLike, monetary: ArrayLike
) -> FloatArray:
    """Log-density of each patient's mean repeat spend given x = frequency > 0 and zbar = monetary > 0."""
    x = np.asarray(frequency, dtype=np.float64)
    m = np.asarray(monetary, dtype=np.float64)
    p, q, v = params.p, params.q, params.v
    px = p * x
    ll = (
        special.gammaln(px + q)
        - special.gammaln(px)
        - special.gammaln(q)
        + q * np.log(v)
        + (px - 1.0) * np.log(m)
        + px * np.log(x)
        - (px + q) * np.log(x * m + v)
    )
    return np.asarray(ll, dtype=np.float64)


class _Objective:
    """Mean negative log-likelihood and gradient in (log p, log q, log v); x-only terms on distinct x."""

    def __init__(self, x: FloatArray, m: FloatArray) -> None:
        self.x, self.m = x, m
        self.n = float(x.shape[0])
        self.ux, inverse = np.unique(x, return_inverse=True)
        self.count = np.bincount(inverse).astype(np.float64)
        log_m = np.log(m)
        self.sum_x_logs = _dot(x, log_m + np.log(x))
        self.sum_log_m = float(log_m.sum())
        self.xm = x * m

    def __call__(self, theta: FloatArray) -> tuple[float, FloatArray]:
        p, q, v = np.exp(theta)
        pux = p * self.ux
        log_xmv = np.log(self.xm + v)
        sum_l, sum_xl = float(log_xmv.sum()), _dot(self.x, log_xmv)
        ll = _dot(self.count, special.gammaln(pux + q) - special.gammaln(pux))
        ll += self.n * (q * np.log(v) - special.gammaln(q)) + p * self.sum_x_logs - self.sum_log_m
        ll -= p * sum_xl + q * sum_l
        psi_pq = special.digamma(pux + q)
        d_p = _dot(self.count, self.ux * (psi_pq - special.digamma(pux))) + self.sum_x_logs - sum_xl
        d_q = _dot(self.count, psi_pq) - self.n * special.digamma(q) + self.n * np.log(v) - sum_l
        d_v = self.n * q / v - float(np.sum((p * self.x + q) / (self.xm + v)))
        grad = np.array([d_p * p, d_q * q, d_v * v])
        return -ll / self.n, -grad / self.n


def fit(frequency: ArrayLike, monetary: ArrayLike) -> GammaGammaParams:
    """Maximum-likelihood Gamma-Gamma parameters from patients with frequency > 0 and monetary > 0."""
    x_all = np.asarray(frequency, dtype=np.float64)
    m_all = np.asarray(monetary, dtype=np.float64)
    if x_all.shape != m_all.shape:
        raise ValueError("frequency and monetary must have the same shape")
    usable = (x_all > 0) & (m_all > 0) & np.isfinite(m_all)
    if not usable.any():
        raise ValueError("Gamma-Gamma fit needs at least one patient with a repeat visit and positive spend")
    x, m = x_all[usable], m_all[usable]
    scale = float(np.mean(m))  # spend rescaled to mean 1 for conditioning; v scales with it
    objective = _Objective(x, m / scale)
    result = optimize.minimize(
        objective,
        np.array([0.0, np.log(2.0), 0.0]),  # p = 1, q = 2, v = 1: population mean 1 = the sample mean
        jac=True,
        method="L-BFGS-B",
        bounds=[(-_LOG_BOUND, _LOG_BOUND), (float(np.log(Q_MIN)), _LOG_BOUND), (-_LOG_BOUND, _LOG_BOUND)],
        options={"maxiter": 2000, "ftol": 1e-15, "gtol": 1e-10, "maxcor": 20},
    )
    p, q, v_scaled = (float(val) for val in np.exp(result.x))
    q = max(q, Q_MIN)
    params = GammaGammaParams(p=p, q=q, v=v_scaled * scale, log_likelihood=0.0)
    total_ll = float(np.sum(log_likelihood_per_patient(params, x, m)))
    return GammaGammaParams(p=p, q=q, v=params.v, log_likelihood=total_ll)


def expected_spend(params: GammaGammaParams, frequency: ArrayLike, monetary: ArrayLike) -> FloatArray:
    """Conditional expected spend per visit: (p v + p x zbar) / (p x + q - 1); p v / (q - 1) when x == 0."""
    x = np.maximum(np.asarray(frequency, dtype=np.float64), 0.0)
    m = np.maximum(np.asarray(monetary, dtype=np.float64), 0.0)
    p, q, v = params.p, params.q, params.v
    return np.asarray((p * v + p * x * m) / (p * x + q - 1.0), dtype=np.float64)
