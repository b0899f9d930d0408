"""The deciles report: customer value deciles, ABC classes, concentration, migration, deal-only customers.

Everything starts from :func:`~crmlab.analyses.deciles.tables.customer_values`,
one row per customer, and stays a pure function of it. Ranking and cuts follow
the kit's one rule (:mod:`crmlab.core.ranking`): customers ordered by value,
largest first, ties by customer id ascending, so the same data always gives the
same groups whatever its row order.
"""

from crmlab.analyses.deciles.analysis import CustomerValueAnalysis

__all__ = ["CustomerValueAnalysis"]
