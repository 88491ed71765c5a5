"""Synthetic dental/medical practice: patients, contact data and visit lines.

Pure numpy + stdlib (no database, no network).  ``generate`` is vectorised: 1,000,000
patients give 9,404,511 visit lines (seed 7, years 6) in about 5 s and ~1 GB;
``write_visits_csv`` writes them in about 10 s.  This docstring is the exact generative
process, so tests can check that scoring recovers what was put in.

Time
----
Days are integers counted from 1970-01-01.  ``A`` is the day of ``as_of`` (default:
today), ``Y = 365.25`` days (durations ``x*Y`` are rounded to whole days), and the
records window is ``[S, A]`` with ``S = A - round(years * Y)``.  "U[a, b]" is a uniform
integer day in ``[a, b]`` (``b`` raised to ``a`` when smaller).  Every random draw is an
offset from ``A``: the same seed with another ``as_of`` gives the same practice with
every date shifted by the same number of days.

Archetypes (drawn i.i.d. per patient; the truth is kept in ``archetype``, ``alive``,
``join_day`` and ``churn_day``)
------------------------------------------------------------------------------------
=================  =====  ================================================  =====
archetype          share  join day; end of activity                          alive
=================  =====  ================================================  =====
loyal_big_spender  10 %   E(4Y): tenure >= 4 years                           True
regular            35 %   E(1.5Y)                                            True
occasional         20 %   E(2Y)                                              True
drifter            10 %   E(3Y)                                              True
mover               5 %   join U[S, A-2Y]; moves on m = U[join+180, A-90]    False
stopped            15 %   churns on c = max(U[A-3Y, A-Y], S);                False
                          join = min(U[S, c-Y], c)
new                 5 %   join U[A-364, A] (clipped >= S)                    True
=================  =====  ================================================  =====

E(t) ("established"): with probability 0.4 the patient was already a patient when the
records start and join = U[S, min(S+182, A-t)] (their first recall in the window);
otherwise join = U[S, A-t].  ``churn_day`` is m (movers) or c (stopped), and
``NO_CHURN_DAY`` (int64 max) for alive patients.  Every patient's first visit is on
``join_day`` (= the patient's earliest visit day), and every visit day lies in
``[join_day, min(A, churn_day)]`` ("end" below).

Visits
------
1. Recall (hygiene) visits, for every archetype except ``new``: the first on the join
   day, then gaps ``g_k = base * growth**k * j_k * s_k`` (k = 0, 1, ...) with jitter
   ``j_k = clip(exp(sigma * N(0, 1)), 0.6, 1.8)`` and ``s_k = 2`` with probability
   ``skip`` (a missed recall), else 1; days ``join + floor(cumsum(g))`` while ``<= end``.

   =================  =====  =====  ====  ======
   archetype          base   sigma  skip  growth
   =================  =====  =====  ====  ======
   loyal_big_spender  182 d  0.08   0.03  1.0
   regular            182 d  0.15   0.05  1.0
   occasional         365 d  0.30   0.15  1.0
   drifter            210 d  0.25   0     1.5    (gaps grow by half each time)
   mover              182 d  0.15   0.10  1.0
   stopped            182 d  0.20   0.10  1.0
   =================  =====  =====  ====  ======

2. Treatment visits: per department a Poisson number with mean
   ``rate * (end - join) / Y``, each on U[join, end].  Rates per year:

   =================  ===========  ========  ============  =========
   archetype          restorative  cosmetic  orthodontics  specialty
   =================  ===========  ========  ============  =========
   loyal_big_spender  1.50         0.70      0.30          0.60
   regular            0.15         0.01      0             0.02
   occasional         0.15         0         0             0
   drifter            0.10         0         0             0
   mover              0.25         0         0             0.02
   stopped            0.30         0         0             0.03
   =================  ===========  ========  ============  =========

3. ``new`` patients: one hygiene visit on the join day and, with probability 0.5, a
   restorative visit on join + U[7, 90] if that is ``<= A`` (so 1-2 visits).

4. Same-day second lines: each line of steps 1-3 gets, with probability 0.05, a second
   line on the same day: restorative when the first line is hygiene (loyal_big_spender:
   restorative 0.5 / cosmetic 0.3 / specialty 0.2), hygiene otherwise.  A patient-day
   never has more than 2 lines: rare chance collisions beyond that are dropped (the
   later-generated line goes).  About 5 % of visit days end up with 2 lines.

Amounts, as real treatment varies: each line is one procedure of its department, drawn
with the probabilities below; its price is whole dollars, lognormal with the procedure's
median and sigma 0.15, redrawn until inside the procedure's ``[lo, hi]``, then times the
patient's fee level ``f`` and rounded to whole dollars.  ``f = clip(exp(0.4 N(0, 1)), 0.5,
2)``, drawn once per patient (fee schedules differ: cash or insured, the plan's network),
so a patient's spend per visit has the spread of their treatments (a cleaning, a crown, an
implant) around a level of their own: the shape the Gamma-Gamma spend model describes.
A department's amounts lie in ``[0.5 min lo, 2 max hi]``.

=============  ==========================  =====  ======  ======  ======
department     procedure                   p      median  lo      hi
=============  ==========================  =====  ======  ======  ======
hygiene        cleaning                    0.65   $95     $80     $140
               exam, cleaning and x-rays   0.25   $190    $150    $280
               periodontal maintenance     0.10   $160    $120    $230
restorative    filling                     0.55   $220    $120    $400
               crown                       0.25   $1,250  $900    $1,800
               root canal                  0.12   $1,050  $700    $1,500
               extraction                  0.08   $260    $150    $450
cosmetic       whitening                   0.50   $450    $300    $700
               veneer                      0.35   $1,400  $900    $2,200
               bonding                     0.15   $400    $250    $650
orthodontics   adjustment visit            0.80   $250    $150    $400
               appliance                   0.20   $2,200  $1,500  $3,200
specialty      implant                     0.35   $3,800  $2,800  $5,000
               bone graft                  0.20   $700    $400    $1,100
               periodontal surgery         0.45   $900    $400    $1,600
=============  ==========================  =====  ======  ======  ======

Resulting annual spend (total / years from join to end), mean (median), 200,000 patients,
seed 7: loyal_big_spender ~$3,370 ($3,010), regular ~$490 ($390), occasional ~$260 ($190),
drifter ~$220 ($165), mover ~$570 ($390) and stopped ~$600 ($420), with 4.7 distinct
departments per loyal_big_spender and 1.8 per regular.
Visit lines per patient: loyal 28.7, regular 10.4, occasional 5.5, drifter 5.3,
mover 5.3, stopped 6.1, new 1.5; 9.4 overall.

Paid: with probability 0.03 a line is partly unpaid, ``paid = floor(amount * U(0.1,
0.9))`` cents; otherwise ``paid == amount``.  Providers (``PROVIDERS``): hygiene lines
go to the patient's preferred hygienist (Patel 0.55 / Moore 0.45) with probability
0.85, else the other one; restorative Rivera 0.6 / Chen 0.4; cosmetic Rivera 0.9 /
Chen 0.1; orthodontics Chen; specialty Rivera 0.3 / Chen 0.7.  Visit arrays are sorted
by (day, patient), generation order breaking ties; the CSV ``visit_id`` follows it.

Patients
--------
* ``patient_id`` "P000001", "P000002", ... (at least 6 digits); first and last names
  uniform from the fixed ``FIRST_NAMES`` / ``LAST_NAMES`` (names repeat).
* ``phone``: E.164 ``+1 NPA 555 XXXX``, unique across all phones and second phones,
  drawn without replacement: 60 % of the needed numbers (at most the 80,000 available)
  from the DC-area ``LOCAL_AREA_CODES``, the rest from ``NATIONAL_AREA_CODES``; every
  such number is valid for region US in ``phonenumbers``.  With probability 0.05 a
  patient has a second phone in ``phone2`` ("" otherwise).  Movers keep their phones.
  At most ``MAX_PATIENTS`` patients (the size of that phone space).
* ``email``: "" with probability 0.20, else ``first.last<index+1>@example.{com,net,org}``
  (letters only in the local part).
* ``zip``: uniform from the DC zips ``LOCAL_ZIPS``.  Movers: ``previous_zip`` is that DC
  zip and ``zip`` uniform from ``FAR_ZIPS``.  Besides, each non-mover, non-new patient
  moved within DC with probability 0.02: ``previous_zip`` the old DC zip, ``zip``
  another one.  ``previous_zip`` is "" for everybody else.
* Consents, independent Bernoulli: ``consent_voice`` 0.70, ``consent_sms`` 0.60,
  ``consent_written`` 0.35, ``opted_out`` 0.03 (an opted-out patient may still carry
  consent flags; opting out wins).

Fixed demo patients (the same for every seed, dates relative to ``as_of``)
---------------------------------------------------------------------------
* index 0, "P000001" Margaret Ellison, +12025550143, loyal_big_spender, alive: hygiene
  about every 6 months for ~5.6 years (last 21 days ago, with a restorative line the
  same day), crown, veneers, orthodontics, implants (~$3,700/year), a cosmetic visit
  7 days ago; zip 20016, email margaret.ellison@example.com, all consents, no phone2.
* index 1, "P000002" Tom Novak, +12025550177, regular, alive: hygiene every ~6 months
  for ~4.2 years (last 58 days ago) plus one $210 filling (~$300/year); zip 20002,
  no email, voice and SMS consent, no written consent, no phone2.
Their lines before ``S`` are dropped (join = earliest remaining line); all are paid.
The random process above fills indices 2.. (1.. when ``n_patients == 1``); values it
draws for the demo indices are overwritten.
"""

