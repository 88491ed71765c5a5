"""Tests for the synthetic practice generator (receptionist.simulation.synth)."""

from __future__ import annotations

import csv
import datetime
import re
from decimal import Decimal

import numpy as np
import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from receptionist.simulation import synth
from receptionist.simulation.synth import (
    ARCHETYPE_PROPORTIONS,
    ARCHETYPES,
    DEPARTMENTS,
    NO_CHURN_DAY,
    PROVIDERS,
    date_to_day,
    day_to_date,
    generate,
    write_patients_csv,
    write_visits_csv,
)

AS_OF = datetime.date(2025, 6, 30)
A = date_to_day(AS_OF)
Y = 365.25
LOYAL, REGULAR, OCCASIONAL, DRIFTER, MOVER, STOPPED, NEW = range(7)
HYG, RES, COS, ORT, SPE = range(5)
E164_US = re.compile(r"^\+1[2-9]\d{2}555\d{4}$")


@pytest.fixture(scope="module")
def big():
    return generate(20_000, years=6.0, seed=7, as_of=AS_OF)


@pytest.fixture(scope="module")
def small():
    return generate(2_000, years=6.0, seed=3, as_of=AS_OF)


def _fields(p):
    return {k: getattr(p, k) for k in p.__dataclass_fields__}


def _equal(a, b) -> bool:
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and np.array_equal(a, b)
    return a == b


def _end(p):
    return np.minimum(p.churn_day, p.as_of_day)


def _annual_spend(p):
    total = np.bincount(p.visit_patient, weights=p.visit_amount_cents, minlength=p.n_patients) / 100
    years = np.maximum(_end(p) - p.join_day, 1) / Y
    return total / years


