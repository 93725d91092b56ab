"""The model card: what the model is, how it was validated, and for whom it works.

Written next to the artefact as ``<name>.card.md`` and ``<name>.card.html``
(the HTML embeds its plots), with the plots also saved as PNG files.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from careweave.risk.calibration import TOP_PERCENTS, calibration_curve


def _f(v: Any, digits: int = 3) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def _plots(stem: Path, fitted: dict[str, Any], y: Any) -> dict[str, Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_curve

    paths: dict[str, Path] = {}
    fig, ax = plt.subplots(figsize=(5, 5))
    curve = calibration_curve(y, fitted["p_valid"])
    hi = max(max(c["predicted"] for c in curve), max(c["observed"] for c in curve)) * 1.05
    ax.plot([0, hi], [0, hi], ls="--", c="grey", label="perfect")
    ax.plot(
        [c["predicted"] for c in curve], [c["observed"] for c in curve], "o-", label="default model"
    )
    ax.set_xlabel("predicted risk (mean, by tenth)")
    ax.set_ylabel("observed rate")
    ax.set_title("Calibration on the validation cohort")
    ax.legend()
    paths["calibration"] = stem.with_name(stem.name + ".calibration.png")
    fig.savefig(paths["calibration"], dpi=80, bbox_inches="tight")
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(5, 5))
    for name, p in [("default model", fitted["p_valid"]), *fitted["baseline_p"].items()]:
        fpr, tpr, _ = roc_curve(y, p)
        ax.plot(fpr, tpr, label=name)
    ax.plot([0, 1], [0, 1], ls="--", c="grey")
    ax.set_xlabel("1 - specificity")
    ax.set_ylabel("sensitivity")
    ax.set_title("ROC on the validation cohort")
    ax.legend(fontsize=8)
    paths["roc"] = stem.with_name(stem.name + ".roc.png")
    fig.savefig(paths["roc"], dpi=80, bbox_inches="tight")
    plt.close(fig)
    return paths


def _metric_rows(rows: dict[str, dict[str, Any]]) -> list[str]:
    out = [
        "| model | people | outcome rate | AUROC | AUPRC | Brier | cal. slope | cal. intercept |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, m in rows.items():
        out.append(
            f"| {name} | {m['people']} | {_f(m['outcome_rate'])} | {_f(m['auroc'])} | "
            f"{_f(m['auprc'])} | {_f(m['brier'], 4)} | {_f(m['calibration_slope'], 2)} | "
            f"{_f(m['calibration_intercept'], 2)} |"
        )
    return out


def _top_rows(rows: dict[str, dict[str, Any]]) -> list[str]:
    head = " | ".join(f"top {p:g}%: n / PPV / sens." for p in TOP_PERCENTS)
    out = [f"| model | {head} |", "|---|" + "---|" * len(TOP_PERCENTS)]
    for name, m in rows.items():
        cells = []
        for p in TOP_PERCENTS:
            t = m["top"][f"{p:g}"]
            cells.append(f"{t['flagged']} / {_f(t['ppv'], 2)} / {_f(t['sensitivity'], 2)}")
        out.append(f"| {name} | " + " | ".join(cells) + " |")
    return out


def markdown(
    summary: dict[str, Any], fitted: dict[str, Any], art: dict[str, Any], plots: dict[str, Path]
) -> str:
    v = summary["validation"]
    lines = [
        f"# Model card: emergency-admission risk, version {summary['version']}",
        "",
        "## What it predicts",
        f"The probability that a person alive and registered at the as-of date has at least "
        f"one emergency admission in the following {summary['horizon_days']} days.",
        "",
        "## Model",
        "Default: L2-regularised logistic regression with B-splines for age and for "
        "log(1 + count) of prior activity, frailty and comorbidity, register flags, sex, "
        "deprivation quintile, care home and social care, and the interactions age x number "
        "of long-term conditions, age x prior emergency admissions and frailty x prior "
        "emergency admissions (careweave.risk.model). Challenger: LightGBM gradient-boosted "
        "trees on the same features.",
        "",
        "## Data",
        f"- Trained at {art['as_of']} on {summary['cohort']['train_people']} people "
        f"(outcome rate {_f(summary['cohort']['train_outcome_rate'])}).",
        f"- Validated at {art['validated_at']} (temporal validation, outcomes after the training "
        f"period) on {summary['cohort']['validation_people']} people (outcome rate "
        f"{_f(summary['cohort']['validation_outcome_rate'])}).",
        f"- Warehouse span: {art['training_data']['warehouse_span'][0]} to "
        f"{art['training_data']['warehouse_span'][1]}.",
        "- Code lists: " + ", ".join(f"{k} {v}" for k, v in art["code_lists"].items()) + ".",
        "",
        "## Validation",
        *_metric_rows(
            {
                "default model": v,
                "challenger (LightGBM)": summary["challenger"],
                **{f"baseline: {k}": b for k, b in summary["baselines"].items()},
            }
        ),
        "",
        "Beats every baseline's AUROC: "
        + ("**yes**" if summary["beats_every_baseline"] else "**NO**"),
        "",
        "### Flagging the top k%",
        *_top_rows(
            {
                "default model": v,
                "challenger (LightGBM)": summary["challenger"],
                **{f"baseline: {k}": b for k, b in summary["baselines"].items()},
            }
        ),
        "",
        f"![Calibration]({plots['calibration'].name})",
        f"![ROC]({plots['roc'].name})",
        "",
        "## By group (default model)",
        "Top-k columns count the people flagged in the whole cohort's top k% who fall in the "
        "group; sensitivity is within the group.",
    ]
    for grouping, values in fitted["validation_by_group"].items():
        lines += [
            "",
            f"### {grouping.replace('_', ' ')}",
            *_metric_rows(values),
            "",
            *_top_rows(values),
        ]
    lines += ["", "## Baselines by group (AUROC)", ""]
    for name, by in fitted["baselines_by_group"].items():
        cells = [f"{g}={_f(m['auroc'])}" for grouping in by.values() for g, m in grouping.items()]
        lines.append(f"- {name}: " + ", ".join(cells))
    lines += [
        "",
        "## Use and limits",
        "- A list for clinicians to review, not a decision: tiers come from the policy file.",
        "- Explanations are the model's own log-odds contributions (careweave.risk.explain).",
        "- Synthetic data trains a model about synthetic people: retrain on local data.",
    ]
    return "\n".join(lines) + "\n"


def _md_to_html(md: str, plots: dict[str, Path]) -> str:
    """A small Markdown subset (headings, tables, lists, images, bold) to HTML."""
    images = {p.name: base64.b64encode(p.read_bytes()).decode() for p in plots.values()}
    out = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Model card</title>",
        "<style>body{font-family:Arial,sans-serif;max-width:70em;margin:2em auto;}"
        "table{border-collapse:collapse;font-size:0.85em}td,th{border:1px solid #ccc;"
        "padding:2px 6px}</style></head><body>",
    ]
    table: list[list[str]] = []

    def flush() -> None:
        if table:
            out.append("<table>")
            for i, row in enumerate(table):
                tag = "th" if i == 0 else "td"
                out.append("<tr>" + "".join(f"<{tag}>{c}</{tag}>" for c in row) + "</tr>")
            out.append("</table>")
            table.clear()

    for raw in md.splitlines():
        line = html.escape(raw).replace("**", "")
        if raw.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if not all(set(c) <= {"-"} for c in cells):
                table.append(cells)
            continue
        flush()
        if raw.startswith("!["):
            name = raw[raw.index("(") + 1 : -1]
            out.append(
                f"<p><img alt='{html.escape(name)}' src='data:image/png;base64,{images[name]}'></p>"
            )
        elif raw.startswith("#"):
            level = len(raw) - len(raw.lstrip("#"))
            out.append(f"<h{level}>{line[level:].strip()}</h{level}>")
        elif raw.startswith("- "):
            out.append(f"<ul><li>{line[2:]}</li></ul>")
        elif raw.strip():
            out.append(f"<p>{line}</p>")
    flush()
    out.append("</body></html>")
    return "\n".join(out)


def write(
    path: Path,
    summary: dict[str, Any],
    fitted: dict[str, Any],
    art: dict[str, Any],
    frame: pd.DataFrame,
    y: np.ndarray,
) -> tuple[Path, Path]:
    """Write the card (Markdown + HTML + PNG plots) next to the artefact ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    stem = path.with_suffix("")
    plots = _plots(stem, fitted, y)
    md = markdown(summary, fitted, art, plots)
    md_path = stem.with_name(stem.name + ".card.md")
    html_path = stem.with_name(stem.name + ".card.html")
    md_path.write_text(md)
    html_path.write_text(_md_to_html(md, plots))
    return md_path, html_path