from __future__ import annotations

import datetime
import os
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "ARCHETYPES",
    "ARCHETYPE_PROPORTIONS",
    "DEPARTMENTS",
    "MAX_PATIENTS",
    "NO_CHURN_DAY",
    "PROVIDERS",
    "SynthPractice",
    "date_to_day",
    "day_to_date",
    "generate",
    "write_patients_csv",
    "write_visits_csv",
]

DEPARTMENTS = ("hygiene", "restorative", "cosmetic", "orthodontics", "specialty")
ARCHETYPES = ("loyal_big_spender", "regular", "occasional", "drifter", "mover", "stopped", "new")
PROVIDERS = ("Dr. Rivera", "Dr. Chen", "Hygienist Patel", "Hygienist Moore")
ARCHETYPE_PROPORTIONS = (0.10, 0.35, 0.20, 0.10, 0.05, 0.15, 0.05)

HYG, RES, COS, ORT, SPE = range(5)
LOYAL, REGULAR, OCCASIONAL, DRIFTER, MOVER, STOPPED, NEW = range(7)
RIVERA, CHEN, PATEL, MOORE = range(4)

NO_CHURN_DAY = int(np.iinfo(np.int64).max)
YEAR = 365.25
_EPOCH_ORDINAL = datetime.date(1970, 1, 1).toordinal()

