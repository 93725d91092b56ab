"""How events are recorded: code mixes, measurement values, medicine issues,
contact modes and the shape of social-care records.

Part of :mod:`careweave.synth.params` (split out for size); the figures are
rounded from the sources named and, where marked, calibrated with the rest.
"""

from __future__ import annotations

from dataclasses import dataclass

# --- Organisations ------------------------------------------------------------

#: Spread of deprivation between the small areas of one practice (sd of the
#: area noise around the practice's centre, on a unit-variance scale).
AREA_DEPRIVATION_SD = 0.8
#: Care homes per locality: people x share 65+ (Census 2021 Wales ~21%) x share
#: of 65+ in care homes (~4.5% at the older ages that fill them) / beds.
OLDER_SHARE = 0.21
IN_CARE_HOME_SHARE = 0.045


# --- Registration -------------------------------------------------------------


@dataclass(frozen=True)
class Registration:
    """Start of the current GP registration: a share registered since birth, the
    rest an exponential number of years before the span (mean 12; NHS Digital
    patient registration turnover ~8% a year)."""

    since_birth_share: float = 0.3
    mean_years: float = 12.0


REGISTRATION = Registration()


# --- Primary-care events --------------------------------------------------------


@dataclass(frozen=True)
class EventCoding:
    """Register codes: the first (most specific) code of a register for most cases
    (the others share the rest),
    diabetes split type 2 / type 1 / other (NDA 2022/23 ~89/8/3%); frailty
    deficits (Clegg 2016 eFI) from age ``deficit_min_age``, on log-odds of age
    around ``deficit_centre_age``, frailty and conditions, recorded in the last
    ``deficit_years`` years."""

    main_code_share: float = 0.7
    other_codes_share: float = 0.3
    diabetes_types: tuple[float, ...] = (0.89, 0.08, 0.03)
    deficit_age: float = 0.06
    deficit_centre_age: float = 75
    deficit_frailty: float = 0.8
    deficit_conditions: float = 0.2
    deficit_min_age: float = 40
    deficit_years: float = 10.0


EVENT_CODING = EventCoding()


# --- Hospital -----------------------------------------------------------------


@dataclass(frozen=True)
class StayLength:
    """Emergency length of stay otherwise than same-day: log-normal with median
    ``base + slope * (age - 50)`` days (ages 50-95), sd ``sd`` on the log scale,
    at most ``max_days`` (HES 2022/23: mean ~5 days, ~9 at 85+)."""

    base: float = 2.6
    slope: float = 0.09
    from_age: float = 50
    age_span: float = 45
    sd: float = 0.75
    max_days: int = 90


STAY_LENGTH = StayLength()
#: Outpatient appointments in the specialty of the person's main condition
#: (else general), once that condition is known (HES 2022/23, rounded).
OUTPATIENT_CONDITION_SHARE = 0.55
#: Children are seen in paediatrics.
CHILD_AGE = 16


# --- Primary-care contacts, community and mental-health contacts -------------


@dataclass(frozen=True)
class ContactMix:
    """Who the person saw and how (GP Patient Survey / NHS Digital Appointments in
    General Practice 2023: ~50% GP, ~1/3 by telephone); the housebound (care-home
    residents, 85+ and frail) are visited at home some of the time. Community:
    services and modes (CSDS 2022/23), palliative care in the last 180 days;
    mental health: modes (MHSDS)."""

    roles: tuple[float, ...] = (0.5, 0.32, 0.06, 0.12)
    housebound_age: float = 85
    housebound_frailty: float = 1.0
    home_visit_share: float = 0.35
    modes: tuple[float, ...] = (0.62, 0.01, 0.33, 0.02, 0.02)
    community_services: tuple[float, ...] = (0.45, 0.06, 0.12, 0.12, 0.1, 0.05, 0.0, 0.1)
    palliative_days: int = 180
    palliative_share: float = 0.4
    community_modes: tuple[float, ...] = (0.3, 0.6, 0.1, 0.0, 0.0)
    mental_health_modes: tuple[float, ...] = (0.6, 0.15, 0.2, 0.05, 0.0)


CONTACTS = ContactMix()


# --- Measurements ---------------------------------------------------------------


