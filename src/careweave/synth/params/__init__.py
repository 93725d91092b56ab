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
# name, shape at AGE_KNOTS, male, deprivation, load_frail, load_cardio,
# duration, emergency, death[, onset_min_age]
# fmt: off
CONDITIONS: tuple[Condition, ...] = (
    Condition("hypertension", (-12, -11, -6.5, -3.3, -1.2, -0.1, 0.3), 0.15, 0.15, 0.5, 0.8, 15, 0.05, 0.05, 18),
    Condition("depression", (-12, -12, -2.3, -1.8, -1.9, -2.1, -2.2), -0.7, 0.45, 0.5, 0.0, 12, 0.2, 0.1, 14),
    Condition("obesity", (-12, -12, -2.7, -2.0, -1.8, -2.0, -2.8), -0.1, 0.45, 0.3, 0.6, 8, 0.1, 0.0, 18),
    Condition("diabetes", (-9, -8, -6, -3.8, -2.1, -1.6, -1.7), 0.35, 0.4, 0.5, 0.8, 12, 0.3, 0.25, 10),
    Condition("asthma", (-12, -2.7, -2.4, -2.6, -2.7, -2.6, -2.8), -0.15, 0.2, 0.35, 0.0, 20, 0.2, 0.05, 6),
    Condition("ckd", (-14, -14, -10, -6, -3.8, -1.9, -0.7), -0.2, 0.2, 0.7, 0.6, 8, 0.3, 0.3, 18),
    Condition("cancer", (-9, -9, -8, -5.2, -3.3, -2.3, -2.0), 0.1, 0.05, 0.4, 0.0, 8, 0.6, 0.9, 0),
    Condition("chd", (-14, -14, -12, -6.8, -3.5, -2.1, -1.6), 0.75, 0.4, 0.5, 0.9, 12, 0.35, 0.2, 25),
    Condition("atrial_fibrillation", (-14, -14, -12, -7.2, -4.3, -2.6, -1.6), 0.4, 0.0, 0.5, 0.7, 8, 0.3, 0.2, 25),
    Condition("copd", (-14, -14, -12, -6.6, -3.8, -2.7, -2.5), 0.15, 0.75, 0.7, 0.0, 10, 0.7, 0.55, 35),
    Condition("stroke_tia", (-13, -13, -11, -6.6, -4.1, -2.7, -2.0), 0.2, 0.25, 0.6, 0.6, 8, 0.35, 0.35, 20),
    Condition("heart_failure", (-15, -15, -13, -8.2, -5.4, -3.6, -2.3), 0.4, 0.3, 0.8, 0.8, 6, 0.7, 0.75, 30),
    Condition("smi", (-14, -14, -5.5, -4.4, -4.5, -4.7, -4.9), 0.1, 0.5, 0.3, 0.0, 15, 0.45, 0.35, 16),
    Condition("epilepsy", (-6.5, -5.4, -5.0, -4.9, -4.9, -4.9, -5.0), 0.1, 0.25, 0.35, 0.0, 20, 0.5, 0.3, 0),
    Condition("rheumatoid_arthritis", (-14, -13, -9, -5.9, -4.6, -4.0, -4.0), -0.7, 0.1, 0.5, 0.0, 12, 0.2, 0.15, 16),
    Condition("dementia", (-16, -16, -15, -11, -6.6, -3.7, -1.5), -0.2, 0.1, 0.8, 0.2, 4, 0.5, 0.85, 40),
    Condition("pad", (-15, -15, -13, -8.6, -5.6, -4.3, -3.8), 0.4, 0.35, 0.6, 0.7, 8, 0.3, 0.3, 35),
    Condition("learning_disability", (-5.0, -5.0, -5.0, -5.2, -5.5, -6.2, -7.0), 0.4, 0.2, 0.3, 0.0, 60, 0.5, 0.5, 0),
)
# fmt: on

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
    "dementia": 1.55,
    "pad": 1.149,
    "learning_disability": 1.015,
}

#: Palliative care register: share of people who die that are put on it and
#: how long before death (days, uniform). Calibrated to ~0.5% (QOF 2022/23);
#: the National Audit of Care at the End of Life reports roughly half of
#: deaths with recognised palliative needs.
PALLIATIVE_SHARE_OF_DEATHS = 0.7
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
EMERGENCY_BASE = -3.15
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

# --- Hazards and mixes of the year loop ---------------------------------------
# The effects below were written inline in the generator before it was split by
# care setting (issue 10); they are unchanged. "Calibrated" means: set, with the
# constants above, so that the profile of 500,000 people over five years meets
# reference-figures.md (tests/test_synth_calibration.py keeps it there); the
# direction and rough size of each effect come from the source named.

#: Births during the span are capped at this share of the people of a chunk.
MAX_BIRTH_SHARE = 0.2
#: A condition's onset lies at most this many times its typical duration back.
DURATION_CAP = 2.0