def _departments_per_patient(p):
    pairs = np.unique(p.visit_patient * 8 + p.visit_department)
    return np.bincount(pairs // 8, minlength=p.n_patients)


def _within(observed: float, p: float, n: int, z: float = 4.5) -> bool:
    return abs(observed - p) <= z * np.sqrt(p * (1 - p) / n)


# --------------------------------------------------------------------------- determinism


def test_same_seed_gives_identical_practice():
    """Two calls with the same arguments return field-for-field identical practices."""
    a = _fields(generate(3_000, seed=11, as_of=AS_OF))
    b = _fields(generate(3_000, seed=11, as_of=AS_OF))
    assert a.keys() == b.keys()
    for k in a:
        assert _equal(a[k], b[k]), k


def test_other_seed_gives_different_practice():
    """A different seed changes the random patients (archetypes, phones, visits)."""
    a = generate(3_000, seed=11, as_of=AS_OF)
    b = generate(3_000, seed=12, as_of=AS_OF)
    assert not np.array_equal(a.archetype, b.archetype)
    assert a.phone[2:] != b.phone[2:]
    assert a.n_visits != b.n_visits or not np.array_equal(a.visit_day, b.visit_day)


def test_as_of_only_shifts_dates():
    """Same seed, later as_of: every day shifts by the same amount and nothing else changes."""
    a = generate(1_500, seed=5, as_of=AS_OF)
    shift = 123
    b = generate(1_500, seed=5, as_of=AS_OF + datetime.timedelta(days=shift))
    assert np.array_equal(b.visit_day, a.visit_day + shift)
    assert np.array_equal(b.join_day, a.join_day + shift)
    assert np.array_equal(b.churn_day[~a.alive], a.churn_day[~a.alive] + shift)
    for k in (
        "visit_patient",
        "visit_amount_cents",
        "visit_paid_cents",
        "visit_department",
        "visit_provider",
        "archetype",
        "phone",
        "phone2",
        "email",
        "zip",
        "previous_zip",
    ):
        assert _equal(getattr(a, k), getattr(b, k)), k


def test_as_of_is_the_callers_day():
    """The practice ends on the day the caller gives (its clock's), never the server's own date."""
    with pytest.raises(TypeError):
        generate(50, seed=1)  # type: ignore[call-arg]
    p = generate(50, seed=1, as_of=AS_OF)
    assert p.as_of == AS_OF
    assert p.visit_day.max() <= date_to_day(AS_OF)


# --------------------------------------------------------------------------- time structure


def test_visit_days_within_join_and_as_of(big):
    """Every visit is in [join_day, as_of], every patient has a visit on their join day."""
    p = big
    assert p.visit_day.max() <= A
    assert np.all(p.visit_day >= p.join_day[p.visit_patient])
    first = np.full(p.n_patients, np.iinfo(np.int64).max)
    np.minimum.at(first, p.visit_patient, p.visit_day)
    assert np.array_equal(first, p.join_day)
    assert p.join_day.min() >= A - round(6 * Y)


def test_visit_arrays_have_declared_dtypes_and_sort_order(big):
    """Visit arrays are parallel, typed as specified and sorted by (day, patient)."""
    p = big
    n = p.n_visits
    for name, dtype in (
        ("visit_patient", np.int64),
        ("visit_day", np.int64),
        ("visit_amount_cents", np.int64),
        ("visit_paid_cents", np.int64),
        ("visit_department", np.int8),
        ("visit_provider", np.int8),
    ):
        arr = getattr(p, name)
        assert arr.dtype == dtype and arr.shape == (n,), name
    assert p.archetype.dtype == np.int8 and p.alive.dtype == bool
    key = p.visit_day * p.n_patients + p.visit_patient
    assert np.all(np.diff(key) >= 0)


def test_no_visits_after_churn(big):
    """Movers and stopped patients are not alive, churn in their stated windows and never come back."""
    p = big
    churned = np.isin(p.archetype, (MOVER, STOPPED))
    assert np.array_equal(p.alive, ~churned)
    assert np.all(p.churn_day[p.alive] == NO_CHURN_DAY)
    assert np.all(p.visit_day <= p.churn_day[p.visit_patient])
    stopped = p.archetype == STOPPED
    assert p.churn_day[stopped].min() >= A - round(3 * Y)
    assert p.churn_day[stopped].max() <= A - round(Y)
    movers = np.nonzero(p.archetype == MOVER)[0]
    assert np.all(p.churn_day[movers] >= p.join_day[movers] + 180)
    assert np.all(p.churn_day[movers] <= A - 90)
    last = np.full(p.n_patients, np.iinfo(np.int64).min)
    np.maximum.at(last, p.visit_patient, p.visit_day)
    assert np.all(A - last[stopped] >= round(Y))  # nothing in the last year


def test_archetype_proportions(big):
    """At n=20,000 each archetype's share is within 4.5 standard errors of its stated proportion."""
    p = big
    shares = np.bincount(p.archetype, minlength=len(ARCHETYPES)) / p.n_patients
    assert ARCHETYPE_PROPORTIONS == (0.10, 0.35, 0.20, 0.10, 0.05, 0.15, 0.05)  # the documented mix
    for a, prop in enumerate(ARCHETYPE_PROPORTIONS):
        assert _within(shares[a], prop, p.n_patients), (ARCHETYPES[a], shares[a])


def test_loyal_outspend_regulars_and_use_several_departments(big):
    """Loyal big spenders spend thousands a year across >= 2 departments; regulars ~$150-$400."""
    p = big
    spend = _annual_spend(p)
    depts = _departments_per_patient(p)
    loyal, regular = p.archetype == LOYAL, p.archetype == REGULAR
    assert spend[loyal].mean() > 2_000
    assert spend[loyal].mean() > 4 * spend[regular].mean()
    assert 150 <= np.median(spend[regular]) <= 400
    assert depts[loyal].mean() >= 2
    assert depts[regular].mean() < depts[loyal].mean()
    tenure = (A - p.join_day[loyal]) / Y
    assert tenure.min() >= 4 - 1e-9


def test_recall_rhythm(big):
    """Hygiene gaps: ~6 months for regulars and loyal patients, ~1 year for occasional ones."""
    p = big
    hyg = p.visit_department == HYG
    order = np.lexsort((p.visit_day[hyg], p.visit_patient[hyg]))
    pat, day = p.visit_patient[hyg][order], p.visit_day[hyg][order]
    same = pat[1:] == pat[:-1]
    gap, gpat = np.diff(day)[same], pat[1:][same]
    gap = gap[gap > 0]
    gpat = gpat[np.diff(day)[same] > 0]
    med = {a: np.median(gap[p.archetype[gpat] == a]) for a in (LOYAL, REGULAR, OCCASIONAL)}
    assert 160 <= med[LOYAL] <= 200
    assert 160 <= med[REGULAR] <= 200
    assert 320 <= med[OCCASIONAL] <= 420


def test_drifter_gaps_grow(big):
    """A drifter's second recall gap is on average longer than the first (growth 1.5)."""
    p = big
    drifters = np.nonzero(p.archetype == DRIFTER)[0]
    first, second = [], []
    is_hyg = p.visit_department == HYG
    by_patient = {}
    for i, d in zip(p.visit_patient[is_hyg].tolist(), p.visit_day[is_hyg].tolist(), strict=True):
        by_patient.setdefault(i, []).append(d)
    for i in drifters.tolist():
        days = sorted(set(by_patient.get(i, [])))
        if len(days) >= 3:
            first.append(days[1] - days[0])
            second.append(days[2] - days[1])
    assert len(first) > 100
    assert np.mean(second) > 1.3 * np.mean(first)


def test_new_patients_join_last_year_with_one_or_two_visits(big):
    """New patients joined in the last year and have 1-2 visit days."""
    p = big
    new = np.nonzero(p.archetype == NEW)[0]
    assert np.all(p.join_day[new] >= A - 364)
    days = np.unique(p.visit_patient * 100_000 + (p.visit_day - (A - 10 * 366)))
    n_days = np.bincount(days // 100_000, minlength=p.n_patients)
    assert set(np.unique(n_days[new]).tolist()) == {1, 2}


def test_visit_lines_per_patient(big):
    """About 9.4 visit lines per patient with years=6 (so ~8-12 million at 1,000,000 patients)."""
    assert 8.0 <= big.n_visits / big.n_patients <= 11.0


# --------------------------------------------------------------------------- visits


def test_amounts_within_department_ranges_and_paid(big):
    """Amounts are whole dollars in the department's range (its procedures' bounds times the fee levels,
    0.5 to 2); ~3% of lines are partly unpaid."""
    p = big
    ranges = {HYG: (40, 560), RES: (60, 3600), COS: (125, 4400), ORT: (75, 6400), SPE: (200, 10000)}
    assert np.all(p.visit_amount_cents % 100 == 0)
    for d, (lo, hi) in ranges.items():
        amt = p.visit_amount_cents[p.visit_department == d]
        assert amt.size > 0
        assert amt.min() >= lo * 100 and amt.max() <= hi * 100, DEPARTMENTS[d]
    assert np.all(p.visit_paid_cents <= p.visit_amount_cents)
    assert np.all(p.visit_paid_cents >= 0)
    unpaid = p.visit_paid_cents < p.visit_amount_cents
    assert _within(unpaid.mean(), 0.03, p.n_visits)
    frac = p.visit_paid_cents[unpaid] / p.visit_amount_cents[unpaid]
    assert frac.min() >= 0.1 - 1e-9 and frac.max() < 0.9


def test_same_day_lines_about_5_percent_and_at_most_two(big):
    """About 5% of patient-days carry 2 lines and none carries more."""
    p = big
    _, counts = np.unique(p.visit_patient * 100_000 + (p.visit_day - (A - 10 * 366)), return_counts=True)
    assert counts.max() == 2
    share = (counts == 2).mean()
    assert 0.04 <= share <= 0.065


def test_providers_match_departments(big):
    """Hygiene lines go to hygienists, other lines to dentists, orthodontics to Dr. Chen."""
    p = big
    hygienists = (PROVIDERS.index("Hygienist Patel"), PROVIDERS.index("Hygienist Moore"))
    hyg = p.visit_department == HYG
    assert np.all(np.isin(p.visit_provider[hyg], hygienists))
    assert not np.any(np.isin(p.visit_provider[~hyg], hygienists))
    assert np.all(p.visit_provider[p.visit_department == ORT] == PROVIDERS.index("Dr. Chen"))
    assert set(np.unique(p.visit_provider).tolist()) == {0, 1, 2, 3}


# --------------------------------------------------------------------------- patients


def test_phones_unique_e164_and_valid(big):
    """Phones and second phones are unique E.164 +1 NPA 555 XXXX numbers valid for region US."""
    p = big
    second = [x for x in p.phone2 if x]
    all_numbers = p.phone + second
    assert len(set(all_numbers)) == len(all_numbers)
    assert all(E164_US.match(x) for x in all_numbers)
    assert _within(len(second) / p.n_patients, 0.05, p.n_patients)
    for x in all_numbers[:3000] + second:
        num = phonenumbers.parse(x, None)
        assert phonenumbers.is_possible_number(num) and phonenumbers.is_valid_number_for_region(num, "US"), x
        assert phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164) == x
    local = {str(a) for a in synth.LOCAL_AREA_CODES}
    assert 0.5 <= np.mean([x[2:5] in local for x in p.phone]) <= 0.7


def test_every_area_code_gives_valid_555_numbers():
    """Each listed NPA yields valid US numbers across the 555 subscriber range."""
    for npa in synth.LOCAL_AREA_CODES + synth.NATIONAL_AREA_CODES:
        for sub in (0, 143, 5000, 9999):
            num = phonenumbers.parse(f"+1{npa}555{sub:04d}", None)
            assert phonenumbers.is_valid_number_for_region(num, "US"), npa


def test_zips_and_movers(big):
    """Movers have a far zip and a DC previous_zip; others live in DC, ~2% moved within DC."""
    p = big
    local, far = set(synth.LOCAL_ZIPS), set(synth.FAR_ZIPS)
    arch = p.archetype.tolist()
    movers = [i for i, a in enumerate(arch) if a == MOVER]
    assert movers
    assert all(p.zip[i] in far and p.previous_zip[i] in local for i in movers)
    others = [i for i, a in enumerate(arch) if a != MOVER]
    assert all(p.zip[i] in local for i in others)
    moved = [i for i in others if p.previous_zip[i]]
    assert all(p.previous_zip[i] in local and p.previous_zip[i] != p.zip[i] for i in moved)
    assert all(arch[i] != NEW for i in moved)
    assert _within(len(moved) / len(others), 0.02 * (1 - 0.05 / 0.95), len(others), z=5)
    assert all(re.fullmatch(r"\d{5}", z) for z in p.zip)


def test_consent_and_email_rates(big):
    """Consents, opt-outs and missing emails follow their stated rates."""
    p = big
    n = p.n_patients
    for arr, rate in (
        (p.consent_voice, 0.70),
        (p.consent_sms, 0.60),
        (p.consent_written, 0.35),
        (p.opted_out, 0.03),
    ):
        assert arr.dtype == bool and arr.shape == (n,)
        assert _within(arr.mean(), rate, n)
    missing = np.mean([e == "" for e in p.email])
    assert _within(missing, 0.20, n)
    assert all(re.fullmatch(r"[a-z]+\.[a-z]+\d+@example\.(com|net|org)", e) for e in p.email[2:] if e)


def test_names_ids_and_lengths(small):
    """Patient lists are parallel, ids are P + 6 digits, names come from the fixed lists."""
    p = small
    n = p.n_patients
    for name in (
        "patient_id",
        "first_name",
        "last_name",
        "phone",
        "phone2",
        "email",
        "zip",
        "previous_zip",
        "consent_voice",
        "consent_sms",
        "consent_written",
        "opted_out",
        "archetype",
        "alive",
        "join_day",
        "churn_day",
    ):
        assert len(getattr(p, name)) == n, name
    assert p.patient_id[0] == "P000001" and p.patient_id[-1] == f"P{n:06d}"
    assert set(p.first_name) <= set(synth.FIRST_NAMES)
    assert set(p.last_name) <= set(synth.LAST_NAMES)
    assert len(set(p.patient_id)) == n


# --------------------------------------------------------------------------- demo patients


@pytest.mark.parametrize("seed", [0, 7, 99])
def test_demo_patients_are_fixed(seed):
    """Margaret (P000001) and Tom (P000002) are the same for every seed, as documented."""
    p = generate(200, seed=seed, as_of=AS_OF)
    ref = generate(200, seed=7, as_of=AS_OF)
    assert (p.patient_id[0], p.first_name[0], p.phone[0]) == ("P000001", "Margaret", "+12025550143")
    assert (p.patient_id[1], p.first_name[1], p.phone[1]) == ("P000002", "Tom", "+12025550177")
    assert ARCHETYPES[p.archetype[0]] == "loyal_big_spender" and p.alive[0]
    assert ARCHETYPES[p.archetype[1]] == "regular" and p.alive[1]
    assert p.phone2[0] == p.phone2[1] == ""
    assert not p.opted_out[0] and p.consent_voice[0] and p.consent_sms[0]
    spend = _annual_spend(p)
    assert spend[0] > 2_000 and 150 <= spend[1] <= 400
    for i in (0, 1):
        m, mr = p.visit_patient == i, ref.visit_patient == i
        assert np.array_equal(p.visit_day[m], ref.visit_day[mr])
        assert np.array_equal(p.visit_amount_cents[m], ref.visit_amount_cents[mr])
        assert np.array_equal(p.visit_department[m], ref.visit_department[mr])
    m0 = p.visit_patient == 0
    assert A - p.visit_day[m0].max() <= 30
    assert len(set(p.visit_department[m0].tolist())) >= 4
    assert (A - p.join_day[0]) / Y >= 4
    assert A - p.visit_day[p.visit_patient == 1].max() <= 90


def test_demo_patient_alone():
    """With one patient, it is Margaret; her lines before a short window are dropped."""
    p = generate(1, years=1.0, seed=3, as_of=AS_OF)
    assert p.first_name == ["Margaret"] and p.phone == ["+12025550143"]
    assert np.all(p.visit_patient == 0) and p.n_visits > 0
    assert p.visit_day.min() == p.join_day[0] >= A - round(Y)


# --------------------------------------------------------------------------- CSV


def test_patients_csv_header_and_rows(small, tmp_path):
    """patients.csv has the exact header, one row per patient, yes/no booleans, 'a;b' phones."""
    p = small
    path = tmp_path / "patients.csv"
    write_patients_csv(p, path)
    with open(path, newline="", encoding="utf-8") as f:
        header = f.readline().rstrip("\n")
    assert (
        header
        == "patient_id,first_name,last_name,phone,email,zip,consent_voice,consent_sms,opted_out,consent_written"
    )
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == p.n_patients
    yn = {True: "yes", False: "no"}
    for i, row in enumerate(rows):
        assert row["patient_id"] == p.patient_id[i]
        assert row["first_name"] == p.first_name[i] and row["last_name"] == p.last_name[i]
        phones = row["phone"].split(";")
        assert phones == ([p.phone[i], p.phone2[i]] if p.phone2[i] else [p.phone[i]])
        assert row["email"] == p.email[i] and row["zip"] == p.zip[i]
        assert row["consent_voice"] == yn[bool(p.consent_voice[i])]
        assert row["consent_sms"] == yn[bool(p.consent_sms[i])]
        assert row["opted_out"] == yn[bool(p.opted_out[i])]
        assert row["consent_written"] == yn[bool(p.consent_written[i])]
    assert rows[0]["phone"] == "+12025550143" and rows[1]["email"] == ""
    assert any(";" in r["phone"] for r in rows)


def test_visits_csv_header_and_rows(small, tmp_path):
    """visits.csv has the exact header and one parseable row per visit line, chunking-independent."""
    p = small
    path = tmp_path / "visits.csv"
    write_visits_csv(p, path)
    with open(path, newline="", encoding="utf-8") as f:
        header = f.readline().rstrip("\n")
    assert header == "visit_id,patient_id,date,amount,department,provider,paid"
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == p.n_visits
    money = re.compile(r"^\d+\.\d{2}$")
    total_amount = total_paid = 0
    for k, row in enumerate(rows):
        assert row["visit_id"] == f"V{k + 1:06d}"
        assert row["patient_id"] == p.patient_id[p.visit_patient[k]]
        assert datetime.date.fromisoformat(row["date"]) == day_to_date(p.visit_day[k])
        assert money.match(row["amount"]) and money.match(row["paid"])
        total_amount += int(Decimal(row["amount"]) * 100)
        total_paid += int(Decimal(row["paid"]) * 100)
        assert row["department"] == DEPARTMENTS[p.visit_department[k]]
        assert row["provider"] == PROVIDERS[p.visit_provider[k]]
    assert total_amount == int(p.visit_amount_cents.sum())
    assert total_paid == int(p.visit_paid_cents.sum())
    unpaid = np.nonzero(p.visit_paid_cents < p.visit_amount_cents)[0]
    assert unpaid.size
    k = int(unpaid[0])
    assert Decimal(rows[k]["paid"]) == Decimal(int(p.visit_paid_cents[k])) / 100
    chunked = tmp_path / "visits_chunked.csv"
    write_visits_csv(p, chunked, chunk_rows=997)
    assert chunked.read_bytes() == path.read_bytes()


def test_money_formatting():
    """Cents render as dollars with exactly two decimals."""
    cents = np.array([0, 5, 99, 100, 12_500, 123_456, 300_000], dtype=np.int64)
    assert synth._money(cents).tolist() == [
        b"0.00",
        b"0.05",
        b"0.99",
        b"1.00",
        b"125.00",
        b"1234.56",
        b"3000.00",
    ]


# --------------------------------------------------------------------------- arguments and invariants


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n_patients": 0},
        {"n_patients": -5},
        {"years": 0.5},
        {"years": 51},
        {"seed": -1},
        {"n_patients": synth.MAX_PATIENTS + 1},
    ],
)
def test_invalid_arguments_raise(kwargs):
    """Out-of-range arguments raise ValueError."""
    with pytest.raises(ValueError):
        generate(**{"as_of": AS_OF, **kwargs})


