"""Statistics for commissioners: SPC charts (``spc``) and funnel plots (``funnel``).

Pure functions over plain numbers (NumPy, SciPy): no warehouse, no store. The
measures, pages and reports call them on persisted measure series; the
``careweave spc`` and ``careweave funnel`` commands call them on any CSV an
analyst brings.
"""

from careweave.stats.funnel import FunnelResult, funnel
from careweave.stats.spc import SpcResult, spc

__all__ = ["FunnelResult", "SpcResult", "funnel", "spc"]
