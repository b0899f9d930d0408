"""The profile report: what the customer records hold, before any model.

The engine (:mod:`crmlab.engine.customer_tables`) reduces the canonical lines
to one row per customer, per month and per column; pure functions
(``tables``) turn those into the report's tables and figures, and
:class:`ProfileAnalysis`, which the profile notebook fits and shows, runs both.
"""

from crmlab.analyses.profile.analysis import ProfileAnalysis

__all__ = ["ProfileAnalysis"]
