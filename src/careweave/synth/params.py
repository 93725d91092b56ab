"""Parameters of the synthetic population, each with its source.

docs/synthetic-population.md explains every figure here. Figures marked
"calibrated" were tuned so that ``careweave profile`` on 500,000 people over
five years lands on the reference figures in reference-figures.md; the rest
come from published sources named beside them.
"""

from __future__ import annotations

from dataclasses import dataclass

# --- Population ---------------------------------------------------------------

#: Age bands (lower bound, upper bound exclusive) and their share of the
#: population. England and Wales Census 2021 (ONS, TS007), older bands moved
#: towards Wales (65+ ~21%, 75+ ~10%, 85+ ~2.7%; reference-figures.md).
AGE_BANDS: tuple[tuple[int, int, float], ...] = (
    (0, 5, 5.4),
    (5, 10, 5.9),
    (10, 15, 6.0),
    (15, 20, 5.6),
    (20, 25, 5.9),
    (25, 30, 6.4),
    (30, 35, 6.6),
    (35, 40, 6.4),
    (40, 45, 6.0),
    (45, 50, 6.1),
    (50, 55, 6.7),
    (55, 60, 6.6),
    (60, 65, 5.9),
    (65, 70, 5.6),
    (70, 75, 5.6),
    (75, 80, 4.1),
    (80, 85, 2.9),
    (85, 90, 1.7),
    (90, 101, 1.0),
)
#: Share female by age (ONS mid-year estimates 2021: more women at older ages).
FEMALE_SHARE: tuple[tuple[int, float], ...] = ((0, 0.49), (65, 0.52), (75, 0.55), (85, 0.63))
#: Live births a year per person (ONS births England and Wales 2021: ~11 per 1,000).
BIRTH_RATE = 0.011
#: Broad ethnic group shares (Census 2021 England and Wales, TS021), 1% unknown.
ETHNIC_SHARES: tuple[tuple[str, float], ...] = (
    ("white", 0.81),
    ("asian", 0.093),
    ("black", 0.04),
    ("mixed", 0.029),
    ("other", 0.018),
    ("unknown", 0.01),
)
#: People per small area (an LSOA holds 1,000-3,000 people, ONS).
LSOA_SIZE = 1600
#: Share of people whose small area (and so deprivation) is unknown.
UNKNOWN_AREA_SHARE = 0.003
#: GP practice list size: log-normal with median 9,000, clipped to 3,000-15,000
#: (NHS Digital "Patients registered at a GP practice", 2023; reference-figures.md).
PRACTICE_MEDIAN = 9000.0
PRACTICE_SIGMA = 0.35
PRACTICE_MIN, PRACTICE_MAX = 3000, 15000
#: Locality (cluster/CCM team) population 30,000-50,000 (seed 000, seed 003).
LOCALITY_TARGET = 40000
LOCALITY_MIN, LOCALITY_MAX = 30000, 50000
#: Practices per primary-care cluster (network) within a locality.
CLUSTER_PRACTICES = 3
#: People served by one acute hospital (an English acute trust serves ~250k-500k).
PEOPLE_PER_HOSPITAL = 300000
#: Beds per care home (CQC: ~30 on average) and share of residents funded by
#: the local authority (the rest self-fund; ONS Care homes and
#: self-funders 2023: ~35-40% self-fund; some are NHS-funded). Placements carry
#: the local authority's net weekly cost (gross tariff less client
#: contributions, ~20-25% of gross: NHS Digital ASC-FR 2022/23).
NET_OF_CONTRIBUTIONS = 0.62
CARE_HOME_BEDS = 30
LA_FUNDED_SHARE = 0.33

# --- Chronic conditions -------------------------------------------------------

#: Knot ages for the age curves below (years).
AGE_KNOTS = (0.0, 6.0, 18.0, 40.0, 60.0, 75.0, 90.0)


