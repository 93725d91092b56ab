"""Memory stays flat as FHIR input grows; surrogate NHS numbers are valid and unique."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from careweave.dataset.nhs_number import (
    SURROGATE_RANGES,
    check_digit,
    in_ranges,
    is_valid,
    surrogate_for,
)
from careweave.importers.finalise import allocate_surrogates

PATIENTS = 40


def _obs(i: int) -> str:
    return json.dumps(
        {
            "resourceType": "Observation",
            "id": f"o{i}",
            "status": "final",
            "subject": {"reference": f"Patient/p{i % PATIENTS}"},
            "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
            "effectiveDateTime": f"20{10 + i % 12}-0{1 + i % 9}-1{i % 10}T08:00:00Z",
            "valueQuantity": {"value": 60 + i % 40, "unit": "kg", "code": "kg"},
            "note": [{"text": "x" * 200}],
        }
    )


def write_ndjson(path: Path, megabytes: int) -> int:
    """An NDJSON export of about ``megabytes`` MB: a few patients, many observations."""
    with path.open("w") as f:
        for p in range(PATIENTS):
            f.write(
                json.dumps(
                    {
                        "resourceType": "Patient",
                        "id": f"p{p}",
                        "gender": "female",
                        "birthDate": "1950-01-01",
                    }
                )
                + "\n"
            )
        i = 0
        while f.tell() < megabytes * 1_000_000:
            f.write("\n".join(_obs(j) for j in range(i, i + 1000)) + "\n")
            i += 1000
    return i


def write_bundle(path: Path, megabytes: int) -> int:
    """One collection Bundle of about ``megabytes`` MB (streamed by ijson on import)."""
    with path.open("w") as f:
        f.write('{"resourceType": "Bundle", "type": "collection", "entry": [\n')
        for p in range(PATIENTS):
            pat = {
                "resourceType": "Patient",
                "id": f"p{p}",
                "gender": "male",
                "birthDate": "1940-01-01",
            }
            f.write(json.dumps({"resource": pat}) + ",\n")
        i = 0
        while f.tell() < megabytes * 1_000_000:
            f.write(",\n".join('{"resource": ' + _obs(j) + "}" for j in range(i, i + 1000)) + ",\n")
            i += 1000
        f.write(json.dumps({"resource": json.loads(_obs(i))}) + "\n]}\n")
    return i + 1


CHILD = """
import resource, sys
from pathlib import Path
from careweave.importers.fhir import import_fhir
report = import_fhir([Path(sys.argv[1])], Path(sys.argv[2]), memory_limit="256MB")
print(report.rows["observations"], resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def peak_rss_kb(src: Path, out: Path) -> tuple[int, int]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(src), str(out)],
        check=True,
        capture_output=True,
        text=True,
    )
    rows, rss = done.stdout.split()[-2:]  # the last line is the child's answer
    return int(rows), int(rss)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["ndjson", "bundle"])
def test_peak_memory_does_not_grow_with_file_size(tmp_path: Path, kind: str) -> None:
    write = write_ndjson if kind == "ndjson" else write_bundle
    small, large = tmp_path / f"small.{kind}", tmp_path / f"large.{kind}"
    n_small = write(small, 12)
    n_large = write(large, 120)
    rows_small, rss_small = peak_rss_kb(small, tmp_path / "out-small")
    rows_large, rss_large = peak_rss_kb(large, tmp_path / "out-large")
    assert (rows_small, rows_large) == (n_small, n_large)
    # Ten times the input; peak memory may differ by at most a modest constant.
    growth_mb = (rss_large - rss_small) / 1024
    assert growth_mb < 120, f"peak RSS grew {growth_mb:.0f} MB ({rss_small} -> {rss_large} KB)"


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.text(min_size=1, max_size=40), min_size=1, max_size=300, unique=True),
    st.sets(st.integers(SURROGATE_RANGES[0][0], SURROGATE_RANGES[0][1] - 1), max_size=50),
)
def test_surrogates_valid_unique_deterministic(ids: list[str], stems: set[int]) -> None:
    taken = {f"{s}{check_digit(str(s))}" for s in stems if check_digit(str(s)) is not None}
    numbers = allocate_surrogates(ids, taken)
    assert all(is_valid(n) for n in numbers)
    assert all(in_ranges(int(n[:9]), SURROGATE_RANGES) for n in numbers)
    assert len(set(numbers)) == len(numbers)  # never repeated
    assert not set(numbers) & taken  # never one already in use
    assert allocate_surrogates(ids, taken) == numbers  # deterministic


@given(st.text(min_size=1, max_size=30))
def test_surrogate_skips_numbers_already_taken(source_id: str) -> None:
    first = surrogate_for(source_id, set())
    second = surrogate_for(source_id, {first})
    assert second != first and is_valid(second)


@pytest.mark.slow
def test_killed_import_leaves_nothing_and_is_cleaned_up(tmp_path: Path) -> None:
    import signal
    import time

    src = tmp_path / "in.ndjson"
    write_ndjson(src, 60)
    out = tmp_path / "ds"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(src), str(out)])
    work = tmp_path / f".ds.importing-{child.pid}"
    deadline = time.monotonic() + 60
    while not (work / "_staging").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert not out.exists()
    assert work.exists()  # a SIGKILL leaves its work directory ...
    rows, _ = peak_rss_kb(src, out)  # ... which the next import into the same place removes
    assert rows > 0 and out.exists() and not work.exists()