@dataclass(frozen=True)
class MeasurementValues:
    """Values of the measurements (Health Survey for England 2019 and NDA 2022/23
    distributions, rounded): systolic blood pressure (treated hypertension;
    otherwise rising with age from 30), diastolic as a share of systolic, HbA1c
    (mmol/mol), BMI (obese: 30 plus a gamma), heights by sex (m), eGFR by CKD
    stage (3, 4, 5) or falling with age."""

    sbp_hypertension: tuple[float, float] = (139, 14)
    sbp_base: float = 118
    sbp_age: float = 0.35
    sbp_sd: float = 13
    dbp_ratio: float = 0.58
    dbp_sd: float = 6
    hba1c_diabetes: tuple[float, float] = (58, 13)
    hba1c_other: tuple[float, float] = (37, 4)
    bmi_obese_gamma: tuple[float, float] = (2.0, 2.3)
    bmi_other: tuple[float, float] = (25.3, 2.6)
    bmi_child: tuple[float, float] = (19, 3)
    height_female: float = 1.62
    height_male: float = 1.76
    height_sd: float = 0.06
    egfr_stages: tuple[tuple[float, float], ...] = ((30, 59), (15, 29), (5, 14))
    egfr_base: float = 100
    egfr_age: float = 0.6
    egfr_sd: float = 10


MEASUREMENT_VALUES = MeasurementValues()


# --- Medicines ------------------------------------------------------------------


@dataclass(frozen=True)
class MedicineIssues:
    """Repeats every 84 days (a 12-week supply, NHS BSA); the acute medicine mix;
    morphine for a share of people in their last weeks (issued every 28 days,
    from 7-120 days before death; National Audit of Care at the End of Life)."""

    repeat_days: int = 84
    acute_mix: tuple[float, ...] = (0.5, 0.2, 0.2, 0.1)
    end_of_life_share: float = 0.4
    end_of_life_lead_days: tuple[int, int] = (7, 120)
    end_of_life_interval_days: int = 28
    end_of_life_quantity: float = 60.0


MEDICINES = MedicineIssues()


# --- Social care ------------------------------------------------------------------


@dataclass(frozen=True)
class SocialCareRecords:
    """Reablement lasts 10-42 days (NHS Benchmarking intermediate care: ~6 weeks at
    most); staying home at 91 days is less likely for the frail and older. Home
    care: the stock at the start (log-odds above new packages), its start up to
    two years back, exponential durations (mean two years, at least 14 days),
    hours log-normal (sd 0.6, 1-60 h), a share taking a direct payment; services
    alongside (telecare, equipment, day care, meals) and their shares; half the
    packages carry a cost at ~GBP 27 an hour (UKHCA 2023/24 minimum price). Respite
    stays for frail people 75+ (0.4% a year), 7-27 days; care-home weekly cost
    (nursing, residential; LaingBuisson 2023, rounded)."""

    reablement_days: tuple[int, int] = (10, 43)
    home_frailty: float = 0.5
    home_age: float = 0.04
    home_centre_age: float = 80
    outcome_days: int = 91
    stock_offset: float = 2.2
    stock_age: float = 0.1
    stock_centre_age: float = 85
    stock_frailty: float = 0.8
    stock_dementia: float = 0.8
    stock_years: float = 2
    mean_years: float = 2.0
    min_days: int = 14
    hours_sd: float = 0.6
    hours_range: tuple[float, float] = (1, 60)
    direct_payment_share: float = 0.12
    alongside: tuple[tuple[int, float], ...] = ((4, 0.45), (3, 0.5), (1, 0.1), (5, 0.1))
    costed_share: float = 0.5
    hourly_cost: float = 27.0
    cost_spread: tuple[float, float] = (0.9, 1.15)
    respite_age: float = 75
    respite_rate: float = 0.004
    respite_frailty: float = 0.6
    respite_days: tuple[int, int] = (7, 28)
    nursing_weekly: float = 1200.0
    residential_weekly: float = 950.0
    assessment_lead_days: int = 21
    review_days: int = 365


SOCIAL_CARE = SocialCareRecords()


# --- Telehealth -------------------------------------------------------------------


@dataclass(frozen=True)
class TelehealthRecords:
    """Telehealth from age 40, for 90-365 days; the measures by condition group
    (measure, device, unit, mean, sd) and oxygen saturation clipped to 80-100%."""

    min_age: float = 40
    days: tuple[int, int] = (90, 366)
    measures: tuple[tuple[str, str, str, float, float], ...] = (
        ("weight", "weighing_scale", "kg", 82.0, 0.8),
        ("systolic_bp", "blood_pressure_monitor", "mm[Hg]", 132.0, 9.0),
        ("diastolic_bp", "blood_pressure_monitor", "mm[Hg]", 76.0, 6.0),
        ("heart_rate", "pulse_oximeter", "/min", 74.0, 7.0),
        ("spo2", "pulse_oximeter", "%", 94.0, 1.5),
        ("blood_glucose", "glucometer", "mmol/L", 8.0, 1.8),
    )
    spo2_range: tuple[float, float] = (80, 100)


TELEHEALTH = TelehealthRecords()
