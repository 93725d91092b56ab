"""careweave profile: stable keys, definitions on hand-made data, warehouse = directory, CLI."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from careweave.cli.main import main
from careweave.dataset import tables as T
from careweave.dataset.io import Manifest, write_manifest, write_table
from careweave.dataset.registers import load_registers
from careweave.errors import InputError
from careweave.profile import profile_dataset_dir, profile_warehouse
from careweave.synth import generate
from risk.helpers import make_table

STABLE_KEYS = {
    "people",
    "prevalence",
    "emergency_admissions_per_1000",
    "emergency_admissions_per_1000_by_age",
    "share_people_with_emergency_admission",
    "top5pct_share_of_emergency_admissions",
    "top1pct_share_of_cost",
    "top20pct_share_of_cost",
    "readmission_30d_rate",
    "reablement_home_91d_rate",
    "death_rate",
    "people_by_age_band",
    "people_by_sex",
    "people_by_deprivation_decile",
    "activity_per_1000_by_age",
    "top5pct_share_of_bed_days",
}
D = dt.date


def _empty_dataset(directory: Path, start: D, end: D) -> None:
    for t in T.TABLES:
        if t.required:
            write_table(directory, t, t.arrow_schema.empty_table())
    write_manifest(directory, Manifest("test", start, end))


def _people(rows: list[dict[str, object]]) -> pa.Table:
    base = {
        "sex": "female",
        "ethnic_group": "white",
        "small_area": None,
        "deprivation_decile": None,
        "practice_id": None,
        "local_authority_id": None,
        "registered_from": None,
        "registered_to": None,
        "care_home_resident": False,
        "date_of_death": None,
        "source_id": None,
    }
    return pa.Table.from_pylist([{**base, **r} for r in rows], schema=T.PEOPLE.arrow_schema)


def _spell(i: int, nhs: str, adm: D, dis: D | None, dest: str = "home") -> dict[str, object]:
    return {
        "id": f"S{i}",
        "nhs_number": nhs,
        "provider_id": None,
        "admission_date": adm,
        "discharge_date": dis,
        "admission_method": "emergency",
        "primary_diagnosis": "J18.9",
        "secondary_diagnoses": [],
        "specialty": None,
        "discharge_destination": dest,
        "cost": None,
    }


def _hand_made(tmp_path: Path) -> list[str]:
    start, end = D(2021, 1, 1), D(2021, 12, 31)
    _empty_dataset(tmp_path, start, end)
    # ten people aged 80 at the start (75-84 band); one dies in the year
    nhs = [f"99900000{i:02d}" for i in range(10)]
    rows: list[dict[str, object]] = [{"nhs_number": n, "date_of_birth": D(1940, 6, 1)} for n in nhs]
    rows[9]["date_of_death"] = D(2021, 7, 1)
    write_table(tmp_path, T.PEOPLE, _people(rows))
    spells = [
        _spell(1, nhs[0], D(2021, 2, 1), D(2021, 2, 5)),  # index, readmitted 10 days later
        _spell(2, nhs[0], D(2021, 2, 15), D(2021, 2, 16)),  # index, not readmitted
        _spell(3, nhs[1], D(2021, 3, 1), D(2021, 3, 3)),  # index, not readmitted
        _spell(4, nhs[9], D(2021, 6, 20), D(2021, 7, 1), "died"),  # not an index (died)
    ]
    write_table(
        tmp_path,
        T.HOSPITAL_SPELLS,
        pa.Table.from_pylist(spells, schema=T.HOSPITAL_SPELLS.arrow_schema),
    )
    reab = [
        {
            "id": f"R{i}",
            "nhs_number": nhs[i],
            "local_authority_id": None,
            "spell_id": None,
            "start_date": D(2021, 3, 3),
            "end_date": None,
            "at_home_91d": v,
        }
        for i, v in enumerate([True, True, True, False, None])
    ]
    write_table(
        tmp_path,
        T.REABLEMENT_EPISODES,
        pa.Table.from_pylist(reab, schema=T.REABLEMENT_EPISODES.arrow_schema),
    )
    # hypertension for two of the nine alive at the end
    events = [
        {
            "id": f"E{i}",
            "nhs_number": nhs[i],
            "event_date": D(2015, 1, 1),
            "code_system": "snomed",
            "code": "38341003",
            "term": None,
            "resolved_date": None,
            "org_id": None,
        }
        for i in (0, 1, 9)
    ]
    write_table(
        tmp_path,
        T.PRIMARY_CARE_EVENTS,
        pa.Table.from_pylist(events, schema=T.PRIMARY_CARE_EVENTS.arrow_schema),
    )
    # costed activity of other kinds: A&E, outpatients (one missed), weekly home care
    more = {
        "ae_attendances": [{"nhs_number": nhs[2], "attendance_date": D(2021, 4, 1)}],
        "outpatient_appointments": [
            {"nhs_number": nhs[3], "appointment_date": D(2021, 5, 1)},
            {"nhs_number": nhs[3], "appointment_date": D(2021, 6, 1), "outcome": "did_not_attend"},
        ],
        "social_care_services": [
            {
                "nhs_number": nhs[4],
                "start_date": D(2020, 11, 1),
                "end_date": D(2021, 3, 1),
                "weekly_hours": 7.0,
            }
        ],
    }
    for name, rows_ in more.items():
        write_table(tmp_path, T.BY_NAME[name], make_table(name, rows_))
    return nhs


def test_definitions_on_hand_made_data(tmp_path: Path) -> None:
    _hand_made(tmp_path)
    prof = profile_dataset_dir(tmp_path)
    assert prof.keys() >= STABLE_KEYS
    assert prof["people"] == 10
    assert prof["population_at_span_end"] == 9
    assert prof["prevalence"]["hypertension"] == pytest.approx(2 / 9, abs=1e-6)
    assert prof["readmission_30d_rate"] == pytest.approx(1 / 3, abs=1e-6)
    assert prof["reablement_home_91d_rate"] == pytest.approx(3 / 4, abs=1e-6)
    assert prof["death_rate"] == pytest.approx(1 / 10, abs=1e-6)
    assert prof["share_people_with_emergency_admission"] == pytest.approx(3 / 10, abs=1e-6)
    # 4 admissions over 9 people's 365 days + 181 days of the one who died (1 January to
    # 30 June: the day of death is the first day out of the population)
    expo = (9 * 365 + 181) / 365.25
    assert prof["emergency_admissions_per_1000"] == pytest.approx(1000 * 4 / expo, abs=1e-3)
    assert prof["emergency_admissions_per_1000_by_age"]["75+"] == pytest.approx(
        1000 * 4 / expo, abs=1e-3
    )
    assert prof["emergency_admissions_per_1000_by_age"]["0-17"] == 0.0
    assert prof["outpatient_dna_rate"] == pytest.approx(1 / 2)
    assert prof["activity_per_1000"]["ae_attendances"] == pytest.approx(1000 / expo, abs=1e-3)
    # top 5% of 10 people = 1 person (ceil) holds 2 of 4 admissions
    assert prof["top5pct_share_of_emergency_admissions"] == pytest.approx(0.5)
    for key in ("top1pct_share_of_cost", "top20pct_share_of_cost"):
        assert 0 <= prof[key] <= 1


@pytest.mark.spark
def test_the_profile_is_the_same_on_spark(tmp_path: Path) -> None:
    """Every figure comes from Ibis definitions and measures, so Spark gives the same profile."""
    _hand_made(tmp_path)
    assert profile_dataset_dir(tmp_path, engine="spark") == profile_dataset_dir(tmp_path)


@pytest.fixture(scope="module")
def synth_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("prof") / "ds"
    generate(3000, 2, D(2020, 1, 1), D(2021, 12, 31), out)
    return out


def _warehouse_from(directory: Path, path: Path) -> None:
    con = duckdb.connect(str(path))
    for t in T.TABLES:
        if t.required:
            con.execute(
                f"CREATE TABLE {t.name} AS SELECT * FROM read_parquet('{directory}/{t.name}.parquet')"
            )
    con.execute(
        "CREATE TABLE _load_batches AS SELECT 'b1' batch_id, 'x' source_dir, 'synth' AS source, "
        "DATE '2020-01-01' span_start, DATE '2021-12-31' span_end, now() loaded_at, "
        "0 rows_in, 0 rows_loaded, 0 rows_quarantined"
    )
    con.close()


def test_warehouse_profile_equals_directory_profile(synth_dir: Path, tmp_path: Path) -> None:
    wh = tmp_path / "w.duckdb"
    _warehouse_from(synth_dir, wh)
    a = profile_dataset_dir(synth_dir)
    b = profile_warehouse(wh)
    assert a == b
    assert set(a["prevalence"]) == {r.name for r in load_registers()}
    assert set(a["emergency_admissions_per_1000_by_age"]) == {
        "0-17",
        "18-64",
        "65-74",
        "75-84",
        "85+",
        "75+",
    }


def test_folder_of_parts_is_read(synth_dir: Path, tmp_path: Path) -> None:
    d = tmp_path / "parts"
    d.mkdir()
    for f in synth_dir.iterdir():
        if f.name == "hospital_spells.parquet":
            spells = pq.read_table(f)
            (d / "hospital_spells").mkdir()
            half = spells.num_rows // 2
            pq.write_table(spells.slice(0, half), d / "hospital_spells" / "part-0.parquet")
            pq.write_table(spells.slice(half), d / "hospital_spells" / "part-1.parquet")
        else:
            (d / f.name).write_bytes(f.read_bytes())
    assert profile_dataset_dir(d) == profile_dataset_dir(synth_dir)


def test_tariff_override_changes_cost(synth_dir: Path, tmp_path: Path) -> None:
    t = tmp_path / "t.toml"
    t.write_text("[hospital]\nemergency_spell = 0.0\nexcess_bed_day = 0.0\n")
    a = profile_dataset_dir(synth_dir)
    b = profile_dataset_dir(synth_dir, t)
    assert b["cost_per_person"] < a["cost_per_person"]


def test_cli_json_and_errors(
    synth_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["profile", str(synth_dir), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data.keys() >= STABLE_KEYS
    assert main(["profile", str(synth_dir)]) == 0
    assert "Register prevalence" in capsys.readouterr().out
    assert main(["profile"]) == 2
    assert main(["profile", str(tmp_path / "nope")]) == 2
    (tmp_path / "nomanifest").mkdir()
    assert main(["profile", str(tmp_path / "nomanifest")]) == 2
    assert "manifest" in capsys.readouterr().err
    assert main(["profile", str(synth_dir), "--engine", "nope"]) == 2
    assert "--engine" in capsys.readouterr().err
    assert main(["profile", "--warehouse", str(tmp_path / "nope.duckdb")]) == 2
    bad = tmp_path / "bad.duckdb"
    bad.write_text("not a database")
    assert main(["profile", "--warehouse", str(bad)]) == 2


def test_unreadable_table_is_an_input_error(synth_dir: Path, tmp_path: Path) -> None:
    d = tmp_path / "broken"
    d.mkdir()
    for f in synth_dir.iterdir():
        (d / f.name).write_bytes(f.read_bytes())
    (d / "ae_attendances.parquet").write_text("garbage")
    with pytest.raises(InputError, match="ae_attendances"):
        profile_dataset_dir(d)


def test_window_is_whole_years_counted_back_from_the_last_whole_month(tmp_path: Path) -> None:
    from careweave.profile.figures import Window

    # 29 Feb 2020 .. 27 Feb 2022: whole months March 2020 .. January 2022; one whole year back
    # from January 2022 (February 2021 .. January 2022), the 11 months before it left out
    w = Window.of_span(D(2020, 2, 29), D(2022, 2, 27))
    assert (w.months.first, w.end, w.years) == (D(2021, 2, 1), D(2022, 1, 31), 1)
    w = Window.of_span(D(2019, 1, 1), D(2021, 12, 31))
    assert w.windows() == [
        (D(2018, 12, 31), D(2019, 12, 31)),
        (D(2019, 12, 31), D(2020, 12, 31)),
        (D(2020, 12, 31), D(2021, 12, 31)),
    ]
    # a span shorter than a year is one short year
    w = Window.of_span(D(2021, 1, 1), D(2021, 6, 30))
    assert (w.months.n, w.years) == (6, 1)
    with pytest.raises(InputError, match="no whole calendar month"):
        Window.of_span(D(2021, 1, 5), D(2021, 1, 30))
    _empty_dataset(tmp_path, D(2020, 2, 29), D(2022, 2, 27))
    rows: list[dict[str, object]] = [{"nhs_number": "9990000026", "date_of_birth": D(1950, 1, 1)}]
    write_table(tmp_path, T.PEOPLE, _people(rows))
    spells = [
        _spell(1, "9990000026", D(2021, 1, 27), D(2021, 1, 28)),  # before the year: left out
        _spell(2, "9990000026", D(2021, 2, 27), D(2021, 2, 28)),
    ]
    write_table(
        tmp_path,
        T.HOSPITAL_SPELLS,
        pa.Table.from_pylist(spells, schema=T.HOSPITAL_SPELLS.arrow_schema),
    )
    prof = profile_dataset_dir(tmp_path)
    assert prof["span"] == {"start": "2021-02-01", "end": "2022-01-31", "years": 1}
    # one admission in 365 person-days
    assert prof["emergency_admissions_per_1000"] == pytest.approx(365250 / 365, abs=1e-3)
