"""The SQL that writes each canonical table from the resolved staging tables.

:class:`~careweave.importers.finalise.Finaliser` first builds the temporary
tables these queries read: ``pm`` (source person reference -> NHS number and
date of death), ``om`` (source organisation reference -> canonical ``org_id``),
``prac`` (practitioners with their organisation and role), ``enc`` (encounters
with their canonical target table and cost), ``people_first`` and the
de-duplicated staging tables (``s_conditions``, ...). Each query returns the
canonical table's columns in order; :func:`careweave.dataset.io.conform` checks
them on the way out.
"""

from __future__ import annotations

from collections.abc import Iterable

from careweave.dataset import tables as T
from careweave.dataset.schema import Table

#: Staging tables of events about a person (a ``patient_ref``) with a key ``id``, whose
#: rows are kept raw when the person is not in the input.
PERSON_EVENTS = (
    "s_conditions",
    "s_observations",
    "s_procedures",
    "s_immunisations",
    "s_care_plans",
    "s_care_team",
    "s_allergies",
    "s_relationships",
    "s_episodes",
    "s_social_assessments",
    "s_social_episodes",
)

ORG = "coalesce(o.org_id, e.provider_id) AS org_id"
FOLLOWS_EMERGENCY = (
    "EXISTS (SELECT 1 FROM enc x WHERE x.nhs_number = s.nhs_number "
    "AND x.kind IN ('emergency', 'urgent') AND x.start_ts <= s.start_ts "
    "AND s.start_ts <= coalesce(x.end_ts, x.start_ts) + INTERVAL 1 DAY)"
)
ADMITTED = (
    "EXISTS (SELECT 1 FROM enc x WHERE x.nhs_number = a.nhs_number "
    "AND x.kind = 'inpatient' AND x.start_ts >= a.start_ts "
    "AND x.start_ts <= coalesce(a.end_ts, a.start_ts) + INTERVAL 1 DAY)"
)


def event(name: str, cols: str) -> str:
    """``cols`` of an event staging table with its person, organisation and encounter joined."""
    return (
        f"SELECT {cols} FROM {name} t JOIN pm ON pm.ref = t.patient_ref "
        f"LEFT JOIN om o ON o.ref = t.org_ref "
        f"LEFT JOIN enc e ON e.id = t.encounter_ref"
    )


def detail(alias: str, name: str) -> str:
    """A value of the encounter's ``detail`` JSON (Careweave's encounter-detail extension)."""
    return f"json_extract_string({alias}.detail, '$.{name}')"


def queries() -> dict[Table, str]:
    """Canonical table -> the query that writes it."""
    return {**_records(), **_journey(), **_encounters(), **_social()}


