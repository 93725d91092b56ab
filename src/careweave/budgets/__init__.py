"""Pooled budgets and the schemes they fund (issue 17 item 3).

A budget file (TOML, :mod:`.file`) names the partners' contributions to a pooled
fund (the Better Care Fund of seed 004) and the schemes it pays for, each with
its allocation, the population it covers and its KPIs from the measures
catalogue, each KPI with a baseline period, a target and a monthly trajectory
(:mod:`.trajectory`). :mod:`.report` reads the persisted ``population_measures``
(never the raw tables) and reports each scheme: spend against allocation, each
KPI's SPC chart against its trajectory with the assurance icon, and a forecast
to the year's end (:mod:`.forecast`). Analytics side: this package never
imports the operational store, care, api, web or security packages.
"""