@dataclass(frozen=True)
class Condition:
    """How one register's condition arises and what it drives.

    ``shape``: log-odds of prevalence at AGE_KNOTS, up to a constant solved so
    that the population prevalence meets the register's reference;
    ``male``/``deprivation``: log-odds shifts (deprivation: most deprived decile
    minus least, split evenly around the middle); ``load_frail``/``load_cardio``:
    loadings on two latent factors that make conditions cluster
    (multimorbidity); ``duration``: years a case has typically been known;
    ``emergency``/``death``: log rate ratios on emergency admission and death.
    """

    name: str
    shape: tuple[float, ...]
    male: float
    deprivation: float
    load_frail: float
    load_cardio: float
    duration: float
    emergency: float
    death: float
    onset_min_age: float = 0.0


# Shapes from QOF prevalence by age (NHS Digital QOF 2022/23 age breakdowns and
# Health Survey for England); sex and deprivation gradients from QOF by IMD
# quintile and the Global Burden of Disease UK estimates, rounded; admission
# and death ratios from QAdmissions (Hippisley-Cox 2013, BMJ Open 3:e003482)
# hazard ratios, rounded, then calibrated.
CONDITIONS: tuple[Condition, ...] = (
    Condition(
        "hypertension",
        (-12, -11, -6.5, -3.3, -1.2, -0.1, 0.3),
        0.15,
        0.15,
        0.5,
        0.8,
        15,
        0.05,
        0.05,
        18,
    ),
    Condition(
        "depression",
        (-12, -12, -2.3, -1.8, -1.9, -2.1, -2.2),
        -0.7,
        0.45,
        0.5,
        0.0,
        12,
        0.2,
        0.1,
        14,
    ),
    Condition(
        "obesity", (-12, -12, -2.7, -2.0, -1.8, -2.0, -2.8), -0.1, 0.45, 0.3, 0.6, 8, 0.1, 0.0, 18
    ),
    Condition(
        "diabetes", (-9, -8, -6, -3.8, -2.1, -1.6, -1.7), 0.35, 0.4, 0.5, 0.8, 12, 0.3, 0.25, 10
    ),
    Condition(
        "asthma", (-12, -2.7, -2.4, -2.6, -2.7, -2.6, -2.8), -0.15, 0.2, 0.35, 0.0, 20, 0.2, 0.05, 6
    ),
    Condition("ckd", (-14, -14, -10, -6, -3.8, -1.9, -0.7), -0.2, 0.2, 0.7, 0.6, 8, 0.3, 0.3, 18),
    Condition("cancer", (-9, -9, -8, -5.2, -3.3, -2.3, -2.0), 0.1, 0.05, 0.4, 0.0, 8, 0.6, 0.9, 0),
    Condition(
        "chd", (-14, -14, -12, -6.8, -3.5, -2.1, -1.6), 0.75, 0.4, 0.5, 0.9, 12, 0.35, 0.2, 25
    ),
    Condition(
        "atrial_fibrillation",
        (-14, -14, -12, -7.2, -4.3, -2.6, -1.6),
        0.4,
        0.0,
        0.5,
        0.7,
        8,
        0.3,
        0.2,
        25,
    ),
    Condition(
        "copd", (-14, -14, -12, -6.6, -3.8, -2.7, -2.5), 0.15, 0.75, 0.7, 0.0, 10, 0.7, 0.55, 35
    ),
    Condition(
        "stroke_tia",
        (-13, -13, -11, -6.6, -4.1, -2.7, -2.0),
        0.2,
        0.25,
        0.6,
        0.6,
        8,
        0.35,
        0.35,
        20,
    ),
    Condition(
        "heart_failure",
        (-15, -15, -13, -8.2, -5.4, -3.6, -2.3),
        0.4,
        0.3,
        0.8,
        0.8,
        6,
        0.7,
        0.75,
        30,
    ),
    Condition(
        "smi", (-14, -14, -5.5, -4.4, -4.5, -4.7, -4.9), 0.1, 0.5, 0.3, 0.0, 15, 0.45, 0.35, 16
    ),
    Condition(
        "epilepsy",
        (-6.5, -5.4, -5.0, -4.9, -4.9, -4.9, -5.0),
        0.1,
        0.25,
        0.35,
        0.0,
        20,
        0.5,
        0.3,
        0,
    ),
    Condition(
        "rheumatoid_arthritis",
        (-14, -13, -9, -5.9, -4.6, -4.0, -4.0),
        -0.7,
        0.1,
        0.5,
        0.0,
        12,
        0.2,
        0.15,
        16,
    ),
    Condition(
        "dementia", (-16, -16, -15, -11, -6.6, -3.7, -1.5), -0.2, 0.1, 0.8, 0.2, 4, 0.5, 0.85, 40
    ),
    Condition("pad", (-15, -15, -13, -8.6, -5.6, -4.3, -3.8), 0.4, 0.35, 0.6, 0.7, 8, 0.3, 0.3, 35),
    Condition(
        "learning_disability",
        (-5.0, -5.0, -5.0, -5.2, -5.5, -6.2, -7.0),
        0.4,
        0.2,
        0.3,
        0.0,
        60,
        0.5,
        0.5,
        0,
    ),
)
CONDITION_NAMES = tuple(c.name for c in CONDITIONS)

