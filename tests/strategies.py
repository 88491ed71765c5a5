"""Shared simulators and Hypothesis strategies for the scoring tests."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

from scoring import BGNBDParams, Features, VisitArrays

AS_OF = 20_000  # 2024-10-04 in days since 1970-01-01


def simulate_bgnbd(
    rng: np.random.Generator, T: np.ndarray, r: float, alpha: float, a: float, b: float
) -> tuple[np.ndarray, np.ndarray]:
    """Draw (frequency, recency) for patients observed for T each, from the BG/NBD process.

    lambda ~ Gamma(r, rate alpha), p ~ Beta(a, b); repeat visits arrive as a Poisson(lambda) process and
    the patient drops out after each repeat visit with probability p. With N arrivals in (0, T] and K the
    (geometric) number of repeat visits until drop-out, x = min(N, K) and t_x is the x-th of N uniform
    order statistics on (0, T], i.e. T * Beta(x, N - x + 1).
    """
    n = T.shape[0]
    lam = rng.gamma(r, 1.0 / alpha, n)
    p = rng.beta(a, b, n)
    arrivals = rng.poisson(lam * T)
    until_dropout = rng.geometric(p)
    x = np.minimum(arrivals, until_dropout)
    t_x = np.zeros(n)
    repeat = x > 0
    t_x[repeat] = T[repeat] * rng.beta(x[repeat], arrivals[repeat] - x[repeat] + 1)
    return x.astype(np.float64), t_x


def simulate_gamma_gamma(
    rng: np.random.Generator, frequency: np.ndarray, p: float, q: float, v: float
) -> np.ndarray:
    """Mean spend of each patient's `frequency` visits: z ~ Gamma(p, rate nu), nu ~ Gamma(q, rate v)."""
    nu = rng.gamma(q, 1.0 / v, frequency.shape[0])
    return rng.gamma(p * frequency, 1.0 / nu) / frequency


@st.composite
def bgnbd_params(draw: st.DrawFn) -> BGNBDParams:
    """BG/NBD parameters over several orders of magnitude (alpha in days)."""
    log_uniform = st.floats(min_value=-3.0, max_value=3.0)
    r = float(np.exp(draw(log_uniform)))
    alpha = float(np.exp(draw(st.floats(min_value=-2.0, max_value=9.0))))
    a = float(np.exp(draw(log_uniform)))
    b = float(np.exp(draw(st.floats(min_value=-3.0, max_value=5.0))))
    return BGNBDParams(r=r, alpha=alpha, a=a, b=b, log_likelihood=0.0)