# (base days, sigma, skip probability, growth) per archetype; NEW has no recall process.
_RECALL = {
    LOYAL: (182.0, 0.08, 0.03, 1.0),
    REGULAR: (182.0, 0.15, 0.05, 1.0),
    OCCASIONAL: (365.0, 0.30, 0.15, 1.0),
    DRIFTER: (210.0, 0.25, 0.00, 1.5),
    MOVER: (182.0, 0.15, 0.10, 1.0),
    STOPPED: (182.0, 0.20, 0.10, 1.0),
}
_JITTER_CLIP = (0.6, 1.8)
_EXISTING_AT_START_P = 0.4  # established archetypes: already patients when the records start
_EXISTING_FIRST_VISIT_DAYS = 182
# treatment visits per year of tenure: {archetype: {department: rate}}
_TREATMENT_RATES = {
    LOYAL: {RES: 1.50, COS: 0.70, ORT: 0.30, SPE: 0.60},
    REGULAR: {RES: 0.15, COS: 0.01, SPE: 0.02},
    OCCASIONAL: {RES: 0.15},
    DRIFTER: {RES: 0.10},
    MOVER: {RES: 0.25, SPE: 0.02},
    STOPPED: {RES: 0.30, SPE: 0.03},
}
_NEW_SECOND_VISIT_P = 0.5
_PAIR_P = 0.05
_LOYAL_PAIR_DEPTS = (np.array([RES, COS, SPE]), np.array([0.5, 0.3, 0.2]))
# per department: (procedure, probability, median dollars, lo dollars, hi dollars)
PROCEDURES = (
    (
        ("cleaning", 0.65, 95, 80, 140),
        ("exam, cleaning and x-rays", 0.25, 190, 150, 280),
        ("periodontal maintenance", 0.10, 160, 120, 230),
    ),
    (
        ("filling", 0.55, 220, 120, 400),
        ("crown", 0.25, 1250, 900, 1800),
        ("root canal", 0.12, 1050, 700, 1500),
        ("extraction", 0.08, 260, 150, 450),
    ),
    (("whitening", 0.50, 450, 300, 700), ("veneer", 0.35, 1400, 900, 2200), ("bonding", 0.15, 400, 250, 650)),
    (("adjustment visit", 0.80, 250, 150, 400), ("appliance", 0.20, 2200, 1500, 3200)),
    (
        ("implant", 0.35, 3800, 2800, 5000),
        ("bone graft", 0.20, 700, 400, 1100),
        ("periodontal surgery", 0.45, 900, 400, 1600),
    ),
)
_PROCEDURE_SIGMA = 0.15
_FEE_SIGMA = 0.4
_FEE_CLIP = (0.5, 2.0)
_UNPAID_P = 0.03
_UNPAID_FRACTION = (0.1, 0.9)
_PREFERRED_HYGIENIST_P = (0.55, 0.45)  # Patel, Moore
_SAME_HYGIENIST_P = 0.85
# P(Dr. Rivera) per non-hygiene department, else Dr. Chen
_RIVERA_P = {RES: 0.6, COS: 0.9, ORT: 0.0, SPE: 0.3}

_EMAIL_MISSING_P = 0.20
_SECOND_PHONE_P = 0.05
_LOCAL_PHONE_SHARE = 0.60
_LOCAL_MOVE_P = 0.02
_CONSENT_P = {"voice": 0.70, "sms": 0.60, "written": 0.35, "opted_out": 0.03}

FIRST_NAMES = (
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Daniel",
    "Nancy",
    "Matthew",
    "Lisa",
    "Anthony",
    "Betty",
    "Mark",
    "Sandra",
    "Steven",
    "Ashley",
    "Andrew",
    "Emily",
    "Kevin",
    "Michelle",
    "Brian",
    "Amanda",
    "Jose",
    "Melissa",
    "Wei",
    "Priya",
    "Aisha",
    "Mohammed",
    "Sofia",
    "Luis",
    "Grace",
    "Hannah",
    "Kwame",
    "Yuki",
    "Olga",
    "Tom",
    "Margaret",
    "Fatima",
    "Diego",
    "Chloe",
    "Noah",
    "Ava",
    "Ethan",
    "Mia",
    "Omar",
    "Leila",
)
LAST_NAMES = (
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
    "Chen",
    "Patel",
    "Kim",
    "Okafor",
    "O'Connor",
    "Novak",
    "Ellison",
    "Washington",
    "Kowalski",
    "Schmidt",
    "Haddad",
    "Tanaka",
    "Mensah",
    "Ivanova",
    "Dubois",
    "Rossi",
    "Murphy",
    "Cohen",
    "Singh",
    "Ali",
    "Park",
    "Nakamura",
    "Fitzgerald",
    "Brooks",
    "Price",
    "Bennett",
    "Wood",
    "Barnes",
    "Ross",
    "Henderson",
)
LOCAL_ZIPS = (
    "20001",
    "20002",
    "20003",
    "20004",
    "20005",
    "20006",
    "20007",
    "20008",
    "20009",
    "20010",
    "20011",
    "20012",
    "20015",
    "20016",
    "20017",
    "20018",
    "20019",
    "20020",
    "20024",
    "20032",
    "20036",
    "20037",
)
FAR_ZIPS = (
    "10001",
    "10025",
    "02139",
    "60614",
    "30307",
    "33139",
    "78704",
    "80205",
    "85004",
    "90026",
    "94110",
    "98103",
    "97214",
    "55408",
    "37206",
    "48201",
    "63110",
    "96813",
)
_EMAIL_DOMAINS = ("example.com", "example.net", "example.org")