#: Empirical adjustment of each register's target prevalence for what the
#: simulation does to it afterwards (deaths select out people with conditions;
#: cases whose onset falls after death drop). Calibrated: ratio of reference to
#: the prevalence measured at span end with no adjustment.
PREVALENCE_ADJUST: dict[str, float] = {
    "hypertension": 0.987,
    "depression": 1.028,
    "obesity": 1.015,
    "diabetes": 1.043,
    "asthma": 1.028,
    "ckd": 1.08,
    "cancer": 1.119,
    "chd": 1.044,
    "atrial_fibrillation": 1.061,
    "copd": 1.111,
    "stroke_tia": 1.07,
    "heart_failure": 1.331,
    "smi": 1.064,
    "epilepsy": 1.072,
    "rheumatoid_arthritis": 1.026,
    "dementia": 1.464,
    "pad": 1.149,
    "learning_disability": 1.015,
}

#: Palliative care register: share of people who die that are put on it and
#: how long before death (days, uniform). Calibrated to ~0.5% (QOF 2022/23);
#: the National Audit of Care at the End of Life reports roughly half of
#: deaths with recognised palliative needs.
PALLIATIVE_SHARE_OF_DEATHS = 0.75
PALLIATIVE_LEAD_DAYS = (14, 540)

# --- Frailty deficits (eFI-style primary-care codes) -------------------------

#: (SNOMED CT id, term, log-odds at frailty 0). eFI deficits, Clegg et al.,
#: Age and Ageing 2016; prevalence in 75+ from the eFI validation cohorts.
FRAILTY_DEFICITS: tuple[tuple[str, str, float], ...] = (
    ("161898004", "Falls", -2.6),
    ("82971005", "Impaired mobility", -2.9),
    ("15188001", "Hearing loss", -1.9),
    ("397540003", "Visual impairment", -3.0),
    ("165232002", "Urinary incontinence", -2.7),
    ("386807006", "Memory impairment", -3.3),
    ("105529008", "Lives alone", -1.8),
    ("160689007", "Housebound", -3.9),
    ("404640003", "Dizziness", -2.9),
    ("64859006", "Osteoporosis", -3.0),
    ("49049000", "Parkinson's disease", -5.8),
    ("89362005", "Weight loss", -3.8),
    ("5913000", "Fracture of neck of femur", -5.0),
    ("13200003", "Peptic ulcer", -4.8),
    ("129839007", "At risk for falls", -3.3),
)

# --- Activity -----------------------------------------------------------------
# Log-rate age curves at knots (age, log multiplier). Sources: NHS Digital
# Hospital Episode Statistics 2022/23 (admissions, A&E, outpatients by age),
# GP Patient Survey / CPRD consultation rates (Hobbs et al., Lancet 2016),
# then calibrated (the constant terms) to reference-figures.md.

