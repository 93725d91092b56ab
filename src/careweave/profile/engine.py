"""The data profile: DuckDB SQL over the canonical tables.

Works on a dataset directory (views over its Parquet files) or on a warehouse
(its tables, opened read-only). Every figure and its definition is in
docs/profile.md; the JSON keys are stable.

Time: the span (manifest, or ``_load_batches`` in a warehouse) is cut into
consecutive one-year periods from its first day (a span shorter than a year is
one period, rates annualised). A person belongs to a period's population when
born, alive and registered on at least one of its days; their exposure is the
number of those days / 365.25. Per-year figures are computed period by period
and averaged over the periods.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from careweave import duck
from careweave.dataset import tables as T
from careweave.dataset.io import read_manifest, table_path
from careweave.dataset.registers import load_registers
from careweave.dataset.schema import Table
from careweave.dataset.tariff import Tariff, load_tariff
from careweave.errors import InputError

AGE_BANDS: tuple[tuple[str, int, int], ...] = (
    ("0-17", 0, 17),
    ("18-64", 18, 64),
    ("65-74", 65, 74),
    ("75-84", 75, 84),
    ("85+", 85, 200),
)
PROFILE_TABLES = T.PERSON_TABLES


def _add_years(d: dt.date, years: int) -> dt.date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:
        return d.replace(year=d.year + years, day=28)


def periods(start: dt.date, end: dt.date) -> list[tuple[dt.date, dt.date]]:
    """One-year periods from ``start``; the last one ends at ``end``.

    A final part-year shorter than half a year is merged into the previous period
    only when there is no whole year at all; otherwise it is dropped, so that
    per-year figures average whole years.
    """
    out: list[tuple[dt.date, dt.date]] = []
    k = 0
    while True:
        p0 = _add_years(start, k)
        p1 = _add_years(start, k + 1) - dt.timedelta(days=1)
        if p1 > end:
            break
        out.append((p0, p1))
        k += 1
    if not out:
        out.append((start, end))
    return out


def _band_sql(age: str) -> str:
    parts = " ".join(f"WHEN {age} <= {hi} THEN '{name}'" for name, _, hi in AGE_BANDS)
    return f"CASE {parts} END"


def _num(x: float) -> str:
    return repr(float(x))


class _Profiler:
    def __init__(
        self, con: duckdb.DuckDBPyConnection, start: dt.date, end: dt.date, tariff: Tariff
    ) -> None:
        self.con = con
        self.start = start
        self.end = end
        self.tariff = tariff
        self.last = end

    def kexpr(self, col: str) -> str:
        """SQL for the period number of date ``col`` (NULL outside the periods), no join needed."""
        first = f"DATE '{self.start.isoformat()}'"
        last = f"DATE '{self.last.isoformat()}'"
        if (self.start.month, self.start.day) == (2, 29):  # anniversaries move: look it up
            return f"(SELECT k FROM periods WHERE {col} BETWEEN p0 AND p1)"
        return (
            f"CASE WHEN {col} BETWEEN {first} AND {last} THEN date_sub('year', {first}, {col}) END"
        )

    def q(self, sql: str) -> list[tuple[Any, ...]]:
        return self.con.execute(sql).fetchall()

    def one(self, sql: str) -> Any:
        row = self.con.execute(sql).fetchone()
        return None if row is None else row[0]

    def run(self) -> dict[str, Any]:
        con = self.con
        ps = periods(self.start, self.end)
        self.last = ps[-1][1]
        con.execute("CREATE OR REPLACE TEMP TABLE periods (k INTEGER, p0 DATE, p1 DATE)")
        con.executemany(
            "INSERT INTO periods VALUES (?, ?, ?)", [(i, a, b) for i, (a, b) in enumerate(ps)]
        )
        E = f"DATE '{self.end.isoformat()}'"
        S = f"DATE '{self.start.isoformat()}'"
        con.execute(
            """
            CREATE OR REPLACE TEMP TABLE pp AS
            SELECT p.nhs_number, k.k, k.p0, k.p1, p.date_of_death,
                   greatest(k.p0, p.date_of_birth, coalesce(p.registered_from, p.date_of_birth)) AS s,
                   least(k.p1, coalesce(p.date_of_death, k.p1), coalesce(p.registered_to, k.p1)) AS e,
                   greatest(0, floor((k.p0 - p.date_of_birth) / 365.25))::INTEGER AS age
            FROM people p CROSS JOIN periods k
            WHERE p.date_of_birth <= k.p1
              AND coalesce(p.date_of_death, k.p1) >= k.p0
              AND coalesce(p.registered_from, p.date_of_birth) <= k.p1
              AND coalesce(p.registered_to, k.p1) >= k.p0
            """
        )
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE pp2 AS
            SELECT *, (e - s + 1) / 365.25 AS expo, {_band_sql("age")} AS band FROM pp
            WHERE e >= s
            """
        )
        # activity rows placed in a period (joined to the person's period row)
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE spells AS
            SELECT s.id, s.nhs_number, s.admission_date, s.admission_method,
                   coalesce(s.discharge_date, {E}) AS dis, s.discharge_date, s.discharge_destination,
                   greatest(coalesce(s.discharge_date, {E}) - s.admission_date, 0) AS los, s.cost
            FROM hospital_spells s
            WHERE s.admission_date BETWEEN {S} AND {E}
            """
        )
        out: dict[str, Any] = {}
        out["span"] = {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "years": len(ps),
        }
        out["people"] = int(self.one("SELECT count(*) FROM people"))
        out.update(self._demography(E))
        out["prevalence"] = self._prevalence(E)
        out.update(self._activity())
        out.update(self._concentration())
        out.update(self._outcomes(E))
        return out

    # --- demography at the end of the span
    def _demography(self, E: str) -> dict[str, Any]:
        self.con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE endpop AS
            SELECT nhs_number, sex, deprivation_decile,
                   floor(({E} - date_of_birth) / 365.25)::INTEGER AS age
            FROM people
            WHERE date_of_birth <= {E}
              AND (date_of_death IS NULL OR date_of_death > {E})
              AND (registered_to IS NULL OR registered_to > {E})
              AND coalesce(registered_from, date_of_birth) <= {E}
            """
        )
        total = int(self.one("SELECT count(*) FROM endpop"))
        bands = dict(self.q(f"SELECT {_band_sql('age')} b, count(*) FROM endpop GROUP BY b"))
        sexes = dict(self.q("SELECT sex, count(*) FROM endpop GROUP BY sex ORDER BY sex"))
        dep = dict(
            self.q(
                "SELECT coalesce(CAST(deprivation_decile AS VARCHAR), 'unknown') d, count(*) "
                "FROM endpop GROUP BY d"
            )
        )
        dep_order = [str(i) for i in range(1, 11)] + ["unknown"]
        return {
            "population_at_span_end": total,
            "people_by_age_band": {b: int(bands.get(b, 0)) for b, _, _ in AGE_BANDS},
            "people_by_sex": {str(k): int(v) for k, v in sexes.items()},
            "people_by_deprivation_decile": {d: int(dep[d]) for d in dep_order if d in dep},
        }

    def _prevalence(self, E: str) -> dict[str, float]:
        con = self.con
        regs = load_registers()
        con.execute("CREATE OR REPLACE TEMP TABLE reg_codes (register VARCHAR, code VARCHAR)")
        con.executemany(
            "INSERT INTO reg_codes VALUES (?, ?)",
            [(r.name, c) for r in regs for c in r.snomed_codes],
        )
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE on_reg AS
            SELECT DISTINCT rc.register, e.nhs_number
            FROM primary_care_events e JOIN reg_codes rc ON e.code = rc.code
            WHERE e.code_system IN ('snomed', 'dmd') AND e.event_date <= {E}
              AND (e.resolved_date IS NULL OR e.resolved_date > {E})
            """
        )
        for r in regs:
            rule = r.observation_rule
            if rule is None:
                continue
            con.execute(
                f"""
                INSERT INTO on_reg
                SELECT DISTINCT '{r.name}', nhs_number FROM observations
                WHERE measure = '{rule.measure}' AND value {rule.op} {_num(rule.value)}
                  AND obs_date BETWEEN {E} - {int(rule.within_days)} AND {E}
                """
            )
        out: dict[str, float] = {}
        for r in regs:
            den = self.one(f"SELECT count(*) FROM endpop WHERE age >= {r.denominator_min_age}")
            num = self.one(
                f"""
                SELECT count(DISTINCT p.nhs_number) FROM endpop p
                JOIN on_reg o ON o.nhs_number = p.nhs_number AND o.register = '{r.name}'
                WHERE p.age >= {r.register_min_age}
                """
            )
            out[r.name] = round(num / den, 6) if den else 0.0
        return out

    # --- activity rates
    def _rates(self, source: str, date_col: str, where: str) -> tuple[float, dict[str, float]]:
        """Events per 1,000 person-years overall and by age band, averaged over periods."""
        rows = self.q(
            f"""
            WITH c AS (
              SELECT nhs_number, {self.kexpr("x." + date_col)} AS k, count(*) n
              FROM {source} x WHERE {where} GROUP BY ALL)
            SELECT pp2.k, pp2.band, sum(coalesce(c.n, 0)) n, sum(pp2.expo) expo
            FROM pp2 LEFT JOIN c ON c.nhs_number = pp2.nhs_number AND c.k = pp2.k
            GROUP BY ALL
            """
        )
        per_k: dict[int, list[float]] = {}
        per_band: dict[str, dict[int, list[float]]] = {}
        for k, band, n, expo in rows:
            tot = per_k.setdefault(k, [0.0, 0.0])
            tot[0] += float(n)
            tot[1] += float(expo)
            b = per_band.setdefault(band, {}).setdefault(k, [0.0, 0.0])
            b[0] += float(n)
            b[1] += float(expo)
        for band in ("75-84", "85+"):
            for k, (n, expo) in per_band.get(band, {}).items():
                b = per_band.setdefault("75+", {}).setdefault(k, [0.0, 0.0])
                b[0] += n
                b[1] += expo

        def avg(d: dict[int, list[float]]) -> float:
            vals = [1000 * n / e for n, e in d.values() if e > 0]
            return round(sum(vals) / len(vals), 3) if vals else 0.0

        bands = [b for b, _, _ in AGE_BANDS] + ["75+"]
        return avg(per_k), {b: avg(per_band.get(b, {})) for b in bands}

    def _activity(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        em, em_by = self._rates(
            "hospital_spells", "admission_date", "admission_method = 'emergency'"
        )
        out["emergency_admissions_per_1000"] = em
        out["emergency_admissions_per_1000_by_age"] = em_by
        activities = {
            "emergency_admissions": (
                "hospital_spells",
                "admission_date",
                "admission_method = 'emergency'",
            ),
            "elective_admissions": (
                "hospital_spells",
                "admission_date",
                "admission_method = 'elective'",
            ),
            "ae_attendances": ("ae_attendances", "attendance_date", "true"),
            "outpatient_attendances": (
                "outpatient_appointments",
                "appointment_date",
                "outcome = 'attended'",
            ),
            "primary_care_contacts": ("primary_care_contacts", "contact_date", "true"),
            "community_contacts": ("community_contacts", "contact_date", "true"),
            "mental_health_contacts": ("mental_health_contacts", "contact_date", "true"),
        }
        by_age: dict[str, dict[str, float]] = {}
        overall: dict[str, float] = {}
        for name, (src, col, where) in activities.items():
            if name == "emergency_admissions":
                overall[name], by_age[name] = em, em_by
                continue
            overall[name], by_age[name] = self._rates(src, col, where)
        out["activity_per_1000"] = overall
        out["activity_per_1000_by_age"] = by_age
        # share of people with >= 1 emergency admission in a year
        rows = self.q(
            f"""
            WITH em AS (
              SELECT DISTINCT s.nhs_number, {self.kexpr("s.admission_date")} AS k FROM spells s
              WHERE s.admission_method = 'emergency')
            SELECT pp2.k, count(*) FILTER (WHERE em.nhs_number IS NOT NULL) / count(*)
            FROM pp2 LEFT JOIN em ON em.nhs_number = pp2.nhs_number AND em.k = pp2.k
            GROUP BY pp2.k
            """
        )
        out["share_people_with_emergency_admission"] = _mean([r[1] for r in rows])
        dna = self.one(
            "SELECT avg(CASE WHEN outcome = 'did_not_attend' THEN 1.0 ELSE 0.0 END) "
            "FROM outpatient_appointments WHERE outcome <> 'cancelled'"
        )
        out["outpatient_dna_rate"] = round(float(dna or 0.0), 6)
        los = self.one("SELECT avg(los) FROM spells WHERE admission_method = 'emergency'")
        out["emergency_mean_length_of_stay_days"] = round(float(los or 0.0), 3)
        return out

    # --- concentration
    def _cost_rows_sql(self) -> str:
        t = self.tariff
        h, pc, co, mh, sc = (
            t["hospital"],
            t["primary_care"],
            t["community"],
            t["mental_health"],
            t["social_care"],
        )

        def case(col: str, table: dict[str, float], default: float) -> str:
            whens = " ".join(f"WHEN '{k}' THEN {_num(v)}" for k, v in table.items())
            return f"CASE {col} {whens} ELSE {_num(default)} END"

        spell = (
            f"coalesce(cost, CASE admission_method "
            f"WHEN 'emergency' THEN {_num(h['emergency_spell'])} + greatest(los - {_num(h['emergency_trim_days'])}, 0) * {_num(h['excess_bed_day'])} "
            f"WHEN 'elective' THEN {_num(h['elective_spell'])} "
            f"WHEN 'maternity' THEN {_num(h['maternity_spell'])} "
            f"ELSE {_num(h['other_spell'])} END)"
        )
        role = {
            "gp": pc["gp_consultation"],
            "nurse": pc["nurse_consultation"],
            "pharmacist": pc["pharmacist_consultation"],
            "other": pc["other_consultation"],
        }
        pcc = (
            f"coalesce(cost, {case('staff_role', role, pc['other_consultation'])} + "
            f"CASE WHEN mode = 'home_visit' THEN {_num(pc['home_visit_uplift'])} ELSE 0 END)"
        )
        op_cost = (
            f"coalesce(cost, CASE outcome WHEN 'attended' THEN {_num(h['outpatient_attendance'])} "
            f"WHEN 'did_not_attend' THEN {_num(h['outpatient_did_not_attend'])} ELSE 0 END)"
        )
        return f"""
            SELECT nhs_number, admission_date AS d, {spell} AS cost FROM spells
            UNION ALL SELECT nhs_number, attendance_date, coalesce(cost, {_num(h["ae_attendance"])}) FROM ae_attendances
            UNION ALL SELECT nhs_number, appointment_date, {op_cost} FROM outpatient_appointments
            UNION ALL SELECT nhs_number, contact_date, {pcc} FROM primary_care_contacts
            UNION ALL SELECT nhs_number, issue_date, {_num(pc["medication_item"])} FROM medications
            UNION ALL SELECT nhs_number, contact_date, coalesce(cost, {case("service", co, co["other"])}) FROM community_contacts
            UNION ALL SELECT nhs_number, contact_date, coalesce(cost, {case("service", mh, mh["other"])}) FROM mental_health_contacts
            UNION ALL SELECT nhs_number, assessment_date, {_num(sc["assessment"])} FROM social_care_assessments
            UNION ALL SELECT nhs_number, start_date, {_num(sc["reablement_episode"])} FROM reablement_episodes
        """

    def _weekly_sql(self) -> str:
        sc = self.tariff["social_care"]
        week = {k.removesuffix("_week"): v for k, v in sc.items() if k.endswith("_week")}
        svc_case = " ".join(f"WHEN '{k}' THEN {_num(v)}" for k, v in week.items())
        return f"""
            SELECT nhs_number, start_date, end_date,
              coalesce(weekly_cost, CASE service_type
                WHEN 'home_care' THEN coalesce(weekly_hours, 0) * {_num(sc["home_care_hour"])}
                {svc_case} ELSE {_num(sc["other_week"])} END) AS weekly
            FROM social_care_services
            UNION ALL
            SELECT nhs_number, start_date, end_date,
              coalesce(weekly_cost, CASE placement_type WHEN 'nursing' THEN {_num(sc["nursing_week"])}
                ELSE {_num(sc["residential_week"])} END)
            FROM care_placements
        """

    def _concentration(self) -> dict[str, Any]:
        con = self.con
        E = f"DATE '{self.end.isoformat()}'"
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE person_cost AS
            WITH rows AS ({self._cost_rows_sql()}),
            dated AS (
              SELECT r.nhs_number, {self.kexpr("r.d")} AS k, sum(r.cost) AS cost FROM rows r
              GROUP BY ALL),
            weekly AS ({self._weekly_sql()}),
            spread AS (
              SELECT w.nhs_number, k.k,
                sum(w.weekly * (least(coalesce(w.end_date, {E}), k.p1) - greatest(w.start_date, k.p0) + 1) / 7.0) AS cost
              FROM weekly w JOIN periods k
                ON w.start_date <= k.p1 AND coalesce(w.end_date, {E}) >= k.p0
              GROUP BY ALL),
            allc AS (SELECT * FROM dated UNION ALL SELECT * FROM spread)
            SELECT pp2.k, pp2.nhs_number, coalesce(sum(a.cost), 0) AS cost
            FROM pp2 LEFT JOIN allc a ON a.nhs_number = pp2.nhs_number AND a.k = pp2.k
            GROUP BY ALL
            """
        )
        rows = self.q(
            """
            WITH r AS (
              SELECT k, cost, row_number() OVER (PARTITION BY k ORDER BY cost DESC) rn,
                     count(*) OVER (PARTITION BY k) n FROM person_cost)
            SELECT k,
              sum(cost) FILTER (WHERE rn <= ceil(0.01 * n)) / nullif(sum(cost), 0),
              sum(cost) FILTER (WHERE rn <= ceil(0.20 * n)) / nullif(sum(cost), 0),
              sum(cost) / count(*)
            FROM r GROUP BY k
            """
        )
        out: dict[str, Any] = {
            "top1pct_share_of_cost": _mean([r[1] for r in rows]),
            "top20pct_share_of_cost": _mean([r[2] for r in rows]),
            "cost_per_person": round(_mean([r[3] for r in rows], 6), 2),
        }
        # emergency admissions and bed days over the whole span
        em = self.one(
            """
            WITH people_in AS (SELECT DISTINCT nhs_number FROM pp2),
            c AS (SELECT nhs_number, count(*) n FROM spells WHERE admission_method = 'emergency' GROUP BY 1),
            r AS (SELECT coalesce(c.n, 0) n, row_number() OVER (ORDER BY coalesce(c.n, 0) DESC) rn,
                         count(*) OVER () tot
                  FROM people_in p LEFT JOIN c USING (nhs_number))
            SELECT sum(n) FILTER (WHERE rn <= ceil(0.05 * tot)) / nullif(sum(n), 0) FROM r
            """
        )
        out["top5pct_share_of_emergency_admissions"] = round(float(em or 0.0), 6)
        bd = self.one(
            """
            WITH people_in AS (SELECT DISTINCT nhs_number FROM pp2),
            c AS (SELECT nhs_number, sum(los) n FROM spells GROUP BY 1),
            r AS (SELECT coalesce(c.n, 0) n, row_number() OVER (ORDER BY coalesce(c.n, 0) DESC) rn,
                         count(*) OVER () tot
                  FROM people_in p LEFT JOIN c USING (nhs_number))
            SELECT sum(n) FILTER (WHERE rn <= ceil(0.05 * tot)) / nullif(sum(n), 0) FROM r
            """
        )
        out["top5pct_share_of_bed_days"] = round(float(bd or 0.0), 6)
        expo = float(self.one("SELECT sum(expo) FROM pp2") or 0.0)
        beds = float(self.one("SELECT sum(los) FROM spells") or 0.0)
        out["bed_days_per_1000"] = round(1000 * beds / expo, 3) if expo else 0.0
        long65 = self.one(
            """
            SELECT sum(los) FILTER (WHERE los > 10 AND floor((admission_date - p.date_of_birth) / 365.25) >= 65)
                   / nullif(sum(los), 0)
            FROM spells s JOIN people p USING (nhs_number)
            """
        )
        out["share_bed_days_65plus_stays_over_10_days"] = round(float(long65 or 0.0), 6)
        return out

    def _outcomes(self, E: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        S = f"DATE '{self.start.isoformat()}'"
        row = self.con.execute(
            f"""
            WITH idx AS (
              SELECT id, nhs_number, admission_date, discharge_date FROM spells
              WHERE admission_method = 'emergency' AND discharge_date IS NOT NULL
                AND coalesce(discharge_destination, '') <> 'died'
                AND admission_date >= {S} AND discharge_date <= {E} - 30),
            em AS (SELECT id, nhs_number, admission_date FROM spells WHERE admission_method = 'emergency'),
            re AS (
              SELECT DISTINCT idx.id FROM idx JOIN em
                ON em.nhs_number = idx.nhs_number AND em.id <> idx.id
               AND em.admission_date >= idx.admission_date
               AND em.admission_date BETWEEN idx.discharge_date AND idx.discharge_date + 30)
            SELECT (SELECT count(*) FROM re), (SELECT count(*) FROM idx)
            """
        ).fetchone()
        re_n, idx_n = row or (0, 0)
        out["readmission_30d_rate"] = round(re_n / idx_n, 6) if idx_n else 0.0
        reab = self.one(
            f"""
            SELECT avg(CASE WHEN at_home_91d THEN 1.0 ELSE 0.0 END) FROM reablement_episodes
            WHERE at_home_91d IS NOT NULL AND start_date BETWEEN {S} AND {E}
            """
        )
        out["reablement_home_91d_rate"] = round(float(reab or 0.0), 6)
        rows = self.q(
            """
            SELECT k, count(*) FILTER (WHERE date_of_death BETWEEN p0 AND p1) / count(*)
            FROM pp2 GROUP BY k
            """
        )
        out["death_rate"] = _mean([r[1] for r in rows])
        return out


def _mean(values: list[Any], digits: int = 6) -> float:
    vals = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    return round(sum(vals) / len(vals), digits) if vals else 0.0


def _empty(table: Table) -> pa.Table:
    return table.arrow_schema.empty_table()


def _view_source(path: Path) -> str:
    p = str(path).replace("'", "''")
    if path.is_dir():
        return f"read_parquet('{p}/**/*.parquet')"
    if path.suffix == ".csv":
        return f"read_csv('{p}', header = true)"
    return f"read_parquet('{p}')"


def profile_dataset_dir(path: Path, tariff_path: Path | None = None) -> dict[str, Any]:
    """The profile of a dataset directory (span from its manifest.json)."""
    path = Path(path)
    if not path.is_dir():
        raise InputError(f"{path}: not a dataset directory")
    manifest = read_manifest(path)
    if manifest is None:
        raise InputError(f"{path}: no manifest.json, so the span it covers is unknown")
    tariff = load_tariff(tariff_path)
    con = duck.connect()
    try:
        for t in PROFILE_TABLES:
            src = table_path(path, t)
            if src is None:
                if t.required:
                    raise InputError(f"{path}: missing table {t.name}")
                con.register(f"_{t.name}_empty", _empty(t))
                con.execute(f"CREATE VIEW {t.name} AS SELECT * FROM _{t.name}_empty")
                continue
            try:
                con.execute(f"CREATE VIEW {t.name} AS SELECT * FROM {_view_source(src)}")
                con.execute(f"SELECT * FROM {t.name} LIMIT 0")
            except duckdb.Error as e:
                raise InputError(f"{src}: cannot read ({str(e).splitlines()[0]})") from None
        return _Profiler(con, manifest.span_start, manifest.span_end, tariff).run()
    finally:
        con.close()


def profile_warehouse(path: Path, tariff_path: Path | None = None) -> dict[str, Any]:
    """The profile of a DuckDB warehouse (span from its ``_load_batches``), opened read-only."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such warehouse file")
    tariff = load_tariff(tariff_path)
    try:
        con = duck.connect(path, read_only=True)
    except duckdb.Error as e:
        raise InputError(f"{path}: not a DuckDB warehouse ({str(e).splitlines()[0]})") from None
    try:
        names = {
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
            ).fetchall()
        }
        if "_load_batches" not in names:
            raise InputError(f"{path}: no _load_batches table, so the span it covers is unknown")
        span = con.execute("SELECT min(span_start), max(span_end) FROM _load_batches").fetchone()
        if span is None or span[0] is None:
            raise InputError(f"{path}: _load_batches is empty: nothing has been loaded")
        start, end = _as_date(span[0]), _as_date(span[1])
        for t in PROFILE_TABLES:
            if t.name not in names and t.required:
                raise InputError(f"{path}: warehouse has no table {t.name}")
        return _Profiler(con, start, end, tariff).run()
    finally:
        con.close()


def _as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])