# Real US area codes; +1 NPA 555 XXXX is valid for phonenumbers (region US) for all of them.
LOCAL_AREA_CODES = (202, 301, 240, 703, 571, 410, 443, 667)
NATIONAL_AREA_CODES = tuple(
    int(x)
    for x in """
201 203 205 206 207 208 209 210 212 213 214 215 216 217 218 219 224 225 228 229 231 234 239 248
251 252 253 254 256 260 262 267 269 270 272 276 281 302 303 304 305 307 308 309 310 312 313 314
315 316 317 318 319 320 321 323 325 330 331 334 336 337 339 346 347 351 352 360 361 385 386 401
402 404 405 406 407 408 409 412 413 414 415 417 419 423 424 425 430 432 434 435 440 458 469 470
475 478 479 480 484 501 502 503 504 505 507 508 509 510 512 513 515 516 517 518 520 530 540 541
551 559 561 562 563 567 570 573 574 575 580 585 586 601 602 603 605 606 607 608 609 610 612 614
615 616 617 618 619 620 623 626 630 631 636 641 646 650 651 660 661 662 678 682 701 702 704 706
707 708 712 713 714 715 716 717 718 719 720 724 727 731 732 734 737 740 754 757 760 763 765 770
772 773 774 775 779 781 785 786 801 802 803 804 805 806 808 810 812 813 814 815 816 817 818 828
830 831 832 843 845 847 848 850 856 857 858 859 860 862 863 864 865 870 878 901 903 904 906 907
908 909 910 912 913 914 915 916 917 918 919 920 925 928 931 936 937 940 941 947 949 951 952 954
956 970 971 972 973 978 979 980 985 989
""".split()
)
_SUBSCRIBERS_PER_NPA = 10_000
_PHONE_CAPACITY = (len(LOCAL_AREA_CODES) + len(NATIONAL_AREA_CODES)) * _SUBSCRIBERS_PER_NPA
# Leaves room for the demo numbers and second phones for (up to) every 5th patient.
MAX_PATIENTS = int((_PHONE_CAPACITY - 2) / 1.2)


# --------------------------------------------------------------------------- demo patients
# (first, last, phone, archetype, zip, email, voice, sms, written, opted_out)
_DEMO_PATIENTS = (
    (
        "Margaret",
        "Ellison",
        "+12025550143",
        LOYAL,
        "20016",
        "margaret.ellison@example.com",
        True,
        True,
        True,
        False,
    ),
    ("Tom", "Novak", "+12025550177", REGULAR, "20002", "", True, True, False, False),
)
_DEMO_PHONE_POOL_INDEX = (143, 177)  # subscriber numbers under NPA 202 (local pool index 0)
_Treatments = tuple[tuple[int, int, int, int], ...]
_MARGARET_TREATMENTS: _Treatments = (  # (days before as_of, department, provider, dollars)
    (2010, RES, RIVERA, 1180),
    (1835, COS, RIVERA, 2350),
    (1650, ORT, CHEN, 2900),
    (1470, ORT, CHEN, 1800),
    (1290, ORT, CHEN, 1800),
    (1110, SPE, CHEN, 1650),
    (930, RES, RIVERA, 820),
    (750, COS, RIVERA, 1400),
    (560, SPE, CHEN, 1200),
    (470, RES, RIVERA, 640),
    (290, COS, RIVERA, 2100),
    (21, RES, RIVERA, 460),
    (7, COS, RIVERA, 450),
)
_TOM_TREATMENTS: _Treatments = ((640, RES, CHEN, 210),)
_JITTER_PATTERN = (0, 4, -3, 6, -5, 2, 8, -2, 3, -6, 5, 1)


def _demo_history(index: int) -> tuple[list[int], list[int], list[int], list[int]]:
    """Fixed (days_before_as_of, department, provider, cents) lines of a demo patient."""
    if index == 0:
        last, step, first_ago, hyg_prices, hygienist, treat = (
            21,
            182,
            2040,
            (145, 150, 145, 160),
            PATEL,
            _MARGARET_TREATMENTS,
        )
    else:
        last, step, first_ago, hyg_prices, hygienist, treat = (
            58,
            183,
            1535,
            (118, 122, 128, 120),
            MOORE,
            _TOM_TREATMENTS,
        )
    ago: list[int] = []
    dept: list[int] = []
    prov: list[int] = []
    cents: list[int] = []
    k = 0
    while (d := last + step * k + _JITTER_PATTERN[k % len(_JITTER_PATTERN)]) <= first_ago:
        ago.append(d)
        dept.append(HYG)
        prov.append(hygienist)
        cents.append(hyg_prices[k % len(hyg_prices)] * 100)
        k += 1
    for d, dp, pv, dollars in treat:
        ago.append(d)
        dept.append(dp)
        prov.append(pv)
        cents.append(dollars * 100)
    return ago, dept, prov, cents


# --------------------------------------------------------------------------- data class
@dataclass(frozen=True, eq=False)
class SynthPractice:
    """A generated practice.  Patient fields are parallel (length ``n_patients``); visit
    fields are parallel (one row per visit line, sorted by day then patient)."""

    as_of: datetime.date
    patient_id: list[str]
    first_name: list[str]
    last_name: list[str]
    phone: list[str]
    phone2: list[str]
    email: list[str]
    zip: list[str]
    previous_zip: list[str]
    consent_voice: np.ndarray
    consent_sms: np.ndarray
    consent_written: np.ndarray
    opted_out: np.ndarray
    archetype: np.ndarray  # int8 index into ARCHETYPES (truth)
    alive: np.ndarray  # bool (truth): still a patient as of as_of
    join_day: np.ndarray  # int64 (truth): day of first visit
    churn_day: np.ndarray  # int64 (truth): move/stop day, NO_CHURN_DAY when alive
    visit_patient: np.ndarray  # int64 index into patients
    visit_day: np.ndarray  # int64 days since 1970-01-01
    visit_amount_cents: np.ndarray  # int64
    visit_paid_cents: np.ndarray  # int64
    visit_department: np.ndarray  # int8 index into DEPARTMENTS
    visit_provider: np.ndarray  # int8 index into PROVIDERS

    @property
    def n_patients(self) -> int:
        return len(self.patient_id)

    @property
    def n_visits(self) -> int:
        return int(self.visit_day.shape[0])

    @property
    def as_of_day(self) -> int:
        return date_to_day(self.as_of)


def date_to_day(d: datetime.date) -> int:
    """Days since 1970-01-01."""
    return d.toordinal() - _EPOCH_ORDINAL


