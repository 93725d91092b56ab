"""Allergies, discharge readiness, case management, telecare and carers.

Part of :mod:`careweave.synth.params`. Each is drawn from a random stream of
its own (seed, stream, chunk), so adding it changes no other table.
"""

from __future__ import annotations

from dataclasses import dataclass

# --- Allergies ------------------------------------------------------------------


@dataclass(frozen=True)
class Allergen:
    """One recorded allergy: SNOMED CT code and term, FHIR category, the share of
    people with it recorded by age (under 18, 18-64, 65+), the share of records
    marked high criticality."""

    code: str
    term: str
    category: str
    child: float
    adult: float
    older: float
    high: float = 0.05


#: Recorded allergies. Penicillin: ~6% of UK primary-care records carry a
#: penicillin allergy label, more with age (West et al., BJGP 2019; NICE
#: NG15: ~10% report one); other drugs, foods (children most: peanut ~2%)
#: and environmental allergens from the BSACI and Allergy UK prevalence
#: summaries, as recorded in primary care (well below self-report), rounded.
#: Medication codes other than penicillin should be checked against the UK
#: edition before clinical use; all pass the SNOMED CT check digit.
ALLERGENS: tuple[Allergen, ...] = (
    Allergen("91936005", "Allergy to penicillin", "medication", 0.03, 0.07, 0.10, 0.10),
    Allergen("294505008", "Allergy to amoxicillin", "medication", 0.006, 0.008, 0.01, 0.05),
    Allergen("293586001", "Allergy to aspirin", "medication", 0.001, 0.005, 0.01),
    Allergen("293619005", "Allergy to non-steroidal anti-inflammatory agent", "medication",
             0.003, 0.01, 0.012),
    Allergen("294716003", "Allergy to codeine", "medication", 0.001, 0.008, 0.012),
    Allergen("91939003", "Allergy to sulfonamide", "medication", 0.001, 0.005, 0.008),
    Allergen("293963004", "Allergy to trimethoprim", "medication", 0.001, 0.004, 0.008),
    Allergen("91935009", "Allergy to peanut", "food", 0.02, 0.006, 0.002, 0.5),
    Allergen("91934008", "Allergy to nut", "food", 0.01, 0.005, 0.002, 0.5),
    Allergen("300913006", "Shellfish allergy", "food", 0.002, 0.006, 0.003, 0.4),
    Allergen("91930004", "Allergy to eggs", "food", 0.008, 0.001, 0.0005, 0.2),
    Allergen("425525006", "Allergy to dairy product", "food", 0.01, 0.002, 0.001, 0.1),
    Allergen("417532002", "Allergy to fish", "food", 0.002, 0.002, 0.001, 0.3),
    Allergen("232350006", "House dust mite allergy", "environment", 0.015, 0.01, 0.004),
    Allergen("418689008", "Allergy to grass pollen", "environment", 0.015, 0.02, 0.005),
    Allergen("419263009", "Allergy to tree pollen", "environment", 0.005, 0.006, 0.002),
    Allergen("232347008", "Dander (animal) allergy", "environment", 0.008, 0.007, 0.002),
    Allergen("424213003", "Allergy to bee venom", "environment", 0.002, 0.003, 0.003, 0.6),
    Allergen("300916003", "Latex allergy", "environment", 0.001, 0.004, 0.003, 0.3),
)  # fmt: skip
#: Share of records with criticality not assessed; statuses (active, inactive,
#: resolved: de-labelled after testing, rare in practice).
UNABLE_TO_ASSESS_SHARE = 0.05
ALLERGY_STATUS = (("active", 0.95), ("inactive", 0.02), ("resolved", 0.03))
#: Records go back at most this many years before the span end (and never before birth).
ALLERGY_LOOKBACK_YEARS = 25


# --- Discharge ready date -------------------------------------------------------


@dataclass(frozen=True)
class DischargeDelay:
    """Emergency spells of older people discharged alive after at least
    ``min_stay`` days wait after their discharge ready date with probability
    ``share_65``/``share_80`` (more when going to a care home, ``care_home_extra``),
    for 1 + a geometric number of days (mean ``mean_days``), a share much longer
    (mean ``long_mean_days``). NHS England Discharge delays (acute) 2023/24: about
    1 in 8 discharges of patients staying 1+ days is delayed, ~12,000 people a day
    in acute beds past their ready date, mostly 65+, median delay ~3-4 days;
    seed 004: delayed transfers make up much of older people's bed days over 15
    days. Younger people's and planned spells: ready on the discharge day."""

    min_age: float = 65
    old_age: float = 80
    min_stay: int = 2
    share_65: float = 0.16
    share_80: float = 0.28
    care_home_extra: float = 0.25
    mean_days: float = 3.5
    long_share: float = 0.12
    long_mean_days: float = 14.0


DISCHARGE_DELAY = DischargeDelay()


# --- Case management --------------------------------------------------------------