def _records() -> dict[Table, str]:
    """Tables of people, organisations and recorded events."""
    return {
        T.ORGANISATIONS: """
        SELECT o.org_id,
          CASE WHEN o.org_type <> 'other' THEN o.org_type
               WHEN o.ref IN (SELECT practice_ref FROM s_people) THEN 'gp_practice'
               WHEN o.ref IN (SELECT provider_ref FROM enc WHERE target IN ('ae', 'spell')) THEN 'hospital'
               WHEN o.ref IN (SELECT provider_ref FROM enc WHERE target = 'community') THEN 'community_provider'
               ELSE 'other' END AS org_type,
          o.name, p.org_id AS parent_id
        FROM om o LEFT JOIN om p ON p.ref = o.parent_ref
        QUALIFY row_number() OVER (PARTITION BY o.org_id ORDER BY o._file, o._entry) = 1
    """,
        T.PEOPLE: """
        SELECT p.nhs_number, p.date_of_birth, p.sex, p.ethnic_group,
          json_extract_string(p.detail, '$.small_area') AS small_area,
          CAST(json_extract(p.detail, '$.deprivation_decile') AS SMALLINT) AS deprivation_decile,
          coalesce(o.org_id, pr.org_id) AS practice_id,
          coalesce(la.org_id, json_extract_string(p.detail, '$.local_authority'))
            AS local_authority_id,
          NULL AS registered_from,
          CASE WHEN p.date_of_death IS NOT NULL THEN p.date_of_death END AS registered_to,
          coalesce(CAST(json_extract(p.detail, '$.care_home_resident') AS BOOLEAN), false)
            AS care_home_resident, p.date_of_death,
          CASE WHEN p.real_nhs THEN NULL ELSE p.source_id END AS source_id,
          p.title, p.given_name, p.family_name, p.address_line_1, p.address_line_2, p.town,
          p.postcode, p.telephone, p.preferred_language, p.interpreter_required
        FROM people_first p
        LEFT JOIN om o ON o.ref = p.practice_ref
        LEFT JOIN om la ON la.ref = json_extract_string(p.detail, '$.local_authority')
        LEFT JOIN prac pr ON pr.practitioner_id = p.practice_ref
    """,
        T.PRIMARY_CARE_EVENTS: event(
            "s_conditions",
            f"t.id, pm.nhs_number, t.event_date, t.code_system, t.code, t.term, "
            f"t.resolved_date, {ORG}",
        ),
        T.OBSERVATIONS: event(
            "s_observations",
            f"t.id, pm.nhs_number, t.obs_date, t.code_system, t.code, t.term, t.measure, "
            f"t.value, t.unit, {ORG}",
        )
        + " WHERE NOT (t.device AND t.value IS NOT NULL AND t.recorded_at IS NOT NULL"
        " AND t.unit IS NOT NULL AND t.measure IN ('blood_glucose', 'systolic_bp', "
        "'diastolic_bp', 'weight', 'spo2', 'heart_rate', 'temperature'))",
        T.TELEHEALTH_READINGS: """
        SELECT t.id, pm.nhs_number,
          CASE t.measure WHEN 'blood_glucose' THEN 'glucometer'
            WHEN 'systolic_bp' THEN 'blood_pressure_monitor'
            WHEN 'diastolic_bp' THEN 'blood_pressure_monitor'
            WHEN 'weight' THEN 'weighing_scale'
            WHEN 'temperature' THEN 'thermometer'
            ELSE 'pulse_oximeter' END AS device,
          t.measure, t.value, t.unit, t.recorded_at
        FROM s_observations t JOIN pm ON pm.ref = t.patient_ref
        WHERE t.device AND t.value IS NOT NULL AND t.recorded_at IS NOT NULL
          AND t.unit IS NOT NULL AND t.measure IN ('blood_glucose', 'systolic_bp',
          'diastolic_bp', 'weight', 'spo2', 'heart_rate', 'temperature')
    """,
        T.MEDICATIONS: event(
            "s_medications",
            f"t.id, pm.nhs_number, t.issue_date, t.code_system, t.code, t.term, t.quantity, {ORG}",
        ),
        T.PROCEDURES: event(
            "s_procedures",
            f"t.id, pm.nhs_number, t.procedure_date, t.code_system, t.code, t.term, {ORG}, t.cost",
        ),
        T.IMMUNISATIONS: event(
            "s_immunisations",
            f"t.id, pm.nhs_number, t.immunisation_date, t.code_system, t.code, t.term, {ORG}",
        ),
        T.CARE_PLANS: """
        SELECT t.id, pm.nhs_number, t.start_date, t.end_date, t.code_system, t.code,
          t.term, t.status
        FROM s_care_plans t JOIN pm ON pm.ref = t.patient_ref
    """,
        T.CARE_TEAM_MEMBERS: """
        SELECT t.id, pm.nhs_number, t.role,
          CASE WHEN m.org_id IS NULL THEN t.member_ref END AS practitioner_id,
          coalesce(m.org_id, o.org_id, pr.org_id) AS org_id, t.start_date, t.end_date
        FROM s_care_team t JOIN pm ON pm.ref = t.patient_ref
        LEFT JOIN om m ON m.ref = t.member_ref
        LEFT JOIN om o ON o.ref = t.org_ref
        LEFT JOIN prac pr ON pr.practitioner_id = t.member_ref
        WHERE t.member_ref NOT IN (SELECT ref FROM pm)
    """,
    }


