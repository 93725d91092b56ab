"""Evaluation of an intervention with enrolment dates against matched controls.

``careweave evaluate`` (docs/evaluation.md): each person enrolled is matched at
their enrolment date to people not enrolled at that date (risk-set matching) on
the prognostic score, the propensity score and exactly on age band, sex and
prior emergency admissions band; the effect on each outcome is a matched
difference-in-differences with a 95% confidence interval, shown beside the
naive before/after change so that regression to the mean is visible.

Modules: :mod:`.data` (the person-level events, read once through the shared
definitions), :mod:`.matching` (covariates at a date, scores, matching,
standardised mean differences), :mod:`.effects` (difference-in-differences,
degree of impact, verdict), :mod:`.run` (the whole evaluation).
"""
