"""Person-level definitions, each written once as Ibis, shared by every analytics user.

``careweave.risk`` (features and segments), ``careweave.measures`` (the KPI
catalogue) and ``careweave.profile`` (the data profile, on top of the measures)
import these, so "registered", "age", "on the diabetes register", "an emergency
spell", "a 30-day readmission", "bed days" and "the cost of an activity" mean
one thing in all three. The same expressions run on every engine (:mod:`careweave.warehouse.engines`: DuckDB and Spark).

Why a package of its own rather than ``careweave.measures.definitions``: risk
imports these definitions and the measures engine reads risk's outputs
(``risk_scores``), so neither may own the other's foundations.

Conventions used throughout:

- **Dates are points on a line.** An as-of date ``D`` and a half-open interval
  of dates ``[from, to)``: a person is "in" at ``D`` when ``from <= D < to``
  (``to`` null: open-ended). A window "(lo, hi]" is the dates after ``lo`` up to
  and including ``hi``; "12 months to D" is (D - 365 days, D].
- **Lengths are differences.** A stay or a service from ``start`` to ``end``
  lasts ``end - start`` days (a spell admitted and discharged the same day has
  0 bed days), and inside a window (lo, hi] it lasts
  ``min(end, hi) - max(start, lo)`` days. Lengths of consecutive windows add up
  to the whole, with no day counted twice.
- **Age** is in whole years with exact birthdays (a person born on 29 February
  has a birthday on 1 March in other years).

Modules: :mod:`.dates` (date literals, windows, birthdays and age),
:mod:`.population` (registered population, person-time, age-band schemes),
:mod:`.registers` (register membership), :mod:`.spells` (emergency and
elective spells, bed days, length of stay, the 30-day readmission),
:mod:`.costs` (activity cost under a tariff).
"""
