"""The evaluation recovers the effect planted in the synthetic population.

200,000 people, 2019-2023: seed 1 generated twice, with case management cutting
an enrolled person's emergency admissions by 15% while enrolled and with no
effect, and seed 2 with the -15% (a second population, so the recovery is not
one seed's luck; a run is about 1.5 minutes of two cores, so the suite keeps
three, and ``bench/bench_evaluation.py --seeds 1 2 3`` runs the rest). Enrolment is the same in both (its draws have a stream of their
own), selected the way real schemes select: from the top of a record-based risk
list and just after an admission. So:

- planted -15%: the 95% CI of the matched difference-in-differences contains
  -15% and excludes 0;
- planted 0: the CI contains 0, while the naive before/after of the same people
  shows a fall (regression to the mean).

More seeds, and the figures, are in ``bench/bench_evaluation.py``
(docs/evaluation.md).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from careweave.evaluation.run import evaluate
from careweave.ingest.load import load_dataset
from careweave.synth import generate
from careweave.warehouse.engines import DuckDBEngine

PEOPLE = 200_000


def _run(tmp: Path, seed: int, effect: float) -> dict[str, Any]:
    generate(
        PEOPLE,
        seed,
        dt.date(2019, 1, 1),
        dt.date(2023, 12, 31),
        tmp / "data",
        case_management_effect=effect,
    )
    load_dataset(tmp / "data", tmp / "w.duckdb")
    engine = DuckDBEngine.open(tmp / "w.duckdb")
    try:
        out = evaluate(engine, outcomes=("emergency_admissions",))
    finally:
        engine.close()
    return dict(out["outcomes"]["emergency_admissions"]) | {"treated": out["treated"]}


@pytest.mark.slow
@pytest.mark.parametrize(("seed", "planted"), [(1, -0.15), (1, 0.0), (2, -0.15)])
def test_the_planted_effect_is_recovered(tmp_path: Path, seed: int, planted: float) -> None:
    e = _run(tmp_path, seed, planted)
    assert e["treated"] > 2000
    assert e["ci_low"] <= planted <= e["ci_high"], e
    if planted < 0:
        assert e["ci_high"] < 0, f"the CI should exclude no effect: {e}"
    else:
        assert e["naive_before_after"] < 0, f"the naive before/after should fall: {e}"
