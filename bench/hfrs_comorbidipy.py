"""Run comorbidipy's HFRS on (id, code) pairs; executed inside bench/.venv-comorbidipy.

Usage: python hfrs_comorbidipy.py IN.parquet OUT.parquet [REPEATS] -> prints the best
wall and CPU seconds over REPEATS runs.
comorbidipy 0.5.0 needs pandas.core.common.SettingWithCopyWarning under pandas 2.x.
"""

from __future__ import annotations

import sys
import time

import pandas as pd
import pandas.core.common
import pandas.errors

pandas.core.common.SettingWithCopyWarning = pandas.errors.SettingWithCopyWarning

from comorbidipy import hfrs  # noqa: E402

pairs = pd.read_parquet(sys.argv[1])
runs, cpu = [], []
for _ in range(int(sys.argv[3]) if len(sys.argv) > 3 else 1):
    t, c = time.perf_counter(), time.process_time()
    scores = hfrs(pairs, id="id", code="code")
    runs.append(time.perf_counter() - t)
    cpu.append(time.process_time() - c)
scores.to_parquet(sys.argv[2])
print(min(runs), min(cpu))
