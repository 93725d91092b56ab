"""Data profile of a dataset or warehouse: demographics, prevalence, activity, concentration (careweave profile).

Public API: :func:`profile_dataset_dir`, :func:`profile_warehouse` (dicts with
the stable keys documented in docs/profile.md) and :func:`render_profile`.
"""

from careweave.profile.engine import profile_dataset_dir, profile_warehouse
from careweave.profile.render import render_profile

__all__ = ["profile_dataset_dir", "profile_warehouse", "render_profile"]
