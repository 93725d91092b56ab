"""comorbidipy's HFRS as a worker; executed inside bench/.venv-comorbidipy by bench_hfrs.py.

Usage: python hfrs_comorbidipy.py IN.parquet OUT.parquet. Reads the (id, code) pairs
once into a pandas DataFrame (not timed), prints ``ready``, then for every ``run`` line
on stdin calls ``hfrs()`` on them and prints its wall and CPU seconds; on ``save`` it
writes the last result to OUT.parquet and exits. bench_hfrs.py alternates these runs
with Careweave's, so both sides are timed under the same machine load.
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
scores = None
print("ready", flush=True)
for line in sys.stdin:
    if line.strip() == "run":
        t, c = time.perf_counter(), time.process_time()
        scores = hfrs(pairs, id="id", code="code")
        print(time.perf_counter() - t, time.process_time() - c, flush=True)
    elif line.strip() == "save" and scores is not None:
        scores.to_parquet(sys.argv[2])
        break
