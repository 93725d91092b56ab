"""Careweave: an open integrated-care platform.

Links health and social-care records by NHS number, stratifies the population
by emergency-admission risk into the four levels of the Welsh Chronic
Conditions Management model, and supports care co-ordination and
commissioning. See docs/architecture.md.
"""

__version__ = "0.1.0"
