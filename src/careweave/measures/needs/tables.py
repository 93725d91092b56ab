"""The needs assessment's tables in the warehouse (true figures; outputs apply disclosure control).

``needs_prevalence``: one row per register x area (``all``, each ``locality`` and
``practice``) at the assessment date:

| column | meaning |
|---|---|
| as_of | the date (the last day of the warehouse's last whole month) |
| register, label | register key and name |
| group_by, group_value | ``all``, ``locality`` or ``practice`` and the code |
| population | registered people of the register's denominator ages |
| recorded | people on the register (of its minimum age and over) |
| expected | people the reference prevalence expects (null: no reference for the register) |
| computed_at | when (UTC) |

``needs_levels``: one row per CCM level (0 = not scored) x item, with ``kind``
``people`` (people, people with 2+ conditions, person-years), ``condition``
(people on each register), ``activity`` (events in the 12 months) or ``spend``
(pounds in the 12 months), ``item``, ``label``, ``value``, ``period_start``,
``period_end`` (the 12 months) and ``as_of``.

``needs_runs``: one row per run: computed_at, as_of, the reference's file,
source and year, engine. The maturity evidence reads its latest row.
"""

from __future__ import annotations

PREVALENCE = "needs_prevalence"
LEVELS = "needs_levels"
RUNS = "needs_runs"

PREVALENCE_DDL = """
    as_of DATE NOT NULL,
    register VARCHAR NOT NULL,
    label VARCHAR NOT NULL,
    group_by VARCHAR NOT NULL,
    group_value VARCHAR NOT NULL,
    population BIGINT NOT NULL,
    recorded BIGINT NOT NULL,
    expected DOUBLE,
    computed_at TIMESTAMP NOT NULL
"""
LEVELS_DDL = """
    as_of DATE NOT NULL,
    period_start DATE NOT NULL,
    period_end DATE NOT NULL,
    ccm_level INTEGER NOT NULL,
    kind VARCHAR NOT NULL,
    item VARCHAR NOT NULL,
    label VARCHAR NOT NULL,
    value DOUBLE,
    computed_at TIMESTAMP NOT NULL
"""
RUNS_DDL = """
    computed_at TIMESTAMP NOT NULL,
    as_of DATE NOT NULL,
    reference_file VARCHAR NOT NULL,
    reference_source VARCHAR NOT NULL,
    reference_year VARCHAR NOT NULL,
    engine VARCHAR NOT NULL
"""