def test_non_integer_patient_count_raises():
    """A float patient count is a TypeError."""
    with pytest.raises(TypeError):
        generate(10.0, as_of=AS_OF)  # type: ignore[arg-type]


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(min_value=1, max_value=400),
    seed=st.integers(min_value=0, max_value=2**32),
    years=st.floats(min_value=1.0, max_value=12.0),
    as_of=st.dates(min_value=datetime.date(2001, 1, 1), max_value=datetime.date(2040, 12, 31)),
)
def test_invariants_hold_for_any_small_practice(n, seed, years, as_of):
    """For any size, seed, window and as_of: bounds, uniqueness, line caps and demo identities hold."""
    p = generate(n, years=years, seed=seed, as_of=as_of)
    a = date_to_day(as_of)
    assert p.n_patients == n and len(set(p.phone + [x for x in p.phone2 if x])) == n + sum(
        map(bool, p.phone2)
    )
    assert np.all(p.visit_day <= a)
    assert np.all(p.visit_day >= a - round(years * Y))
    assert np.all(p.visit_day >= p.join_day[p.visit_patient])
    assert np.all(p.visit_day <= p.churn_day[p.visit_patient])
    assert np.array_equal(np.unique(p.visit_patient), np.arange(n))
    _, counts = np.unique(p.visit_patient * 100_000 + (p.visit_day - a + 60_000), return_counts=True)
    assert counts.max() <= 2
    assert p.first_name[0] == "Margaret" and p.phone[0] == "+12025550143"
    if n >= 2:
        assert p.first_name[1] == "Tom" and p.phone[1] == "+12025550177"