@st.composite
def histories(draw: st.DrawFn, max_size: int = 20) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(frequency, recency, T) arrays in days: 0 <= recency <= T <= 20 years, frequency up to 1000."""
    n = draw(st.integers(min_value=1, max_value=max_size))
    T = np.array(draw(st.lists(st.floats(min_value=0.0, max_value=7305.0), min_size=n, max_size=n)))
    share = np.array(draw(st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=n, max_size=n)))
    x = np.array(
        draw(st.lists(st.integers(min_value=0, max_value=1000), min_size=n, max_size=n)), dtype=np.float64
    )
    recency = np.where(x > 0, np.minimum(T * share, T), 0.0)
    return x, recency, T


@dataclass(frozen=True)
class VisitTable:
    """A small visit table with its patient count and as-of day."""

    visits: VisitArrays
    n_patients: int
    as_of_day: int


def _visit_table(
    rows: list[tuple[int, int, float, float, int]], n_patients: int, as_of_day: int
) -> VisitTable:
    unique: dict[tuple[int, int], tuple[float, float, int]] = {}
    for patient, day, amount, paid_share, depts in rows:  # one row per (patient, day): first one wins
        unique.setdefault((patient, day), (amount, max(amount, 0.0) * paid_share, depts))
    keys = sorted(unique)
    return VisitTable(
        VisitArrays(
            patient=np.array([k[0] for k in keys], dtype=np.int64),
            day=np.array([k[1] for k in keys], dtype=np.int64),
            amount=np.array([unique[k][0] for k in keys], dtype=np.float64),
            paid=np.array([unique[k][1] for k in keys], dtype=np.float64),
            departments=np.array([unique[k][2] for k in keys], dtype=np.uint32),
        ),
        n_patients,
        as_of_day,
    )


@st.composite
def visit_tables(draw: st.DrawFn, max_patients: int = 6, max_rows: int = 30) -> VisitTable:
    """Random visit-day tables: some refunds (negative amounts), partial payments, visits after as_of."""
    n_patients = draw(st.integers(min_value=1, max_value=max_patients))
    row = st.tuples(
        st.integers(min_value=0, max_value=n_patients - 1),
        st.integers(min_value=AS_OF - 3000, max_value=AS_OF + 30),
        st.one_of(st.floats(min_value=0.0, max_value=5000.0), st.floats(min_value=-200.0, max_value=0.0)),
        st.sampled_from([0.0, 0.5, 0.8, 1.0]),
        st.integers(min_value=0, max_value=2**8 - 1),
    )
    rows = draw(st.lists(row, min_size=0, max_size=max_rows))
    return _visit_table(rows, n_patients, AS_OF)


def simulate_visits(rng: np.random.Generator, n_patients: int, as_of_day: int = AS_OF) -> VisitArrays:
    """Visit days of patients from a BG/NBD + Gamma-Gamma world (dollar spend, a few refunds).

    First visits are spread over the 10 years before as_of; every 10th patient has no visit and every
    25th only visits after as_of. Departments are random single bits, paid is 0, 80% or 100% of billed.
    """
    T = rng.integers(0, 3653, n_patients)
    x, _ = simulate_bgnbd(rng, T.astype(np.float64), r=1.5, alpha=250.0, a=0.9, b=6.0)
    x = x.astype(np.int64)
    first = as_of_day - T
    first[::25] = as_of_day + 5
    x[::10] = -1  # no visit at all
    counts = x + 1
    patient = np.repeat(np.arange(n_patients), counts)
    offset = (
        np.concatenate([np.zeros(1, np.int64), np.cumsum(counts)[:-1]])
        if n_patients
        else np.zeros(0, np.int64)
    )
    first_row = np.zeros(patient.shape[0], dtype=np.bool_)
    first_row[offset[counts > 0]] = True
    spread = np.maximum(T[patient], 1)
    day = first[patient] + np.where(first_row, 0, rng.integers(1, spread + 1))
    order = np.lexsort((day, patient))
    patient, day = patient[order], day[order]
    keep = np.ones(patient.shape[0], dtype=np.bool_)
    keep[1:] = (patient[1:] != patient[:-1]) | (day[1:] != day[:-1])
    patient, day = patient[keep], day[keep]
    nu = rng.gamma(4.0, 1.0 / 600.0, n_patients)
    amount = rng.gamma(6.0, 1.0, patient.shape[0]) / nu[patient]
    amount[rng.uniform(size=patient.shape[0]) < 0.01] *= -0.1
    paid = np.maximum(amount, 0.0) * rng.choice([0.0, 0.8, 1.0, 1.0], patient.shape[0])
    departments = (np.uint32(1) << rng.integers(0, 5, patient.shape[0]).astype(np.uint32)).astype(np.uint32)
    return VisitArrays(
        patient=patient.astype(np.int64),
        day=day.astype(np.int64),
        amount=amount,
        paid=paid,
        departments=departments,
    )


def make_features(
    annual_value: list[float],
    years_active: list[float],
    *,
    departments: list[int] | None = None,
    paid_share: list[float] | None = None,
    days_since_last: list[int] | None = None,
    has_visits: list[bool] | None = None,
) -> Features:
    """Features with the given columns (others zero, T consistent with years_active) for unit tests."""
    n = len(annual_value)
    zeros = np.zeros(n, dtype=np.int64)
    years = np.array(years_active, dtype=np.float64)
    return Features(
        n_visits=zeros + 1,
        frequency=zeros,
        recency=zeros,
        T=np.round(years * 365.25).astype(np.int64),
        days_since_last=np.array(days_since_last if days_since_last is not None else [0] * n, dtype=np.int64),
        years_active=years,
        annual_spend=np.zeros((n, 3)),
        annual_value=np.array(annual_value, dtype=np.float64),
        departments=np.array(departments if departments is not None else [1] * n, dtype=np.int64),
        paid_share=np.array(paid_share if paid_share is not None else [1.0] * n, dtype=np.float64),
        monetary=np.zeros(n),
        has_visits=np.array(has_visits if has_visits is not None else [True] * n, dtype=np.bool_),
        tenure_days=years * 365.25,
        mean_spend=np.zeros(n),
        top_departments=np.full((n, 3), -1, dtype=np.int64),
    )
