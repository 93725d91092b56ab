"""Readable (Rich) forms of the train and stratify summaries."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table


def _n(v: Any, digits: int = 3) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


def print_train(summary: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    c = summary["cohort"]
    console.print(
        f"Model {summary['version']} trained at {summary['as_of']} on {c['train_people']:,} "
        f"people; validated on {c['validation_people']:,} a horizon later "
        f"(outcome rate {c['validation_outcome_rate']:.1%})."
    )
    t = Table(title="Validation (emergency admission within the horizon)")
    for col in ("model", "AUROC", "AUPRC", "Brier", "cal. slope", "cal. intercept"):
        t.add_column(col)
    rows = [
        ("default model", summary["validation"]),
        ("challenger (LightGBM)", summary["challenger"]),
    ]
    rows += [(f"baseline: {k}", v) for k, v in summary["baselines"].items()]
    for name, m in rows:
        t.add_row(
            name,
            _n(m["auroc"]),
            _n(m["auprc"]),
            _n(m["brier"], 4),
            _n(m["calibration_slope"], 2),
            _n(m["calibration_intercept"], 2),
        )
    console.print(t)
    verdict = "beats" if summary["beats_every_baseline"] else "does NOT beat"
    console.print(f"The default model {verdict} every baseline's AUROC.")
    console.print(f"Artefact: {summary['model']}")
    if "card" in summary:
        console.print(f"Model card: {summary['card']['markdown']} and {summary['card']['html']}")


def print_stratify(summary: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    console.print(
        f"Stratified {summary['people']:,} people at {summary['as_of']} on {summary['engine']} "
        f"with model {summary['model_version']}; wrote risk_scores "
        f"(spend at tariff {summary['tariff']})."
    )
    t = Table(title="CCM pyramid")
    for col in ("level", "name", "people", "%"):
        t.add_column(col, justify="right" if col in ("people", "%") else "left")
    for lv in ("4", "3", "2", "1"):
        t.add_row(
            lv,
            summary["level_names"].get(lv, ""),
            f"{summary['levels'][lv]:,}",
            f"{summary['level_shares'][lv]:.1%}",
        )
    console.print(t)
    console.print(f"Re-admitters: {summary['readmitters']:,}")
    s = Table(title="Segments (spend over the last 12 months, tariff prices)")
    for col in ("segment", "people", "% people", "spend per head", "% spend"):
        s.add_column(col, justify="left" if col == "segment" else "right")
    for row in summary["segments"]:
        s.add_row(
            row["segment"],
            f"{row['people']:,}",
            f"{row['share_of_people']:.1%}",
            f"£{row['spend_per_head']:,.0f}",
            f"{row['share_of_spend']:.1%}",
        )
    console.print(s)
    mv = summary.get("movement")
    if mv:
        m = Table(title=f"Movement between levels, {mv['from']} (rows) to {mv['to']} (columns)")
        m.add_column("from \\ to")
        for lv in ("1", "2", "3", "4"):
            m.add_column(f"level {lv}", justify="right")
        for a in ("1", "2", "3", "4"):
            m.add_row(f"level {a}", *[f"{mv['matrix'][a][b]:,}" for b in ("1", "2", "3", "4")])
        console.print(m)
        share = mv["share_moved_down"]
        console.print(
            f"Moved to a lower level: {mv['moved_down']:,} of {mv['people_in_both']:,} "
            f"({(share or 0):.1%})."
        )