@pytest.mark.slow
def test_scale_200k_patients():
    """200,000 patients generate ~9.4 lines each with unique phones."""
    p = generate(200_000, seed=7, as_of=AS_OF)
    assert 8.5 <= p.n_visits / p.n_patients <= 10.5
    assert len(set(p.phone)) == p.n_patients


def test_spend_per_visit_varies_as_treatment_does(big):
    """Inside one department a patient's lines differ as procedures do (a filling, a crown, a root canal), and
    patients' fee levels differ: the spread of spend per visit is wide, not one price per department."""
    p = big
    res = p.visit_amount_cents[p.visit_department == RES] / 100
    assert np.quantile(res, 0.9) > 3 * np.quantile(res, 0.1)
    hyg = p.visit_amount_cents[p.visit_department == HYG] / 100
    cv = hyg.std() / hyg.mean()
    assert 0.3 < cv < 1.0
    # the fee level is the patient's own: a patient's hygiene lines sit around a level of their own
    pats = p.visit_patient[p.visit_department == HYG]
    mean_by = np.bincount(pats, weights=hyg, minlength=p.n_patients) / np.maximum(
        np.bincount(pats, minlength=p.n_patients), 1
    )
    many = np.bincount(pats, minlength=p.n_patients) >= 8
    assert np.quantile(mean_by[many], 0.9) > 1.6 * np.quantile(mean_by[many], 0.1)