def _journey() -> dict[Table, str]:
    """Allergies, relationships within the population and case-management episodes."""
    return {
        T.ALLERGIES: """
        SELECT t.id, pm.nhs_number, t.recorded_date, t.code_system, t.code, t.term,
          t.category, t.criticality, t.status, o.org_id
        FROM s_allergies t JOIN pm ON pm.ref = t.patient_ref
        LEFT JOIN om o ON o.ref = t.org_ref
    """,
        T.PERSON_RELATIONSHIPS: """
        SELECT t.id, t.related_nhs_number AS nhs_number, pm.nhs_number AS related_nhs_number,
          t.relationship, t.start_date, t.end_date
        FROM s_relationships t JOIN pm ON pm.ref = t.patient_ref
        WHERE t.related_nhs_number IN (SELECT nhs_number FROM people_first)
    """,
        T.CASE_MANAGEMENT_EPISODES: """
        SELECT t.id, pm.nhs_number, t.start_date, t.end_date,
          NULL AS ccm_level_at_enrolment,
          coalesce(t.lead_role, pr.lead_role) AS lead_professional_role,
          NULL AS care_plan_date, 'other' AS enrolment_reason,
          coalesce(o.org_id, pr.org_id) AS org_id
        FROM s_episodes t JOIN pm ON pm.ref = t.patient_ref
        LEFT JOIN om o ON o.ref = t.org_ref
        LEFT JOIN prac pr ON pr.practitioner_id = t.manager_ref
    """,
    }


