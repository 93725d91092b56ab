"""Tables the warehouse derives, which other parts of Careweave read.

``risk_scores`` is written by ``careweave stratify`` (careweave.risk) and read by
``careweave sync`` (careweave.care) and the workbench: declaring it here keeps
producer and consumers on one definition. It carries each person's spend and the
tariff's identity, so readers never recompute spend (nor with another tariff).
"""

from __future__ import annotations

from careweave.dataset.schema import Column, Kind, Table

CCM_LEVELS = ("1", "2", "3", "4")
FRAILTY_CATEGORY = ("fit", "mild", "moderate", "severe", "unknown")

RISK_SCORES = Table(
    "risk_scores",
    "One row per person per as-of date: predicted 12-month emergency-admission "
    "risk, CCM level, segment and explanation.",
    (
        Column("nhs_number", Kind.STRING, "The person's NHS number."),
        Column("as_of", Kind.DATE, "Date the features were computed at."),
        Column("probability", Kind.FLOAT, "Predicted probability of >= 1 emergency admission."),
        Column("percentile", Kind.FLOAT, "Percentile of probability in the cohort (0-100]."),
        Column("risk_band", Kind.STRING, "Risk band label (e.g. 'very high')."),
        Column("ccm_level", Kind.SMALLINT, "Chronic Conditions Management level, 1-4."),
        Column("segment", Kind.STRING, "Need-and-age segment."),
        Column(
            "frailty_category", Kind.STRING, "eFI-style frailty category.", values=FRAILTY_CATEGORY
        ),
        Column("readmitter", Kind.BOOL, "Re-admitter flag."),
        Column(
            "explanation",
            Kind.STRING_LIST,
            "Top contributing factors, in plain English, strongest first.",
        ),
        Column("model_version", Kind.STRING, "Version of the model that scored."),
        Column(
            "spend_12m",
            Kind.FLOAT,
            "Cost of the person's activity in the 12 months to as_of (pounds): each row's "
            "own cost, else the tariff named in `tariff`. Null in rows scored before it was kept.",
            required=False,
            may_be_absent=True,
            unit="GBP",
        ),
        Column(
            "tariff",
            Kind.STRING,
            "The tariff spend_12m used: its source ('default' or the override file's name) "
            "and the first 12 hex digits of the SHA-256 of its unit costs.",
            required=False,
            may_be_absent=True,
        ),
    ),
    key="nhs_number",
    date_columns=("as_of",),
    group="derived",
)