@pytest.mark.parametrize("seed", [7, 11])
def test_demo_gamma_gamma_fit_is_finite_and_sane(seed):
    """The demo's own spend exercises the real Gamma-Gamma model: finite parameters, p and q in a plausible
    range (not the degenerate p of a practice without spread per patient), mean spend per visit near the
    data's."""
    import scoring
    from scoring import VisitArrays

    p = synth.generate(n_patients=2000, years=6.0, seed=seed, as_of=datetime.date(2026, 12, 4))
    key = p.visit_patient.astype(np.int64) * 10**6 + p.visit_day
    order = np.argsort(key, kind="stable")
    starts = np.flatnonzero(np.r_[True, key[order][1:] != key[order][:-1]])
    amount = np.add.reduceat(p.visit_amount_cents[order], starts) / 100
    visits = VisitArrays(
        p.visit_patient[order][starts].astype(np.int64),
        p.visit_day[order][starts].astype(np.int64),
        amount,
        amount,
        np.ones(starts.size, dtype=np.uint32),
    )
    result = scoring.score_patients(visits, p.n_patients, p.as_of_day)
    gg = result.gamma_gamma
    assert result.spend_model == scoring.GAMMA_GAMMA and gg is not None
    assert all(np.isfinite([gg.p, gg.q, gg.v, gg.log_likelihood]))
    assert 0.5 < gg.p < 100 and 1.5 < gg.q < 20 and gg.v > 1
    population_mean = gg.p * gg.v / (gg.q - 1)
    assert 0.5 * amount.mean() < population_mean < 2 * amount.mean()
