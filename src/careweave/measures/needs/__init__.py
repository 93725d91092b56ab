"""Health needs assessment (issue 14 item 4): recorded against expected prevalence, and needs
at each CCM level.

- :mod:`.reference`: the reference prevalence table (age, sex and optionally
  deprivation), shipped or the user's, checked;
- :mod:`.counts`: the registered population and register counts per stratum, in Ibis
  (the definitions' registers, ages and population: nothing re-implemented);
- :mod:`.assess`: expected counts by indirect standardisation
  (:mod:`careweave.stats.standardise`) per register for the board, each locality and
  practice; people, conditions, activity and spend at each CCM level from the KPI
  catalogue; written to the warehouse (:mod:`.tables`);
- :mod:`.output`: disclosure control and the derived figures for every output.

``careweave needs`` runs it; the pages and the PDF pack read the tables.
"""