def day_to_date(day: int) -> datetime.date:
    """Inverse of ``date_to_day``."""
    return datetime.date.fromordinal(int(day) + _EPOCH_ORDINAL)


# --------------------------------------------------------------------------- helpers
def _uniform_day(rng: np.random.Generator, lo: Any, hi: Any) -> np.ndarray:
    """Uniform integer in [lo, hi] elementwise (hi raised to lo when smaller)."""
    lo = np.asarray(lo, dtype=np.int64)
    hi = np.maximum(np.asarray(hi, dtype=np.int64), lo)
    u = rng.random(np.broadcast(lo, hi).shape)
    out: np.ndarray = lo + np.floor(u * (hi - lo + 1)).astype(np.int64)
    return out


def _recall_days(
    rng: np.random.Generator,
    join: np.ndarray,
    end: np.ndarray,
    base: float,
    sigma: float,
    skip: float,
    growth: float,
    chunk: int = 200_000,
) -> tuple[np.ndarray, np.ndarray]:
    """Renewal process per patient: (row index into join/end, day) of every recall visit."""
    rows_out, days_out = [], []
    min_gap = base * _JITTER_CLIP[0]
    for start in range(0, join.shape[0], chunk):
        j = join[start : start + chunk]
        span = end[start : start + chunk] - j
        if j.shape[0] == 0:
            continue
        k = int(np.ceil(max(int(span.max()), 0) / min_gap)) + 1  # max visits incl. the first
        if k > 1:
            z = rng.standard_normal((j.shape[0], k - 1))
            gaps = np.clip(np.exp(sigma * z), *_JITTER_CLIP) * base
            if skip > 0:
                gaps *= np.where(rng.random(gaps.shape) < skip, 2.0, 1.0)
            if growth != 1.0:
                gaps *= growth ** np.arange(k - 1, dtype=np.float64)
            offs = np.empty((j.shape[0], k), dtype=np.int64)
            offs[:, 0] = 0
            offs[:, 1:] = np.floor(np.cumsum(gaps, axis=1))
        else:
            offs = np.zeros((j.shape[0], 1), dtype=np.int64)
        mask = offs <= span[:, None]
        r, _ = np.nonzero(mask)
        rows_out.append(r.astype(np.int64) + start)
        days_out.append(j[r] + offs[mask])
    if not rows_out:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(rows_out), np.concatenate(days_out)


def _trunc_lognormal_dollars(
    rng: np.random.Generator, median: np.ndarray, sigma: float, lo: np.ndarray, hi: np.ndarray
) -> np.ndarray:
    """Whole-dollar lognormal(log median, sigma) redrawn until inside [lo, hi] (element-wise bounds)."""
    out = median * np.exp(sigma * rng.standard_normal(median.shape))
    bad = np.nonzero((out < lo) | (out > hi))[0]
    while bad.size:
        out[bad] = median[bad] * np.exp(sigma * rng.standard_normal(bad.shape[0]))
        bad = bad[(out[bad] < lo[bad]) | (out[bad] > hi[bad])]
    dollars: np.ndarray = np.clip(np.rint(out), lo, hi).astype(np.int64)
    return dollars


def _procedure_cents(rng: np.random.Generator, dept: np.ndarray, fee: np.ndarray) -> np.ndarray:
    """Per line: a procedure of its department (by the documented probabilities), its truncated lognormal
    price, times the patient's fee level `fee` (per line), in whole dollars as cents."""
    m = dept.shape[0]
    median, lo, hi = np.zeros(m), np.zeros(m), np.zeros(m)
    for d, menu in enumerate(PROCEDURES):
        sel = np.flatnonzero(dept == d)
        probs = np.array([row[1] for row in menu])
        pick = np.searchsorted(np.cumsum(probs) / probs.sum(), rng.random(sel.size), side="right")
        pick = np.minimum(pick, len(menu) - 1)
        for col, out in ((2, median), (3, lo), (4, hi)):
            out[sel] = np.array([row[col] for row in menu], dtype=np.float64)[pick]
    price = _trunc_lognormal_dollars(rng, median, _PROCEDURE_SIGMA, lo, hi)
    cents: np.ndarray = (np.rint(price * fee).astype(np.int64) * 100).astype(np.int64)
    return cents


def _uniform01(rng: np.random.Generator, n: int) -> np.ndarray:
    out: np.ndarray = rng.random(int(n))
    return out


def _bernoulli(rng: np.random.Generator, p: float, n: int) -> np.ndarray:
    return _uniform01(rng, n) < p


_EMAIL_CLEAN = re.compile(r"[^a-z]")


