"""Per-patient features from visit-day arrays, vectorised over all patients.

Time is in days. Every feature describes the history up to and including ``as_of_day``; visits after it
are ignored. Patients without any visit get zeros (``has_visits`` False, ``paid_share`` 1.0).

Tenure (``years_active``) is how long the relationship has been active, not how long ago it began: the span
from the first to the last visit plus at most one usual interval (the patient's own mean gap between visits;
for a one-visit patient, the practice's median of those gaps), and never more than up to ``as_of_day``. A
patient who came twice six years ago and never since has a tenure of about one year; a patient seen every
six months for six years, last seen a month ago, has six. BG/NBD's ``T`` stays first visit to as-of.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

DAYS_PER_YEAR = 365.25
YEAR_WINDOW_DAYS = 365
YEAR_WEIGHTS = (3.0, 2.0, 1.0)  # trailing years 0, 1, 2 for annual_value
TOP_LINES = 3  # departments (service lines) named per patient


@dataclass(frozen=True)
class VisitArrays:
    """One row per patient-visit-day (same-day lines merged by the caller), sorted by (patient, day)."""

    patient: npt.NDArray[np.int64]  # index 0..n_patients-1
    day: npt.NDArray[np.int64]  # days since 1970-01-01
    amount: npt.NDArray[np.float64]  # billed dollars of the day; negative (refunds) counts as 0
    paid: npt.NDArray[np.float64]  # paid dollars of the day
    departments: npt.NDArray[np.uint32]  # bit i set = department i used that day


@dataclass(frozen=True)
class Features:
    """Per-patient features; every array has length n_patients."""

    n_visits: IntArray  # distinct visit days
    frequency: IntArray  # repeat visit days: n_visits - 1, 0 without visits
    recency: IntArray  # days from the first to the last visit
    T: IntArray  # days from the first visit to as_of
    days_since_last: IntArray  # days from the last visit to as_of
    years_active: FloatArray  # tenure_days / 365.25 (see the module docstring)
    annual_spend: FloatArray  # shape (n, 3): billed spend in trailing years 0, 1, 2
    annual_value: FloatArray  # recency-weighted average annual spend
    departments: IntArray  # distinct departments ever used
    paid_share: FloatArray  # paid / billed over the history; 1.0 when nothing was billed
    monetary: FloatArray  # mean billed amount of repeat visit days; 0 when frequency == 0
    has_visits: BoolArray
    tenure_days: FloatArray  # recency + min(usual interval, days_since_last); 0 without visits
    mean_spend: FloatArray  # mean billed amount of all visit days (first included); 0 without visits
    # shape (n, TOP_LINES): the department bits used on the most visit days, most first (ties: lower bit
    # first), -1 where the patient used fewer
    top_departments: IntArray

    @property
    def n_patients(self) -> int:
        """Number of patients described."""
        return int(self.n_visits.shape[0])


def _check_inputs(visits: VisitArrays, n_patients: int) -> None:
    n = visits.patient.shape[0]
    for name in ("day", "amount", "paid", "departments"):
        if getattr(visits, name).shape != (n,):
            raise ValueError(f"VisitArrays.{name} must have the same length as patient")
    if n == 0:
        return
    p = visits.patient
    if int(p[0]) < 0 or int(p[-1]) >= n_patients:
        raise ValueError("patient index out of range 0..n_patients-1")
    dp = np.diff(p)
    ordered = (dp > 0) | ((dp == 0) & (np.diff(visits.day) >= 0))
    if not bool(ordered.all()):
        raise ValueError("VisitArrays must be sorted by (patient, day)")


def _top_departments(patient: IntArray, depts: npt.NDArray[np.uint32], n: int) -> IntArray:
    """Per patient, the TOP_LINES department bits on the most visit days (see ``Features``).

    One bincount over (patient, bit) for the rows with a single bit (nearly all), a few for the rest, then
    TOP_LINES argmax passes (argmax takes the first maximum: ties go to the lower bit). 200,000 patients,
    900,000 rows and 10 bits: about 0.15 s, where a bincount per bit and a row sort took 0.25 s."""
    top = np.full((n, TOP_LINES), -1, dtype=np.int64)
    used = int(np.bitwise_or.reduce(depts)) if depts.size else 0
    bits = [b for b in range(32) if used >> b & 1]
    if not bits:
        return top
    width = len(bits)
    column = np.zeros(32, dtype=np.int64)
    column[bits] = np.arange(width)
    single = (depts != 0) & ((depts & (depts - np.uint32(1))) == 0)
    bit = np.log2(depts[single]).astype(np.int64)  # exact for powers of two
    counts = np.bincount(patient[single] * width + column[bit], minlength=n * width).reshape(n, width)
    several = np.flatnonzero(~single & (depts != 0))
    for j, b in enumerate(bits):
        hit = several[(depts[several] >> np.uint32(b)) & np.uint32(1) == 1]
        if hit.size:
            counts[:, j] += np.bincount(patient[hit], minlength=n)
    names = np.asarray(bits, dtype=np.int64)
    rows = np.arange(n)
    for k in range(min(TOP_LINES, width)):
        best = np.argmax(counts, axis=1)
        have = counts[rows, best] > 0
        top[:, k] = np.where(have, names[best], -1)
        counts[rows, best] = -1
    return top


def tenure(
    recency: npt.ArrayLike,
    frequency: npt.ArrayLike,
    days_since_last: npt.ArrayLike,
    has_visits: npt.ArrayLike,
) -> FloatArray:
    """Days the relationship has been active: first to last visit, plus at most one usual interval.

    The usual interval is the patient's own mean gap (recency / frequency) after a repeat visit, and the
    median of those gaps across the practice for a one-visit patient (0 when nobody has repeated yet). The
    added interval never reaches past as-of (it is at most ``days_since_last``), so tenure <= T."""
    rec = np.asarray(recency, dtype=np.float64)
    freq = np.asarray(frequency, dtype=np.float64)
    since = np.asarray(days_since_last, dtype=np.float64)
    has = np.asarray(has_visits, dtype=np.bool_)
    repeat = has & (freq > 0)
    own_gap = np.divide(rec, freq, out=np.zeros_like(rec), where=repeat)
    typical = float(np.median(own_gap[repeat])) if repeat.any() else 0.0
    gap = np.where(repeat, own_gap, typical)
    return np.asarray(np.where(has, rec + np.minimum(gap, np.maximum(since, 0.0)), 0.0), dtype=np.float64)


def compute_features(visits: VisitArrays, n_patients: int, as_of_day: int) -> Features:
    """Compute the per-patient features of ``visits`` as of ``as_of_day`` (inclusive)."""
    _check_inputs(visits, n_patients)
    keep = visits.day <= as_of_day
    everything = bool(keep.all())
    patient = np.asarray(visits.patient if everything else visits.patient[keep], dtype=np.int64)
    day = np.asarray(visits.day if everything else visits.day[keep], dtype=np.int64)
    amount = np.maximum(visits.amount if everything else visits.amount[keep], 0.0)
    paid = np.asarray(visits.paid if everything else visits.paid[keep], dtype=np.float64)
    depts = np.asarray(visits.departments if everything else visits.departments[keep], dtype=np.uint32)
    del keep

    n = n_patients
    m = patient.shape[0]
    first = np.zeros(n, dtype=np.int64)
    last = np.zeros(n, dtype=np.int64)
    dept_mask = np.zeros(n, dtype=np.uint32)
    n_visits = np.zeros(n, dtype=np.int64)
    if m:
        new_patient = np.empty(m, dtype=np.bool_)
        new_patient[0] = True
        np.not_equal(patient[1:], patient[:-1], out=new_patient[1:])
        starts = np.flatnonzero(new_patient)
        ends = np.empty_like(starts)
        ends[:-1] = starts[1:] - 1
        ends[-1] = m - 1
        who = patient[starts]
        first[who] = day[starts]
        last[who] = day[ends]
        dept_mask[who] = np.bitwise_or.reduceat(depts, starts)
        # distinct days: a row starts a new day unless it repeats the previous row's (patient, day)
        new_day = new_patient
        new_day[1:] |= day[1:] != day[:-1]
        n_visits = np.bincount(patient[new_day], minlength=n).astype(np.int64)
        del new_day, new_patient, starts, ends, who

    has_visits = n_visits > 0
    frequency = np.maximum(n_visits - 1, 0)
    recency = last - first
    T = np.where(has_visits, as_of_day - first, 0)
    days_since_last = np.where(has_visits, as_of_day - last, 0)
    tenure_days = tenure(recency, frequency, days_since_last, has_visits)
    years_active = tenure_days / DAYS_PER_YEAR

    billed = np.bincount(patient, weights=amount, minlength=n)
    paid_total = np.bincount(patient, weights=paid, minlength=n)
    # A subnormal divisor can overflow to inf: that share is clipped to 1 like any over-payment.
    with np.errstate(over="ignore"):
        paid_share = np.divide(paid_total, billed, out=np.ones(n), where=billed > 0)
    paid_share = np.clip(paid_share, 0.0, 1.0)

    first_day_spend = np.bincount(patient, weights=np.where(day == first[patient], amount, 0.0), minlength=n)
    repeat_spend = np.maximum(billed - first_day_spend, 0.0)
    monetary = np.divide(repeat_spend, frequency, out=np.zeros(n), where=frequency > 0)
    mean_spend = np.divide(billed, n_visits, out=np.zeros(n), where=n_visits > 0)

    top_departments = _top_departments(patient, depts, n)

    year = (as_of_day - day) // YEAR_WINDOW_DAYS
    in_window = year < 3
    annual_spend = np.asarray(
        np.bincount(patient[in_window] * 3 + year[in_window], weights=amount[in_window], minlength=3 * n),
        dtype=np.float64,
    ).reshape(n, 3)
    del year, in_window
    # year window k is (as_of - 365(k+1), as_of - 365k]; it counts once the first visit is on or before its end
    window_end = as_of_day - YEAR_WINDOW_DAYS * np.arange(3)
    weight_sum = np.zeros(n)
    weighted_spend = np.zeros(n)
    for k, weight in enumerate(YEAR_WEIGHTS):
        weight_sum += np.where(has_visits & (first <= window_end[k]), weight, 0.0)
        weighted_spend += weight * annual_spend[:, k]
    annual_value = np.divide(weighted_spend, weight_sum, out=np.zeros(n), where=weight_sum > 0)

    return Features(
        n_visits=n_visits,
        frequency=frequency,
        recency=recency,
        T=T,
        days_since_last=days_since_last,
        years_active=years_active,
        annual_spend=annual_spend,
        annual_value=annual_value,
        departments=np.bitwise_count(dept_mask).astype(np.int64),
        paid_share=paid_share,
        monetary=monetary,
        has_visits=has_visits,
        tenure_days=tenure_days,
        mean_spend=mean_spend,
        top_departments=top_departments,
    )
