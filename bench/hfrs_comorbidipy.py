"""Run comorbidipy's HFRS on (id, code) pairs; executed inside bench/.venv-comorbidipy.

Usage: python hfrs_comorbidipy.py IN.parquet OUT.parquet -> prints the seconds taken.
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
t = time.perf_counter()
scores = hfrs(pairs, id="id", code="code")
elapsed = time.perf_counter() - t
scores.to_parquet(sys.argv[2])
print(elapsed)