@dataclass(frozen=True)
class DeathEffects:
    """Log hazard ratios of death besides age and conditions (calibrated; the
    directions from ONS mortality by deprivation and care-home residence and the
    higher mortality after emergency admission, Clegg 2016 for frailty)."""

    centre_age: float = 80
    frailty: float = 0.3
    care_home: float = 0.8
    emergency: float = 0.5
    deprivation: float = 0.2


DEATH = DeathEffects()
#: Last stay of people who die in hospital: geometric length (mean ~9 days,
#: HES 2022/23 for spells ending in death), at most 60 days.
TERMINAL_STAY_MEAN_DAYS = 9.0
TERMINAL_STAY_MAX_DAYS = 60


@dataclass(frozen=True)
class Readmission:
    """Rounds of readmission after a discharge, how much the person's risk raises
    the chance (per unit of log-rate), its cap and the window (days after
    discharge, front-loaded: the square of a uniform). Calibrated to ~14% within
    30 days (NHS Digital CCG OIS 3.2)."""

    rounds: int = 2
    risk: float = 0.3
    max_probability: float = 0.4
    window_days: float = 29


READMISSION = Readmission()
#: Where people go after an emergency stay alive (not from a care home): home,
#: another hospital, elsewhere (HES 2022/23 discharge destinations, rounded).
EMERGENCY_DESTINATIONS = (0.95, 0.035, 0.015)


@dataclass(frozen=True)
class AEEffects:
    """A&E attendances not admitted: weight of the person's observed risk and of
    their propensity, and disposals (discharged, referred, left, other; ECDS
    2022/23, rounded)."""

    risk: float = 0.5
    person: float = 0.4
    disposals: tuple[float, ...] = (0.76, 0.14, 0.07, 0.03)


AE = AEEffects()


@dataclass(frozen=True)
class ElectiveEffects:
    """Elective spells: log-rate per condition, with cancer, per unit of propensity;
    day-case share (~75%, HES 2022/23) and geometric stay otherwise."""

    conditions: float = 0.12
    cancer: float = 1.3
    person: float = 0.2
    day_case_share: float = 0.75
    stay_p: float = 0.35


ELECTIVE = ElectiveEffects()


@dataclass(frozen=True)
class Maternity:
    """Births a year by mother's age: a bell around 31 (ONS births by age of mother
    2021, ~0.1 a year at the peak), ages 16-45; stays of 0-3 days (``max_stay_days``
    exclusive)."""

    peak_rate: float = 0.1
    peak_age: float = 31
    width: float = 6.5
    min_age: float = 16
    max_age: float = 46
    max_stay_days: int = 4


MATERNITY = Maternity()


@dataclass(frozen=True)
class OutpatientEffects:
    """Outpatients: log-rate per condition, with cancer, per unit of propensity;
    did-not-attend log-odds by deprivation (top minus bottom decile ~1.2) and age
    (fewer with age; HES 2022/23 DNA rates by IMD and age)."""

    conditions: float = 0.2
    cancer: float = 0.6
    person: float = 0.3
    dna_deprivation: float = 1.2
    dna_age: float = 0.012
    dna_centre_age: float = 45


OUTPATIENT = OutpatientEffects()


@dataclass(frozen=True)
class PrimaryCareEffects:
    """Consultations: log-rate per condition, per unit of frailty and of propensity
    (Hobbs et al., Lancet 2016: consultation rates rise with morbidity)."""

    conditions: float = 0.12
    frailty: float = 0.25
    person: float = 0.1


PRIMARY_CARE = PrimaryCareEffects()


@dataclass(frozen=True)
class MeasurementRates:
    """Measurements a year: blood pressure (with a monitored condition, else 40+,
    18+), HbA1c (diabetes, 40+), BMI (obesity, 18+), eGFR (CKD, a monitored
    condition, 65+, 18+). QOF review cycles (at least yearly, HbA1c ~2 a year)
    and NHS Health Check coverage, rounded."""

    bp_chronic: float = 1.3
    bp_40: float = 0.35
    bp_18: float = 0.1
    hba1c_diabetes: float = 1.8
    hba1c_40: float = 0.12
    bmi_obese: float = 1.2
    bmi_18: float = 0.25
    egfr_ckd: float = 2.0
    egfr_chronic: float = 0.9
    egfr_65: float = 0.3
    egfr_18: float = 0.05


MEASUREMENT_RATES = MeasurementRates()
#: Conditions whose reviews measure blood pressure and eGFR.
MONITORED_CONDITIONS = ("hypertension", "diabetes", "chd", "ckd", "stroke_tia", "heart_failure")
#: Acute prescriptions a year: base plus per condition (NHS BSA, rounded).
ACUTE_PRESCRIPTIONS = (0.5, 0.1)


