"""Population measures: the KPI catalogue, defined once, computed on DuckDB or Spark.

In the manner of ehrQL's ``measures``: a measure is a numerator, a
denominator, a group-by and intervals (calendar months and rolling 12 months),
of a kind (proportion, rate per person-time, mean, count). The catalogue is a
data file (``data/catalogue.toml``, :mod:`.catalogue`); the person-level
building blocks are :mod:`.sources` on top of :mod:`careweave.definitions`;
:mod:`.compute` runs them in batches that share their sources; results go to
the warehouse table ``population_measures`` (:mod:`.results`); every output
applies :mod:`.disclosure`. Confidence intervals and age standardisation are
in :mod:`.stats`. This package is on the analytics side: it never imports the
operational store, care, api, web or security packages.
"""