# --------------------------------------------------------------------------- generate
def generate(
    n_patients: int = 2000, years: float = 6.0, seed: int = 7, *, as_of: datetime.date
) -> SynthPractice:
    """Generate a practice with ``n_patients`` patients over ``years`` years up to
    ``as_of`` (the caller's "today", from its clock).  Deterministic for (n_patients, years, seed, as_of)."""
    if isinstance(n_patients, bool) or not isinstance(n_patients, (int, np.integer)):
        raise TypeError("n_patients must be an int")
    n = int(n_patients)
    if n < 1:
        raise ValueError("n_patients must be >= 1")
    if n > MAX_PATIENTS:
        raise ValueError(f"n_patients must be <= {MAX_PATIENTS} (unique 555 phone numbers)")
    if not (1.0 <= float(years) <= 50.0):
        raise ValueError("years must be between 1 and 50")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError("seed must be a non-negative int")
    if isinstance(as_of, datetime.datetime):
        as_of = as_of.date()

    A = date_to_day(as_of)
    S = A - int(round(float(years) * YEAR))
    Yd = int(round(YEAR))

    def yrs(x: float) -> int:
        return int(round(x * YEAR))

    streams = np.random.SeedSequence(int(seed)).spawn(8)
    r_arch, r_time, r_ident, r_phone, r_contact, r_visit, r_amount, r_misc = (
        np.random.default_rng(s) for s in streams
    )

    n_demo = min(n, len(_DEMO_PATIENTS))
    idx_all = np.arange(n, dtype=np.int64)

    # ---- archetypes
    archetype = r_arch.choice(len(ARCHETYPES), size=n, p=np.array(ARCHETYPE_PROPORTIONS)).astype(np.int8)
    for i in range(n_demo):
        archetype[i] = _DEMO_PATIENTS[i][3]
    alive = ~np.isin(archetype, (MOVER, STOPPED))

    # ---- join / churn days
    join = np.zeros(n, dtype=np.int64)
    churn = np.full(n, NO_CHURN_DAY, dtype=np.int64)
    established_min_tenure = {LOYAL: 4.0, REGULAR: 1.5, OCCASIONAL: 2.0, DRIFTER: 3.0}
    for a in range(len(ARCHETYPES)):
        sel = np.nonzero(archetype == a)[0]
        if a in established_min_tenure:
            hi = A - yrs(established_min_tenure[a])
            existing = r_time.random(sel.size) < _EXISTING_AT_START_P
            hi_sel = np.where(existing, min(hi, S + _EXISTING_FIRST_VISIT_DAYS), hi)
            join[sel] = _uniform_day(r_time, np.full(sel.size, S), hi_sel)
        elif a == MOVER:
            join[sel] = _uniform_day(r_time, np.full(sel.size, S), A - yrs(2))
            churn[sel] = np.minimum(_uniform_day(r_time, join[sel] + 180, A - 90), A)
        elif a == STOPPED:
            c = np.maximum(_uniform_day(r_time, np.full(sel.size, A - yrs(3)), A - Yd), S)
            join[sel] = np.minimum(_uniform_day(r_time, np.full(sel.size, S), c - Yd), c)
            churn[sel] = c
        else:  # NEW
            join[sel] = _uniform_day(r_time, np.full(sel.size, max(S, A - 364)), A)
    end = np.minimum(churn, A)

    # ---- synthetic visit lines (patients n_demo..n-1)
    synth = idx_all[n_demo:]
    pats, days, depts = [], [], []
    arch_s = archetype[synth]
    for a, (base, sigma, skip, growth) in _RECALL.items():
        sel = synth[arch_s == a]
        rows, d = _recall_days(r_visit, join[sel], end[sel], base, sigma, skip, growth)
        pats.append(sel[rows])
        days.append(d)
        depts.append(np.full(d.shape[0], HYG, np.int8))
    for a, rates in _TREATMENT_RATES.items():
        sel = synth[arch_s == a]
        tenure_years = (end[sel] - join[sel]) / YEAR
        for dept, rate in rates.items():
            counts = r_visit.poisson(rate * tenure_years)
            p = np.repeat(sel, counts)
            pats.append(p)
            days.append(_uniform_day(r_visit, join[p], end[p]))
            depts.append(np.full(p.shape[0], dept, np.int8))
    sel = synth[arch_s == NEW]
    pats.append(sel)
    days.append(join[sel])
    depts.append(np.full(sel.shape[0], HYG, np.int8))
    second = sel[r_visit.random(sel.shape[0]) < _NEW_SECOND_VISIT_P]
    d2 = join[second] + _uniform_day(r_visit, np.full(second.shape[0], 7), 90)
    ok = d2 <= A
    pats.append(second[ok])
    days.append(d2[ok])
    depts.append(np.full(int(ok.sum()), RES, np.int8))

    v_pat = np.concatenate(pats)
    v_day = np.concatenate(days)
    v_dept = np.concatenate(depts)
    del pats, days, depts

    # same-day second lines
    pair = np.nonzero(_uniform01(r_visit, v_pat.shape[0]) < _PAIR_P)[0]
    p_pat = v_pat[pair]
    p_dept = np.where(v_dept[pair] == HYG, RES, HYG).astype(np.int8)
    loyal_hyg = np.nonzero((archetype[p_pat] == LOYAL) & (v_dept[pair] == HYG))[0]
    choices, probs = _LOYAL_PAIR_DEPTS
    p_dept[loyal_hyg] = choices[
        np.searchsorted(np.cumsum(probs), r_visit.random(loyal_hyg.size), side="right").clip(
            0, len(choices) - 1
        )
    ]
    v_pat = np.concatenate([v_pat, p_pat])
    v_day = np.concatenate([v_day, v_day[pair]])
    v_dept = np.concatenate([v_dept, p_dept])
    del pair, p_pat, p_dept

    # amounts: a procedure of the line's department at its price, times the patient's fee level
    v_cents = _procedure_cents(
        r_amount, v_dept, np.clip(np.exp(_FEE_SIGMA * r_amount.standard_normal(n)), *_FEE_CLIP)[v_pat]
    )
    unpaid = _uniform01(r_amount, v_pat.shape[0]) < _UNPAID_P
    v_paid = v_cents.copy()
    frac = r_amount.uniform(*_UNPAID_FRACTION, size=int(unpaid.sum()))
    v_paid[unpaid] = np.floor(v_cents[unpaid] * frac).astype(np.int64)

    # providers
    preferred = np.where(r_misc.random(n) < _PREFERRED_HYGIENIST_P[0], PATEL, MOORE).astype(np.int8)
    u = _uniform01(r_misc, v_pat.shape[0])
    v_prov = np.where(u < _SAME_HYGIENIST_P, preferred[v_pat], PATEL + MOORE - preferred[v_pat]).astype(
        np.int8
    )
    for dept, p_riv in _RIVERA_P.items():
        sel_l = v_dept == dept
        v_prov[sel_l] = np.where(u[sel_l] < p_riv, RIVERA, CHEN)
    del u

    # ---- demo patients' fixed histories
    if n_demo:
        dp, dd, ddep, dprov, dc = [], [], [], [], []
        for i in range(n_demo):
            ago, dep_l, prov_l, cents_l = _demo_history(i)
            keep = [k for k, x in enumerate(ago) if A - x >= S]
            if not keep:  # years >= 1 makes this unreachable; keep the latest line anyway
                keep = [int(np.argmin(ago))]
            dp += [i] * len(keep)
            dd += [A - ago[k] for k in keep]
            ddep += [dep_l[k] for k in keep]
            dprov += [prov_l[k] for k in keep]
            dc += [cents_l[k] for k in keep]
            join[i] = min(A - ago[k] for k in keep)
            churn[i] = NO_CHURN_DAY
        v_pat = np.concatenate([np.asarray(dp, np.int64), v_pat])
        v_day = np.concatenate([np.asarray(dd, np.int64), v_day])
        v_dept = np.concatenate([np.asarray(ddep, np.int8), v_dept])
        v_prov = np.concatenate([np.asarray(dprov, np.int8), v_prov])
        v_cents = np.concatenate([np.asarray(dc, np.int64), v_cents])
        v_paid = np.concatenate([np.asarray(dc, np.int64), v_paid])

    # ---- sort by (day, patient), generation order as tie-break; cap at 2 lines per day
    key = (v_day - S) * n + v_pat
    order = np.argsort(key, kind="stable")
    key = key[order]
    same = np.zeros(key.shape[0], dtype=bool)
    same[1:] = key[1:] == key[:-1]
    run_start = np.where(~same, np.arange(key.shape[0]), 0)
    np.maximum.accumulate(run_start, out=run_start)
    keep_sorted = (np.arange(key.shape[0]) - run_start) < 2
    order = order[keep_sorted]
    del key, same, run_start, keep_sorted
    v_pat, v_day, v_cents, v_paid = v_pat[order], v_day[order], v_cents[order], v_paid[order]
    v_dept, v_prov = v_dept[order], v_prov[order]
    del order

    # ---- identity and contact data
    first_idx = r_ident.integers(len(FIRST_NAMES), size=n)
    last_idx = r_ident.integers(len(LAST_NAMES), size=n)
    first_name = [FIRST_NAMES[i] for i in first_idx.tolist()]
    last_name = [LAST_NAMES[i] for i in last_idx.tolist()]
    has_email = r_contact.random(n) >= _EMAIL_MISSING_P
    domain_idx = r_contact.integers(len(_EMAIL_DOMAINS), size=n).tolist()
    email = [
        f"{f.lower()}.{_EMAIL_CLEAN.sub('', last.lower())}{i + 1}@{_EMAIL_DOMAINS[d]}" if h else ""
        for i, (f, last, d, h) in enumerate(
            zip(first_name, last_name, domain_idx, has_email.tolist(), strict=True)
        )
    ]
    consent_voice = _bernoulli(r_contact, _CONSENT_P["voice"], n)
    consent_sms = _bernoulli(r_contact, _CONSENT_P["sms"], n)
    consent_written = _bernoulli(r_contact, _CONSENT_P["written"], n)
    opted_out = _bernoulli(r_contact, _CONSENT_P["opted_out"], n)

    # zips
    zip_idx = r_contact.integers(len(LOCAL_ZIPS), size=n)
    far_idx = r_contact.integers(len(FAR_ZIPS), size=n)
    local_move = (r_contact.random(n) < _LOCAL_MOVE_P) & ~np.isin(archetype, (MOVER, NEW))
    new_zip_idx = (zip_idx + 1 + r_contact.integers(len(LOCAL_ZIPS) - 1, size=n)) % len(LOCAL_ZIPS)
    zip_codes: list[str] = []
    previous_zip: list[str] = []
    for a, zi, fi, lm, nz in zip(
        archetype.tolist(),
        zip_idx.tolist(),
        far_idx.tolist(),
        local_move.tolist(),
        new_zip_idx.tolist(),
        strict=True,
    ):
        if a == MOVER:
            zip_codes.append(FAR_ZIPS[fi])
            previous_zip.append(LOCAL_ZIPS[zi])
        elif lm:
            zip_codes.append(LOCAL_ZIPS[nz])
            previous_zip.append(LOCAL_ZIPS[zi])
        else:
            zip_codes.append(LOCAL_ZIPS[zi])
            previous_zip.append("")

    # phones
    has_phone2 = r_phone.random(n) < _SECOND_PHONE_P
    has_phone2[:n_demo] = False
    n_needed = (n - n_demo) + int(has_phone2.sum())
    numbers = _draw_phone_numbers(r_phone, n_needed)
    phone = list(numbers[: n - n_demo])
    phone2 = [""] * n
    second_numbers = numbers[n - n_demo :]
    for k, i in enumerate(np.nonzero(has_phone2)[0].tolist()):
        phone2[i] = second_numbers[k]

    # demo identities
    phone = [d[2] for d in _DEMO_PATIENTS[:n_demo]] + phone
    for i in range(n_demo):
        (
            first_name[i],
            last_name[i],
            _,
            _,
            zip_codes[i],
            email[i],
            consent_voice[i],
            consent_sms[i],
            consent_written[i],
            opted_out[i],
        ) = _DEMO_PATIENTS[i]
        previous_zip[i] = ""
    patient_id = [f"P{i:06d}" for i in range(1, n + 1)]

    return SynthPractice(
        as_of=as_of,
        patient_id=patient_id,
        first_name=first_name,
        last_name=last_name,
        phone=phone,
        phone2=phone2,
        email=email,
        zip=zip_codes,
        previous_zip=previous_zip,
        consent_voice=consent_voice,
        consent_sms=consent_sms,
        consent_written=consent_written,
        opted_out=opted_out,
        archetype=archetype,
        alive=alive,
        join_day=join,
        churn_day=churn,
        visit_patient=v_pat,
        visit_day=v_day,
        visit_amount_cents=v_cents,
        visit_paid_cents=v_paid,
        visit_department=v_dept,
        visit_provider=v_prov,
    )