@dataclass(frozen=True)
class CaseManagement:
    """Enrolment in case management (community matrons, case managers, Kaiser
    level 3-4; seed 000's CCM pyramid), year by year from the second period:

    - risk stratification: the top ``top_share`` of adults at home by last
      period's emergency risk, ``uptake`` of them a year (PARR-style
      thresholds, seed 002; capacity of ~50-80 cases per matron, DH 2005);
    - after an emergency admission: people 65+ admitted last period, in the top
      ``post_admission_top`` by risk, ``post_admission_uptake`` a year;
    - clinical judgement: people 65+ with 3+ conditions, ``judgement_rate`` a year.

    Episodes last ``days`` (uniform; schemes review at 6-18 months), or end at
    death; a care plan is agreed 7-28 days after enrolment for
    ``care_plan_share`` of them. Levels at enrolment and lead professionals:
    shares below (seed 000 and seed 004 describe matron-led case management)."""

    top_share: float = 0.02
    uptake: float = 0.25
    post_admission_top: float = 0.1
    post_admission_uptake: float = 0.05
    judgement_rate: float = 0.012
    min_age: float = 18
    older_age: float = 65
    days: tuple[int, int] = (180, 540)
    care_plan_days: tuple[int, int] = (7, 29)
    care_plan_share: float = 0.9
    level4_share: tuple[float, float, float] = (0.8, 0.7, 0.5)  # by reason below
    roles: tuple[tuple[str, float], ...] = (
        ("community_matron", 0.45),
        ("case_manager", 0.2),
        ("district_nurse", 0.15),
        ("social_worker", 0.08),
        ("care_coordinator", 0.08),
        ("gp", 0.04),
    )


CASE_MANAGEMENT = CaseManagement()


# --- Telecare -----------------------------------------------------------------------


@dataclass(frozen=True)
class Telecare:
    """Telecare at home. Every social-care telecare package is a pendant alarm; more
    people 75+ living at home have one arranged otherwise (community alarm schemes,
    self-funded): log-odds ``base`` + ``age`` per year over 80 + ``frailty`` per
    unit, started up to ``years_before`` years before the span or during it, ended
    by death or a move to a care home. A share of frailer users (z above
    ``falls_frailty``) also have a falls detector. Telehealth monitoring periods
    are the spans of each person's readings. TSA / ADASS: about 1.7 million
    people in the UK use technology-enabled care, mostly 75+ living alone
    (~15-20% of 75+)."""

    min_age: float = 75
    base: float = -1.9
    age: float = 0.06
    frailty: float = 0.5
    years_before: float = 4
    falls_frailty: float = 0.5
    falls_share: float = 0.3


TELECARE = Telecare()


# --- eFI deficits -------------------------------------------------------------------


@dataclass(frozen=True)
class FrailtyDeficits:
    """More of the electronic Frailty Index's deficits (Clegg et al., Age and Ageing
    2016; codes from risk/codelists/efi.csv), beyond the registers and the
    deficits of ``FRAILTY_DEFICITS``, recorded in primary care for people 40+:
    each with log-odds ``base`` (per deficit below) + ``scale`` x (``age`` per
    year over 75 + ``frailty`` x z + ``conditions`` per condition), in the last
    ``years`` years. Calibrated so that among people 65+ about 12% are moderately
    and 3% severely frail (Clegg 2016) and the frail segment (moderate or severe
    eFI at 65+, or a care-home resident) is near seed 001's ~4% of the population.
    """

    scale: float = 1.0
    age: float = 0.06
    frailty: float = 0.5
    conditions: float = 0.1
    min_age: float = 40
    years: float = 10.0
    deficits: tuple[tuple[str, str, float], ...] = (
        ("271737000", "Anemia", -1.6),
        ("396275006", "Osteoarthritis", -0.8),
        ("267036007", "Dyspnea", -1.6),
        ("246971005", "Foot problem", -1.4),
        ("263102004", "Fracture of wrist", -2.8),
        ("217082002", "Accidental fall", -1.8),
        ("368009", "Heart valve disorder", -2.4),
        ("45007003", "Low blood pressure", -2.4),
        ("271594007", "Syncope", -2.4),
        ("228158008", "Walking disability", -1.8),
        ("26079004", "Tremor", -2.6),
        ("133932002", "Caregiver", -2.4),
        ("160685001", "Bedridden", -4.2),
        ("399912005", "Pressure injury", -3.4),
        ("402863005", "Venous leg ulcer", -3.0),
        ("193462001", "Insomnia", -1.6),
        ("40930008", "Hypothyroidism", -1.8),
        ("68566005", "Urinary tract infectious disease", -1.4),
    )


FRAILTY = FrailtyDeficits()


# --- Couples and carers ---------------------------------------------------------------


@dataclass(frozen=True)
class Couples:
    """Couples among people 60+ living at home at the start: ``share`` of the
    smaller sex of each small area paired with someone of the other sex of a
    similar age (ONS 2021: ~60% of people 65+ are married or in a civil
    partnership); they share the home address and telephone, and
    ``shared_surname`` of wives take the husband's family name. A spouse with
    dementia, or 80+ and frail (z above ``frail_z``), is cared for by the other
    (Carers UK: most older carers care for a spouse)."""

    min_age: float = 60
    share: float = 0.6
    shared_surname: float = 0.85
    frail_age: float = 80
    frail_z: float = 1.2


COUPLES = Couples()


# --- Care plans in care homes --------------------------------------------------------


@dataclass(frozen=True)
class CareHomePlans:
    """A personalised care and support plan recorded in the GP system for a care-home
    resident (NHS England's Enhanced Health in Care Homes framework asks for one
    within 7 days of moving in; in practice weeks): for ``share`` of residents,
    agreed ``days`` (uniform) after the move, open until death. Seed 004's scheme
    targets 95% of care-home patients with a plan, so the baseline is set well
    below it."""

    share: float = 0.65
    days: tuple[int, int] = (7, 57)
    code: str = "734163000"
    term: str = "Care plan"


CARE_HOME_PLANS = CareHomePlans()
