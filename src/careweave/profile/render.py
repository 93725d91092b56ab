"""Rendering a profile as Rich tables."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from careweave.dataset.registers import load_registers


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def render_profile(profile: dict[str, Any], console: Console | None = None) -> None:
    """Print ``profile`` (from profile_dataset_dir/profile_warehouse) as readable tables."""
    console = console or Console()
    span = profile["span"]
    console.print(
        f"[bold]Careweave profile[/bold]  span {span['start']} to {span['end']} "
        f"({span['years']} year(s))  people {profile['people']:,}  "
        f"alive and registered at span end {profile['population_at_span_end']:,}"
    )
    people = Table(title="People at span end")
    people.add_column("group")
    people.add_column("people", justify="right")
    for band, n in profile["people_by_age_band"].items():
        people.add_row(f"age {band}", f"{n:,}")
    for sex, n in profile["people_by_sex"].items():
        people.add_row(sex, f"{n:,}")
    for dec, n in profile["people_by_deprivation_decile"].items():
        people.add_row(f"deprivation decile {dec}", f"{n:,}")
    console.print(people)

    prev = Table(title="Register prevalence at span end")
    prev.add_column("register")
    prev.add_column("prevalence", justify="right")
    prev.add_column("reference", justify="right")
    refs = {r.name: r for r in load_registers()}
    for name, value in profile["prevalence"].items():
        ref = refs.get(name)
        prev.add_row(
            ref.label if ref else name,
            _pct(value),
            _pct(ref.reference_prevalence) if ref else "",
        )
    console.print(prev)

    act = Table(title="Activity per 1,000 person-years, by age band (average year)")
    act.add_column("activity")
    bands = list(next(iter(profile["activity_per_1000_by_age"].values())).keys())
    act.add_column("all", justify="right")
    for b in bands:
        act.add_column(b, justify="right")
    for name, by in profile["activity_per_1000_by_age"].items():
        act.add_row(
            name.replace("_", " "),
            f"{profile['activity_per_1000'][name]:,.0f}",
            *(f"{by[b]:,.0f}" for b in bands),
        )
    console.print(act)

    key = Table(title="Concentration and outcomes")
    key.add_column("figure")
    key.add_column("value", justify="right")
    rows = [
        (
            "emergency admissions per 1,000 a year",
            f"{profile['emergency_admissions_per_1000']:.1f}",
        ),
        (
            "people with >= 1 emergency admission in a year",
            _pct(profile["share_people_with_emergency_admission"]),
        ),
        (
            "emergency admissions held by top 5% (whole span)",
            _pct(profile["top5pct_share_of_emergency_admissions"]),
        ),
        ("bed days held by top 5% (whole span)", _pct(profile["top5pct_share_of_bed_days"])),
        ("bed days per 1,000 a year", f"{profile['bed_days_per_1000']:,.0f}"),
        ("cost held by top 1% (a year)", _pct(profile["top1pct_share_of_cost"])),
        ("cost held by top 20% (a year)", _pct(profile["top20pct_share_of_cost"])),
        ("cost per person a year", f"£{profile['cost_per_person']:,.0f}"),
        ("30-day emergency readmission", _pct(profile["readmission_30d_rate"])),
        ("at home 91 days after reablement", _pct(profile["reablement_home_91d_rate"])),
        ("deaths a year", _pct(profile["death_rate"])),
        ("outpatient did-not-attend", _pct(profile["outpatient_dna_rate"])),
        (
            "emergency mean length of stay (days)",
            f"{profile['emergency_mean_length_of_stay_days']:.1f}",
        ),
    ]
    for label, value in rows:
        key.add_row(label, value)
    console.print(key)