def _draw_phone_numbers(rng: np.random.Generator, k: int) -> list[str]:
    """``k`` distinct E.164 numbers +1 NPA 555 XXXX, none equal to a demo number."""
    local_cap = len(LOCAL_AREA_CODES) * _SUBSCRIBERS_PER_NPA
    national_cap = len(NATIONAL_AREA_CODES) * _SUBSCRIBERS_PER_NPA
    reserved = np.array(_DEMO_PHONE_POOL_INDEX, dtype=np.int64)
    k_local = min(int(round(_LOCAL_PHONE_SHARE * k)), local_cap - reserved.size)
    k_national = k - k_local
    if k_national > national_cap:
        raise ValueError("not enough distinct phone numbers")
    # sample from the local pool minus the reserved indices (mapped past them)
    loc = (
        np.sort(rng.choice(local_cap - reserved.size, size=k_local, replace=False))
        if k_local
        else np.zeros(0, np.int64)
    )
    for r in np.sort(reserved):
        loc = np.where(loc >= r, loc + 1, loc)
    nat = rng.choice(national_cap, size=k_national, replace=False) if k_national else np.zeros(0, np.int64)
    npa = np.concatenate(
        [
            np.asarray(LOCAL_AREA_CODES)[loc // _SUBSCRIBERS_PER_NPA],
            np.asarray(NATIONAL_AREA_CODES)[nat // _SUBSCRIBERS_PER_NPA],
        ]
    )
    sub = np.concatenate([loc % _SUBSCRIBERS_PER_NPA, nat % _SUBSCRIBERS_PER_NPA])
    perm = rng.permutation(k)
    return [f"+1{a}555{s:04d}" for a, s in zip(npa[perm].tolist(), sub[perm].tolist(), strict=True)]


# --------------------------------------------------------------------------- CSV writers
PATIENT_COLUMNS = (
    "patient_id",
    "first_name",
    "last_name",
    "phone",
    "email",
    "zip",
    "consent_voice",
    "consent_sms",
    "opted_out",
    "consent_written",
)
VISIT_COLUMNS = ("visit_id", "patient_id", "date", "amount", "department", "provider", "paid")
_BAD_CSV = re.compile(r'[,"\r\n]')


def write_patients_csv(practice: SynthPractice, path: str | os.PathLike[str]) -> None:
    """Write ``patients.csv``: the ``PATIENT_COLUMNS`` (the contract's columns plus the optional
    ``consent_written``); booleans "yes"/"no"; a second phone is written as ``"+1...;+1..."``."""
    yn = ("no", "yes")
    lines = [",".join(PATIENT_COLUMNS)]
    for pid, fn, ln, ph, ph2, em, zp, cv, cs, oo, cw in zip(
        practice.patient_id,
        practice.first_name,
        practice.last_name,
        practice.phone,
        practice.phone2,
        practice.email,
        practice.zip,
        practice.consent_voice.tolist(),
        practice.consent_sms.tolist(),
        practice.opted_out.tolist(),
        practice.consent_written.tolist(),
        strict=True,
    ):
        phones = f"{ph};{ph2}" if ph2 else ph
        lines.append(f"{pid},{fn},{ln},{phones},{em},{zp},{yn[cv]},{yn[cs]},{yn[oo]},{yn[cw]}")
    for column in (
        practice.patient_id,
        practice.first_name,
        practice.last_name,
        practice.phone,
        practice.phone2,
        practice.email,
        practice.zip,
    ):
        if _BAD_CSV.search("".join(column)):
            raise ValueError("patient field contains a CSV special character")
    text = "\n".join(lines) + "\n"
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(text)


def _money(cents: np.ndarray) -> np.ndarray:
    """int64 cents -> b"D.CC" (non-negative amounts)."""
    dollars = (cents // 100).astype("S")
    frac = np.strings.zfill((cents % 100).astype("S"), 2)
    return np.strings.add(np.strings.add(dollars, b"."), frac)


def write_visits_csv(
    practice: SynthPractice, path: str | os.PathLike[str], chunk_rows: int = 1_000_000
) -> None:
    """Write ``visits.csv``: the ``VISIT_COLUMNS``; ``visit_id`` "V000001"... in array
    order, date YYYY-MM-DD, amount/paid in dollars with 2 decimals.  Vectorised in chunks
    of ``chunk_rows`` rows."""
    pid = np.array(practice.patient_id, dtype="S")
    dept_names = np.array(DEPARTMENTS, dtype="S")
    prov_names = np.array(PROVIDERS, dtype="S")
    n = practice.n_visits
    add = np.strings.add
    with open(path, "wb") as f:
        f.write((",".join(VISIT_COLUMNS) + "\n").encode())
        for start in range(0, n, chunk_rows):
            stop = min(n, start + chunk_rows)
            vid = add(b"V", np.strings.zfill(np.arange(start + 1, stop + 1, dtype=np.int64).astype("S"), 6))
            date = practice.visit_day[start:stop].astype("datetime64[D]").astype("S10")
            line = add(vid, b",")
            for field in (
                pid[practice.visit_patient[start:stop]],
                date,
                _money(practice.visit_amount_cents[start:stop]),
                dept_names[practice.visit_department[start:stop]],
                prov_names[practice.visit_provider[start:stop]],
            ):
                line = add(add(line, field), b",")
            line = add(add(line, _money(practice.visit_paid_cents[start:stop])), b"\n")
            raw = line.view(np.uint8)
            f.write(raw[raw != 0].tobytes())