def _encounters() -> dict[Table, str]:
    """Tables of encounters, by the target decided for each (``enc.target``)."""
    return {
        T.HOSPITAL_SPELLS: f"""
        WITH dx AS (
          SELECT c.encounter_ref, list(c.icd10 ORDER BY c._file, c._entry) AS codes
          FROM s_conditions c WHERE c.icd10 IS NOT NULL AND c.encounter_ref IS NOT NULL
          GROUP BY c.encounter_ref
        )
        SELECT s.id, s.nhs_number, s.provider_id, s.start_date AS admission_date,
          s.end_date AS discharge_date,
          coalesce({detail("s", "admission_method")},
            CASE WHEN s.kind = 'snf' THEN 'other'
               WHEN s.maternity_coded THEN 'maternity'
               WHEN s.emergency_coded OR {FOLLOWS_EMERGENCY} THEN 'emergency'
               ELSE 'elective' END) AS admission_method,
          coalesce(dx.codes, CAST(json_extract(s.detail, '$.diagnoses') AS VARCHAR[]))[1]
            AS primary_diagnosis,
          CASE WHEN dx.codes IS NOT NULL THEN
            CASE WHEN len(dx.codes) > 1 THEN dx.codes[2:] END
          ELSE CAST(json_extract(s.detail, '$.diagnoses') AS VARCHAR[])[2:]
          END AS secondary_diagnoses,
          s.specialty,
          coalesce(s.discharge,
            CASE WHEN p.date_of_death IS NOT NULL AND p.date_of_death >= s.start_date
              AND p.date_of_death <= coalesce(s.end_date, s.start_date) THEN 'died' END)
            AS discharge_destination,
          s.total_cost AS cost,
          CAST({detail("s", "discharge_ready_date")} AS DATE) AS discharge_ready_date
        FROM enc s
        LEFT JOIN dx ON dx.encounter_ref = s.id
        LEFT JOIN people_first p ON p.nhs_number = s.nhs_number
        WHERE s.target = 'spell'
    """,
        T.AE_ATTENDANCES: f"""
        SELECT a.id, a.nhs_number, a.provider_id, a.start_date AS attendance_date,
          coalesce({detail("a", "disposal")},
            CASE WHEN {ADMITTED} THEN 'admitted'
               WHEN a.discharge = 'died' OR p.date_of_death = a.start_date THEN 'died'
               WHEN a.discharge = 'other_hospital' THEN 'referred'
               ELSE 'discharged' END) AS disposal,
          a.total_cost AS cost
        FROM enc a LEFT JOIN people_first p ON p.nhs_number = a.nhs_number
        WHERE a.target = 'ae'
    """,
        T.OUTPATIENT_APPOINTMENTS: f"""
        SELECT id, nhs_number, provider_id, start_date AS appointment_date, specialty,
          coalesce({detail("enc", "outcome")},
            CASE WHEN status = 'cancelled' THEN 'cancelled' ELSE 'attended' END) AS outcome,
          total_cost AS cost
        FROM enc WHERE target = 'outpatient'
    """,
        T.PRIMARY_CARE_CONTACTS: f"""
        SELECT id, nhs_number, start_date AS contact_date,
          coalesce({detail("enc", "staff_role")},
            CASE WHEN practitioner_role IS NOT NULL THEN practitioner_role
               WHEN practitioner_ref IS NOT NULL THEN 'gp' ELSE 'other' END) AS staff_role,
          coalesce({detail("enc", "mode")},
            CASE WHEN kind = 'virtual' THEN 'video' ELSE 'face_to_face' END) AS mode,
          provider_id AS org_id, total_cost AS cost
        FROM enc WHERE target = 'primary'
    """,
        # Only Encounters that say they are (Careweave's encounter-detail ``table``).
        T.MENTAL_HEALTH_CONTACTS: f"""
        SELECT id, nhs_number, provider_id, start_date AS contact_date,
          coalesce({detail("enc", "mental_health_service")}, 'other') AS service,
          coalesce({detail("enc", "mode")}, 'face_to_face') AS mode, total_cost AS cost
        FROM enc WHERE target = 'mental_health'
    """,
        T.SOCIAL_CARE_SERVICES: f"""
        SELECT id, nhs_number, provider_id AS local_authority_id,
          coalesce({detail("enc", "social_care_service")}, 'other') AS service_type,
          start_date, end_date,
          CAST({detail("enc", "weekly_hours")} AS DOUBLE) AS weekly_hours,
          CAST({detail("enc", "weekly_cost")} AS DOUBLE) AS weekly_cost
        FROM enc WHERE target = 'social_care'
    """,
        T.COMMUNITY_CONTACTS: f"""
        SELECT id, nhs_number, provider_id, start_date AS contact_date,
          coalesce({detail("enc", "service")},
            CASE WHEN kind = 'hospice' THEN 'palliative_care' ELSE 'other' END) AS service,
          coalesce({detail("enc", "mode")}, 'home_visit') AS mode, total_cost AS cost
        FROM enc WHERE target = 'community'
    """,
    }


def _episode_detail(name: str, cast: str) -> str:
    return f"CAST(json_extract(t.detail, '$.{name}') AS {cast})"


