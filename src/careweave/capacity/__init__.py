"""Capacity planning and unmet need for commissioners (issue 14 items 5 and 6).

- :mod:`careweave.capacity.norms`: the caseload norms (``data/norms.toml``, or a
  board's own file), validated with errors naming the file and the field;
- :mod:`careweave.capacity.staffing`: staff in post as whole-time equivalents, from
  the store's users and care teams or a staffing CSV file;
- :mod:`careweave.capacity.plan`: people per CCM level in each locality (as the
  population page counts them) and the WTE needed against the WTE in post;
- :mod:`careweave.capacity.unmet`: referrals declined for unmet need, waiting past
  their response standard or waiting at a service at capacity, by service,
  locality and need (CCM level), with the staff's reasons de-identified.

It reads the operational store (people index, users, care teams, referrals) and
applies small-number suppression from :mod:`careweave.measures.disclosure` to every
count of people it gives out. docs/capacity.md describes the arithmetic.
"""