EMERGENCY_AGE = (
    (0, 0.7),
    (2, -0.3),
    (10, -1.1),
    (18, -0.7),
    (30, -0.6),
    (45, -0.45),
    (60, -0.1),
    (70, 0.4),
    (80, 0.85),
    (90, 1.2),
    (101, 1.35),
)
ELECTIVE_AGE = (
    (0, -1.5),
    (18, -1.0),
    (40, -0.5),
    (60, 0.1),
    (70, 0.4),
    (80, 0.3),
    (90, -0.3),
    (101, -0.6),
)
AE_AGE = (
    (0, 0.3),
    (5, -0.3),
    (16, 0.2),
    (25, 0.1),
    (45, -0.2),
    (65, -0.1),
    (80, 0.4),
    (90, 0.7),
    (101, 0.8),
)
OUTPATIENT_AGE = (
    (0, -0.3),
    (10, -0.8),
    (18, -0.5),
    (40, -0.1),
    (60, 0.35),
    (75, 0.6),
    (85, 0.4),
    (101, 0.1),
)
PRIMARY_CARE_AGE = (
    (0, 0.2),
    (5, -0.5),
    (18, -0.2),
    (40, 0.0),
    (60, 0.25),
    (75, 0.55),
    (90, 0.7),
    (101, 0.7),
)

#: Log rate constants (calibrated): emergency admissions, elective spells,
#: non-admitted A&E attendances, outpatient appointments, primary-care contacts.
EMERGENCY_BASE = -3.1
ELECTIVE_BASE = -2.0
AE_BASE = -1.25
OUTPATIENT_BASE = 0.5
PRIMARY_CARE_BASE = 1.3
#: Community health contacts (log rate at frailty 0): NHS England Community
#: Services Data Set 2022/23 (~100 million contacts a year, mostly older people).
COMMUNITY_BASE = -0.7

#: Person-level unobserved heterogeneity (sd of a normal on the log rate) and
#: year-to-year noise: calibrated so the top 5% of people hold ~half of
#: emergency admissions over five years and a risk model reaches AUROC ~0.8.
PERSON_SD = 0.75
YEAR_SD = 0.42
#: Effect of last year's emergency admissions (log rate per log(1 + count)).
PRIOR_ADMISSION_EFFECT = 0.45
FRAILTY_EFFECT = 0.35
DEPRIVATION_EFFECT = 0.15
CARE_HOME_EFFECT = 0.45

#: Death: annual log hazard = base + slope * (age - 80) + condition effects.
#: ONS life tables 2020-22 (mortality doubles every ~7.5 years of age);
#: calibrated to ~1% of people a year (reference-figures.md).
DEATH_BASE = -3.75
DEATH_AGE_SLOPE = 0.093
DEATH_IN_HOSPITAL_SHARE = 0.45  # ONS deaths by place of occurrence 2022: ~45% in hospital

#: Emergency length of stay: share of zero-day stays, log-normal otherwise.
#: HES 2022/23: ~30% same-day, mean ~5-7 days, longer at 85+.
ZERO_DAY_SHARE_YOUNG = 0.32
ZERO_DAY_SHARE_OLD = 0.15
#: Probability of an emergency readmission within 30 days of a discharge
#: (scaled by the person's risk); calibrated to ~14% (NHS Digital CCG OIS 3.2).
READMIT_BASE = 0.025
#: Share of emergency admissions arriving through A&E (HES/ECDS 2022/23 ~70%).
ADMITTED_VIA_AE = 0.72
#: Outpatient did-not-attend (~7%, HES 2022/23) and cancellations.
DNA_BASE = 0.065
CANCELLED_SHARE = 0.05

#: Care homes: residents at start ~3.5% of 65+ (Census 2021), permanent
#: admissions ~560 per 100,000 aged 65+ a year (ASCOF 2A(2) 2022/23).
CARE_HOME_RESIDENT_BASE = -2.75
CARE_HOME_ADMISSION_BASE = -4.6
#: Reablement after emergency discharge home, 65+ (ASCOF 2B(2): ~3% of 65+
#: discharges are offered reablement nationally; local schemes reach more),
#: and the at-home-at-91-days probability (ASCOF 2B(1): ~82%).
REABLEMENT_OFFER = 0.12
REABLEMENT_HOME_BASE = 2.75
#: Home care: share of 65+ with a long-term home-care package (NHS Digital
#: SALT 2022/23: ~3% of 65+) and hours a week (median ~10).
HOME_CARE_BASE = -5.0
HOME_CARE_HOURS_MEDIAN = 7.5
#: Telehealth: share of people with diabetes, heart failure or COPD (aged 40+)
#: monitored at home at some point in the span (Whole System Demonstrator
#: and later scale-up programmes reached several per cent of eligible people).
TELEHEALTH_SHARE = 0.09