def _social() -> dict[Table, str]:
    """Careweave's own social-care assessments and episodes (handlers/social.py)."""
    episodes = "FROM s_social_episodes t JOIN pm ON pm.ref = t.patient_ref "
    return {
        T.SOCIAL_CARE_ASSESSMENTS: """
        SELECT t.id, pm.nhs_number, coalesce(o.org_id, t.org_ref) AS local_authority_id,
          t.assessment_date, t.assessment_type, t.outcome
        FROM s_social_assessments t JOIN pm ON pm.ref = t.patient_ref
        LEFT JOIN om o ON o.ref = t.org_ref
    """,
        T.CARE_PLACEMENTS: f"""
        SELECT t.id, pm.nhs_number,
          coalesce(la.org_id, json_extract_string(t.detail, '$.local_authority'))
            AS local_authority_id,
          coalesce(o.org_id, t.org_ref) AS care_home_id, t.kind AS placement_type,
          {_episode_detail("permanent", "BOOLEAN")} AS permanent, t.start_date, t.end_date,
          {_episode_detail("weekly_cost", "DOUBLE")} AS weekly_cost
        {episodes}
        LEFT JOIN om o ON o.ref = t.org_ref
        LEFT JOIN om la ON la.ref = json_extract_string(t.detail, '$.local_authority')
        WHERE t.target = 'care_placements'
    """,
        T.REABLEMENT_EPISODES: f"""
        SELECT t.id, pm.nhs_number, coalesce(o.org_id, t.org_ref) AS local_authority_id,
          json_extract_string(t.detail, '$.spell_id') AS spell_id, t.start_date, t.end_date,
          {_episode_detail("at_home_91d", "BOOLEAN")} AS at_home_91d
        {episodes}
        LEFT JOIN om o ON o.ref = t.org_ref
        WHERE t.target = 'reablement_episodes'
    """,
        T.TELECARE_SERVICES: f"""
        SELECT t.id, pm.nhs_number, t.start_date, t.end_date, t.kind AS service_type,
          o.org_id AS org_id
        {episodes}
        LEFT JOIN om o ON o.ref = t.org_ref
        WHERE t.target = 'telecare_services'
    """,
    }


def raw_sql(labels: dict[str, str], dated: Iterable[str]) -> str:
    """``raw_resources``: the raw staging rows, and the rows that could not be resolved."""
    parts = [
        "SELECT t.id, f.name AS source_file, t.resource_type, t.reason, t.content "
        "FROM s_raw t JOIN files f ON f.idx = t._file"
    ]
    for name in ("s_encounters", *PERSON_EVENTS):
        label = labels[name]
        parts.append(
            f"SELECT '{label}/' || t.id || '#unresolved', f.name, '{label}', "
            f"'dangling reference: subject ' || t.patient_ref || ' is not a Patient in the input', "
            f"to_json(t)::VARCHAR FROM {name} t JOIN files f ON f.idx = t._file "
            f"ANTI JOIN pm ON pm.ref = t.patient_ref"
        )
    parts.append(
        "SELECT t.rtype || '/' || t.id || '#unresolved', f.name, t.rtype, "
        "'dangling reference: subject ' || t.patient_ref || ' is not a Patient in the input', "
        "to_json(t)::VARCHAR FROM s_medications t JOIN files f ON f.idx = t._file "
        "ANTI JOIN pm ON pm.ref = t.patient_ref"
    )
    parts.append(
        "SELECT 'RelatedPerson/' || t.id || '#outside', f.name, 'RelatedPerson', "
        "'related person not in the population (a contact: operational data, not canonical)', "
        "to_json(t)::VARCHAR FROM s_relationships t JOIN files f ON f.idx = t._file "
        "SEMI JOIN pm ON pm.ref = t.patient_ref "
        "WHERE t.related_nhs_number NOT IN (SELECT nhs_number FROM people_first)"
    )
    parts.append(
        "SELECT t.rtype || '/' || t.id || '#unresolved', f.name, t.rtype, "
        "'unresolved reference: medication ' || coalesce(t.medication_ref, '?') || "
        "' is not a Medication in the input', to_json(t)::VARCHAR "
        "FROM s_medications_unresolved t JOIN files f ON f.idx = t._file"
    )
    for name in dated:
        label = "t.rtype" if name == "s_medications" else f"'{labels[name]}'"
        parts.append(
            f"SELECT {label} || '/' || t.id || '#after-death', f.name, {label}, "
            f"'dated after the person''s death (e.g. a death certification)', "
            f"to_json(t)::VARCHAR FROM {name}_late t JOIN files f ON f.idx = t._file"
        )
    parts.append(
        "SELECT t.rtype || '/' || t.id || '#unresolved', f.name, t.rtype, "
        "'dangling reference: encounter ' || t.encounter_ref || ' is not in the input', "
        "to_json(t)::VARCHAR FROM s_costs t JOIN files f ON f.idx = t._file "
        "ANTI JOIN enc ON enc.id = t.encounter_ref"
    )
    return " UNION ALL ".join(parts)
