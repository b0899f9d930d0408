"""The baskets report: what sells together (rules) and what sells next (sequences).

Itemsets and rules come from :mod:`crmlab.models.itemsets`; this package adds
what the report shows: "bought X, then Y within N days" (``sequences``), the
top rules within each RFM segment's baskets (``by_segment``), the page's tables,
sentences and charts. :class:`BasketAnalysis` runs it with the notebook's
parameters.
"""

from crmlab.analyses.baskets.analysis import BasketAnalysis

__all__ = ["BasketAnalysis"]