@dataclass(frozen=True)
class CommunityEffects:
    """Community contacts: log-rate per year of age around 70 (clipped at +/-30),
    per unit of frailty, per condition, in a care home, per log(1 + last period's
    admissions); adults only (children: a small flat rate). CSDS 2022/23:
    contacts concentrate in the old and frail."""

    age: float = 0.07
    centre_age: float = 70
    age_clip: float = 30
    frailty: float = 0.8
    conditions: float = 0.15
    care_home: float = 0.5
    prior_admissions: float = 0.5
    adult_age: float = 18
    child_rate: float = 0.02


COMMUNITY = CommunityEffects()


@dataclass(frozen=True)
class MentalHealthRates:
    """Secondary mental-health contacts a year: with serious mental illness (CPA
    care ~monthly, MHSDS 2022/23), dementia diagnosed in the last two years
    (memory service), depression (talking therapies), anyone; and the service mix
    for SMI (community team, crisis, memory, talking, inpatient, other)."""

    smi: float = 12.0
    recent_dementia: float = 2.0
    depression: float = 1.6
    base: float = 0.02
    recent_dementia_years: float = 2
    smi_services: tuple[float, ...] = (0.85, 0.1, 0, 0, 0.03, 0.02)


MENTAL_HEALTH = MentalHealthRates()


@dataclass(frozen=True)
class OlderPersonHazard:
    """A log-odds or log-hazard for people ``min_age``+: per year of age around
    ``centre_age``, with dementia, per unit of frailty, per log(1 + last period's
    emergency admissions)."""

    min_age: float
    centre_age: float
    age: float
    dementia: float
    frailty: float
    prior_admissions: float = 0.0
    #: The order the terms are added in (part of the output, to the last bit).
    terms: tuple[str, ...] = ("age", "dementia", "frailty", "prior_admissions")


#: Living in a care home at the start (Census 2021: ~3.5% of 65+, most with
#: dementia); residents have lived there up to CARE_HOME_STAY_YEARS; a share
#: in nursing homes (CQC: ~40% of beds).
CARE_HOME_RESIDENT = OlderPersonHazard(65, 85, age=0.12, dementia=1.7, frailty=0.7)
CARE_HOME_STAY_YEARS = 3
NURSING_HOME_SHARE = 0.4
#: Permanent care-home admission (ASCOF 2A(2); dementia and a recent admission
#: are the strongest predictors, Luppa et al., Age and Ageing 2010).
CARE_HOME_ADMISSION = OlderPersonHazard(
    65, 85, age=0.11, dementia=1.5, frailty=0.7, prior_admissions=0.8
)
#: A new home-care package (SALT 2022/23; same predictors).
HOME_CARE = OlderPersonHazard(
    65,
    85,
    age=0.1,
    dementia=0.8,
    frailty=0.8,
    prior_admissions=0.7,
    terms=("age", "frailty", "dementia", "prior_admissions"),
)


@dataclass(frozen=True)
class ReablementOffer:
    """Reablement after an emergency discharge home: from ``min_age``, more to the
    frail (log per unit of frailty), at most ``max_offer`` of discharges."""

    min_age: float = 65
    frailty: float = 0.4
    max_offer: float = 0.6


REABLEMENT = ReablementOffer()


@dataclass(frozen=True)
class Assessments:
    """Assessments leading to no service, a year: 65+ (more for the frail), younger
    adults; share that are needs (not carer's) assessments; outcomes (no services,
    signposted). SALT 2022/23 requests and outcomes, rounded."""

    older_age: float = 65
    older_rate: float = 0.012
    frailty: float = 0.5
    younger_rate: float = 0.002
    needs_share: float = 0.7
    outcomes: tuple[float, ...] = (0.6, 0.4)


ASSESSMENTS = Assessments()


@dataclass(frozen=True)
class SpellCoding:
    """How spells are coded: share of emergency spells coded to an active condition
    (else a common presentation for the age group), of elective spells of people
    with cancer that are chemotherapy, of emergency spells at 75+ under geriatric
    medicine, of active chronic conditions recorded as secondary diagnoses; the
    count of frailty (HFRS) codes of emergency spells at 65+ (Poisson on a
    log-rate of age, frailty and conditions, at most ``hfrs_max``). HES 2022/23
    coding patterns and Gilbert et al., Lancet 2018 (HFRS), rounded."""

    condition_share: float = 0.6
    chemotherapy_share: float = 0.6
    child_age: float = 16
    older_age: float = 65
    geriatric_age: float = 75
    geriatric_share: float = 0.3
    chronic_coded_share: float = 0.85
    hfrs_age: float = 0.06
    hfrs_centre_age: float = 80
    hfrs_frailty: float = 0.8
    hfrs_conditions: float = 0.15
    hfrs_base: float = -0.3
    hfrs_max: int = 6


SPELL_CODING = SpellCoding()
